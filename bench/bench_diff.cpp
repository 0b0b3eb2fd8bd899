// `bdp diff` with a key on two 1,000,000-row stage outputs (issue #6;
// target: keyed diff of 1M vs 1M rows <= 2 s).
//
// A is a generated table (id int64 key, qty int64, price float64, region
// string, sku string, ts timestamp); B is A with ~1% of the rows changed
// (price or qty), 0.5% removed and 0.5% added. Measured in the same run:
//   (a) compare_tables(A, B, {"id"}): the compare API on in-memory tables;
//   (b) baseline: a plain std::unordered_map<int64, row> join on the key
//       column and a typed cell comparison of the matched rows (what a
//       hand-written diff would do), for scale;
//   (c) compare_processes() end to end: both stage outputs stored in a CSV
//       folder (A) and a SQLite file (B), retrieved from them and compared.
// Each timing is the best of several rounds (wall time).
//
// Run: ./build/bench/bench_diff [rounds]
#include <bdp/compare.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/table.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kRows = 1'000'000;
constexpr double kTargetSeconds = 2.0;

const char* kRegions[] = {"north", "south", "east", "west"};

struct Row {
  std::int64_t id, qty;
  double price;
  int region;
  std::int64_t sku, ts;
};

bdp::TablePtr build(const std::vector<Row>& rows) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64},
                       {"qty", bdp::ColumnType::int64},
                       {"price", bdp::ColumnType::float64},
                       {"region", bdp::ColumnType::string},
                       {"sku", bdp::ColumnType::string},
                       {"ts", bdp::ColumnType::timestamp}});
  for (std::size_t c = 0; c < b.num_columns(); ++c) {
    b.column(c).reserve(rows.size(), c == 4 ? rows.size() * 9 : rows.size() * 5);
  }
  std::string sku;
  for (const auto& r : rows) {
    b.column(0).append_int64(r.id);
    b.column(1).append_int64(r.qty);
    b.column(2).append_float64(r.price);
    b.column(3).append_string(kRegions[r.region]);
    sku = "SKU-" + std::to_string(r.sku);
    b.column(4).append_string(sku);
    b.column(5).append_timestamp(r.ts);
  }
  return b.finish();
}

// A and B as described above; B's rows shuffled so that no order helps.
std::pair<bdp::TablePtr, bdp::TablePtr> generate() {
  std::mt19937_64 rng(42);
  std::vector<Row> a;
  a.reserve(kRows);
  for (std::int64_t i = 0; i < kRows; ++i) {
    a.push_back({i * 3, static_cast<std::int64_t>(rng() % 100),
                 static_cast<double>(rng() % 100000) / 100.0, static_cast<int>(rng() % 4),
                 static_cast<std::int64_t>(rng() % 10000),
                 1'700'000'000'000'000 + static_cast<std::int64_t>(rng() % 1'000'000'000'000)});
  }
  std::vector<Row> b;
  b.reserve(kRows);
  for (const Row& r : a) {
    const auto dice = rng() % 1000;
    if (dice < 5) continue;  // 0.5% removed
    Row copy = r;
    if (dice < 10) copy.price += 1.0;            // 0.5% price changed
    if (dice >= 10 && dice < 15) copy.qty += 1;  // 0.5% qty changed
    b.push_back(copy);
  }
  for (std::int64_t i = 0; static_cast<std::int64_t>(b.size()) < kRows; ++i) {
    b.push_back({i * 3 + 1, 1, 1.0, 0, 1, 1'700'000'000'000'000});  // added
  }
  std::shuffle(b.begin(), b.end(), rng);
  return {build(a), build(b)};
}

template <class F>
double best_of(int rounds, F&& f) {
  double best = 1e30;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// The baseline: key -> row of B in an unordered_map, then a typed
// comparison of every matched row's other columns.
struct BaselineResult {
  std::size_t only_a = 0, only_b = 0, changed = 0;
};
BaselineResult baseline(const bdp::Table& a, const bdp::Table& b) {
  BaselineResult out;
  std::unordered_map<std::int64_t, std::size_t> index;
  index.reserve(b.num_rows());
  const auto bid = b.column("id").int64_values();
  for (std::size_t j = 0; j < bid.size(); ++j) index.emplace(bid[j], j);
  const auto aid = a.column("id").int64_values();
  std::vector<std::uint8_t> matched(b.num_rows(), 0);
  const auto& aq = a.column("qty");
  const auto& bq = b.column("qty");
  const auto& ap = a.column("price");
  const auto& bp = b.column("price");
  const auto& ar = a.column("region");
  const auto& br = b.column("region");
  const auto& as = a.column("sku");
  const auto& bs = b.column("sku");
  const auto& at = a.column("ts");
  const auto& bt = b.column("ts");
  for (std::size_t i = 0; i < aid.size(); ++i) {
    auto it = index.find(aid[i]);
    if (it == index.end()) {
      ++out.only_a;
      continue;
    }
    const std::size_t j = it->second;
    matched[j] = 1;
    if (aq.int64_at(i) != bq.int64_at(j) || ap.float64_at(i) != bp.float64_at(j) ||
        ar.string_at(i) != br.string_at(j) || as.string_at(i) != bs.string_at(j) ||
        at.int64_at(i) != bt.int64_at(j)) {
      ++out.changed;
    }
  }
  for (auto m : matched) out.only_b += m == 0;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  spdlog::set_level(spdlog::level::off);
  std::printf("bench_diff: keyed diff of %lld vs %lld rows, best of %d rounds\n",
              static_cast<long long>(kRows), static_cast<long long>(kRows), rounds);
  const auto [a, b] = generate();

  bdp::TableDiff diff;
  const double api = best_of(rounds, [&] { diff = bdp::compare_tables(a, b, {"id"}); });
  BaselineResult base;
  const double plain = best_of(rounds, [&] { base = baseline(*a, *b); });
  std::printf("  compare_tables (key id):        %7.3f s  only A %llu, only B %llu, changed %zu\n",
              api, static_cast<unsigned long long>(diff.only_a_rows),
              static_cast<unsigned long long>(diff.only_b_rows), diff.changed.size());
  std::printf("  baseline unordered_map join:    %7.3f s  only A %zu, only B %zu, changed %zu\n",
              plain, base.only_a, base.only_b, base.changed);
  if (diff.only_a_rows != base.only_a || diff.only_b_rows != base.only_b ||
      diff.changed.size() != base.changed) {
    std::printf("  MISMATCH between compare_tables and the baseline\n");
    return 1;
  }

  // End to end: A in a CSV folder, B in a SQLite file.
  const fs::path dir = fs::temp_directory_path() / ("bdp-bench-diff-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  double end_to_end = 0.0;
  std::size_t changed = 0;
  {
    bdp::PluginHost host;
    auto memory = host.create_backend("memory", "memory", {}, dir);
    auto csv = host.create_backend("csv", "csv", {{"plugin", "csv"}, {"root", "csv"}}, dir);
    auto db = host.create_backend(
        "soci", "sqlite", {{"plugin", "soci"}, {"connection", "sqlite3://db=bench.sqlite"}}, dir);
    bdp::StorageStrategy strategy;
    strategy.mode = bdp::StorageMode::persist;
    strategy.backend = "sqlite";
    bdp::DataContainer container(strategy, memory, {{"csv", csv}, {"sqlite", db}});
    auto store = [&](const std::string& id, const bdp::TablePtr& t, const std::string& backend) {
      bdp::ProcessInfo p;
      p.id = id;
      p.name = "bench-diff";
      p.status = bdp::ProcessStatus::completed;
      p.stages.push_back({});
      p.stages.back().name = "out";
      container.set_process(id);
      bdp::StagePlan plan;
      plan.persist = true;
      plan.backend = backend;
      plan.cleanup_policy = bdp::CleanupPolicy::keep_all;
      container.set_stage_plan("out", plan);
      container.store_stage_data("out", bdp::StageOutput(t));
      container.flush();
      container.save_process(p);
    };
    store("run-a", a, "csv");
    store("run-b", b, "sqlite");
    bdp::CompareOptions options;
    options.key = {"id"};
    end_to_end = best_of(rounds, [&] {
      auto d = bdp::compare_processes(container, "run-a", "run-b", options);
      changed = d.entities.at(0).table->changed.size();
    });
  }
  fs::remove_all(dir);
  std::printf("  compare_processes csv vs sqlite: %7.3f s  (retrieval included) changed %zu\n",
              end_to_end, changed);
  std::printf("  target: keyed diff <= %.1f s: %s (compare_tables %.3f s, %.1fx the baseline)\n",
              kTargetSeconds, api <= kTargetSeconds ? "met" : "MISSED", api, api / plain);
  return 0;
}
