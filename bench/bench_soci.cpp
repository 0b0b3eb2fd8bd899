// The soci backend on SQLite and PostgreSQL: store and retrieve of a
// 1,000,000-row table (by reference: a typed SQL table, bulk loaded) and
// 2,000 small inline stores, each committed. Baselines in the same run: the
// raw sqlite3 C API (one prepared insert in one transaction, same file
// settings: WAL, synchronous=full) and `psql \copy` of the same rows as CSV.
//
// Run: ./build/bench/bench_soci      (ratios and a summary line at the end)
// PostgreSQL parts run when BDP_BENCH_PG_URL (or BDP_TEST_PG_URL) is set,
// e.g. eval "$(tools/pg.sh env "$(tools/pg.sh start)")".
#include "bench_tables.hpp"

#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/table.hpp>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <boost/json/object.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t kRows = 1'000'000;
constexpr int kSmallStores = 2'000;

const bdp::TablePtr& big_table() {
  static const bdp::TablePtr table = bdp::bench::orders_table(kRows, true);
  return table;
}

bdp::TablePtr small_table() {
  bdp::TableBuilder b({{"k", bdp::ColumnType::string}, {"v", bdp::ColumnType::float64}});
  for (int i = 0; i < 10; ++i) b.append_row({"key" + std::to_string(i), i * 1.5});
  return b.finish();
}

std::map<std::string, double> g_seconds;  // seconds per operation, by name

double wall_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

void record(benchmark::State& state, const std::string& name, double seconds, double rows) {
  const double per_op = seconds / static_cast<double>(state.iterations());
  g_seconds[name] = per_op;
  if (rows > 0) state.counters["rows_per_s"] = rows / per_op;
  state.counters["ms_per_op"] = per_op * 1e3;
}

fs::path bench_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("bdp-bench-soci-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::optional<std::string> pg_url() {
  for (const char* name : {"BDP_BENCH_PG_URL", "BDP_TEST_PG_URL"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return std::string(v);
  }
  return std::nullopt;
}

std::string conninfo_of(const std::string& url) {
  const std::string prefix = "postgresql://";
  return url.rfind(prefix, 0) == 0 ? url.substr(prefix.size()) : url;
}

int shell(const std::string& command) {
  return std::system(command.c_str());
}

// A fresh database on the PostgreSQL server for this run.
const std::string& pg_bench_url() {
  static const std::string url = [] {
    const std::string base = *pg_url();
    const std::string db = "bdp_bench_" + std::to_string(::getpid());
    shell("psql '" + conninfo_of(base) + "' -X -q -c 'create database " + db + "'");
    return std::regex_replace(base, std::regex(R"(dbname=\S+)"), "dbname=" + db);
  }();
  return url;
}

bdp::PluginHost& host() {
  static bdp::PluginHost h;
  return h;
}

std::shared_ptr<bdp::Backend> open_backend(const std::string& connection) {
  json::object settings{{"plugin", "soci"}, {"connection", connection}};
  return host().create_backend("soci", "bench", settings, bench_dir());
}

const json::object kNoMetadata;

// ---------------------------------------------------------------- SQLite

void sqlite_exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite3: %s: %s\n", sql, error);
    sqlite3_free(error);
    std::exit(1);
  }
}

void BM_Sqlite_RawInsert_Baseline(benchmark::State& state) {
  const bdp::Table& t = *big_table();
  double total = 0;
  int n = 0;
  for (auto _ : state) {
    const auto file = bench_dir() / ("raw-" + std::to_string(n++) + ".sqlite");
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite_exec(db, "pragma journal_mode = wal");
    sqlite_exec(db, "pragma synchronous = full");
    const double start = wall_seconds();
    sqlite_exec(db, "begin immediate");
    sqlite_exec(db,
                "create table t (id bigint, qty bigint, price, weight, region text, sku "
                "text, ts bigint)");
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "insert into t values (?, ?, ?, ?, ?, ?, ?)", -1, &stmt, nullptr);
    const auto& c = t.columns();
    for (std::size_t r = 0; r < t.num_rows(); ++r) {
      sqlite3_bind_int64(stmt, 1, c[0].int64_at(r));
      sqlite3_bind_int64(stmt, 2, c[1].int64_at(r));
      sqlite3_bind_double(stmt, 3, c[2].float64_at(r));
      sqlite3_bind_double(stmt, 4, c[3].float64_at(r));
      auto region = c[4].string_at(r);
      auto sku = c[5].string_at(r);
      sqlite3_bind_text(stmt, 5, region.data(), static_cast<int>(region.size()), SQLITE_STATIC);
      sqlite3_bind_text(stmt, 6, sku.data(), static_cast<int>(sku.size()), SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 7, c[6].int64_at(r));
      sqlite3_step(stmt);
      sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    sqlite_exec(db, "commit");
    total += wall_seconds() - start;
    sqlite3_close(db);
  }
  record(state, "sqlite_raw", total, static_cast<double>(kRows));
}

std::shared_ptr<bdp::Backend> g_sqlite_backend;
std::shared_ptr<bdp::Backend> g_pg_backend;

std::shared_ptr<bdp::Backend>& sqlite_backend() {
  if (!g_sqlite_backend) {
    g_sqlite_backend = open_backend("sqlite3://db=" + (bench_dir() / "bdp.sqlite").string());
  }
  return g_sqlite_backend;
}

std::optional<bdp::RecordInfo> g_sqlite_big;
std::optional<bdp::RecordInfo> g_pg_big;

void BM_Sqlite_Store(benchmark::State& state) {
  auto& backend = sqlite_backend();
  bdp::Payload payload(big_table());
  const double start = wall_seconds();
  for (auto _ : state) {
    g_sqlite_big = backend->store({"bench", "big", "default", kNoMetadata}, payload);
  }
  record(state, "sqlite_store", wall_seconds() - start, static_cast<double>(kRows));
}

void BM_Sqlite_Retrieve(benchmark::State& state) {
  auto& backend = sqlite_backend();
  const double start = wall_seconds();
  for (auto _ : state) {
    auto out = backend->retrieve(*g_sqlite_big);
    if (out.table()->num_rows() != static_cast<std::size_t>(kRows)) state.SkipWithError("rows");
  }
  record(state, "sqlite_retrieve", wall_seconds() - start, static_cast<double>(kRows));
}

void small_stores(benchmark::State& state, bdp::Backend& backend, const std::string& name) {
  bdp::Payload payload(small_table());
  const double start = wall_seconds();
  for (auto _ : state) {
    for (int i = 0; i < kSmallStores; ++i) {
      backend.store({"bench", "small", "default", kNoMetadata}, payload);
    }
  }
  const double seconds = wall_seconds() - start;
  record(state, name, seconds, 0);
  g_seconds[name] = seconds / (static_cast<double>(state.iterations()) * kSmallStores);
  state.counters["ms_per_store"] = g_seconds[name] * 1e3;
}

void BM_Sqlite_SmallInlineStores(benchmark::State& state) {
  small_stores(state, *sqlite_backend(), "sqlite_small");
}

// ------------------------------------------------------------ PostgreSQL

void BM_Pg_PsqlCopy_Baseline(benchmark::State& state) {
  const auto csv_file = bench_dir() / "big.csv";
  if (!fs::exists(csv_file)) {
    std::string text;
    bdp::csv::write(*big_table(), text);
    std::ofstream(csv_file) << text;
  }
  const std::string conn = conninfo_of(pg_bench_url());
  double total = 0;
  int n = 0;
  for (auto _ : state) {
    const std::string table = "copy_baseline_" + std::to_string(n++);
    shell("psql '" + conn + "' -X -q -c 'create table " + table +
          " (id bigint, qty bigint, price double precision, weight double precision, region "
          "text, sku text, ts timestamptz)'");
    const double start = wall_seconds();
    const int rc = shell("psql '" + conn + "' -X -q -c \"\\copy " + table + " from '" +
                         csv_file.string() + "' with (format csv, header true)\"");
    total += wall_seconds() - start;
    if (rc != 0) state.SkipWithError("psql \\copy failed");
  }
  record(state, "pg_copy", total, static_cast<double>(kRows));
}

std::shared_ptr<bdp::Backend>& pg_backend() {
  if (!g_pg_backend) g_pg_backend = open_backend(pg_bench_url());
  return g_pg_backend;
}

void BM_Pg_Store(benchmark::State& state) {
  auto& backend = pg_backend();
  bdp::Payload payload(big_table());
  const double start = wall_seconds();
  for (auto _ : state) {
    g_pg_big = backend->store({"bench", "big", "default", kNoMetadata}, payload);
  }
  record(state, "pg_store", wall_seconds() - start, static_cast<double>(kRows));
}

void BM_Pg_Retrieve(benchmark::State& state) {
  auto& backend = pg_backend();
  const double start = wall_seconds();
  for (auto _ : state) {
    auto out = backend->retrieve(*g_pg_big);
    if (out.table()->num_rows() != static_cast<std::size_t>(kRows)) state.SkipWithError("rows");
  }
  record(state, "pg_retrieve", wall_seconds() - start, static_cast<double>(kRows));
}

void BM_Pg_SmallInlineStores(benchmark::State& state) {
  small_stores(state, *pg_backend(), "pg_small");
}

double rows_per_s(const std::string& name) {
  return static_cast<double>(kRows) / g_seconds.at(name);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  big_table();  // built once, outside the timings
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("sqlite/raw_insert_baseline", BM_Sqlite_RawInsert_Baseline)
      ->Iterations(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  RegisterBenchmark("sqlite/store_1M", BM_Sqlite_Store)
      ->Iterations(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  RegisterBenchmark("sqlite/retrieve_1M", BM_Sqlite_Retrieve)
      ->Iterations(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  RegisterBenchmark("sqlite/2000_small_inline_stores", BM_Sqlite_SmallInlineStores)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  const bool pg = pg_url().has_value();
  if (pg) {
    RegisterBenchmark("postgresql/psql_copy_baseline", BM_Pg_PsqlCopy_Baseline)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    RegisterBenchmark("postgresql/store_1M", BM_Pg_Store)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    RegisterBenchmark("postgresql/retrieve_1M", BM_Pg_Retrieve)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    RegisterBenchmark("postgresql/2000_small_inline_stores", BM_Pg_SmallInlineStores)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  } else {
    std::printf("BDP_BENCH_PG_URL / BDP_TEST_PG_URL unset: PostgreSQL benchmarks skipped\n");
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  std::string summary;
  if (g_seconds.count("sqlite_raw") && g_seconds.count("sqlite_store")) {
    const double ratio = rows_per_s("sqlite_store") / rows_per_s("sqlite_raw");
    std::printf(
        "\nSQLite 1M-row store: %.0f rows/s, raw sqlite3 insert %.0f rows/s, ratio "
        "%.2fx (target >= 0.6x); retrieve %.0f rows/s\n",
        rows_per_s("sqlite_store"), rows_per_s("sqlite_raw"), ratio, rows_per_s("sqlite_retrieve"));
    std::printf("SQLite small inline store: %.3f ms committed (target <= 2 ms)\n",
                g_seconds["sqlite_small"] * 1e3);
    char buf[200];
    std::snprintf(buf, sizeof buf, "sqlite store %.2fx raw, small %.3f ms", ratio,
                  g_seconds["sqlite_small"] * 1e3);
    summary += buf;
  }
  if (g_seconds.count("pg_copy") && g_seconds.count("pg_store")) {
    const double ratio = rows_per_s("pg_store") / rows_per_s("pg_copy");
    std::printf(
        "PostgreSQL 1M-row store: %.0f rows/s, psql \\copy %.0f rows/s, ratio %.2fx "
        "(target >= 0.7x); retrieve %.0f rows/s\n",
        rows_per_s("pg_store"), rows_per_s("pg_copy"), ratio, rows_per_s("pg_retrieve"));
    std::printf("PostgreSQL small inline store: %.3f ms committed (target <= 2 ms)\n",
                g_seconds["pg_small"] * 1e3);
    char buf[200];
    std::snprintf(buf, sizeof buf, "; postgresql store %.2fx \\copy, small %.3f ms", ratio,
                  g_seconds["pg_small"] * 1e3);
    summary += buf;
  }
  std::printf("summary: %s\n", summary.c_str());
  g_sqlite_backend.reset();
  g_pg_backend.reset();
  std::error_code ec;
  fs::remove_all(bench_dir(), ec);
  if (pg) {
    const std::string base = conninfo_of(*pg_url());
    shell("psql '" + base + "' -X -q -c 'drop database if exists bdp_bench_" +
          std::to_string(::getpid()) + " with (force)'");
  }
  return 0;
}
