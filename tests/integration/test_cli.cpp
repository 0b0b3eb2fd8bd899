// End-to-end tests of the `bdp` command-line interface: each test runs the
// real binary on real files in a temporary folder and checks its exit code,
// stdout and stderr.
#include "cli_support.hpp"

#include <bdp/sdk/plugin_abi.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::bdp_cli;
using bdp::test::CommandResult;
using bdp::test::contains;
using bdp::test::describe;
using bdp::test::expect_one_line_error;
using bdp::test::is_one_line;
using bdp::test::parse_json;
using bdp::test::rows_of;
using bdp::test::split_lines;
using bdp::test::stage_of;
using bdp::test::TempDir;

namespace {

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// A copy of the shipped quickstart example (it persists to
// bdp-data/bdp.sqlite next to itself), so that runs never write into the
// source tree.
fs::path quickstart() {
  static const TempDir copy;
  static const fs::path file = [] {
    const fs::path examples = bdp::test::source_dir() / "config" / "examples";
    fs::create_directories(copy / "data");
    fs::copy_file(examples / "data" / "orders.csv", copy / "data" / "orders.csv");
    fs::copy_file(examples / "quickstart.json", copy / "quickstart.json");
    return copy / "quickstart.json";
  }();
  return file;
}

json::object read_json_object(const fs::path& file) {
  return json::parse(bdp::test::read_file(file)).as_object();
}

std::vector<std::string> stage_names(const fs::path& project_file) {
  std::vector<std::string> names;
  json::object project = read_json_object(project_file);
  for (const auto& stage : project.at("stages").as_array()) {
    names.emplace_back(stage.at("name").as_string());
  }
  return names;
}

// Rows of the quickstart's orders.csv whose "year" is at least `year`.
std::int64_t orders_from_year(std::int64_t year) {
  fs::path csv = bdp::test::source_dir() / "config" / "examples" / "data" / "orders.csv";
  std::istringstream in(bdp::test::read_file(csv));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::istringstream h(line);
    for (std::string cell; std::getline(h, cell, ',');) header.push_back(cell);
  }
  auto year_column =
      static_cast<std::size_t>(std::find(header.begin(), header.end(), "year") - header.begin());
  BOOST_TEST_REQUIRE(year_column < header.size());
  std::int64_t count = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream row(line);
    std::string cell;
    for (std::size_t c = 0; c <= year_column; ++c) std::getline(row, cell, ',');
    if (std::stoll(cell) >= year) ++count;
  }
  return count;
}

// The line of a text table whose first word is `key`, or "".
std::string line_starting_with(const std::string& text, const std::string& key) {
  for (const auto& line : split_lines(text)) {
    auto words = split_words(line);
    if (!words.empty() && words.front() == key) return line;
  }
  return {};
}

// A configuration error: exit 2, one stderr line naming `needles`, nothing
// on stdout.
void expect_config_error(const CommandResult& r, std::initializer_list<std::string> needles) {
  expect_one_line_error(r, 2, needles);
  BOOST_TEST(r.out.empty(), "a config error should print nothing on stdout\n" << describe(r));
}

// Writes a project file `name` into `dir` and returns its path.
fs::path write_project(const TempDir& dir, const std::string& name, const std::string& text) {
  fs::path file = dir / name;
  bdp::test::write_file(file, text);
  return file;
}

// A project whose stages are `stages` (a JSON array body), otherwise valid.
std::string project_with_stages(const std::string& stages) {
  return R"({"project": "cli-test", "stages": [)" + stages + "]}";
}

const std::string kGenerate = R"({"name": "gen", "processor": "generate", "params": {"rows": 10}})";

const std::vector<std::string> kBuiltinProcessors = {"read_csv", "generate",  "filter",
                                                     "select",   "aggregate", "sort"};

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

// ------------------------------------------------------------------- run

BOOST_AUTO_TEST_CASE(run_quickstart_prints_every_stage_completed_with_row_counts) {
  auto names = stage_names(quickstart());
  BOOST_TEST_REQUIRE(!names.empty());

  auto json_run = bdp_cli({"run", quickstart().string(), "--json"});
  BOOST_TEST_REQUIRE(json_run.exit_code == 0, describe(json_run));
  json::value process = parse_json(json_run.out);

  auto r = bdp_cli({"run", quickstart().string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "completed"), describe(r));
  for (const auto& name : names) {
    std::string line = line_starting_with(r.out, name);
    BOOST_TEST(!line.empty(), "no line for stage '" << name << "'\n" << describe(r));
    auto words = split_words(line);
    BOOST_TEST((std::find(words.begin(), words.end(), "completed") != words.end()),
               "stage line: " << line);
    std::string rows = std::to_string(rows_of(process, name));
    BOOST_TEST((std::find(words.begin(), words.end(), rows) != words.end()),
               "stage line should show " << rows << " rows: " << line);
  }
}

BOOST_AUTO_TEST_CASE(run_json_prints_completed_process_with_one_entry_per_stage) {
  auto names = stage_names(quickstart());
  auto r = bdp_cli({"run", quickstart().string(), "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  json::value process = parse_json(r.out);
  BOOST_TEST_REQUIRE(process.is_object());
  BOOST_TEST(process.at("status").as_string() == "completed");
  const auto& stages = process.at("stages").as_array();
  BOOST_TEST_REQUIRE(stages.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    BOOST_TEST(stages[i].at("name").as_string() == names[i]);
    BOOST_TEST(stages[i].at("status").as_string() == "completed");
  }
  BOOST_TEST(stages[0].at("rows").to_number<std::int64_t>() > 0);
  BOOST_TEST(rows_of(process, names[0]) == orders_from_year(0));
}

BOOST_AUTO_TEST_CASE(run_set_override_changes_result_and_is_recorded_as_decision) {
  auto base = bdp_cli({"run", quickstart().string(), "--json"});
  BOOST_TEST_REQUIRE(base.exit_code == 0, describe(base));
  json::value before = parse_json(base.out);
  BOOST_TEST(rows_of(before, "recent") == orders_from_year(2024));

  auto r =
      bdp_cli({"run", quickstart().string(), "--set", "stages.recent.params.value=2025", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  json::value after = parse_json(r.out);
  BOOST_TEST(after.at("status").as_string() == "completed");
  BOOST_TEST(rows_of(after, "recent") == orders_from_year(2025));
  BOOST_TEST(rows_of(after, "recent") != rows_of(before, "recent"));

  // The override is the process's decision, under its full key path ...
  const auto& decisions = after.at("decisions").as_object();
  const json::value* top = decisions.if_contains("stages.recent.params.value");
  BOOST_TEST_REQUIRE(top, "process decisions: " << json::serialize(decisions));
  BOOST_TEST(top->to_number<std::int64_t>() == 2025);
  // ... and the stage's, relative to the stage.
  const auto& stage_decisions = stage_of(after, "recent").at("decisions").as_object();
  const json::value* own = stage_decisions.if_contains("params.value");
  BOOST_TEST_REQUIRE(own, "stage decisions: " << json::serialize(stage_decisions));
  BOOST_TEST(own->to_number<std::int64_t>() == 2025);
  // Stages the override does not address do not record it.
  BOOST_TEST(!stage_of(after, "load").at("decisions").as_object().contains("params.value"));
  // Without --set there are no runtime decisions.
  BOOST_TEST(!before.at("decisions").as_object().contains("stages.recent.params.value"));
}

BOOST_AUTO_TEST_CASE(run_set_value_that_is_not_json_is_taken_as_string) {
  TempDir dir;
  auto file = write_project(dir, "strings.json", project_with_stages(kGenerate + R"(,
    {"name": "pick", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "region", "op": "==", "value": "no-such-region"}})"));
  auto none = bdp_cli({"run", file.string(), "--json"});
  BOOST_TEST_REQUIRE(none.exit_code == 0, describe(none));
  BOOST_TEST(rows_of(parse_json(none.out), "pick") == 0);

  // Every region of the generated table, by the unfiltered stage.
  auto all = bdp_cli({"run", file.string(), "--set", "stages.pick.params.op=!=", "--json"});
  BOOST_TEST_REQUIRE(all.exit_code == 0, describe(all));
  json::value process = parse_json(all.out);
  BOOST_TEST(rows_of(process, "pick") == 10);
  BOOST_TEST(stage_of(process, "pick").at("decisions").at("params.op").as_string() == "!=");
}

BOOST_AUTO_TEST_CASE(run_name_option_names_the_process) {
  auto r = bdp_cli({"run", quickstart().string(), "--name", "cli-named-run", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(parse_json(r.out).at("name").as_string() == "cli-named-run");
}

BOOST_AUTO_TEST_CASE(successful_run_prints_nothing_on_stderr) {
  auto text = bdp_cli({"run", quickstart().string()});
  BOOST_TEST(text.exit_code == 0, describe(text));
  BOOST_TEST(text.err.empty(), describe(text));
  auto js = bdp_cli({"run", quickstart().string(), "--json"});
  BOOST_TEST(js.exit_code == 0, describe(js));
  BOOST_TEST(js.err.empty(), describe(js));

  TempDir dir;
  auto file = write_project(dir, "gen.json", project_with_stages(kGenerate + R"(,
    {"name": "big", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "qty", "op": "not_null"}},
    {"name": "cols", "processor": "select", "inputs": ["big"],
     "params": {"columns": ["id", "region"], "rename": {"region": "area"}}},
    {"name": "sorted", "processor": "sort", "inputs": ["cols"],
     "params": {"by": ["id"], "descending": true}},
    {"name": "per_area", "processor": "aggregate", "inputs": ["sorted"],
     "params": {"group_by": ["area"], "count": true}})"));
  auto all = bdp_cli({"run", file.string()});
  BOOST_TEST(all.exit_code == 0, describe(all));
  BOOST_TEST(all.err.empty(), describe(all));
}

// ------------------------------------------------------- config errors

BOOST_AUTO_TEST_CASE(unknown_top_level_key_exits_2_naming_file_and_key) {
  TempDir dir;
  auto file = write_project(dir, "unknown_top.json",
                            R"({"project": "x", "bogus_key": 1, "stages": [)" + kGenerate + "]}");
  expect_config_error(bdp_cli({"run", file.string()}), {file.string(), "bogus_key"});
}

BOOST_AUTO_TEST_CASE(unknown_nested_key_exits_2_naming_file_and_key_path) {
  TempDir dir;
  auto file = write_project(dir, "unknown_nested.json",
                            R"({"project": "x", "storage_strategy": {"mode": "memory", "bogus": 1},
                                "stages": [)" +
                                kGenerate + "]}");
  expect_config_error(bdp_cli({"run", file.string()}), {file.string(), "storage_strategy.bogus"});
}

BOOST_AUTO_TEST_CASE(wrong_type_exits_2_naming_file_and_key_path) {
  TempDir dir;
  auto file = write_project(dir, "wrong_type.json",
                            R"({"project": "x", "storage_strategy": {"max_memory_bytes": "lots"},
                                "stages": [)" +
                                kGenerate + "]}");
  expect_config_error(bdp_cli({"run", file.string()}),
                      {file.string(), "storage_strategy.max_memory_bytes"});
}

BOOST_AUTO_TEST_CASE(bad_enum_value_exits_2_listing_allowed_values) {
  TempDir dir;
  auto file = write_project(dir, "bad_enum.json",
                            R"({"project": "x", "storage_strategy": {"mode": "sometimes"},
                                "stages": [)" +
                                kGenerate + "]}");
  expect_config_error(
      bdp_cli({"run", file.string()}),
      {file.string(), "storage_strategy.mode", "sometimes", "memory", "persist", "hybrid"});
}

BOOST_AUTO_TEST_CASE(malformed_json_exits_2_with_file_line_and_column) {
  TempDir dir;
  // The comma missing after "generate" is on line 4.
  auto file = write_project(dir, "malformed.json", R"({
  "project": "broken",
  "stages": [
    {"name": "a", "processor": "generate" "params": {"rows": 10}}
  ]
}
)");
  auto r = bdp_cli({"run", file.string()});
  expect_config_error(r, {file.string()});
  std::smatch m;
  std::regex where(
      std::regex_replace(file.string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
      R"(:(\d+):(\d+))");
  BOOST_TEST_REQUIRE(std::regex_search(r.err, m, where), "no file:line:col\n" << describe(r));
  BOOST_TEST(m[1].str() == "4");
  BOOST_TEST(std::stoi(m[2].str()) > 1);
}

BOOST_AUTO_TEST_CASE(missing_config_file_exits_2_naming_it) {
  TempDir dir;
  fs::path file = dir / "does_not_exist.json";
  expect_config_error(bdp_cli({"run", file.string()}), {file.string()});
  expect_config_error(bdp_cli({"config", "show", file.string()}), {file.string()});
}

BOOST_AUTO_TEST_CASE(duplicate_stage_name_exits_2_naming_the_stage) {
  TempDir dir;
  auto file =
      write_project(dir, "duplicate.json", project_with_stages(kGenerate + "," + kGenerate));
  expect_config_error(bdp_cli({"run", file.string()}), {file.string(), "stages[1].name", "gen"});
}

BOOST_AUTO_TEST_CASE(a_key_given_twice_exits_2_naming_the_key_path_and_both_lines) {
  TempDir dir;
  auto file = write_project(dir, "twice.json", R"({"project": "x", "stages": [
    {"name": "gen", "processor": "generate",
     "params": {"rows": 10,
                "rows": 20}}]})");
  expect_config_error(bdp_cli({"run", file.string()}), {file.string(), "stages.gen.params.rows",
                                                        "given twice", "line 3 and line 4"});
}

BOOST_AUTO_TEST_CASE(an_empty_project_name_exits_2_naming_the_file_and_key) {
  TempDir dir;
  auto file = write_project(dir, "empty.json", R"({"project": "", "stages": [)" + kGenerate + "]}");
  expect_config_error(bdp_cli({"run", file.string()}),
                      {file.string() + ": project: must not be empty"});
  // An empty --name would be renamed the same way.
  auto ok = write_project(dir, "ok.json", project_with_stages(kGenerate));
  expect_config_error(bdp_cli({"run", ok.string(), "--name", ""}), {"--name", "must not be empty"});
}

BOOST_AUTO_TEST_CASE(a_nul_byte_in_a_key_is_shown_escaped_in_the_whole_error_line) {
  TempDir dir;
  auto file = write_project(dir, "nul.json",
                            R"({"project": "x", "a\u0000b": 1, "stages": [)" + kGenerate + "]}");
  expect_config_error(bdp_cli({"run", file.string()}),
                      {file.string() + ": a\\x00b: unknown key (allowed: project, "});
}

BOOST_AUTO_TEST_CASE(unknown_processor_exits_2_listing_available_ones) {
  TempDir dir;
  auto file = write_project(
      dir, "unknown_processor.json",
      project_with_stages(R"({"name": "a", "processor": "frobnicate", "params": {}})"));
  auto r = bdp_cli({"run", file.string()});
  expect_config_error(r, {file.string(), "stages.a.processor", "frobnicate"});
  for (const auto& name : kBuiltinProcessors) {
    BOOST_TEST(contains(r.err, name), "available processor '" << name << "' not listed\n"
                                                              << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(input_naming_unknown_stage_exits_2) {
  TempDir dir;
  auto file = write_project(dir, "unknown_input.json", project_with_stages(kGenerate + R"(,
    {"name": "b", "processor": "filter", "inputs": ["nope"],
     "params": {"column": "qty", "op": ">", "value": 1}})"));
  expect_config_error(bdp_cli({"run", file.string()}), {file.string(), "stages.b.inputs", "nope"});
}

BOOST_AUTO_TEST_CASE(input_naming_later_stage_exits_2) {
  TempDir dir;
  auto file = write_project(dir, "later_input.json", project_with_stages(R"(
    {"name": "b", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "qty", "op": ">", "value": 1}},)" + kGenerate));
  auto r = bdp_cli({"run", file.string()});
  expect_config_error(r, {file.string(), "stages.b.inputs", "gen"});
  BOOST_TEST(contains(r.err, "later"), describe(r));
}

BOOST_AUTO_TEST_CASE(bad_processor_params_exit_2_naming_the_param) {
  TempDir dir;
  auto file = write_project(dir, "bad_op.json", project_with_stages(kGenerate + R"(,
    {"name": "f", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "qty", "op": "~~", "value": 1}})"));
  expect_config_error(bdp_cli({"run", file.string()}), {file.string(), "stages.f.params.op", "~~"});

  auto unknown = write_project(dir, "unknown_param.json", project_with_stages(kGenerate + R"(,
    {"name": "s", "processor": "sort", "inputs": ["gen"],
     "params": {"by": ["id"], "reverse": true}})"));
  expect_config_error(bdp_cli({"run", unknown.string()}),
                      {unknown.string(), "stages.s.params.reverse"});
}

BOOST_AUTO_TEST_CASE(set_addressing_unknown_stage_exits_2) {
  auto r = bdp_cli({"run", quickstart().string(), "--set", "stages.nope.params.value=1"});
  expect_config_error(r, {"stages.nope"});
  BOOST_TEST(contains(r.err, "--set"), describe(r));
}

BOOST_AUTO_TEST_CASE(malformed_set_exits_2) {
  auto r = bdp_cli({"run", quickstart().string(), "--set", "storage_strategy.mode"});
  expect_config_error(r, {"--set", "storage_strategy.mode"});
  auto show = bdp_cli({"config", "show", quickstart().string(), "--set", "no-equals-sign"});
  expect_config_error(show, {"--set", "no-equals-sign"});
}

BOOST_AUTO_TEST_CASE(set_with_bad_value_exits_2_naming_the_key) {
  auto r = bdp_cli({"run", quickstart().string(), "--set", "storage_strategy.mode=sometimes"});
  expect_config_error(r, {"storage_strategy.mode", "memory", "persist", "hybrid"});
}

// ---------------------------------------------------- run-time failures

BOOST_AUTO_TEST_CASE(stage_reading_missing_csv_exits_1_naming_the_stage) {
  TempDir dir;
  auto file = write_project(
      dir, "missing_csv.json",
      project_with_stages(
          R"({"name": "load_orders", "processor": "read_csv", "params": {"path": "nowhere.csv"}})"));
  auto r = bdp_cli({"run", file.string()});
  expect_one_line_error(r, 1, {"load_orders", "nowhere.csv"});
}

BOOST_AUTO_TEST_CASE(stage_filtering_missing_column_exits_1_naming_the_stage) {
  TempDir dir;
  auto file = write_project(dir, "missing_column.json", project_with_stages(kGenerate + R"(,
    {"name": "keep_big", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "no_such_column", "op": ">", "value": 1}})"));
  auto r = bdp_cli({"run", file.string()});
  expect_one_line_error(r, 1, {"keep_big", "no_such_column"});
  // The failed process is still summarised on stdout.
  BOOST_TEST(contains(r.out, "failed"), describe(r));

  auto js = bdp_cli({"run", file.string(), "--json"});
  BOOST_TEST(js.exit_code == 1, describe(js));
  json::value process = parse_json(js.out);
  BOOST_TEST(process.at("status").as_string() == "failed");
  BOOST_TEST(stage_of(process, "gen").at("status").as_string() == "completed");
  BOOST_TEST(stage_of(process, "keep_big").at("status").as_string() == "failed");
}

BOOST_AUTO_TEST_CASE(stage_comparing_column_with_wrong_type_exits_1_naming_the_stage) {
  // Only the data shows that "region" is a string column: a run-time failure.
  TempDir dir;
  auto file = write_project(dir, "type_mismatch.json", project_with_stages(kGenerate + R"(,
    {"name": "by_number", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "region", "op": ">", "value": 5}})"));
  auto r = bdp_cli({"run", file.string()});
  expect_one_line_error(r, 1, {"by_number", "region"});
}

// --------------------------------------------------------- config show

BOOST_AUTO_TEST_CASE(a_stage_running_out_of_memory_fails_naming_the_stage_process_and_budget) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves more address space than any limit would allow.
  BOOST_TEST_MESSAGE("skipped under AddressSanitizer: it cannot run with a limited address space");
  return;
#endif
  TempDir dir;
  // "huge" asks for 10^9 rows (tens of GiB) in a bdp limited to 2 GiB of
  // address space: its allocations fail for real.
  auto project = [&](const std::string& budget) {
    return write_project(dir, "oom.json",
                         R"({"project": "oom",
      "storage_strategy": {"mode": "persist", "cleanup_policy": "keep_all")" +
                             budget + R"(},
      "stages": [)" + kGenerate +
                             R"(,
        {"name": "huge", "processor": "generate", "params": {"rows": 1000000000}}]})");
  };
  auto limited_run = [&](const fs::path& file) {
    return bdp::test::run_command({"/bin/sh", "-c", "ulimit -v 2097152 && exec \"$0\" \"$@\"",
                                   bdp::test::cli_path().string(), "run", file.string(), "--json"},
                                  {"BDP_PLUGIN_PATH=", "BDP_DEFAULTS="});
  };
  for (const std::string budget : {"", R"(, "max_memory_bytes": 1000000)"}) {
    BOOST_TEST_CONTEXT("budget '" << budget << "'") {
      const auto file = project(budget);
      auto r = limited_run(file);
      const std::string process =
          r.out.empty() ? std::string() : std::string(parse_json(r.out).at("id").as_string());
      expect_one_line_error(r, 1,
                            {"stage 'huge' of process '" + process + "' failed: out of memory",
                             budget.empty() ? "no memory budget is set"
                                            : "storage_strategy.max_memory_bytes = 1000000 bytes"});
      BOOST_TEST(!contains(r.err, "internal error"), describe(r));
      BOOST_TEST(!process.empty(), describe(r));
      // The failure is recorded, and what was stored before it stays.
      auto ps = bdp_cli({"--config", file.string(), "ps", "--json"});
      BOOST_TEST_REQUIRE(ps.exit_code == 0, describe(ps));
      const auto stored = parse_json(ps.out).as_array().at(0);
      BOOST_TEST(stored.at("id").as_string() == process);
      BOOST_TEST(stored.at("status").as_string() == "failed");
      BOOST_TEST(stage_of(stored, "huge").at("status").as_string() == "failed");
      BOOST_TEST(contains(std::string(stage_of(stored, "huge").at("message").as_string()),
                          "out of memory"));
      auto shown = bdp_cli({"--config", file.string(), "show", process + "/gen", "--json"});
      BOOST_TEST_REQUIRE(shown.exit_code == 0, describe(shown));
      BOOST_TEST(parse_json(shown.out).at(0).at("data").at("total_rows").as_int64() == 10);
    }
  }
}

BOOST_AUTO_TEST_CASE(config_show_explain_names_runtime_layer_for_set) {
  auto r = bdp_cli({"config", "show", "--explain", quickstart().string(), "--set",
                    "storage_strategy.mode=memory"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(r.err.empty(), describe(r));
  std::string line = line_starting_with(r.out, "storage_strategy.mode");
  BOOST_TEST_REQUIRE(!line.empty(), describe(r));
  auto words = split_words(line);
  BOOST_TEST((std::find(words.begin(), words.end(), "runtime") != words.end()), line);
  BOOST_TEST((std::find(words.begin(), words.end(), "--set") != words.end()), line);
}

BOOST_AUTO_TEST_CASE(config_show_explain_names_the_layer_that_set_each_key) {
  json::object project = read_json_object(quickstart());
  json::object defaults = read_json_object(bdp::test::source_dir() / "config" / "defaults.json");
  auto r = bdp_cli({"config", "show", "--explain", quickstart().string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(r.err.empty(), describe(r));

  const json::object* project_strategy = project.if_contains("storage_strategy")
                                             ? &project.at("storage_strategy").as_object()
                                             : nullptr;
  bool saw_project = false;
  bool saw_global = false;
  for (const auto& kv : defaults.at("storage_strategy").as_object()) {
    std::string key = "storage_strategy." + std::string(kv.key());
    bool in_project = project_strategy && project_strategy->contains(kv.key());
    std::string expected = in_project ? "project" : "global";
    (in_project ? saw_project : saw_global) = true;
    std::string line = line_starting_with(r.out, key);
    BOOST_TEST_REQUIRE(!line.empty(), "no line for " << key << "\n" << describe(r));
    auto words = split_words(line);
    BOOST_TEST((std::find(words.begin(), words.end(), expected) != words.end()),
               key << " should come from the " << expected << " layer: " << line);
    if (in_project) {
      BOOST_TEST(contains(line, quickstart().filename().string()), line);
    }
  }
  // The quickstart sets some storage keys and leaves others to the defaults.
  BOOST_TEST(saw_project);
  BOOST_TEST(saw_global);
  // storage_strategy.mode in particular is set by the project file.
  BOOST_TEST_REQUIRE(project_strategy);
  BOOST_TEST_REQUIRE(project_strategy->contains("mode"));
  auto mode = split_words(line_starting_with(r.out, "storage_strategy.mode"));
  BOOST_TEST((std::find(mode.begin(), mode.end(), "project") != mode.end()));
}

BOOST_AUTO_TEST_CASE(config_show_prints_resolved_json) {
  auto r = bdp_cli({"config", "show", quickstart().string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(r.err.empty(), describe(r));
  json::value doc = parse_json(r.out);
  BOOST_TEST_REQUIRE(doc.is_object());
  BOOST_TEST(doc.at("project") == read_json_object(quickstart()).at("project"));
  auto names = stage_names(quickstart());
  const auto& stages = doc.at("stages").as_array();
  BOOST_TEST_REQUIRE(stages.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    BOOST_TEST(stages[i].at("name").as_string() == names[i]);
  }

  auto set = bdp_cli(
      {"config", "show", quickstart().string(), "--set", "stages.recent.params.value=2031"});
  BOOST_TEST_REQUIRE(set.exit_code == 0, describe(set));
  json::value changed = parse_json(set.out);
  bool found = false;
  for (const auto& stage : changed.at("stages").as_array()) {
    if (stage.at("name").as_string() == "recent") {
      BOOST_TEST(stage.at("params").at("value").to_number<std::int64_t>() == 2031);
      found = true;
    }
  }
  BOOST_TEST(found);
}

// ------------------------------------------------------------- plugins

BOOST_AUTO_TEST_CASE(plugins_list_shows_memory_backend_and_builtin_processors) {
  auto r = bdp_cli({"plugins", "list"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(r.err.empty(), describe(r));
  std::string memory = line_starting_with(r.out, "memory");
  BOOST_TEST(contains(memory, "backend"), describe(r));
  for (const auto& name : kBuiltinProcessors) {
    BOOST_TEST(contains(r.out, name), "processor '" << name << "' not listed\n" << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(plugins_list_json_parses) {
  auto r = bdp_cli({"plugins", "list", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  json::value list = parse_json(r.out);
  BOOST_TEST_REQUIRE(list.is_array());
  bool memory_backend = false;
  std::set<std::string> processors;
  for (const auto& plugin : list.as_array()) {
    if (plugin.at("name").as_string() == "memory" && plugin.at("kind").as_string() == "backend") {
      memory_backend = true;
    }
    for (const auto& p : plugin.at("processors").as_array()) processors.emplace(p.as_string());
  }
  BOOST_TEST(memory_backend, r.out);
  for (const auto& name : kBuiltinProcessors) {
    BOOST_TEST(processors.contains(name), "processor '" << name << "' not listed\n" << r.out);
  }
}

BOOST_AUTO_TEST_CASE(plugins_inspect_memory_backend) {
  fs::path lib = bdp::test::build_dir() / "lib" / "bdp" / "plugins" / "libbdp_memory.so";
  auto r = bdp_cli({"plugins", "inspect", lib.string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(r.err.empty(), describe(r));
  auto name = split_words(line_starting_with(r.out, "name:"));
  auto kind = split_words(line_starting_with(r.out, "kind:"));
  BOOST_TEST_REQUIRE(name.size() == 2u, describe(r));
  BOOST_TEST_REQUIRE(kind.size() == 2u, describe(r));
  BOOST_TEST(name[1] == "memory");
  BOOST_TEST(kind[1] == "backend");

  auto js = bdp_cli({"plugins", "inspect", lib.string(), "--json"});
  BOOST_TEST_REQUIRE(js.exit_code == 0, describe(js));
  json::value info = parse_json(js.out);
  BOOST_TEST(info.at("kind").as_string() == "backend");
  BOOST_TEST(info.at("name").as_string() == "memory");
}

BOOST_AUTO_TEST_CASE(plugins_inspect_wrong_abi_major_exits_1_naming_both_versions) {
  fs::path lib = bdp::test::fixture_plugin_dir() / "libbdp_wrong_major.so";
  auto r = bdp_cli({"plugins", "inspect", lib.string()});
  std::string host = std::to_string(bdp::kSdkAbiMajor) + "." + std::to_string(bdp::kSdkAbiMinor);
  std::string found =
      std::to_string(bdp::kSdkAbiMajor + 1) + "." + std::to_string(bdp::kSdkAbiMinor);
  expect_one_line_error(r, 1, {lib.string(), host, found});
  BOOST_TEST(r.out.empty(), describe(r));
}

BOOST_AUTO_TEST_CASE(plugins_inspect_garbage_file_fails_naming_it) {
  fs::path lib = bdp::test::fixture_plugin_dir() / "libbdp_garbage.so";
  auto r = bdp_cli({"plugins", "inspect", lib.string()});
  BOOST_TEST(r.exit_code != 0, describe(r));
  BOOST_TEST(contains(r.err, lib.string()), describe(r));
  BOOST_TEST(is_one_line(r.err), describe(r));
  BOOST_TEST(r.out.empty(), describe(r));
}

BOOST_AUTO_TEST_CASE(plugins_inspect_missing_file_fails_naming_it) {
  TempDir dir;
  fs::path lib = dir / "libbdp_absent.so";
  auto r = bdp_cli({"plugins", "inspect", lib.string()});
  BOOST_TEST(r.exit_code != 0, describe(r));
  BOOST_TEST(contains(r.err, lib.string()), describe(r));
  BOOST_TEST(is_one_line(r.err), describe(r));
}

BOOST_AUTO_TEST_CASE(plugins_list_with_fixture_path_lists_good_and_skips_refused) {
  fs::path dir = bdp::test::fixture_plugin_dir();
  auto r = bdp_cli({"plugins", "list"}, {"BDP_PLUGIN_PATH=" + dir.string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  std::string good = line_starting_with(r.out, "good");
  BOOST_TEST(!good.empty(), describe(r));
  BOOST_TEST(contains(good, (dir / "libbdp_good.so").string()), describe(r));
  // The built-in plugins are still found after the fixture folder.
  BOOST_TEST(!line_starting_with(r.out, "memory").empty(), describe(r));

  // Each refused library is one "skipped" line on stderr naming it, and
  // there are no other lines, empty ones included.
  BOOST_TEST(!contains("\n" + r.err, "\n\n"), "empty line on stderr\n" << describe(r));
  auto lines = split_lines(r.err);
  for (const auto& line : lines) {
    BOOST_TEST(contains(line, "skipped"), "unexpected stderr line: " << line);
  }
  for (const std::string name : {"wrong_major", "garbage", "no_descriptor"}) {
    std::string file = (dir / ("libbdp_" + name + ".so")).string();
    auto it = std::find_if(lines.begin(), lines.end(),
                           [&](const std::string& l) { return contains(l, file); });
    BOOST_TEST((it != lines.end()), file << " not reported as skipped\n" << describe(r));
    BOOST_TEST(!contains(r.out, file), file << " listed though refused\n" << describe(r));
  }
}

// ---------------------------------------------------------- usage errors

BOOST_AUTO_TEST_CASE(no_subcommand_exits_2) {
  auto r = bdp_cli({});
  expect_one_line_error(r, 2, {"subcommand"});
  BOOST_TEST(r.out.empty(), describe(r));
}

BOOST_AUTO_TEST_CASE(unknown_subcommand_exits_2_naming_it) {
  auto r = bdp_cli({"frobnicate"});
  expect_one_line_error(r, 2, {"frobnicate", "run"});
  BOOST_TEST(r.out.empty(), describe(r));
}

BOOST_AUTO_TEST_CASE(run_without_config_exits_2) {
  auto r = bdp_cli({"run"});
  expect_one_line_error(r, 2, {"CONFIG"});
  BOOST_TEST(r.out.empty(), describe(r));
}

BOOST_AUTO_TEST_CASE(unknown_option_exits_2) {
  auto r = bdp_cli({"run", quickstart().string(), "--no-such-option"});
  expect_one_line_error(r, 2, {"--no-such-option"});
  BOOST_TEST(r.out.empty(), describe(r));
}

BOOST_AUTO_TEST_CASE(help_exits_0) {
  auto r = bdp_cli({"--help"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "run"), describe(r));
}

BOOST_AUTO_TEST_SUITE_END()
