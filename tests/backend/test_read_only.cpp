// Opening stores read-only (CreateRequest::read_only, issue 13): the memory,
// csv and soci (SQLite, and PostgreSQL when BDP_TEST_PG_URL names a server)
// plugins, loaded through the real PluginHost, on real files in temp
// folders, and DataContainer::open_read_only over them. A read-only open
// creates nothing, a store that is not there is not_found "no store at
// LOCATION", every change is refused with invalid_argument, and nothing on
// disk changes, not even what a crashed writer left for the next writer to
// repair. (Permissions are exercised from the command line, as another
// user: tests/integration/test_read_only_cli.cpp.)
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::ErrorCode;
using bdp::Payload;
using bdp::RecordInfo;
using bdp::test::expect_error;
using bdp::test::run_command;
using bdp::test::TempDir;

bdp::PluginHost& host() {
  static bdp::PluginHost h;
  return h;
}

bdp::TablePtr make_table(std::int64_t rows, std::int64_t seed = 0) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64},
                       {"label", bdp::ColumnType::string},
                       {"price", bdp::ColumnType::float64}});
  for (std::int64_t i = 0; i < rows; ++i) {
    b.append_row({seed * 1000 + i, "row " + std::to_string(i), 0.25 * static_cast<double>(i)});
  }
  return b.finish();
}

RecordInfo store(bdp::Backend& backend, const std::string& process, const std::string& stage,
                 const Payload& payload) {
  static const json::object kNoMetadata;
  return backend.store(bdp::StoreRequest{process, stage, "default", kNoMetadata}, payload);
}

bdp::ProcessInfo process_record(const std::string& id) {
  bdp::ProcessInfo p;
  p.id = id;
  p.name = "read-only";
  p.status = bdp::ProcessStatus::completed;
  p.started_at = 1'000'000;
  p.finished_at = 2'000'000;
  return p;
}

// Every path under `dir` with its contents ("<folder>" for folders), so
// that two snapshots differ when anything was created, removed or written.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    out[rel] = e.is_directory() ? "<folder>" : bdp::test::read_file(e.path());
  }
  return out;
}

std::set<std::string> names(const std::map<std::string, std::string>& snap) {
  std::set<std::string> out;
  for (const auto& [name, contents] : snap) out.insert(name);
  return out;
}

std::set<std::string> ids(const std::vector<RecordInfo>& records) {
  std::set<std::string> out;
  for (const auto& r : records) out.insert(r.id);
  return out;
}

// Every change a backend can be asked for fails with invalid_argument and a
// message saying it is read-only.
void expect_every_change_refused(bdp::Backend& backend, const RecordInfo& existing) {
  const std::vector<std::string> read_only = {"read-only"};
  expect_error([&] { store(backend, "p", "new_stage", Payload(make_table(1))); },
               ErrorCode::invalid_argument, read_only);
  expect_error([&] { backend.remove(existing); }, ErrorCode::invalid_argument, read_only);
  expect_error([&] { backend.save_process(process_record("p")); }, ErrorCode::invalid_argument,
               read_only);
  expect_error([&] { backend.remove_process("p"); }, ErrorCode::invalid_argument, read_only);
}

// ------------------------------------------------------------------ csv

std::shared_ptr<bdp::Backend> open_csv(const fs::path& root, bool read_only) {
  return host().create_backend("csv", "csv", {{"plugin", "csv"}, {"root", root.string()}},
                               root.parent_path(), read_only);
}

// A csv store with two records of process "p" and its process record.
struct CsvStore {
  TempDir dir;
  fs::path root = dir / "store";
  fs::path index = root / ".bdp" / "index.jsonl";
  std::vector<RecordInfo> records;

  CsvStore() {
    auto backend = open_csv(root, false);
    records.push_back(store(*backend, "p", "a", Payload(make_table(3, 1))));
    records.push_back(store(*backend, "p", "b", Payload(make_table(4, 2))));
    backend->save_process(process_record("p"));
  }

  // The state a writer killed after renaming its files leaves: the last
  // store's "begin" line and both files, without its "add" line.
  void drop_last_add_line() const {
    std::string text = bdp::test::read_file(index);
    text.erase(text.rfind("{\"op\":\"add\""));
    bdp::test::write_file(index, text);
  }
};

// ------------------------------------------------------------- database

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// run_command does not search PATH: the full path of a program on it.
std::string program(const std::string& name) {
  const std::string dirs = env("PATH").value_or("/usr/bin:/bin");
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return name;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string sqlite(const fs::path& file, const std::string& sql) {
  auto r = run_command({program("sqlite3"), file.string(), sql});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "sqlite3 " << sql << ": " << r.err);
  return trimmed(r.out);
}

std::string conninfo_of(const std::string& url) {
  const std::string prefix = "postgresql://";
  return url.rfind(prefix, 0) == 0 ? url.substr(prefix.size()) : url;
}

std::string psql(const std::string& url, const std::string& sql) {
  auto r = run_command({program("psql"), conninfo_of(url), "-X", "-q", "-A", "-t", "-v",
                        "ON_ERROR_STOP=1", "-c", sql});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "psql " << sql << ": " << r.err);
  return trimmed(r.out);
}

std::shared_ptr<bdp::Backend> open_db(const std::string& connection, const fs::path& base,
                                      bool read_only) {
  return host().create_backend("soci", "db", {{"plugin", "soci"}, {"connection", connection}}, base,
                               read_only);
}

// A SQLite store with two records of process "p" and its process record,
// closed (so its -wal and -shm are gone, as after a run).
struct SqliteStore {
  TempDir dir;
  fs::path file = dir / "data" / "bdp.sqlite";
  std::string connection = "sqlite3://db=" + file.string();
  std::vector<RecordInfo> records;

  SqliteStore() {
    auto backend = open_db(connection, dir.path(), false);
    records.push_back(store(*backend, "p", "a", Payload(make_table(3, 1))));
    records.push_back(store(*backend, "p", "b", Payload(make_table(4, 2))));
    backend->save_process(process_record("p"));
  }
};

bool in_ci() {
  return env("CI") == std::optional<std::string>("true");
}

boost::test_tools::assertion_result postgres_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(env("BDP_TEST_PG_URL").has_value() || in_ci());
  result.message() << "BDP_TEST_PG_URL is not set: PostgreSQL tests skipped (run ./tools/test.sh, "
                      "which starts a throwaway server with tools/pg.sh)";
  return result;
}

// A fresh database on the PostgreSQL test server, dropped afterwards.
struct PgDatabase {
  std::string admin = env("BDP_TEST_PG_URL").value_or("");
  std::string name;
  std::string url;

  PgDatabase() {
    if (admin.empty()) BOOST_FAIL("CI=true but BDP_TEST_PG_URL is unset");
    static std::atomic<int> counter{0};
    name = "bdp_ro_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    psql(admin, "create database " + name);
    url = std::regex_replace(admin, std::regex(R"(dbname=\S+)"), "dbname=" + name);
  }
  ~PgDatabase() {
    run_command({program("psql"), conninfo_of(admin), "-X", "-q", "-c",
                 "drop database if exists " + name + " with (force)"});
  }
  std::string tables() const {
    return psql(url,
                "select coalesce(string_agg(tablename, ',' order by tablename), '') from "
                "pg_tables where schemaname = current_schema()");
  }
};

// ------------------------------------------------------------ container

// The configuration of a project file in `dir` with `document`.
bdp::Config project(const fs::path& dir, const std::string& document) {
  const fs::path file = dir / "project.json";
  bdp::test::write_file(file, document);
  bdp::ConfigResolver resolver;
  resolver.set_project_file(file);
  return resolver.resolve();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(read_only_memory)

BOOST_AUTO_TEST_CASE(memory_backend_opened_read_only_refuses_every_change) {
  auto backend = host().create_backend("memory", "memory", {}, {}, true);
  BOOST_TEST(backend->list(bdp::Query{}).empty());
  RecordInfo some;
  some.id = "m1";
  expect_every_change_refused(*backend, some);
  BOOST_TEST(backend->list(bdp::Query{}).empty());
  BOOST_TEST(backend->list_processes().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(read_only_csv)

BOOST_AUTO_TEST_CASE(csv_read_only_open_of_a_missing_store_is_no_store_and_creates_nothing) {
  TempDir dir;
  // No root; a root that is a plain folder; a root whose parent is missing.
  bdp::test::write_file(dir / "plain" / "notes.txt", "not a store");
  const auto before = snapshot(dir.path());
  for (const fs::path& root : {dir / "store", dir / "plain", dir / "no" / "such" / "store"}) {
    expect_error([&] { open_csv(root, true); }, ErrorCode::not_found,
                 {"no store at " + root.string()});
  }
  BOOST_TEST(snapshot(dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(csv_read_only_reads_what_a_read_write_open_reads) {
  CsvStore s;
  auto writer = open_csv(s.root, false);
  auto reader = open_csv(s.root, true);
  BOOST_TEST(ids(reader->list(bdp::Query{})) == ids(s.records));
  BOOST_TEST(reader->stats().records == 2);
  BOOST_TEST(reader->list_processes().size() == 1u);
  BOOST_TEST(reader->retrieve(s.records[1]).table()->equals(*make_table(4, 2)));
  // A store made after the reader opened is seen on its next list.
  const RecordInfo later = store(*writer, "q", "a", Payload(make_table(2, 3)));
  BOOST_TEST(ids(reader->list(bdp::Query{})).count(later.id) == 1u);
  BOOST_TEST(reader->retrieve(later).table()->equals(*make_table(2, 3)));
}

BOOST_AUTO_TEST_CASE(csv_read_only_refuses_every_change_and_leaves_the_store_unchanged) {
  CsvStore s;
  const auto before = snapshot(s.root);
  auto backend = open_csv(s.root, true);
  expect_every_change_refused(*backend, s.records[0]);
  BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records));
  backend.reset();
  BOOST_TEST(snapshot(s.root) == before);
}

BOOST_AUTO_TEST_CASE(csv_read_only_lists_a_crashed_writers_complete_store_without_settling_it) {
  CsvStore s;
  s.drop_last_add_line();
  // And a store killed before its sidecar: a "begin" and a data file.
  const fs::path folder = s.root / "p" / "c" / "default";
  bdp::test::write_file(
      s.index, bdp::test::read_file(s.index) +
                   R"({"op":"begin","process_id":"p","stage_name":"c","entity_name":"default",)"
                   R"("version":1})"
                   "\n");
  bdp::test::write_file(folder / "v1.csv", "id\n1\n");
  const auto before = snapshot(s.root);
  {
    auto backend = open_csv(s.root, true);
    // The complete one is listed and reads back; the half one is not listed.
    BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records));
    BOOST_TEST(backend->retrieve(s.records[1]).table()->equals(*make_table(4, 2)));
    BOOST_TEST(backend->stats().records == 2);
  }
  // Neither was settled on disk: no "add" or "abort" line, no file removed.
  BOOST_TEST(snapshot(s.root) == before);
  // The next writer settles both.
  BOOST_TEST(ids(open_csv(s.root, false)->list(bdp::Query{})) == ids(s.records));
  BOOST_TEST(!fs::exists(folder / "v1.csv"));
}

BOOST_AUTO_TEST_CASE(csv_read_only_repairs_a_missing_damaged_or_cut_index_in_memory_only) {
  CsvStore s;
  const std::string good = bdp::test::read_file(s.index);
  const std::vector<std::string> damaged = {
      "",                                                    // missing
      good.substr(0, good.find('\n') + 1) + "{not json\n" +  // damaged in the middle
          good.substr(good.find('\n') + 1),
      good + R"({"op":"add","record":{"id":)",  // a partial last line
      "",                                       // empty
  };
  for (std::size_t i = 0; i < damaged.size(); ++i) {
    if (i == 0) {
      fs::remove(s.index);
    } else {
      bdp::test::write_file(s.index, damaged[i]);
    }
    const auto before = snapshot(s.root);
    {
      auto backend = open_csv(s.root, true);
      BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records), "case " << i);
      BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records), "case " << i << ", again");
      BOOST_TEST(backend->retrieve(s.records[0]).table()->equals(*make_table(3, 1)));
    }
    BOOST_TEST(snapshot(s.root) == before, "case " << i << ": the index was written");
  }
}

BOOST_AUTO_TEST_CASE(csv_read_only_reads_without_a_lock_file_and_creates_none) {
  CsvStore s;
  fs::remove(s.root / ".bdp" / "lock");
  const auto before = snapshot(s.root);
  {
    auto backend = open_csv(s.root, true);
    BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records));
    BOOST_TEST(backend->list_processes().size() == 1u);
    BOOST_TEST(backend->retrieve(s.records[0]).table()->equals(*make_table(3, 1)));
  }
  BOOST_TEST(snapshot(s.root) == before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(read_only_sqlite)

BOOST_AUTO_TEST_CASE(sqlite_read_only_open_of_a_missing_file_is_no_store_and_creates_nothing) {
  TempDir dir;
  const auto before = snapshot(dir.path());
  for (const fs::path& file : {dir / "bdp.sqlite", dir / "bdp-data" / "bdp.sqlite"}) {
    expect_error([&] { open_db("sqlite3://db=" + file.string(), dir.path(), true); },
                 ErrorCode::not_found, {"no store at " + file.string()});
  }
  // A relative path names the file it resolves to.
  expect_error([&] { open_db("sqlite3://db=bdp-data/bdp.sqlite", dir.path(), true); },
               ErrorCode::not_found, {"no store at " + (dir / "bdp-data/bdp.sqlite").string()});
  BOOST_TEST(snapshot(dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(sqlite_read_only_reads_and_leaves_no_file_behind) {
  SqliteStore s;
  const auto before = snapshot(s.dir.path());
  {
    auto backend = open_db(s.connection, s.dir.path(), true);
    BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records));
    BOOST_TEST(backend->stats().records == 2);
    BOOST_TEST(backend->list_processes().size() == 1u);
    BOOST_TEST(backend->retrieve(s.records[1]).table()->equals(*make_table(4, 2)));
  }
  // Not even SQLite's -wal and -shm files stay.
  BOOST_TEST(snapshot(s.dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(sqlite_read_only_refuses_every_change_and_leaves_the_file_unchanged) {
  SqliteStore s;
  const auto before = snapshot(s.dir.path());
  {
    auto backend = open_db(s.connection, s.dir.path(), true);
    expect_every_change_refused(*backend, s.records[0]);
    BOOST_TEST(ids(backend->list(bdp::Query{})) == ids(s.records));
  }
  BOOST_TEST(snapshot(s.dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(sqlite_read_only_sees_what_an_open_writer_committed) {
  // The writer keeps its connection, so its commits sit in the -wal file:
  // the reader uses the writer's -wal and -shm.
  SqliteStore s;
  auto writer = open_db(s.connection, s.dir.path(), false);
  const RecordInfo later = store(*writer, "q", "a", Payload(make_table(5, 7)));
  BOOST_TEST_REQUIRE(fs::exists(s.file.string() + "-wal"));
  auto reader = open_db(s.connection, s.dir.path(), true);
  BOOST_TEST(ids(reader->list(bdp::Query{})).count(later.id) == 1u);
  BOOST_TEST(reader->retrieve(later).table()->equals(*make_table(5, 7)));
  expect_every_change_refused(*reader, later);
  BOOST_TEST(writer->list(bdp::Query{}).size() == 3u);
}

BOOST_AUTO_TEST_CASE(sqlite_read_only_refuses_a_schema_newer_than_it_knows) {
  SqliteStore s;
  sqlite(s.file, "update bdp_schema_version set version = 99");
  const auto before = snapshot(s.dir.path());
  expect_error([&] { open_db(s.connection, s.dir.path(), true); }, ErrorCode::unsupported,
               {"schema version 99", "newer", "upgrade bdp"});
  BOOST_TEST(snapshot(s.dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(sqlite_read_only_of_a_database_without_the_bdp_schema_is_no_store) {
  TempDir dir;
  const fs::path file = dir / "other.sqlite";
  sqlite(file, "create table notes (text text)");
  const auto before = snapshot(dir.path());
  expect_error([&] { open_db("sqlite3://db=" + file.string(), dir.path(), true); },
               ErrorCode::not_found, {"no store at " + file.string()});
  BOOST_TEST(snapshot(dir.path()) == before);
  BOOST_TEST(sqlite(file, "select group_concat(name) from sqlite_master") == "notes");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(read_only_postgresql, *boost::unit_test::precondition(postgres_available))

BOOST_AUTO_TEST_CASE(postgresql_read_only_creates_no_schema_and_refuses_every_change) {
  PgDatabase db;
  // A database without the bdp schema is no store, and stays without it.
  expect_error([&] { open_db(db.url, {}, true); }, ErrorCode::not_found, {"no store at"});
  BOOST_TEST(db.tables() == "");

  std::vector<RecordInfo> records;
  {
    auto writer = open_db(db.url, {}, false);
    records.push_back(store(*writer, "p", "a", Payload(make_table(3, 1))));
    writer->save_process(process_record("p"));
  }
  const std::string rows = psql(db.url, "select count(*) from intermediate_data");
  auto reader = open_db(db.url, {}, true);
  BOOST_TEST(ids(reader->list(bdp::Query{})) == ids(records));
  BOOST_TEST(reader->retrieve(records[0]).table()->equals(*make_table(3, 1)));
  BOOST_TEST(reader->list_processes().size() == 1u);
  expect_every_change_refused(*reader, records[0]);
  BOOST_TEST(psql(db.url, "select count(*) from intermediate_data") == rows);
  BOOST_TEST(psql(db.url, "select count(*) from bdp_processes") == "1");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(read_only_container)

BOOST_AUTO_TEST_CASE(container_read_only_with_no_store_there_names_each_and_creates_nothing) {
  TempDir dir;
  const bdp::Config config = project(dir.path(), R"({
    "project": "ro",
    "storage_strategy": {"mode": "persist", "backend": "sqlite"},
    "backends": {"csv": {"plugin": "csv", "root": "csv"}},
    "stages": [{"name": "gen", "processor": "generate", "params": {"rows": 3},
                "storage": {"persist": true, "backend": "csv"}}]})");
  const auto before = snapshot(dir.path());
  expect_error([&] { bdp::DataContainer::open_read_only(config, host()); }, ErrorCode::not_found,
               {"no store at " + (dir / "bdp-data" / "bdp.sqlite").string(),
                "no store at " + (dir / "csv").string()});
  BOOST_TEST(snapshot(dir.path()) == before);
}

BOOST_AUTO_TEST_CASE(container_read_only_leaves_out_a_store_that_is_not_there) {
  TempDir dir;
  const std::string document = R"({
    "project": "ro",
    "storage_strategy": {"mode": "persist", "backend": "sqlite"},
    "backends": {"csv": {"plugin": "csv", "root": "csv"}},
    "stages": [{"name": "gen", "processor": "generate", "params": {"rows": 3}}]})";
  bdp::Config config = project(dir.path(), document);
  {
    auto writer = bdp::DataContainer::open(config, host());
    writer->set_process("p");
    writer->store_stage_data("gen", Payload(make_table(3)));
    writer->save_process(process_record("p"));
  }
  // Only the sqlite store exists; the csv one the config names does not.
  config = project(dir.path(), R"({
    "project": "ro",
    "storage_strategy": {"mode": "persist", "backend": "sqlite"},
    "backends": {"csv": {"plugin": "csv", "root": "csv"}},
    "stages": [{"name": "gen", "processor": "generate", "params": {"rows": 3},
                "storage": {"persist": true, "backend": "csv"}}]})");
  const auto before = snapshot(dir.path());
  {
    auto reader = bdp::DataContainer::open_read_only(config, host());
    const auto records = reader->list_available_data();
    BOOST_TEST_REQUIRE(records.size() == 1u);
    BOOST_TEST(records[0].backend == "sqlite");
    BOOST_TEST(reader->list_processes().size() == 1u);
    BOOST_TEST(reader->retrieve_record(records[0]).table()->equals(*make_table(3)));
  }
  BOOST_TEST(snapshot(dir.path()) == before);
  BOOST_TEST(!fs::exists(dir / "csv"));
}

BOOST_AUTO_TEST_CASE(container_read_only_refuses_changes_with_the_backends_error) {
  TempDir dir;
  const bdp::Config config = project(dir.path(), R"({
    "project": "ro",
    "storage_strategy": {"mode": "persist", "backend": "sqlite", "cleanup_policy": "keep_all"},
    "stages": []})");
  {
    auto writer = bdp::DataContainer::open(config, host());
    writer->set_process("p");
    writer->store_stage_data("a", Payload(make_table(3)));
    writer->store_stage_data("a", Payload(make_table(4)));
    writer->save_process(process_record("p"));
  }
  const auto before = snapshot(dir.path());
  {
    auto reader = bdp::DataContainer::open_read_only(config, host());
    reader->set_process("q");
    expect_error([&] { reader->store_stage_data("a", Payload(make_table(1))); },
                 ErrorCode::invalid_argument, {"read-only"});
    expect_error([&] { reader->save_process(process_record("q")); }, ErrorCode::invalid_argument,
                 {"read-only"});
    bdp::Query query;
    query.process_id = "p";
    // A dry run reports what a cleanup would remove; the cleanup is refused.
    const auto dry = reader->cleanup_where(query, bdp::CleanupPolicy::keep_latest, true);
    BOOST_TEST(dry.removed.size() == 1u);
    expect_error([&] { reader->cleanup_where(query, bdp::CleanupPolicy::keep_latest, false); },
                 ErrorCode::invalid_argument, {"read-only", "cannot remove"});
    BOOST_TEST(reader->list_available_data(query).size() == 2u);
  }
  BOOST_TEST(snapshot(dir.path()) == before);
  BOOST_TEST(names(snapshot(dir.path())).count("bdp-data/bdp.sqlite-wal") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
