// The storage strategy engine from the command line (issue #5): a legacy
// configuration of the Python framework run unchanged, hybrid runs with the
// SQLite default listed by `bdp ps`, `bdp run --resume-from/--from-stage`,
// `bdp cleanup`, a failed background write, secrets kept out of the stored
// process record, and lineage in the stored metadata. Each test runs the
// real binary on real files in a temporary folder.
#include "cli_support.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
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
using bdp::test::rows_of;
using bdp::test::split_lines;
using bdp::test::stage_of;
using bdp::test::TempDir;

namespace {

CommandResult sqlite3(const fs::path& db, const std::string& sql) {
  return bdp::test::run_command({"/usr/bin/sqlite3", db.string(), sql});
}

fs::path write_project(const TempDir& dir, const std::string& text) {
  const fs::path file = dir / "project.json";
  bdp::test::write_file(file, text);
  return file;
}

// `bdp run FILE args... --json`, which must succeed; the process record.
json::value run_ok(const fs::path& project, std::vector<std::string> args = {}) {
  args.insert(args.begin(), {"run", project.string()});
  args.push_back("--json");
  auto r = bdp_cli(args);
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  return parse_json(r.out);
}

std::string id_of(const json::value& process) {
  return std::string(process.at("id").as_string());
}

// The ids `bdp --config FILE ps --json` lists.
std::vector<std::string> listed_ids(const fs::path& project) {
  auto r = bdp_cli({"--config", project.string(), "ps", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  std::vector<std::string> ids;
  const json::value listed = parse_json(r.out);
  for (const auto& p : listed.as_array()) ids.emplace_back(p.at("id").as_string());
  return ids;
}

// gen -> cheap (price < 500) -> cols -> by_region, with `strategy`;
// `backends` adds to the default ones (an empty object would replace them).
std::string pipeline(const std::string& strategy, const std::string& backends = "") {
  return R"({"project": "hy", "storage_strategy": )" + strategy +
         (backends.empty() ? std::string() : R"(, "backends": )" + backends) +
         R"(, "stages": [
    {"name": "gen", "processor": "generate", "params": {"rows": 300, "seed": 1}},
    {"name": "cheap", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "price", "op": "<", "value": 500}},
    {"name": "cols", "processor": "select", "inputs": ["cheap"],
     "params": {"columns": ["id", "region", "price"]}},
    {"name": "by_region", "processor": "aggregate", "inputs": ["cols"],
     "params": {"group_by": ["region"], "count": true}}]})";
}

std::string single_value(const fs::path& db, const std::string& sql) {
  auto r = sqlite3(db, sql);
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  auto lines = split_lines(r.out);
  BOOST_TEST_REQUIRE(lines.size() == 1u, sql << "\n" << describe(r));
  return lines[0];
}

// Every bdp_data_% table of `db` is referenced by a record and vice versa.
void expect_no_sqlite_orphans(const fs::path& db) {
  auto tables = sqlite3(db,
                        "select name from sqlite_master where type = 'table' and name like "
                        "'bdp\\_data\\_%' escape '\\' order by name");
  auto refs = sqlite3(db,
                      "select data_reference from intermediate_data where storage_type = "
                      "'reference' order by data_reference");
  BOOST_TEST_REQUIRE(tables.exit_code == 0, describe(tables));
  BOOST_TEST_REQUIRE(refs.exit_code == 0, describe(refs));
  std::vector<std::string> t = split_lines(tables.out);
  std::vector<std::string> r = split_lines(refs.out);
  std::sort(t.begin(), t.end());
  std::sort(r.begin(), r.end());
  BOOST_TEST(t == r, "tables:\n" << tables.out << "references:\n" << refs.out);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(strategy_cli)

// ------------------------------------------------------------------ legacy

BOOST_AUTO_TEST_CASE(a_legacy_python_config_runs_unchanged_with_one_deprecation_line_per_key) {
  TempDir dir;
  const auto project = write_project(dir, R"({
    "project": "legacy",
    "storage_strategy": {"mode": "persist", "persist_intermediate_results": true,
                         "persist_format": "csv", "storage_dir": "out", "stages_to_persist": []},
    "stages": [
      {"name": "gen", "processor": "generate", "params": {"rows": 40}},
      {"name": "cheap", "processor": "filter", "inputs": ["gen"],
       "params": {"column": "price", "op": "<", "value": 500}}]})");
  auto r = bdp_cli({"run", project.string(), "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto lines = split_lines(r.err);
  BOOST_TEST(lines.size() == 3u, describe(r));
  for (const std::string key : {"persist_intermediate_results", "persist_format", "storage_dir"}) {
    BOOST_TEST(std::count_if(lines.begin(), lines.end(),
                             [&](const std::string& l) {
                               return contains(l, "storage_strategy." + key + ":");
                             }) == 1,
               "one line for " << key << "\n"
                               << describe(r));
  }
  for (const auto& line : lines) {
    BOOST_TEST(line.rfind("bdp: warning: ", 0) == 0u, line);
    BOOST_TEST(contains(line, "deprecated"), line);
  }
  const auto process = parse_json(r.out);
  BOOST_TEST(process.at("status").as_string() == "completed");
  const std::string id = id_of(process);
  for (const std::string stage : {"gen", "cheap"}) {
    const fs::path data = dir / "out" / id / stage / "default" / "v1.csv";
    BOOST_TEST(fs::is_regular_file(data), data);
    BOOST_TEST(fs::is_regular_file(data.parent_path() / "v1.meta.json"));
  }
  BOOST_TEST(
      bdp::test::read_file(dir / "out" / id / "gen" / "default" / "v1.csv").rfind("id,", 0) == 0u);
  BOOST_TEST(fs::is_regular_file(dir / "out" / ".bdp" / "processes" / (id + ".json")));
  // The default SQLite store is not touched.
  BOOST_TEST(!fs::exists(dir / "bdp-data"));
}

// ------------------------------------------------------------ hybrid, ps

BOOST_AUTO_TEST_CASE(two_hybrid_runs_with_different_decisions_are_both_stored_and_listed) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  auto first = run_ok(project, {"--set", "stages.cheap.params.value=500"});
  auto second = run_ok(project, {"--set", "stages.cheap.params.value=100"});
  BOOST_TEST(rows_of(first, "cheap") != rows_of(second, "cheap"));
  BOOST_TEST(stage_of(first, "cheap").at("backend").as_string() == "sqlite");

  auto r = bdp_cli({"--config", project.string(), "ps", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto listed = parse_json(r.out).as_array();
  BOOST_TEST_REQUIRE(listed.size() == 2u, r.out);
  BOOST_TEST(listed[0].at("id").as_string() == id_of(second));  // newest first
  BOOST_TEST(listed[1].at("id").as_string() == id_of(first));
  for (const auto& p : listed) BOOST_TEST(p.at("status").as_string() == "completed");
  BOOST_TEST(listed[1].at("decisions").at("stages.cheap.params.value").to_number<int>() == 500);
  BOOST_TEST(listed[0].at("decisions").at("stages.cheap.params.value").to_number<int>() == 100);

  const fs::path db = dir / "bdp-data" / "bdp.sqlite";
  for (const auto& p : {first, second}) {
    BOOST_TEST(single_value(db, "select count(*) from intermediate_data where process_id = '" +
                                    id_of(p) + "'") == "4");
  }
}

// ------------------------------------------------------------------ resume

BOOST_AUTO_TEST_CASE(run_resume_from_reuses_the_stored_stages_before_from_stage) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  auto first = run_ok(project, {"--set", "stages.cheap.params.value=500"});
  auto second = run_ok(project, {"--set", "stages.cheap.params.value=100"});

  // latest: the second run.
  auto latest = run_ok(project, {"--resume-from", "latest", "--from-stage", "cols"});
  BOOST_TEST(latest.at("status").as_string() == "completed");
  BOOST_TEST(latest.at("decisions").at("resumed_from").as_string() == id_of(second));
  BOOST_TEST(stage_of(latest, "cheap").at("decisions").at("reused_from").as_string() ==
             id_of(second));
  BOOST_TEST(rows_of(latest, "cols") == rows_of(second, "cheap"));

  // An explicit id: the first run, whatever the newest is.
  auto resumed = run_ok(project, {"--resume-from", id_of(first), "--from-stage", "cols"});
  BOOST_TEST(resumed.at("status").as_string() == "completed");
  const auto& cheap = stage_of(resumed, "cheap");
  BOOST_TEST(cheap.at("decisions").at("reused_from").as_string() == id_of(first));
  BOOST_TEST(cheap.at("status").as_string() == "completed");
  BOOST_TEST(rows_of(resumed, "cheap") == rows_of(first, "cheap"));
  BOOST_TEST(rows_of(resumed, "cols") == rows_of(first, "cheap"));
  BOOST_TEST(rows_of(resumed, "by_region") == rows_of(first, "by_region"));
  BOOST_TEST(!stage_of(resumed, "cols").at("decisions").as_object().contains("reused_from"));
  // gen is read by no stage that runs, and is listed as reused all the same,
  // with its stored records: every stage of the project is in the record.
  const auto& gen = stage_of(resumed, "gen");
  BOOST_TEST(gen.at("decisions").at("reused_from").as_string() == id_of(first));
  BOOST_TEST(gen.at("status").as_string() == "completed");
  BOOST_TEST(rows_of(resumed, "gen") == 300);
  BOOST_TEST(gen.at("record_ids").as_array().size() == 1u);
  std::vector<std::string> names;
  for (const auto& stage : resumed.at("stages").as_array()) {
    names.emplace_back(stage.at("name").as_string());
  }
  BOOST_TEST((names == std::vector<std::string>{"gen", "cheap", "cols", "by_region"}));
  BOOST_TEST(listed_ids(project).size() == 4u);
}

BOOST_AUTO_TEST_CASE(resume_lists_a_skipped_stage_kept_in_memory_only_as_not_run) {
  TempDir dir;
  // gen is not persisted; cols reads cheap, which is.
  const auto project =
      write_project(dir, pipeline(R"({"mode": "hybrid", "stages_to_persist": ["cheap"]})"));
  auto first = run_ok(project);
  auto resumed = run_ok(project, {"--resume-from", id_of(first), "--from-stage", "cols"});
  const auto& gen = stage_of(resumed, "gen");
  BOOST_TEST(gen.at("decisions").at("reused_from").as_string() == id_of(first));
  BOOST_TEST(gen.at("record_ids").as_array().empty());
  BOOST_TEST(contains(std::string(gen.at("message").as_string()), "in memory only"));
  BOOST_TEST(rows_of(resumed, "cols") == rows_of(first, "cheap"));
}

BOOST_AUTO_TEST_CASE(a_stage_failing_after_skipped_ones_in_a_resumed_run_is_named) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  auto first = run_ok(project);
  // cols (the third stage) fails after gen and cheap were reused.
  auto r = bdp_cli({"run", project.string(), "--resume-from", id_of(first), "--from-stage", "cols",
                    "--set", "stages.cols.params.columns=[\"nope\"]", "--json"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(bdp::test::is_one_line(r.err), describe(r));
  BOOST_TEST(contains(r.err, "stage 'cols' of process '"), describe(r));
  BOOST_TEST(contains(r.err, "nope"), describe(r));
  BOOST_TEST(!contains(r.err, "internal error"), describe(r));
  const auto failed = parse_json(r.out);
  BOOST_TEST(failed.at("status").as_string() == "failed");
  BOOST_TEST(stage_of(failed, "gen").at("decisions").at("reused_from").as_string() == id_of(first));
  BOOST_TEST(stage_of(failed, "cheap").at("status").as_string() == "completed");
  BOOST_TEST(stage_of(failed, "cols").at("status").as_string() == "failed");

  // The last stage failing, in the human output too.
  r = bdp_cli({"run", project.string(), "--resume-from", id_of(first), "--from-stage", "by_region",
               "--set", "stages.by_region.params.group_by=[\"nope\"]"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(contains(r.err, "stage 'by_region' of process '"), describe(r));
  BOOST_TEST(!contains(r.err, "internal error"), describe(r));
  BOOST_TEST(contains(r.out, "by_region  failed"), describe(r));
}

BOOST_AUTO_TEST_CASE(resume_refuses_to_skip_a_stage_that_did_not_complete) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  // cheap fails: gen is stored, cheap is not.
  auto r = bdp_cli({"run", project.string(), "--set", "stages.cheap.params.column=nope", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 1, describe(r));
  const std::string failed = id_of(parse_json(r.out));
  r = bdp_cli({"run", project.string(), "--resume-from", failed, "--from-stage", "by_region"});
  expect_one_line_error(r, 1, {"'" + failed + "'", "stage 'cheap' is failed in it"});
  BOOST_TEST(listed_ids(project).size() == 1u, "a refused resume starts no process");
  // From the failed stage on, the resume runs.
  auto resumed = run_ok(project, {"--resume-from", failed, "--from-stage", "cheap"});
  BOOST_TEST(stage_of(resumed, "gen").at("decisions").at("reused_from").as_string() == failed);
  BOOST_TEST(rows_of(resumed, "cheap") > 0);
}

BOOST_AUTO_TEST_CASE(resume_from_takes_the_selectors_of_ps_ls_show_and_diff) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  auto first = run_ok(project, {"--set", "stages.cheap.params.value=500"});
  auto second = run_ok(project, {"--set", "stages.cheap.params.value=100"});

  // latest~1: the run before the newest one of this project.
  auto back = run_ok(project, {"--resume-from", "latest~1", "--from-stage", "cols"});
  BOOST_TEST(back.at("decisions").at("resumed_from").as_string() == id_of(first));
  BOOST_TEST(rows_of(back, "cols") == rows_of(first, "cheap"));
  // A unique id prefix.
  const std::string id = id_of(second);
  auto prefix =
      run_ok(project, {"--resume-from", id.substr(0, id.size() - 2), "--from-stage", "cols"});
  BOOST_TEST(prefix.at("decisions").at("resumed_from").as_string() == id);
  // Beyond the stored runs: one line, exit 1, nothing started.
  const std::size_t stored = listed_ids(project).size();
  expect_one_line_error(
      bdp_cli({"run", project.string(), "--resume-from", "latest~9", "--from-stage", "cols"}), 1,
      {"latest~9", "only 4 stored processes named 'hy'"});
  expect_one_line_error(
      bdp_cli({"run", project.string(), "--resume-from", "latest~x", "--from-stage", "cols"}), 2,
      {"latest~x", "latest~N"});
  BOOST_TEST(listed_ids(project).size() == stored);
}

BOOST_AUTO_TEST_CASE(resume_from_latest_works_when_the_latest_run_was_itself_resumed) {
  // Iterating on the last stages: --resume-from latest, twice in a row.
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  auto first = run_ok(project);
  auto once = run_ok(project, {"--resume-from", "latest", "--from-stage", "cols"});
  auto r = bdp_cli(
      {"run", project.string(), "--resume-from", "latest", "--from-stage", "cols", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  auto twice = parse_json(r.out);
  BOOST_TEST(rows_of(twice, "cols") == rows_of(first, "cheap"));
}

BOOST_AUTO_TEST_CASE(resume_from_a_stage_that_was_not_persisted_fails_saying_so) {
  TempDir dir;
  const auto project =
      write_project(dir, pipeline(R"({"mode": "hybrid", "stages_to_persist": ["gen"]})"));
  auto first = run_ok(project);
  auto r =
      bdp_cli({"run", project.string(), "--resume-from", id_of(first), "--from-stage", "cols"});
  expect_one_line_error(r, 1, {id_of(first), "'cheap'", "not", "persist"});
  BOOST_TEST(listed_ids(project).size() == 1u, "a refused resume starts no process");

  // A memory-only run leaves nothing to resume from.
  TempDir mem;
  const auto memory_project = write_project(mem, pipeline(R"({"mode": "memory"})"));
  auto only = run_ok(memory_project);
  auto m = bdp_cli(
      {"run", memory_project.string(), "--resume-from", id_of(only), "--from-stage", "cols"});
  expect_one_line_error(m, 1, {id_of(only), "persisted"});
}

BOOST_AUTO_TEST_CASE(resume_options_are_checked_as_usage_errors) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "hybrid"})"));
  auto first = run_ok(project);
  expect_one_line_error(bdp_cli({"run", project.string(), "--resume-from", id_of(first)}), 2,
                        {"--from-stage"});
  expect_one_line_error(bdp_cli({"run", project.string(), "--from-stage", "cols"}), 2,
                        {"--resume-from"});
  expect_one_line_error(
      bdp_cli({"run", project.string(), "--resume-from", id_of(first), "--from-stage", "nope"}), 2,
      {"nope", "cols"});
  expect_one_line_error(bdp_cli({"run", project.string(), "--resume-from", "no-such-process",
                                 "--from-stage", "cols"}),
                        1, {"no-such-process"});
  BOOST_TEST(listed_ids(project).size() == 1u);
}

// ----------------------------------------------------------------- cleanup

BOOST_AUTO_TEST_CASE(cleanup_dry_run_process_keep_last_and_bad_arguments) {
  TempDir dir;
  const auto project = write_project(
      dir, pipeline(R"({"mode": "persist", "backend": "db", "cleanup_policy": "keep_all"})",
                    R"({"db": {"plugin": "soci", "connection": "sqlite3://db=store.sqlite",
                               "inline_threshold_bytes": 1000}})"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(id_of(run_ok(project)));
  const fs::path db = dir / "store.sqlite";
  const std::string total = "select count(*) from intermediate_data";
  BOOST_TEST_REQUIRE(single_value(db, total) == "12");
  BOOST_TEST_REQUIRE(single_value(db,
                                  "select count(*) from intermediate_data where "
                                  "storage_type = 'reference'") != "0");
  const std::string config = project.string();

  // --dry-run: everything listed, nothing removed.
  auto dry =
      bdp_cli({"--config", config, "cleanup", "--policy", "keep_none", "--dry-run", "--json"});
  BOOST_TEST_REQUIRE(dry.exit_code == 0, describe(dry));
  auto report = parse_json(dry.out);
  BOOST_TEST(report.at("dry_run").as_bool());
  BOOST_TEST(report.at("policy").as_string() == "keep_none");
  BOOST_TEST(report.at("removed").as_array().size() == 12u);
  BOOST_TEST(single_value(db, total) == "12");

  // --process: that process's records only.
  auto one = bdp_cli({"--config", config, "cleanup", "--policy", "keep_none", "--process", ids[0]});
  BOOST_TEST_REQUIRE(one.exit_code == 0, describe(one));
  BOOST_TEST(contains(one.out, "removed 4 records"), describe(one));
  BOOST_TEST(single_value(db, "select count(*) from intermediate_data where process_id = '" +
                                  ids[0] + "'") == "0");
  BOOST_TEST(single_value(db, total) == "8");
  expect_no_sqlite_orphans(db);
  expect_one_line_error(bdp_cli({"--config", config, "cleanup", "--process", "no-such"}), 1,
                        {"no-such"});

  // --keep-last 1: the newest process only, records and process records.
  auto keep = bdp_cli({"--config", config, "cleanup", "--keep-last", "1", "--json"});
  BOOST_TEST_REQUIRE(keep.exit_code == 0, describe(keep));
  auto kept = parse_json(keep.out);
  BOOST_TEST(!kept.at("dry_run").as_bool());
  std::set<std::string> retired;
  for (const auto& id : kept.at("removed_processes").as_array()) retired.emplace(id.as_string());
  BOOST_TEST(retired == (std::set<std::string>{ids[0], ids[1]}));
  BOOST_TEST(listed_ids(project) == std::vector<std::string>{ids[2]});
  BOOST_TEST(single_value(db, "select count(distinct process_id) from intermediate_data") == "1");
  BOOST_TEST(single_value(db, "select distinct process_id from intermediate_data") == ids[2]);
  expect_no_sqlite_orphans(db);

  // Bad arguments: usage errors, one line, nothing removed.
  expect_one_line_error(bdp_cli({"--config", config, "cleanup", "--max-age", "3x"}), 2,
                        {"--max-age", "3x"});
  expect_one_line_error(bdp_cli({"--config", config, "cleanup", "--policy", "keep_some"}), 2,
                        {"--policy", "keep_some"});
  BOOST_TEST(single_value(db, total) == "4");
}

// ---------------------------------------------------- failed background write

BOOST_AUTO_TEST_CASE(run_exits_1_when_a_background_write_fails) {
  TempDir dir;
  const auto project = write_project(
      dir, pipeline(R"({"mode": "hybrid", "backend": "db"})",
                    R"({"db": {"plugin": "soci", "connection": "sqlite3://db=store.sqlite"}})"));
  run_ok(project);  // creates the database
  const fs::path db = dir / "store.sqlite";
  // A real fault that stops root as well: the database refuses by_region's rows.
  auto trigger = sqlite3(db,
                         "create trigger refuse before insert on intermediate_data when "
                         "new.stage_name = 'by_region' begin select raise(abort, 'disk full "
                         "(test fault)'); end;");
  BOOST_TEST_REQUIRE(trigger.exit_code == 0, describe(trigger));

  auto r = bdp_cli({"run", project.string()});
  expect_one_line_error(r, 1, {"by_region/default@v1", "'db'", "disk full (test fault)"});
  BOOST_TEST(r.err.rfind("bdp: ", 0) == 0u, describe(r));

  // With --json, stdout is the failed process record and nothing else.
  auto j = bdp_cli({"run", project.string(), "--json"});
  expect_one_line_error(j, 1, {"by_region/default@v1", "'db'"});
  BOOST_TEST(!contains(j.out, "[error]"), "log lines on stdout\n" << describe(j));
  boost::system::error_code ec;
  const json::value record = json::parse(j.out, ec);
  BOOST_TEST(!ec, "stdout of a failed `bdp run --json` is not JSON\n" << describe(j));
  if (!ec) BOOST_TEST(record.at("status").as_string() == "failed");

  auto ps = bdp_cli({"--config", project.string(), "ps", "--json"});
  BOOST_TEST_REQUIRE(ps.exit_code == 0, describe(ps));
  const auto listed = parse_json(ps.out).as_array();
  BOOST_TEST_REQUIRE(listed.size() == 3u);
  const auto& failed = listed[0];  // newest first
  BOOST_TEST(failed.at("status").as_string() == "failed");
  BOOST_TEST(stage_of(failed, "by_region").at("status").as_string() == "failed");
  BOOST_TEST(stage_of(failed, "cols").at("status").as_string() == "completed");
}

// ------------------------------------------------- secrets and lineage

BOOST_AUTO_TEST_CASE(the_stored_process_record_keeps_no_password) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "persist"})",
                                                   R"({"archive": {"plugin": "soci",
                                    "connection": "postgresql://u:secret@localhost/db",
                                    "password": "hunter2"}})"));
  auto process = run_ok(project);
  const std::string run_json = json::serialize(process);
  BOOST_TEST(!contains(run_json, "secret"), run_json);
  BOOST_TEST(!contains(run_json, "hunter2"), run_json);
  BOOST_TEST(contains(run_json, "localhost"), "the backend should still be in the snapshot");

  auto ps = bdp_cli({"--config", project.string(), "ps", "--json"});
  BOOST_TEST_REQUIRE(ps.exit_code == 0, describe(ps));
  BOOST_TEST(!contains(ps.out, "secret"), ps.out);
  BOOST_TEST(!contains(ps.out, "hunter2"), ps.out);
  auto stored =
      sqlite3(dir / "bdp-data" / "bdp.sqlite", "select config, summary from bdp_processes");
  BOOST_TEST_REQUIRE(stored.exit_code == 0, describe(stored));
  BOOST_TEST(contains(stored.out, "localhost"), stored.out);
  BOOST_TEST(!contains(stored.out, "secret"), stored.out);
  BOOST_TEST(!contains(stored.out, "hunter2"), stored.out);
}

BOOST_AUTO_TEST_CASE(a_stored_stage_names_the_records_of_its_inputs) {
  TempDir dir;
  const auto project = write_project(dir, pipeline(R"({"mode": "persist"})"));
  auto process = run_ok(project);
  const std::string id = id_of(process);
  const fs::path db = dir / "bdp-data" / "bdp.sqlite";
  const std::string gen_record =
      single_value(db, "select id from intermediate_data where process_id = '" + id +
                           "' and stage_name = 'gen'");
  auto metadata =
      parse_json(single_value(db, "select metadata from intermediate_data where process_id = '" +
                                      id + "' and stage_name = 'cheap'"));
  const auto& inputs = metadata.at("inputs").as_array();
  BOOST_TEST_REQUIRE(inputs.size() == 1u, json::serialize(metadata));
  BOOST_TEST(inputs[0].at("process_id").as_string() == id);
  BOOST_TEST(inputs[0].at("stage").as_string() == "gen");
  BOOST_TEST(inputs[0].at("entity").as_string() == "default");
  BOOST_TEST(inputs[0].at("version").to_number<int>() == 1);
  BOOST_TEST(inputs[0].at("record_id").as_string() == gen_record);
  BOOST_TEST(inputs[0].at("backend").as_string() == "sqlite");
  BOOST_TEST(metadata.at("processor").as_string() == "filter");
  BOOST_TEST(metadata.at("params").at("value").to_number<int>() == 500);
  BOOST_TEST(metadata.at("config_file").as_string() == project.string());
}

BOOST_AUTO_TEST_SUITE_END()
