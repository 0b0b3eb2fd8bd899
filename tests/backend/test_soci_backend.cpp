// The soci backend plugin (plugins/soci) on a real SQLite file and a real
// PostgreSQL server (the throwaway cluster of tools/pg.sh, found through
// BDP_TEST_PG_URL), loaded through the real PluginHost.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include "../../plugins/soci/connection.hpp"

#include <bdp/conformance/conformance.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/binary.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace conformance = bdp::conformance;
namespace json = boost::json;
using bdp::test::run_command;
using bdp::test::TempDir;

// ---------------------------------------------------------------- databases

// run_command does not search PATH: the full path of a program on it.
std::string program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "/usr/bin/" + name;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

bool in_ci() {
  return env("CI") == std::optional<std::string>("true");
}

// Runs the PostgreSQL tests when there is a server, and in CI (where a
// missing server is a failure, reported by pg_url()).
boost::test_tools::assertion_result postgres_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(env("BDP_TEST_PG_URL").has_value() || in_ci());
  result.message() << "BDP_TEST_PG_URL is not set: PostgreSQL tests skipped (run ./tools/test.sh, "
                      "which starts a throwaway server with tools/pg.sh)";
  return result;
}

std::string pg_url() {
  auto url = env("BDP_TEST_PG_URL");
  if (!url) {
    BOOST_FAIL(
        "CI=true but BDP_TEST_PG_URL is unset: the PostgreSQL tests must run in CI "
        "(./tools/test.sh starts the server)");
  }
  return *url;
}

// "postgresql://k=v ..." -> "k=v ..." for psql.
std::string conninfo_of(const std::string& url) {
  const std::string prefix = "postgresql://";
  return url.rfind(prefix, 0) == 0 ? url.substr(prefix.size()) : url;
}

std::string with_dbname(const std::string& url, const std::string& db) {
  static const std::regex dbname(R"(dbname=\S+)");
  return std::regex_replace(url, dbname, "dbname=" + db);
}

std::string psql(const std::string& url, const std::string& sql) {
  auto r = run_command({program("psql"), conninfo_of(url), "-X", "-q", "-A", "-t", "-v",
                        "ON_ERROR_STOP=1", "-c", sql});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "psql " << sql << ": " << r.err);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.out;
}

std::string sqlite(const std::filesystem::path& file, const std::string& sql) {
  auto r = run_command({program("sqlite3"), file.string(), sql});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "sqlite3 " << sql << ": " << r.err);
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

// One fresh database: a SQLite file in a temp dir, or a new database on the
// PostgreSQL test server (dropped afterwards).
class Database {
 public:
  static std::unique_ptr<Database> sqlite_file() {
    auto db = std::unique_ptr<Database>(new Database());
    db->file_ = db->dir_.path() / "data" / "bdp.sqlite";
    db->url_ = "sqlite3://db=" + db->file_.string();
    return db;
  }
  static std::unique_ptr<Database> postgres() {
    static std::atomic<int> counter{0};
    auto db = std::unique_ptr<Database>(new Database());
    db->admin_url_ = pg_url();
    db->name_ = "bdp_t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    psql(db->admin_url_, "create database " + db->name_);
    db->url_ = with_dbname(db->admin_url_, db->name_);
    return db;
  }
  ~Database() {
    if (!name_.empty()) {
      run_command({program("psql"), conninfo_of(admin_url_), "-X", "-q", "-c",
                   "drop database if exists " + name_ + " with (force)"});
    }
  }

  bool is_postgres() const { return !name_.empty(); }
  const std::string& url() const { return url_; }
  const TempDir& dir() const { return dir_; }

  // Plain SQL through the database's own CLI (sqlite3 or psql).
  std::string query(const std::string& sql) const {
    return is_postgres() ? psql(url_, sql) : sqlite(file_, sql);
  }
  std::string count_data_tables() const {
    return query(is_postgres()
                     ? "select count(*) from pg_tables where tablename like 'bdp\\_data\\_%'"
                     : "select count(*) from sqlite_master where type = 'table' and name like "
                       "'bdp\\_data\\_%' escape '\\'");
  }

  json::object settings(std::optional<std::int64_t> threshold = std::nullopt) const {
    json::object s{{"plugin", "soci"}, {"connection", url_}};
    if (threshold) s["inline_threshold_bytes"] = *threshold;
    return s;
  }

  std::shared_ptr<bdp::Backend> open(bdp::PluginHost& host,
                                     std::optional<std::int64_t> threshold = std::nullopt) const {
    return host.create_backend("soci", "db", settings(threshold), dir_.path());
  }

 private:
  Database() = default;
  TempDir dir_;
  std::filesystem::path file_;
  std::string url_;
  std::string admin_url_;
  std::string name_;
};

using MakeDatabase = std::unique_ptr<Database> (*)();

bdp::TablePtr numbers_table(std::int64_t rows, std::int64_t offset = 0) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64},
                       {"label", bdp::ColumnType::string},
                       {"price", bdp::ColumnType::float64},
                       {"ok", bdp::ColumnType::boolean},
                       {"ts", bdp::ColumnType::timestamp}});
  for (std::int64_t i = 0; i < rows; ++i) {
    b.append_row({i + offset, std::string("row ") + std::to_string(i), 0.5 + static_cast<double>(i),
                  i % 2 == 0, 1700000000000000 + i});
  }
  return b.finish();
}

bdp::RecordInfo store(bdp::Backend& backend, const bdp::Payload& payload,
                      const std::string& process = "p1", const std::string& stage = "load",
                      const std::string& entity = "default") {
  static const json::object kNoMetadata;
  return backend.store(bdp::StoreRequest{process, stage, entity, kNoMetadata}, payload);
}

void run_conformance(MakeDatabase make, std::optional<std::int64_t> threshold) {
  conformance::Options options;
  options.persistent = true;
  const auto checks = conformance::checks(options);
  BOOST_TEST(!checks.empty());
  for (const auto& check : checks) {
    BOOST_TEST_CONTEXT("conformance check " << check.name) {
      auto db = make();
      auto host = std::make_shared<bdp::PluginHost>();
      conformance::Factory factory = [&db, host, threshold] { return db->open(*host, threshold); };
      try {
        check.run(factory);
      } catch (const std::exception& e) {
        BOOST_ERROR(check.name << " failed: " << e.what());
      }
    }
  }
}

// Forks a child that runs `body` and exits 0, or 1 after printing the
// error. Returns the child's pid.
template <class Body>
pid_t spawn(Body&& body) {
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::cerr << "child " << ::getpid() << ": " << e.what() << std::endl;
      code = 1;
    }
    ::_exit(code);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

// ------------------------------------------------------------- shared tests

void writers_get_unique_versions(MakeDatabase make) {
  auto db = make();
  {
    bdp::PluginHost host;
    db->open(host);  // schema created once up front; the writers race on data, not DDL
  }
  constexpr int kWriters = 4;
  constexpr int kStores = 25;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    children.push_back(spawn([&db, w] {
      bdp::PluginHost host;
      auto backend = db->open(host);
      for (int i = 0; i < kStores; ++i)
        store(*backend, bdp::Payload(numbers_table(3, w * 100 + i)));
    }));
  }
  for (pid_t pid : children) {
    const int status = wait_for(pid);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "writer " << pid << " failed");
  }
  bdp::PluginHost host;
  auto backend = db->open(host);
  auto records = backend->list(bdp::Query{});
  BOOST_TEST(records.size() == static_cast<std::size_t>(kWriters * kStores));
  std::set<std::int64_t> versions;
  for (const auto& r : records) versions.insert(r.version);
  BOOST_TEST(versions.size() == records.size(), "versions are not unique");
  BOOST_TEST(*versions.begin() == 1);
  BOOST_TEST(*versions.rbegin() == kWriters * kStores);
  for (const auto& r : records) BOOST_TEST(backend->retrieve(r).table()->num_rows() == 3u);
}

void writer_threads_get_unique_versions(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  db->open(host);
  // Each thread has its own backend object, so its own connection.
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::string first_error;  // Boost.Test is not thread-safe: report after joining
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      try {
        auto backend = db->open(host);
        for (int i = 0; i < 20; ++i) store(*backend, bdp::Payload(numbers_table(2)));
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        if (first_error.empty()) first_error = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(first_error.empty(), "a writer thread failed: " << first_error);
  auto records = db->open(host)->list(bdp::Query{});
  std::set<std::int64_t> versions;
  for (const auto& r : records) versions.insert(r.version);
  BOOST_TEST(records.size() == 80u);
  BOOST_TEST(versions.size() == 80u);
}

void placeholder_process_rows_follow_their_records(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host);
  auto r = store(*backend, bdp::Payload(numbers_table(2)), "early");
  // The record's process row exists (foreign key) but is no process record yet.
  BOOST_TEST(db->query("select count(*) from bdp_processes where id = 'early'") == "1");
  BOOST_TEST(backend->list_processes().empty());
  bdp::ProcessInfo process;
  process.id = "early";
  process.name = "early run";
  process.started_at = 5;
  backend->save_process(process);
  auto processes = backend->list_processes();
  BOOST_REQUIRE(processes.size() == 1u);
  BOOST_TEST(processes[0].name == "early run");
  // Removing the process record keeps its data records.
  backend->remove_process("early");
  BOOST_TEST(backend->list_processes().empty());
  BOOST_TEST(backend->retrieve(r).table()->num_rows() == 2u);
  // The placeholder goes with the last record.
  backend->remove(r);
  BOOST_TEST(db->query("select count(*) from bdp_processes") == "0");
}

void killed_writer_leaves_nothing(MakeDatabase make) {
  auto db = make();
  const auto marker = db->dir().path() / "paused";
  const pid_t pid = spawn([&db, &marker] {
    // The copy of the plugin with its test hook compiled in (the installed
    // one has none).
    bdp::PluginHost host({BDP_TEST_HOOK_PLUGIN_DIR});
    auto backend = db->open(host, 0);  // every table by reference
    store(*backend, bdp::Payload(numbers_table(50)), "p1", "first");
    ::setenv("BDP_SOCI_TEST_PAUSE_BEFORE_COMMIT", marker.c_str(), 1);
    store(*backend, bdp::Payload(numbers_table(5000)), "p1", "second");
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(marker) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) BOOST_FAIL("the writer exited before pausing");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(marker), "the writer never reached its commit");
  // The record row and its 5000-row table are written, not committed.
  ::kill(pid, SIGKILL);
  const int status = wait_for(pid);
  BOOST_TEST(WIFSIGNALED(status));
  if (db->is_postgres()) {
    // The server ends the dead session's transaction when it sees the socket close.
    for (int i = 0; i < 100 && db->query("select count(*) from pg_stat_activity where datname = "
                                         "current_database() and pid <> pg_backend_pid()") != "0";
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  bdp::PluginHost host;
  auto backend = db->open(host, 0);
  auto records = backend->list(bdp::Query{});
  BOOST_REQUIRE(records.size() == 1u);
  BOOST_TEST(records[0].stage_name == "first");
  BOOST_TEST(backend->retrieve(records[0]).table()->num_rows() == 50u);
  BOOST_TEST(db->count_data_tables() == "1");
  BOOST_TEST(db->query("select count(*) from intermediate_data") == "1");
  // The next store works and gets version 1 of "second".
  auto again = store(*backend, bdp::Payload(numbers_table(10)), "p1", "second");
  BOOST_TEST(again.version == 1);
}

void threshold_splits_inline_and_reference(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host, 4096);
  auto small = numbers_table(10);
  auto big = numbers_table(2000);
  auto a = store(*backend, bdp::Payload(small), "p1", "small");
  auto b = store(*backend, bdp::Payload(big), "p1", "big");
  BOOST_TEST(bdp::to_string(a.storage_type) == "inline");
  BOOST_TEST(a.data_reference.empty());
  BOOST_TEST(a.checksum.rfind("xxh64:", 0) == 0u);
  BOOST_TEST(bdp::to_string(b.storage_type) == "reference");
  BOOST_TEST(b.data_reference == "bdp_data_" + b.id);
  BOOST_TEST(backend->retrieve(a).table()->equals(*small));
  BOOST_TEST(backend->retrieve(b).table()->equals(*big));
  // A JSON payload stays inline whatever its size.
  json::array many;
  for (int i = 0; i < 2000; ++i) many.push_back(i);
  auto j = store(*backend, bdp::Payload(json::value(many)), "p1", "json");
  BOOST_TEST(bdp::to_string(j.storage_type) == "inline");
  // The record row says the same to plain SQL.
  BOOST_TEST(db->query("select storage_type from intermediate_data where stage_name = 'big'") ==
             "reference");
  // The reference table is typed and queryable by name.
  BOOST_TEST(db->query("select count(*), sum(id), min(label) from " + b.data_reference) ==
             "2000|1999000|row 0");
  // remove() takes the table with the row.
  backend->remove(b);
  BOOST_TEST(db->count_data_tables() == "0");
  BOOST_TEST(backend->list(bdp::Query{}).size() == 2u);
  bdp::test::expect_error([&] { backend->retrieve(b); }, bdp::ErrorCode::not_found,
                          {"record " + b.id});
}

void damaged_blob_is_detected(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host);
  auto r = store(*backend, bdp::Payload(numbers_table(20)));
  if (db->is_postgres()) {
    db->query(
        "update intermediate_data set payload = set_byte(payload, 40, get_byte(payload, 40) "
        "# 255) where id = " +
        r.id);
  } else {
    db->query(
        "update intermediate_data set payload = cast(substr(payload, 1, 40) || x'ee' || "
        "substr(payload, 42) as blob) where id = " +
        r.id);
    BOOST_TEST(
        db->query("select typeof(payload), length(payload) = " + std::to_string(r.size_bytes) +
                  " from intermediate_data where id = " + r.id) == "blob|1");
  }
  bdp::test::expect_error([&] { backend->retrieve(r); }, bdp::ErrorCode::corrupt,
                          {"record " + r.id, "damaged", "p1/load/default"});
}

// A reader on its own connection retrieves the listed records while a
// writer stores and removes them, inline and by reference: each retrieve
// returns the data or fails with not_found (removed meanwhile), never with
// corrupt or io, as a damaged record would.
void retrieve_racing_a_remove_is_not_found(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto inline_writer = db->open(host, 1 << 20);
  auto reference_writer = db->open(host, 0);
  auto reader = db->open(host);
  std::atomic<bool> stop{false};
  std::atomic<int> read{0};
  std::atomic<int> gone{0};
  std::mutex mutex;
  std::vector<std::string> wrong;  // Boost.Test is not thread-safe: report after joining
  std::thread reading([&] {
    while (!stop) {
      try {
        for (const auto& r : reader->list(bdp::Query{})) {
          try {
            reader->retrieve(r);
            ++read;
          } catch (const bdp::Error& e) {
            if (e.code() == bdp::ErrorCode::not_found) {
              ++gone;
              continue;
            }
            std::lock_guard lock(mutex);
            wrong.push_back(std::string(bdp::to_string(e.code())) + ": " + e.what());
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        wrong.push_back(std::string("list: ") + e.what());
      }
    }
  });
  for (int i = 0; i < 400; ++i) {
    bdp::Backend& writer = i % 2 == 0 ? *inline_writer : *reference_writer;
    writer.remove(store(writer, bdp::Payload(numbers_table(20, i))));
  }
  stop = true;
  reading.join();
  BOOST_TEST(wrong.empty(), wrong.size() << " reads failed other than not_found, first: "
                                         << (wrong.empty() ? "" : wrong.front()));
  BOOST_TEST_MESSAGE(read << " retrieves, " << gone << " of records removed meanwhile");
}

// A process record "p<n>" with name "run <n>".
void save_process(bdp::Backend& backend, const std::string& id, std::int64_t started) {
  bdp::ProcessInfo process;
  process.id = id;
  process.name = "run " + id;
  process.status = bdp::ProcessStatus::completed;
  process.started_at = started;
  process.finished_at = started + 10;
  backend.save_process(process);
}

const bdp::RecordInfo& by_id(const std::vector<bdp::RecordInfo>& records, const std::string& id) {
  for (const auto& r : records) {
    if (r.id == id) return r;
  }
  BOOST_FAIL("record " << id << " is not listed");
  return records.front();
}

void damaged_rows_are_listed_marked(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host, 4096);
  auto meta = backend->store(bdp::StoreRequest{"p1", "load", "meta", {{"k", 1}}},
                             bdp::Payload(numbers_table(3)));
  auto schema = store(*backend, bdp::Payload(numbers_table(2000)), "p1", "load", "schema");
  auto sound = backend->store(bdp::StoreRequest{"p2", "load", "sound", {{"k", 1}}},
                              bdp::Payload(numbers_table(4)));
  save_process(*backend, "p1", 100);
  save_process(*backend, "p2", 200);
  // Valid JSON of the wrong shape: jsonb on PostgreSQL takes it too.
  db->query("update intermediate_data set metadata = '[1, 2]' where id = " + meta.id);
  db->query("update intermediate_data set schema = '{\"not\": \"a list\"}' where id = " +
            schema.id);
  db->query("update bdp_processes set summary = '\"gone\"' where id = 'p1'");

  const auto records = backend->list(bdp::Query{});
  BOOST_REQUIRE(records.size() == 3u);
  const auto& m = by_id(records, meta.id);
  BOOST_TEST(m.process_id == "p1");
  BOOST_TEST(m.entity_name == "meta");
  BOOST_TEST(m.version == 1);
  BOOST_TEST(m.damage.find("record " + meta.id) != std::string::npos, m.damage);
  BOOST_TEST(m.damage.find("metadata column") != std::string::npos, m.damage);
  const auto& s = by_id(records, schema.id);
  BOOST_TEST(s.damage.find("schema column") != std::string::npos, s.damage);
  BOOST_TEST(s.row_count == 2000);
  BOOST_TEST(by_id(records, sound.id).damage.empty());
  // Filters apply as far as the readable columns go: a damaged metadata
  // matches no metadata filter.
  bdp::Query in_p1;
  in_p1.process_id = "p1";
  BOOST_TEST(backend->list(in_p1).size() == 2u);
  bdp::Query with_k;
  with_k.metadata_equals.emplace_back("k", 1);
  const auto k = backend->list(with_k);
  BOOST_REQUIRE(k.size() == 1u);
  BOOST_TEST(k[0].id == sound.id);
  // Retrieving a damaged record is corrupt with the reason; the others work.
  bdp::test::expect_error([&] { backend->retrieve(m); }, bdp::ErrorCode::corrupt,
                          {"record " + meta.id, "metadata column"});
  // Also given the record as it was stored, before the damage.
  bdp::test::expect_error([&] { backend->retrieve(schema); }, bdp::ErrorCode::corrupt,
                          {"record " + schema.id, "schema column"});
  BOOST_TEST(backend->retrieve(by_id(records, sound.id)).table()->equals(*numbers_table(4)));

  // The damaged process row is listed with its own columns.
  const auto processes = backend->list_processes();
  BOOST_REQUIRE(processes.size() == 2u);
  BOOST_TEST(processes[0].id == "p2");
  BOOST_TEST(processes[0].damage.empty());
  BOOST_TEST(processes[1].id == "p1");
  BOOST_TEST(processes[1].name == "run p1");
  BOOST_TEST(processes[1].started_at == 100);
  BOOST_TEST(bdp::to_string(processes[1].status) == "completed");
  BOOST_TEST(processes[1].damage.find("process row p1") != std::string::npos, processes[1].damage);
  // A summary that names another process is damage too.
  db->query(
      "update bdp_processes set summary = (select summary from bdp_processes where id ="
      " 'p2') where id = 'p1'");
  const auto again = backend->list_processes();
  BOOST_REQUIRE(again.size() == 2u);
  BOOST_TEST(again[1].id == "p1");
  BOOST_TEST(again[1].damage.find("names process 'p2'") != std::string::npos, again[1].damage);
}

void changed_reference_table_is_detected(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host, 0);  // every table by reference
  auto table = numbers_table(500);
  auto r = store(*backend, bdp::Payload(table), "p1", "load", "a");
  auto nudged = store(*backend, bdp::Payload(table), "p1", "load", "b");
  BOOST_TEST(r.checksum == bdp::binary::content_checksum(*table));
  BOOST_TEST(db->query("select checksum from intermediate_data where id = " + r.id) == r.checksum);
  BOOST_TEST(backend->retrieve(r).table()->equals(*table));
  // One value changed by hand, same type, same row count.
  db->query("update " + r.data_reference + " set label = 'row x' where id = 250");
  bdp::test::expect_error(
      [&] { backend->retrieve(r); }, bdp::ErrorCode::corrupt,
      {"record " + r.id, "p1/load/a", "reference table " + r.data_reference, "was changed"});
  db->query("update " + nudged.data_reference + " set price = price + 1e-9 where id = 0");
  bdp::test::expect_error([&] { backend->retrieve(nudged); }, bdp::ErrorCode::corrupt,
                          {"record " + nudged.id, "was changed"});
  // A row written before reference tables had a checksum still reads.
  auto old = store(*backend, bdp::Payload(table), "p1", "load", "old");
  db->query("update intermediate_data set checksum = '' where id = " + old.id);
  BOOST_TEST(backend->retrieve(by_id(backend->list(bdp::Query{}), old.id)).table()->equals(*table));
}

void quarantine_moves_damaged_rows_aside(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host, 4096);
  auto meta = store(*backend, bdp::Payload(numbers_table(3)), "p1", "load", "meta");
  auto changed = store(*backend, bdp::Payload(numbers_table(2000)), "p1", "load", "changed");
  auto sound = store(*backend, bdp::Payload(numbers_table(4)), "p1", "load", "sound");
  auto other = store(*backend, bdp::Payload(numbers_table(5)), "p2", "load", "default");
  save_process(*backend, "p1", 100);
  save_process(*backend, "p2", 200);
  db->query("update intermediate_data set metadata = '[1]' where id = " + meta.id);
  db->query("update " + changed.data_reference + " set id = -1 where id = 7");
  db->query("update bdp_processes set summary = '[]' where id = 'p1'");

  bdp::QuarantineRequest request;
  for (auto r : backend->list(bdp::Query{})) {
    if (r.id == changed.id) r.damage = "its table was changed";
    if (!r.damage.empty()) request.records.push_back(r);
  }
  for (const auto& p : backend->list_processes()) {
    if (!p.damage.empty()) request.processes.push_back(p);
  }
  BOOST_REQUIRE(request.records.size() == 2u);
  BOOST_REQUIRE(request.processes.size() == 1u);
  const auto report = backend->quarantine(request);
  BOOST_TEST(report.location.find("bdp_quarantine") != std::string::npos);
  BOOST_REQUIRE(report.moved.size() == 3u);
  BOOST_TEST((report.moved[0] + report.moved[1]).find("bdp_quarantine_data_" + changed.id) !=
             std::string::npos);
  BOOST_TEST(report.moved[2].find("process record p1") != std::string::npos);

  // Out of the listings; everything else as before.
  std::set<std::string> listed;
  for (const auto& r : backend->list(bdp::Query{})) listed.insert(r.id);
  BOOST_TEST((listed == std::set<std::string>{sound.id, other.id}));
  const auto processes = backend->list_processes();
  BOOST_REQUIRE(processes.size() == 1u);
  BOOST_TEST(processes[0].id == "p2");
  BOOST_TEST(backend->retrieve(sound).table()->equals(*numbers_table(4)));
  bdp::test::expect_error([&] { backend->retrieve(changed); }, bdp::ErrorCode::not_found,
                          {"record " + changed.id});
  // Kept, with the reasons: the rows, the inline blob, the renamed table.
  BOOST_TEST(db->query("select source || ':' || source_id from bdp_quarantine order by"
                       " source, source_id") == "bdp_processes:p1\nintermediate_data:" + meta.id +
                                                    "\nintermediate_data:" + changed.id);
  BOOST_TEST(db->query("select count(*) from bdp_quarantine where reason like '%metadata column%'"
                       " and payload is not null and row_json like '%\"entity_name\":\"meta\"%'") ==
             "1");
  BOOST_TEST(db->query("select count(*) from bdp_quarantine where reason = 'its table was "
                       "changed' and data_table = 'bdp_quarantine_data_" +
                       changed.id + "'") == "1");
  BOOST_TEST(db->query("select count(*) from bdp_quarantine_data_" + changed.id) == "2000");
  BOOST_TEST(db->count_data_tables() == "0");
  // The process row stays while its records need it, out of the listings.
  BOOST_TEST(db->query("select count(*) from bdp_processes where id = 'p1'") == "1");
  // A second run finds nothing left to move.
  BOOST_TEST(backend->quarantine(request).moved.empty());
  // New stores work; the versions of a quarantined key start again, as after remove().
  auto next = store(*backend, bdp::Payload(numbers_table(1)), "p1", "load", "meta");
  BOOST_TEST(next.version == 1);
}

void garbage_in_sqlite_text_columns_is_listed_marked(MakeDatabase make) {
  auto db = make();
  bdp::PluginHost host;
  auto backend = db->open(host);
  auto r = store(*backend, bdp::Payload(numbers_table(3)));
  save_process(*backend, "p1", 100);
  db->query("update intermediate_data set metadata = '{\"cut off', kind = 'tabel' where id = " +
            r.id);
  db->query("update bdp_processes set summary = substr(summary, 1, 20) where id = 'p1'");
  const auto records = backend->list(bdp::Query{});
  BOOST_REQUIRE(records.size() == 1u);
  BOOST_TEST(!records[0].damage.empty());
  const auto processes = backend->list_processes();
  BOOST_REQUIRE(processes.size() == 1u);
  BOOST_TEST(processes[0].damage.find("not JSON") != std::string::npos, processes[0].damage);
  bdp::test::expect_error([&] { backend->retrieve(r); }, bdp::ErrorCode::corrupt,
                          {"record " + r.id});
}

void newer_schema_is_refused(MakeDatabase make) {
  auto db = make();
  {
    bdp::PluginHost host;
    db->open(host);
  }
  db->query("update bdp_schema_version set version = 99");
  bdp::PluginHost host;
  bdp::test::expect_error([&] { db->open(host); }, bdp::ErrorCode::unsupported,
                          {"schema version 99", "newer than this soci plugin"});
}

}  // namespace

// ------------------------------------------------------------------ SQLite

BOOST_AUTO_TEST_SUITE(soci_sqlite)

BOOST_AUTO_TEST_CASE(sqlite_passes_the_conformance_suite_inline) {
  run_conformance(&Database::sqlite_file, std::nullopt);
}

BOOST_AUTO_TEST_CASE(sqlite_passes_the_conformance_suite_by_reference) {
  run_conformance(&Database::sqlite_file, 0);
}

BOOST_AUTO_TEST_CASE(sqlite_threshold_splits_inline_and_reference) {
  threshold_splits_inline_and_reference(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_damaged_blob_is_reported_as_corrupt) {
  damaged_blob_is_detected(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_damaged_rows_are_listed_marked_and_retrieve_is_corrupt) {
  damaged_rows_are_listed_marked(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_garbage_in_text_columns_is_listed_marked) {
  garbage_in_sqlite_text_columns_is_listed_marked(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_changed_reference_table_value_is_corrupt) {
  changed_reference_table_is_detected(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_quarantine_moves_damaged_rows_aside) {
  quarantine_moves_damaged_rows_aside(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_four_writer_processes_get_unique_versions) {
  writers_get_unique_versions(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_four_writer_threads_with_own_connections_get_unique_versions) {
  writer_threads_get_unique_versions(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_placeholder_process_rows_follow_their_records) {
  placeholder_process_rows_follow_their_records(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_writer_killed_mid_store_leaves_no_partial_record) {
  killed_writer_leaves_nothing(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_retrieve_racing_a_remove_is_not_found_never_damage) {
  retrieve_racing_a_remove_is_not_found(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_schema_newer_than_plugin_is_refused) {
  newer_schema_is_refused(&Database::sqlite_file);
}

BOOST_AUTO_TEST_CASE(sqlite_uses_wal_and_a_relative_path_resolves_against_base_dir) {
  TempDir dir;
  bdp::PluginHost host;
  auto backend = host.create_backend(
      "soci", "sqlite", {{"plugin", "soci"}, {"connection", "sqlite3://db=bdp-data/x/bdp.sqlite"}},
      dir.path());
  const auto file = dir.path() / "bdp-data" / "x" / "bdp.sqlite";
  BOOST_TEST(std::filesystem::exists(file));
  BOOST_TEST(backend->location() == "sqlite3://db=bdp-data/x/bdp.sqlite");
  BOOST_TEST(sqlite(file, "pragma journal_mode") == "wal");
  BOOST_TEST(sqlite(file, "select version from bdp_schema_version") == "1");
}

BOOST_AUTO_TEST_CASE(sqlite_connection_can_come_from_the_environment) {
  TempDir dir;
  const std::string url = "sqlite3://db=" + (dir.path() / "env.sqlite").string();
  ::setenv("BDP_TEST_SOCI_URL", url.c_str(), 1);
  bdp::PluginHost host;
  auto backend = host.create_backend(
      "soci", "db", {{"plugin", "soci"}, {"connection_env", "BDP_TEST_SOCI_URL"}}, dir.path());
  BOOST_TEST(backend->location() == url);
  ::unsetenv("BDP_TEST_SOCI_URL");
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "db",
                            {{"plugin", "soci"}, {"connection_env", "BDP_TEST_SOCI_URL"}},
                            dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.connection_env", "BDP_TEST_SOCI_URL", "not set"});
}

BOOST_AUTO_TEST_CASE(unknown_keys_and_bad_connections_are_config_errors) {
  TempDir dir;
  bdp::PluginHost host;
  bdp::test::expect_error(
      [&] {
        host.create_backend(
            "soci", "db",
            {{"plugin", "soci"}, {"connection", "sqlite3://db=x.sqlite"}, {"bogus", 1}},
            dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.bogus", "unknown key"});
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "db", {{"plugin", "soci"}, {"connection", "mysql://x"}},
                            dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.connection", "not supported"});
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "db", {{"plugin", "soci"}}, dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.connection", "missing"});
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "db",
                            {{"plugin", "soci"},
                             {"connection", "sqlite3://db=x.sqlite"},
                             {"inline_threshold_bytes", "big"}},
                            dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.inline_threshold_bytes"});
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "db",
                            {{"plugin", "soci"},
                             {"connection", "sqlite3://db=x.sqlite"},
                             {"synchronous", "sometimes"}},
                            dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.synchronous", "\"normal\" or \"full\""});
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "db",
                            {{"plugin", "soci"},
                             {"connection", "postgresql://host=localhost dbname=x"},
                             {"synchronous", "full"}},
                            dir.path());
      },
      bdp::ErrorCode::config, {"backends.db.synchronous", "SQLite only"});
}

BOOST_AUTO_TEST_CASE(sqlite_synchronous_full_is_applied) {
  TempDir dir;
  const auto file = dir.path() / "full.sqlite";
  bdp::PluginHost host;
  auto backend = host.create_backend("soci", "db",
                                     {{"plugin", "soci"},
                                      {"connection", "sqlite3://db=" + file.string()},
                                      {"synchronous", "full"}},
                                     dir.path());
  auto r = store(*backend, bdp::Payload(numbers_table(3)));
  BOOST_TEST(backend->retrieve(r).table()->num_rows() == 3u);
}

BOOST_AUTO_TEST_CASE(the_plugin_built_for_use_has_no_test_hook) {
  auto contains = [](const std::filesystem::path& file, std::string_view text) {
    return bdp::test::read_file(file).find(text) != std::string::npos;
  };
  const std::string hook = "BDP_SOCI_TEST_PAUSE_BEFORE_COMMIT";
  const auto shipped = bdp::PluginHost::default_plugin_dir() / "libbdp_soci.so";
  const auto test_copy = std::filesystem::path(BDP_TEST_HOOK_PLUGIN_DIR) / "libbdp_soci.so";
  BOOST_REQUIRE(std::filesystem::exists(shipped));
  BOOST_TEST(!contains(shipped, hook));
  BOOST_TEST(contains(test_copy, hook));  // the check above can see it when it is there
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_is_a_one_line_error) {
  TempDir dir;
  bdp::test::write_file(dir / "junk.sqlite", std::string(4096, 'x'));
  bdp::PluginHost host;
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "junk",
                            {{"plugin", "soci"}, {"connection", "sqlite3://db=junk.sqlite"}},
                            dir.path());
      },
      bdp::ErrorCode::io, {"soci backend 'junk'", "sqlite3://db=junk.sqlite"});
}

BOOST_AUTO_TEST_SUITE_END()

// -------------------------------------------------------------- PostgreSQL

BOOST_AUTO_TEST_SUITE(soci_postgresql, *boost::unit_test::precondition(postgres_available))

BOOST_AUTO_TEST_CASE(postgresql_passes_the_conformance_suite_inline) {
  run_conformance(&Database::postgres, std::nullopt);
}

BOOST_AUTO_TEST_CASE(postgresql_passes_the_conformance_suite_by_reference) {
  run_conformance(&Database::postgres, 0);
}

BOOST_AUTO_TEST_CASE(postgresql_threshold_splits_inline_and_reference) {
  threshold_splits_inline_and_reference(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_damaged_blob_is_reported_as_corrupt) {
  damaged_blob_is_detected(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_damaged_rows_are_listed_marked_and_retrieve_is_corrupt) {
  damaged_rows_are_listed_marked(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_changed_reference_table_value_is_corrupt) {
  changed_reference_table_is_detected(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_quarantine_moves_damaged_rows_aside) {
  quarantine_moves_damaged_rows_aside(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_four_writer_processes_get_unique_versions) {
  writers_get_unique_versions(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_four_writer_threads_with_own_connections_get_unique_versions) {
  writer_threads_get_unique_versions(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_placeholder_process_rows_follow_their_records) {
  placeholder_process_rows_follow_their_records(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_writer_killed_mid_store_leaves_no_partial_record) {
  killed_writer_leaves_nothing(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_retrieve_racing_a_remove_is_not_found_never_damage) {
  retrieve_racing_a_remove_is_not_found(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_schema_newer_than_plugin_is_refused) {
  newer_schema_is_refused(&Database::postgres);
}

BOOST_AUTO_TEST_CASE(postgresql_metadata_is_jsonb_and_filters_use_it) {
  auto db = Database::postgres();
  bdp::PluginHost host;
  auto backend = db->open(host);
  json::object keep{{"run", "nightly"}, {"n", 3}};
  json::object other{{"run", "adhoc"}};
  auto table = bdp::Payload(numbers_table(2));
  backend->store(bdp::StoreRequest{"p1", "s", "a", keep}, table);
  backend->store(bdp::StoreRequest{"p1", "s", "b", other}, table);
  BOOST_TEST(db->query("select data_type from information_schema.columns where table_name = "
                       "'intermediate_data' and column_name = 'metadata'") == "jsonb");
  bdp::Query q;
  q.metadata_equals.emplace_back("run", "nightly");
  auto found = backend->list(q);
  BOOST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].entity_name == "a");
}

BOOST_AUTO_TEST_CASE(sqlite_metadata_filters_narrow_in_sql_and_stay_exact) {
  // SQLite narrows by json_extract; the result must be what Query::matches
  // says for every kind of value, including those SQL would confuse.
  auto db = Database::sqlite_file();
  bdp::PluginHost host;
  auto backend = db->open(host);
  auto table = bdp::Payload(numbers_table(1));
  auto store = [&](const char* entity, json::object metadata) {
    backend->store(bdp::StoreRequest{"p1", "s", entity, metadata}, table);
  };
  store("flag", {{"v", true}});
  store("one", {{"v", 1}});
  store("half", {{"v", 0.5}});
  store("two_real", {{"v", 2.0}});
  store("two_int", {{"v", 2}});
  store("text", {{"v", "2"}});
  store("quoted", {{"a\"b", "x"}});
  auto entities = [&](std::string key, json::value value) {
    bdp::Query q;
    q.newest_first = false;
    q.metadata_equals.emplace_back(std::move(key), std::move(value));
    std::vector<std::string> names;
    for (const auto& r : backend->list(q)) names.push_back(r.entity_name);
    return names;
  };
  using names = std::vector<std::string>;
  BOOST_TEST(entities("v", true) == names{"flag"}, boost::test_tools::per_element());
  BOOST_TEST(entities("v", 1) == names{"one"}, boost::test_tools::per_element());
  BOOST_TEST(entities("v", 0.5) == names{"half"}, boost::test_tools::per_element());
  BOOST_TEST(entities("v", 2) == names{"two_int"}, boost::test_tools::per_element());
  BOOST_TEST(entities("v", 2.0) == names{"two_real"}, boost::test_tools::per_element());
  BOOST_TEST(entities("v", "2") == names{"text"}, boost::test_tools::per_element());
  BOOST_TEST(entities("a\"b", "x") == names{"quoted"}, boost::test_tools::per_element());
  BOOST_TEST(entities("v", "absent").empty());
}

BOOST_AUTO_TEST_CASE(postgresql_bad_password_is_one_line_and_redacted) {
  pg_url();
  auto url = env("BDP_TEST_PG_PASSWORD_URL");
  BOOST_REQUIRE_MESSAGE(url, "BDP_TEST_PG_PASSWORD_URL is unset (tools/pg.sh env sets it)");
  std::string bad = std::regex_replace(*url, std::regex("password=\\S+"), "password=wrong-secret");
  TempDir dir;
  bdp::PluginHost host;
  try {
    host.create_backend("soci", "shared", {{"plugin", "soci"}, {"connection", bad}}, dir.path());
    BOOST_ERROR("a wrong password was accepted");
  } catch (const bdp::Error& e) {
    const std::string what = e.what();
    BOOST_TEST(bdp::to_string(e.code()) == "io");
    BOOST_TEST(what.find("wrong-secret") == std::string::npos, what);
    BOOST_TEST(what.find("password=***") != std::string::npos, what);
    BOOST_TEST(what.find("password authentication failed") != std::string::npos, what);
    BOOST_TEST(what.find('\n') == std::string::npos, what);
  }
  // The right password works.
  auto backend =
      host.create_backend("soci", "shared", {{"plugin", "soci"}, {"connection", *url}}, dir.path());
  BOOST_TEST(backend->location().find("bdp-secret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(postgresql_missing_database_is_named) {
  const std::string url = with_dbname(pg_url(), "bdp_no_such_db") + " password=hunter2";
  TempDir dir;
  bdp::PluginHost host;
  bdp::test::expect_error(
      [&] {
        host.create_backend("soci", "shared", {{"plugin", "soci"}, {"connection", url}},
                            dir.path());
      },
      bdp::ErrorCode::io,
      {"soci backend 'shared'", "bdp_no_such_db", "does not exist", "password=***"});
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------- without a server needed

BOOST_AUTO_TEST_SUITE(soci_connection)

BOOST_AUTO_TEST_CASE(unreachable_server_is_a_one_line_redacted_error) {
  // Port 1 on loopback: nothing listens there.
  const std::string url =
      "postgresql://host=127.0.0.1 port=1 dbname=bdp user=bdp password=hunter2 connect_timeout=3";
  TempDir dir;
  bdp::PluginHost host;
  try {
    host.create_backend("soci", "shared", {{"plugin", "soci"}, {"connection", url}}, dir.path());
    BOOST_ERROR("connected to port 1");
  } catch (const bdp::Error& e) {
    const std::string what = e.what();
    BOOST_TEST(bdp::to_string(e.code()) == "io");
    BOOST_TEST(what.find("hunter2") == std::string::npos, what);
    BOOST_TEST(
        what.find("soci backend 'shared' (postgresql://host=127.0.0.1 port=1") != std::string::npos,
        what);
    BOOST_TEST(what.find("Connection refused") != std::string::npos, what);
    BOOST_TEST(what.find("password=***") != std::string::npos, what);
    BOOST_TEST(what.find('\n') == std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(redaction_hides_every_password_form) {
  using bdp::redact_connection;
  BOOST_TEST(redact_connection("postgresql://host=h dbname=d user=u password=s3cret port=5") ==
             "postgresql://host=h dbname=d user=u password=*** port=5");
  BOOST_TEST(redact_connection("postgresql://host=h password = 'a b\\' c' user=u") ==
             "postgresql://host=h password = *** user=u");
  BOOST_TEST(redact_connection("postgresql://user:pa55@db.example:5432/bdp") ==
             "postgresql://user:***@db.example:5432/bdp");
  BOOST_TEST(redact_connection("postgresql://u@h/db?sslmode=require&password=x1&a=b") ==
             "postgresql://u@h/db?sslmode=require&password=***&a=b");
  BOOST_TEST(redact_connection("PASSWORD=abc host=h") == "PASSWORD=*** host=h");
  BOOST_TEST(redact_connection("sqlite3://db=bdp-data/bdp.sqlite") ==
             "sqlite3://db=bdp-data/bdp.sqlite");
  BOOST_TEST(redact_connection("postgresql://user@host/db") == "postgresql://user@host/db");
}

BOOST_AUTO_TEST_SUITE_END()
