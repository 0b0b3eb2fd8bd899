// `bdp diff`, `bdp export` and `bdp import` from the command line (issue
// #6): two `bdp run`s with different --set decisions compared (the decision
// and the changed rows shown, --json, --changes-csv, --exit-code), bad
// selectors (one line with the closest names), and export -> import into
// another store -> diff showing no differences. Each test runs the real
// binary on real files in a temporary folder.
#include "cli_support.hpp"

#include <bdp/sdk/csv.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::bdp_cli;
using bdp::test::CommandResult;
using bdp::test::contains;
using bdp::test::describe;
using bdp::test::expect_one_line_error;
using bdp::test::parse_json;
using bdp::test::split_lines;
using bdp::test::TempDir;

namespace {

// gen -> cheap (price < 500) -> by_region, persisted: gen and cheap in the
// SQLite file, by_region in a CSV folder. `strategy_backend` is where
// imports go.
fs::path write_project(const TempDir& dir, const std::string& file,
                       const std::string& strategy_backend = "sqlite") {
  const fs::path path = dir / file;
  bdp::test::write_file(path, R"({"project": "cmp",
    "storage_strategy": {"mode": "persist", "cleanup_policy": "keep_all", "backend": ")" +
                                  strategy_backend + R"("},
    "backends": {"sqlite": {"plugin": "soci", "connection": "sqlite3://db=store.sqlite"},
                 "csv": {"plugin": "csv", "root": "csv-store"}},
    "stages": [
      {"name": "gen", "processor": "generate", "params": {"rows": 200, "seed": 3}},
      {"name": "cheap", "processor": "filter", "inputs": ["gen"],
       "params": {"column": "price", "op": "<", "value": 500}},
      {"name": "by_region", "processor": "aggregate", "inputs": ["cheap"],
       "params": {"group_by": ["region"], "sum": ["qty"], "count": true},
       "storage": {"persist": true, "backend": "csv"}}]})");
  return path;
}

std::string run_ok(const fs::path& project, std::vector<std::string> args = {}) {
  args.insert(args.begin(), {"run", project.string()});
  args.push_back("--json");
  auto r = bdp_cli(args);
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  return std::string(parse_json(r.out).at("id").as_string());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diff_cli)

BOOST_AUTO_TEST_CASE(diff_of_two_runs_shows_the_differing_decision_and_the_changed_rows) {
  TempDir dir;
  const auto project = write_project(dir, "p.json");
  const std::string a = run_ok(project);
  const std::string b = run_ok(project, {"--set", "stages.cheap.params.value=300"});
  const std::string config = project.string();

  auto r = bdp_cli({"--config", config, "diff", "latest~1", "latest", "--key", "region"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "A: " + a), describe(r));
  BOOST_TEST(contains(r.out, "B: " + b), describe(r));
  BOOST_TEST(contains(r.out, "stages.cheap.params.value"), describe(r));
  BOOST_TEST(contains(r.out, "300"), describe(r));
  BOOST_TEST(contains(r.out, "by_region/default"), describe(r));
  BOOST_TEST(contains(r.out, "rows matched by key region"), describe(r));
  BOOST_TEST(contains(r.out, "qty_sum: "), describe(r));  // old -> new per column
  BOOST_TEST(contains(r.out, " -> "), describe(r));
  BOOST_TEST(!contains(r.out, "no differences"), describe(r));

  // --json: the same findings for scripts.
  r = bdp_cli(
      {"--config", config, "diff", a, b, "--stage", "by_region", "--key", "region", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto j = parse_json(r.out);
  BOOST_TEST(j.at("differences").as_bool());
  bool decision = false;
  for (const auto& d : j.at("decisions").as_array()) {
    if (d.at("key").as_string() == "stages.cheap.params.value") {
      decision = true;
      BOOST_TEST(d.at("a").is_null());
      BOOST_TEST(d.at("b").as_int64() == 300);
    }
  }
  BOOST_TEST(decision, r.out);
  BOOST_TEST_REQUIRE(j.at("entities").as_array().size() == 1u);
  const auto& t = j.at("entities").as_array()[0].at("table");
  BOOST_TEST(t.at("changed_rows").to_number<std::uint64_t>() == 4u);  // every region's sums changed
  const auto& example = t.at("examples").at("changed").as_array().at(0);
  BOOST_TEST(example.at("changes").at("qty_sum").at("old").as_int64() >
             example.at("changes").at("qty_sum").at("new").as_int64());

  // --changes-csv writes every differing row; --exit-code exits 3.
  const fs::path changes = dir / "changes.csv";
  r = bdp_cli({"--config", config, "diff", a, b, "--key", "id", "--changes-csv", changes.string(),
               "--exit-code"});
  BOOST_TEST(r.exit_code == 3, describe(r));
  const auto rows = bdp::csv::read_file(changes);
  BOOST_TEST(rows->num_rows() > 8u);
  bool only_a = false;
  for (std::size_t i = 0; i < rows->num_rows(); ++i) {
    if (rows->column("_stage").string_at(i) == "cheap" &&
        rows->column("_change").string_at(i) == "only_a") {
      only_a = true;
      BOOST_TEST(rows->column("price").float64_at(i) >= 300.0);
    }
  }
  BOOST_TEST(only_a, bdp::test::read_file(changes));
}

BOOST_AUTO_TEST_CASE(identical_runs_report_no_differences_and_exit_0) {
  TempDir dir;
  const auto project = write_project(dir, "p.json");
  run_ok(project);
  run_ok(project);
  for (const std::string key : {"", "id"}) {
    std::vector<std::string> args = {"--config", project.string(), "diff",  "latest~1",
                                     "latest",   "--stage",        "cheap", "--exit-code"};
    if (!key.empty()) args.insert(args.end(), {"--key", key});
    auto r = bdp_cli(args);
    BOOST_TEST(r.exit_code == 0, describe(r));
    BOOST_TEST(contains(r.out, "no differences"), describe(r));
  }
}

BOOST_AUTO_TEST_CASE(bad_selectors_are_one_line_naming_the_closest_matches) {
  TempDir dir;
  const auto project = write_project(dir, "p.json");
  const std::string a = run_ok(project);
  const std::string config = project.string();
  auto r = bdp_cli({"--config", config, "diff", a.substr(0, a.size() - 1) + "x", "latest"});
  expect_one_line_error(r, 1, {"no stored process", "closest: " + a});
  r = bdp_cli({"--config", config, "diff", "latest~4", "latest"});
  expect_one_line_error(r, 1, {"'latest~4'", "only 1 stored"});
  r = bdp_cli({"--config", config, "diff", "latest", "latest", "--stage", "chep"});
  expect_one_line_error(r, 1, {"stage 'chep'", "closest: cheap"});
  r = bdp_cli({"--config", config, "diff", "latest", "latest", "--key", "idd"});
  expect_one_line_error(r, 1, {"key column 'idd'", "none of the compared tables"});
  r = bdp_cli({"--config", config, "diff", "latest", "bad/name"});
  expect_one_line_error(r, 2, {"'bad/name'"});
  r = bdp_cli({"--config", config, "export", "latest/nope", "--out", (dir / "x").string()});
  expect_one_line_error(r, 1, {"'latest/nope'", "closest"});
  r = bdp_cli(
      {"--config", config, "export", "latest", "--format", "xml", "--out", (dir / "x").string()});
  expect_one_line_error(r, 2, {"--format", "csv, jsonl"});
}

BOOST_AUTO_TEST_CASE(export_then_import_into_another_store_then_diff_shows_no_differences) {
  TempDir dir;
  const auto project = write_project(dir, "p.json");
  const std::string a = run_ok(project, {"--set", "stages.cheap.params.value=400"});
  const std::string config = project.string();
  for (const std::string format : {"csv", "jsonl"}) {
    const fs::path out = dir / ("export-" + format);
    auto r = bdp_cli({"--config", config, "export", a, "--format", format, "--out", out.string()});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    BOOST_TEST(fs::is_regular_file(out / "manifest.json"));
    BOOST_TEST(fs::is_regular_file(out / "cheap" / ("default." + format)), describe(r));
    const auto manifest = parse_json(bdp::test::read_file(out / "manifest.json"));
    BOOST_TEST(manifest.at("process").at("id").as_string() == a);
    BOOST_TEST(manifest.at("decisions").at("stages.cheap.params.value").as_int64() == 400);
    BOOST_TEST(manifest.at("records").as_array().size() == 3u);

    // Into the CSV store (the strategy backend of another project file),
    // which already holds the process record: refused, then under --as.
    const auto other = write_project(dir, "other.json", "csv");
    r = bdp_cli({"import", out.string(), "--config", other.string()});
    expect_one_line_error(r, 2, {"'" + a + "'", "already stored", "--as"});
    const std::string copy = "copy-" + format;
    r = bdp_cli({"import", out.string(), "--config", other.string(), "--as", copy});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    BOOST_TEST(contains(r.out, "imported 3 records of process " + copy), describe(r));
    BOOST_TEST(fs::is_directory(dir / "csv-store" / copy / "gen"), describe(r));

    r = bdp_cli({"--config", config, "diff", a, copy, "--key", "id", "--json"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    const auto j = parse_json(r.out);
    BOOST_TEST(!j.at("differences").as_bool(), r.out);
    BOOST_TEST(j.at("entities").as_array().size() == 3u);
    BOOST_TEST(j.at("entities").as_array()[0].at("a").at("backend").as_string() == "sqlite");
    BOOST_TEST(j.at("entities").as_array()[0].at("b").at("backend").as_string() == "csv");
    r = bdp_cli({"--config", config, "diff", a, copy});
    BOOST_TEST(contains(r.out, "no differences"), describe(r));
  }

  // A damaged file is named.
  const fs::path damaged = dir / "export-csv" / "gen" / "default.csv";
  bdp::test::write_file(damaged, bdp::test::read_file(damaged) + "\n");
  const auto other = write_project(dir, "other.json", "csv");
  auto r = bdp_cli({"import", (dir / "export-csv").string(), "--config", other.string(), "--as",
                    "copy-damaged"});
  expect_one_line_error(r, 1, {damaged.string(), "checksum mismatch"});
}

// ------------------------------------------------- export: damaged records

namespace {

// The entries of `dir` other than `keep`: what an export left next to its
// target (a hidden temporary folder, if it did not clean up).
std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// gen (SQLite, inline) -> cheap (SQLite, inline) -> by_region (CSV folder).
fs::path write_inline_project(const TempDir& dir) {
  const fs::path path = dir / "p.json";
  bdp::test::write_file(path, R"({"project": "cmp",
    "storage_strategy": {"mode": "persist", "cleanup_policy": "keep_all", "backend": "sqlite"},
    "backends": {"sqlite": {"plugin": "soci", "connection": "sqlite3://db=store.sqlite",
                            "inline_threshold_bytes": 100000000},
                 "csv": {"plugin": "csv", "root": "csv-store"}},
    "stages": [
      {"name": "gen", "processor": "generate", "params": {"rows": 200, "seed": 3}},
      {"name": "cheap", "processor": "filter", "inputs": ["gen"],
       "params": {"column": "price", "op": "<", "value": 500}},
      {"name": "by_region", "processor": "aggregate", "inputs": ["cheap"],
       "params": {"group_by": ["region"], "sum": ["qty"], "count": true},
       "storage": {"persist": true, "backend": "csv"}}]})");
  return path;
}

// Flips one byte in the middle of `file` (same size: only the checksum tells).
void damage(const fs::path& file) {
  std::string data = bdp::test::read_file(file);
  BOOST_TEST_REQUIRE(data.size() > 2u);
  data[data.size() / 2] = data[data.size() / 2] == '7' ? '8' : '7';
  bdp::test::write_file(file, data);
}

}  // namespace

BOOST_AUTO_TEST_CASE(export_with_a_damaged_csv_record_exports_the_others_names_it_and_exits_1) {
  TempDir dir;
  const auto project = write_inline_project(dir);
  const std::string id = run_ok(project);
  const fs::path data = dir / "csv-store" / id / "by_region" / "default" / "v1.csv";
  BOOST_TEST_REQUIRE(fs::is_regular_file(data));
  damage(data);

  const fs::path out = dir / "exp";
  auto r = bdp_cli({"--config", project.string(), "export", id, "--out", out.string()});
  BOOST_TEST(r.exit_code == 1, describe(r));
  // stderr: the failed record with its reason, then a summary line.
  const auto lines = split_lines(r.err);
  BOOST_TEST_REQUIRE(lines.size() == 2u, describe(r));
  BOOST_TEST(contains(lines[0], "by_region/default@v1"), describe(r));
  BOOST_TEST(contains(lines[0], data.string()), describe(r));
  BOOST_TEST(contains(lines[0], "checksum"), describe(r));
  BOOST_TEST(contains(lines[1], "1 of 3 records could not be read"), describe(r));
  BOOST_TEST(contains(r.out, "exported 2 files"), describe(r));

  // The good records are exported with a manifest that lists the failed one.
  const auto manifest = parse_json(bdp::test::read_file(out / "manifest.json"));
  BOOST_TEST(manifest.at("records").as_array().size() == 2u);
  const auto& failed = manifest.at("failed").as_array();
  BOOST_TEST_REQUIRE(failed.size() == 1u);
  BOOST_TEST(failed[0].at("stage").as_string() == "by_region");
  BOOST_TEST(failed[0].at("entity").as_string() == "default");
  BOOST_TEST(failed[0].at("version").as_int64() == 1);
  BOOST_TEST(failed[0].at("backend").as_string() == "csv");
  BOOST_TEST(failed[0].at("error").as_string() == "corrupt");
  BOOST_TEST(contains(std::string(failed[0].at("reason").as_string()), "checksum"));
  BOOST_TEST(fs::is_regular_file(out / "gen" / "default.csv"));
  BOOST_TEST(fs::is_regular_file(out / "cheap" / "default.csv"));
  BOOST_TEST(!fs::exists(out / "by_region"));
  BOOST_TEST((entries_of(dir.path()) ==
              std::vector<std::string>{"csv-store", "exp", "p.json", "store.sqlite"}));

  // --json says the same; the export still exits 1.
  r = bdp_cli(
      {"--config", project.string(), "export", id, "--out", (dir / "exp2").string(), "--json"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  const auto j = parse_json(r.out);
  BOOST_TEST(j.at("files").as_array().size() == 2u);
  BOOST_TEST(j.at("failed").as_array().size() == 1u);
  BOOST_TEST(j.at("failed").as_array()[0].at("stage").as_string() == "by_region");

  // What was exported imports into another store.
  const auto other = write_project(dir, "other.json", "csv");
  r = bdp_cli({"import", out.string(), "--config", other.string(), "--as", "copy"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "imported 2 records of process copy"), describe(r));
}

BOOST_AUTO_TEST_CASE(export_where_no_record_can_be_read_leaves_nothing_and_names_each_one) {
  TempDir dir;
  const auto project = write_inline_project(dir);
  const std::string id = run_ok(project);
  // Damage the SQLite rows of both stored stages.
  auto r = bdp::test::run_command(
      {"/usr/bin/sqlite3", (dir / "store.sqlite").string(),
       "update intermediate_data set payload = zeroblob(length(payload)) where storage_type = "
       "'inline' and stage_name in ('gen', 'cheap')"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  // An empty target folder is allowed, and stays empty.
  const fs::path out = dir / "exp";
  fs::create_directory(out);
  const auto before = entries_of(dir.path());

  r = bdp_cli({"--config", project.string(), "export", id + "/gen", "--out", out.string()});
  expect_one_line_error(r, 1, {"gen/default@v1", "damaged", "nothing was written"});
  BOOST_TEST(fs::is_empty(out));
  BOOST_TEST(entries_of(dir.path()) == before, "no temporary folder is left");
  r = bdp_cli({"--config", project.string(), "export", id + "/cheap", "--out", out.string()});
  expect_one_line_error(r, 1, {"cheap/default@v1", "damaged"});
  BOOST_TEST(fs::is_empty(out));

  // The undamaged record still exports into the same folder.
  r = bdp_cli({"--config", project.string(), "export", id + "/by_region", "--out", out.string()});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(fs::is_regular_file(out / "manifest.json"));
  BOOST_TEST(
      parse_json(bdp::test::read_file(out / "manifest.json")).at("failed").as_array().empty());
}

BOOST_AUTO_TEST_CASE(export_removes_what_a_killed_export_left_and_completes) {
  TempDir dir;
  const auto project = write_project(dir, "p.json");
  const std::string id = run_ok(project);
  // A killed export leaves its hidden folder next to the target, named after
  // its process, which is gone: a child that exited stands for it.
  const pid_t gone = ::fork();
  BOOST_TEST_REQUIRE(gone >= 0);
  if (gone == 0) ::_exit(0);
  int status = 0;
  ::waitpid(gone, &status, 0);
  const fs::path leftover = dir / (".exp.export-" + std::to_string(gone));
  bdp::test::write_file(leftover / "gen" / "default.csv", "id\n1\n");
  // One of a running export (this test's own parent process) is left alone.
  const fs::path running = dir / (".exp.export-" + std::to_string(::getppid()));
  bdp::test::write_file(running / "gen" / "default.csv", "id\n1\n");

  const fs::path out = dir / "exp";
  auto r = bdp_cli({"--config", project.string(), "export", id, "--out", out.string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(!fs::exists(leftover));
  BOOST_TEST(fs::exists(running));
  const auto manifest = parse_json(bdp::test::read_file(out / "manifest.json"));
  BOOST_TEST(manifest.at("records").as_array().size() == 3u);
  BOOST_TEST(manifest.at("failed").as_array().empty());

  // A non-empty target is still refused, and kept as it was.
  r = bdp_cli({"--config", project.string(), "export", id, "--out", out.string()});
  expect_one_line_error(r, 2, {out.string(), "not empty"});
  BOOST_TEST(fs::is_regular_file(out / "manifest.json"));
}

BOOST_AUTO_TEST_SUITE_END()
