// Acceptance of the database backend from the command line: `bdp run` of
// config/examples/sqlite.json persists every stage to the default SQLite
// backend, and the sqlite3 CLI sees the stages and a reference table.
#include "cli_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using bdp::test::bdp_cli;
using bdp::test::CommandResult;
using bdp::test::describe;
using bdp::test::TempDir;

namespace {

CommandResult sqlite3(const fs::path& db, const std::string& sql) {
  return bdp::test::run_command({"/usr/bin/sqlite3", db.string(), sql});
}

// The example project, copied into `dir` with its data.
fs::path copy_example(const TempDir& dir) {
  const auto examples = bdp::test::source_dir() / "config" / "examples";
  fs::copy_file(examples / "sqlite.json", dir / "sqlite.json");
  fs::create_directories(dir / "data");
  fs::copy_file(examples / "data" / "orders.csv", dir / "data" / "orders.csv");
  return dir / "sqlite.json";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(soci_cli)

BOOST_AUTO_TEST_CASE(run_with_the_sqlite_default_persists_every_stage_queryable_with_sqlite3) {
  TempDir dir;
  const auto config = copy_example(dir);
  auto run = bdp_cli({"run", config.string()});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, describe(run));

  const auto db = dir / "bdp-data" / "bdp.sqlite";
  BOOST_REQUIRE_MESSAGE(fs::exists(db), db << " was not created");
  auto rows = sqlite3(db, "select stage_name, storage_type, size_bytes from intermediate_data");
  BOOST_REQUIRE_MESSAGE(rows.exit_code == 0, describe(rows));
  std::map<std::string, std::string> storage;
  std::istringstream in(rows.out);
  for (std::string line; std::getline(in, line);) {
    const auto bar = line.find('|');
    BOOST_REQUIRE(bar != std::string::npos);
    storage[line.substr(0, bar)] = line.substr(bar + 1, line.find('|', bar + 1) - bar - 1);
  }
  for (const char* stage : {"load", "recent", "columns", "by_region", "ranked", "generated"}) {
    BOOST_TEST(storage.count(stage) == 1u, "stage " << stage << " missing in:\n" << rows.out);
  }
  BOOST_TEST(storage["load"] == "inline");
  BOOST_TEST(storage["generated"] == "reference");

  // The reference table is a plain SQL table, found by the name the record gives.
  auto name = sqlite3(db,
                      "select data_reference from intermediate_data where stage_name = "
                      "'generated'");
  BOOST_REQUIRE(name.exit_code == 0);
  std::string table = name.out.substr(0, name.out.find('\n'));
  BOOST_TEST(table.rfind("bdp_data_", 0) == 0u, table);
  auto count = sqlite3(db, "select count(*), min(id), max(id) from " + table);
  BOOST_TEST(count.exit_code == 0, describe(count));
  BOOST_TEST(count.out == "50000|0|49999\n");
  auto regions = sqlite3(db, "select count(distinct region) from " + table);
  BOOST_TEST(regions.out == "4\n");
  // The process record is there too, completed.
  auto process = sqlite3(db, "select status from bdp_processes where recorded = 1");
  BOOST_TEST(process.out == "completed\n", describe(process));
}

BOOST_AUTO_TEST_CASE(a_memory_only_run_creates_no_database_file) {
  TempDir dir;
  fs::create_directories(dir / "data");
  fs::copy_file(bdp::test::source_dir() / "config" / "examples" / "data" / "orders.csv",
                dir / "data" / "orders.csv");
  fs::copy_file(bdp::test::source_dir() / "config" / "examples" / "quickstart.json",
                dir / "quickstart.json");
  // The quickstart persists in the background (hybrid); the same pipeline in
  // memory mode must not touch the default database.
  auto run =
      bdp_cli({"run", (dir / "quickstart.json").string(), "--set", "storage_strategy.mode=memory"});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, describe(run));
  BOOST_TEST(!fs::exists(dir / "bdp-data"));
}

BOOST_AUTO_TEST_CASE(the_quickstart_persists_every_stage_to_the_default_database) {
  TempDir dir;
  fs::create_directories(dir / "data");
  fs::copy_file(bdp::test::source_dir() / "config" / "examples" / "data" / "orders.csv",
                dir / "data" / "orders.csv");
  fs::copy_file(bdp::test::source_dir() / "config" / "examples" / "quickstart.json",
                dir / "quickstart.json");
  auto run = bdp_cli({"run", (dir / "quickstart.json").string()});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, describe(run));
  BOOST_TEST(run.err.empty(), describe(run));
  BOOST_TEST(fs::exists(dir / "bdp-data" / "bdp.sqlite"));
  // Every stage is shown where it was written, not "memory".
  for (const char* stage : {"load", "recent", "columns", "by_region", "ranked"}) {
    BOOST_TEST(run.out.find(stage) != std::string::npos, stage);
  }
  BOOST_TEST(run.out.find(" memory ") == std::string::npos, describe(run));
  auto ps = bdp_cli({"--config", (dir / "quickstart.json").string(), "ps", "--json"});
  BOOST_REQUIRE_MESSAGE(ps.exit_code == 0, describe(ps));
  auto processes = boost::json::parse(ps.out).as_array();
  BOOST_REQUIRE_EQUAL(processes.size(), 1u);
  BOOST_TEST(processes[0].at("status").as_string() == "completed");
  BOOST_TEST(processes[0].at("stages").as_array().size() == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
