// History from the command line (issue #6): `bdp ps`, `bdp ls`, `bdp show`
// and `bdp stats` on two real runs of a project whose stage "gen" is stored
// in a CSV folder and every other stage in an SQLite file; --json output
// parses; bad selectors are one line on stderr with close matches, exit 1
// when they name nothing and 2 when they cannot be parsed. Each test runs
// the real binary on real files in a temporary folder.
#include "cli_support.hpp"

#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::bdp_cli;
using bdp::test::CommandResult;
using bdp::test::contains;
using bdp::test::describe;
using bdp::test::parse_json;
using bdp::test::split_lines;
using bdp::test::TempDir;

namespace {

// As bdp::test::expect_one_line_error (exit code `code`, one line on stderr
// naming every one of `needles`), and nothing on stdout.
void expect_only_error(const CommandResult& r, int code,
                       std::initializer_list<std::string> needles) {
  bdp::test::expect_one_line_error(r, code, needles);
  BOOST_TEST(r.out.empty(), describe(r));
}

// Two runs of a four-stage project, the second with a different filter
// value: "gen" in the CSV folder csv/, the others in bdp-data/bdp.sqlite.
struct TwoRuns {
  TempDir dir;
  fs::path project = dir / "project.json";
  std::string first;   // older process id
  std::string second;  // newer process id

  TwoRuns() {
    bdp::test::write_file(project, R"({
      "project": "hist",
      "storage_strategy": {"mode": "persist", "backend": "sqlite", "cleanup_policy": "keep_all"},
      "backends": {"csv": {"plugin": "csv", "root": "csv"}},
      "stages": [
        {"name": "gen", "processor": "generate", "params": {"rows": 30, "seed": 3},
         "storage": {"persist": true, "backend": "csv"}},
        {"name": "cheap", "processor": "filter", "inputs": ["gen"],
         "params": {"column": "price", "op": "<", "value": 500}},
        {"name": "by_region", "processor": "aggregate", "inputs": ["cheap"],
         "params": {"group_by": ["region"], "sum": ["qty"], "count": true}},
        {"name": "ranked", "processor": "sort", "inputs": ["by_region"],
         "params": {"by": ["qty_sum"], "descending": true}}]})");
    first = run({});
    second = run({"--set", "stages.cheap.params.value=100"});
  }

  std::string run(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", project.string(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = bdp_cli(args);
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    return std::string(parse_json(r.out).at("id").as_string());
  }

  CommandResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--config", project.string()});
    return bdp_cli(std::move(args));
  }
};

std::set<std::string> field_values(const json::value& records, const char* field) {
  std::set<std::string> out;
  for (const auto& r : records.as_array()) out.emplace(r.at(field).as_string());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ps_lists_processes_newest_first_with_name_and_limit) {
  TwoRuns runs;
  auto r = runs.cli({"ps"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto lines = split_lines(r.out);
  BOOST_TEST_REQUIRE(lines.size() == 3u, describe(r));
  BOOST_TEST(contains(lines[0], "decisions"));
  BOOST_TEST(lines[1].rfind(runs.second, 0) == 0u, describe(r));
  BOOST_TEST(contains(lines[1], "stages.cheap.params.value"), describe(r));
  BOOST_TEST(lines[2].rfind(runs.first, 0) == 0u, describe(r));

  r = runs.cli({"ps", "--limit", "1", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto one = parse_json(r.out).as_array();
  BOOST_TEST_REQUIRE(one.size() == 1u);
  BOOST_TEST(one[0].at("id").as_string() == runs.second);

  r = runs.cli({"ps", "--name", "other", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(parse_json(r.out).as_array().empty());
  r = runs.cli({"ps", "--name", "hist", "--json"});
  BOOST_TEST(parse_json(r.out).as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(ls_lists_records_of_both_backends_with_filters) {
  TwoRuns runs;
  auto r = runs.cli({"ls", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto all = parse_json(r.out);
  BOOST_TEST(all.as_array().size() == 8u, r.out);
  BOOST_TEST((field_values(all, "backend") == std::set<std::string>{"csv", "sqlite"}));

  r = runs.cli({"ls", "--process", "latest", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(field_values(parse_json(r.out), "process_id") == std::set<std::string>{runs.second});

  r = runs.cli({"ls", "--process", "latest~1", "--stage", "gen", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto gen = parse_json(r.out).as_array();
  BOOST_TEST_REQUIRE(gen.size() == 1u, r.out);
  BOOST_TEST(gen[0].at("process_id").as_string() == runs.first);
  BOOST_TEST(gen[0].at("backend").as_string() == "csv");

  r = runs.cli({"ls", "--stage", "cheap", "--entity", "default", "--limit", "1", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto newest = parse_json(r.out).as_array();
  BOOST_TEST_REQUIRE(newest.size() == 1u);
  BOOST_TEST(newest[0].at("process_id").as_string() == runs.second);

  // Metadata: the stored processor of each stage.
  r = runs.cli({"ls", "--where", "processor=aggregate", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(field_values(parse_json(r.out), "stage_name") == std::set<std::string>{"by_region"});
  BOOST_TEST(parse_json(r.out).as_array().size() == 2u);

  // Time: everything is younger than a day, nothing is older than a day.
  r = runs.cli({"ls", "--since", "1d", "--json"});
  BOOST_TEST(parse_json(r.out).as_array().size() == 8u, describe(r));
  r = runs.cli({"ls", "--until", "1d", "--json"});
  BOOST_TEST(parse_json(r.out).as_array().empty(), describe(r));
  r = runs.cli({"ls", "--since", "2000-01-01", "--until", "2000-01-02T00:00:00Z"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.err, "no stored records match"), describe(r));

  // The human table: a header and one line per record, with both locations.
  r = runs.cli({"ls", "--process", "latest"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto lines = split_lines(r.out);
  BOOST_TEST_REQUIRE(lines.size() == 5u, describe(r));
  for (const char* column : {"process", "stage", "entity", "version", "rows", "bytes", "created",
                             "backend", "location"}) {
    BOOST_TEST(contains(lines[0], column), lines[0]);
  }
  BOOST_TEST(contains(r.out, (runs.dir / "csv").string()), describe(r));
}

BOOST_AUTO_TEST_CASE(show_prints_metadata_lineage_and_the_first_rows) {
  TwoRuns runs;
  auto r = runs.cli({"show", "latest/cheap", "--head", "2"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, runs.second + "/cheap/default@v1"), describe(r));
  for (const char* part : {"schema", "id int64", "checksum", "decisions", "params.value", "inputs",
                           "/gen/default@v1 (csv)", "processor", "filter"}) {
    BOOST_TEST(contains(r.out, part), "'" << part << "' missing\n" << describe(r));
  }
  BOOST_TEST(contains(r.out, "(2 of 3 rows"), describe(r));
  BOOST_TEST(contains(r.out, "run_ms     "), describe(r));  // a number, not 1.04E1

  r = runs.cli({"show", "latest~1/gen/default@v1", "--head", "2", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto shown = parse_json(r.out).as_array();
  BOOST_TEST_REQUIRE(shown.size() == 1u);
  const auto& record = shown[0].at("record");
  BOOST_TEST(record.at("process_id").as_string() == runs.first);
  BOOST_TEST(record.at("backend").as_string() == "csv");
  BOOST_TEST(record.at("row_count").as_int64() == 30);
  const auto& data = shown[0].at("data");
  BOOST_TEST(data.at("total_rows").as_int64() == 30);
  BOOST_TEST_REQUIRE(data.at("rows").as_array().size() == 2u);
  BOOST_TEST(data.at("rows").as_array()[0].as_array()[0] == json::value(0));  // id 0
  BOOST_TEST(data.at("columns").as_array()[0].as_string() == "id");

  // By record id, as `bdp ls` lists it.
  r = runs.cli({"ls", "--process", "latest", "--stage", "ranked", "--json"});
  const std::string id(parse_json(r.out).as_array().at(0).at("id").as_string());
  r = runs.cli({"show", id, "--json", "--head", "0"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(parse_json(r.out).as_array().at(0).at("record").at("stage_name").as_string() ==
             "ranked");
}

BOOST_AUTO_TEST_CASE(stats_show_space_per_backend_process_stage_and_throughput) {
  TwoRuns runs;
  auto r = runs.cli({"stats", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto stats = parse_json(r.out).as_object();
  BOOST_TEST(stats.at("records").as_int64() == 8);
  BOOST_TEST(stats.at("processes").as_int64() == 2);
  std::int64_t sum = 0;
  for (const auto& b : stats.at("backends").as_array()) sum += b.at("bytes").as_int64();
  BOOST_TEST(sum == stats.at("bytes").as_int64());
  BOOST_TEST(stats.at("by_process").as_array().size() == 2u);
  BOOST_TEST(stats.at("by_stage").as_array().size() == 8u);
  const auto& throughput = stats.at("throughput").as_array();
  BOOST_TEST(throughput.size() == 4u, r.out);  // one line per stage name
  int with_inputs = 0;
  for (const auto& t : throughput) {
    BOOST_TEST(t.at("runs").as_int64() == 2);
    BOOST_TEST(t.at("write_mb_per_s").to_number<double>() > 0.0);
    // Every stage but the first reads an input; each run recorded how fast.
    if (t.at("stage").as_string() == "gen") {
      BOOST_TEST(t.at("read_runs").as_int64() == 0);
      continue;
    }
    ++with_inputs;
    BOOST_TEST(t.at("read_runs").as_int64() == 2, r.out);
    BOOST_TEST(t.at("read_bytes").as_int64() > 0, r.out);
    BOOST_TEST(t.at("read_ms").to_number<double>() > 0.0, r.out);
  }
  BOOST_TEST(with_inputs == 3);

  r = runs.cli({"stats"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  for (const char* part : {"stored: 8 records", "largest processes", "largest stages", "throughput",
                           "write MB/s", "read MB/s", "csv", "sqlite"}) {
    BOOST_TEST(contains(r.out, part), "'" << part << "' missing\n" << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(bad_selectors_are_one_line_with_close_matches) {
  TwoRuns runs;
  // Names nothing: exit 1.
  expect_only_error(runs.cli({"show", "latest/chaep"}), 1,
                    {"latest/chaep", "no stage 'chaep'", "cheap"});
  expect_only_error(runs.cli({"show", "latest/gen/defualt"}), 1,
                    {"no entity 'defualt'", "default"});
  expect_only_error(runs.cli({"show", "latest/gen@v4"}), 1, {"no version v4", "v1"});
  expect_only_error(runs.cli({"show", "latest~5/gen"}), 1, {"latest~5", "only 2"});
  expect_only_error(runs.cli({"ls", "--process", runs.first + "x"}), 1,
                    {runs.first + "x", "closest", runs.first});
  expect_only_error(runs.cli({"show", "123456789"}), 1, {"'123456789'"});
  // Cannot be parsed: exit 2.
  expect_only_error(runs.cli({"show", "latest/gen@2"}), 2,
                    {"latest/gen@2", "PROCESS/STAGE[/ENTITY][@vN]"});
  expect_only_error(runs.cli({"show", "a/b/c/d"}), 2, {"a/b/c/d"});
  expect_only_error(runs.cli({"ls", "--process", "latest~x"}), 2, {"latest~x"});
  expect_only_error(runs.cli({"ls", "--stage", "no such"}), 2, {"stage name"});
  expect_only_error(runs.cli({"ls", "--since", "yesterday"}), 2, {"--since", "yesterday"});
  expect_only_error(runs.cli({"ls", "--where", "processor"}), 2, {"key=value"});
  expect_only_error(runs.cli({"ls", "--limit", "many"}), 2, {"--limit"});
}

BOOST_AUTO_TEST_CASE(negative_or_malformed_numeric_options_are_usage_errors_naming_the_option) {
  TempDir dir;
  const fs::path project = dir / "project.json";
  bdp::test::write_file(project, R"({"project": "n",
    "storage_strategy": {"mode": "persist", "backend": "sqlite"}, "stages": []})");
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", project.string()});
    return bdp_cli(std::move(args));
  };
  // Every numeric option of every command: CLI11 alone would wrap -1 around
  // to 2^64-1 and read 0x10 as 16 and 010 as 8.
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"--limit", {"ps"}},
      {"--limit", {"ls"}},
      {"--head", {"show", "latest/gen"}},
      {"--top", {"stats"}},
      {"--examples", {"diff", "latest~1", "latest"}},
      {"--keep-last", {"cleanup", "--dry-run"}},
  };
  for (const auto& [option, command] : commands) {
    for (const std::string bad : {"-1", "-5", "0x10", "010.0", "+2", "1e3"}) {
      BOOST_TEST_CONTEXT(command.front() << " " << option << " " << bad) {
        auto args = command;
        args.insert(args.end(), {option, bad});
        expect_only_error(cli(args), 2, {option, "'" + bad + "' is not a whole number"});
      }
    }
  }
  // A limit of 0 would list nothing: refused too. --head 0 prints the
  // metadata only and --keep-last 0 keeps every process: both allowed.
  expect_only_error(cli({"ps", "--limit", "0"}), 2, {"--limit", "at least 1"});
  expect_only_error(cli({"ls", "--limit", "0"}), 2, {"--limit", "at least 1"});
  // Reading commands need a store (else "no store at PATH", exit 1): a
  // cleanup that is not a dry run creates the empty one.
  BOOST_TEST_REQUIRE(cli({"cleanup"}).exit_code == 0);
  BOOST_TEST(cli({"ps", "--limit", "010"}).exit_code == 0);  // decimal: ten
  BOOST_TEST(cli({"cleanup", "--dry-run", "--keep-last", "0"}).exit_code == 0);
}

namespace {

// A raw control byte, DEL, a C1 control or an invalid UTF-8 byte in `text`,
// or "" when it has none: what a terminal must never receive from a table.
std::string raw_control_in(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f || c == 0xff) return "byte " + std::to_string(c);
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      return "a C1 control";
    }
  }
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(tables_show_escape_sequences_nul_newlines_and_bad_utf8_escaped) {
  TempDir dir;
  // Cells (and a column name) with ESC, NUL, a newline, a C1 control (CSI)
  // and a byte that is not UTF-8; a process name with ESC and a newline.
  const std::string esc = "\x1b[31m";
  const std::string nul(1, '\0');
  const std::string csi = "\xc2\x9b";
  const std::string bad = "\xff";
  // read_csv refuses NUL bytes and bytes that are not UTF-8, so the cells
  // with those are stored through the C++ API below (stage "raw").
  bdp::test::write_file(dir / "a.csv",
                        "id,\"note" + esc + "\"\n1,\"red" + esc + "x\"\n2,\"a\tb\nc\"\n");
  bdp::test::write_file(dir / "b.csv",
                        "id,\"note" + esc + "\"\n1,\"" + csi + "y\"\n2,\"a\tb\nc\"\n");
  const fs::path project = dir / "project.json";
  bdp::test::write_file(project, R"({"project": "esc",
    "storage_strategy": {"mode": "persist", "backend": "sqlite", "cleanup_policy": "keep_all"},
    "stages": [{"name": "load", "processor": "read_csv",
                "params": {"path": "a.csv", "schema": {"id": "int64"}}}]})");
  const std::string name = "evil" + esc + "\nname";
  auto r = bdp_cli({"run", project.string(), "--name", name});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(raw_control_in(r.out).empty(), raw_control_in(r.out) << "\n" << describe(r));
  r = bdp_cli({"run", project.string(), "--name", name, "--set", "stages.load.params.path=b.csv",
               "--set", "description=" + esc + "\n"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  {
    bdp::ConfigResolver resolver;
    resolver.set_project_file(project);
    const bdp::Config config = resolver.resolve();
    bdp::PluginHost host(config.plugin_paths);
    auto container = bdp::DataContainer::open(config, host);
    const auto processes = container->list_processes();
    BOOST_TEST_REQUIRE(processes.size() == 2u);
    const auto newest =
        std::max_element(processes.begin(), processes.end(),
                         [](const auto& a, const auto& b) { return a.started_at < b.started_at; });
    container->set_process(newest->id);
    bdp::TableBuilder builder({{"id", bdp::ColumnType::int64}, {"cell", bdp::ColumnType::string}});
    builder.append_row({std::int64_t{1}, "a" + nul + "b\nc"});
    builder.append_row({std::int64_t{2}, csi + "y" + bad});
    container->store_stage_data("raw", bdp::StageOutput(builder.finish()));
    container->flush();
  }
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", project.string()});
    const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
    auto result = bdp_cli(std::move(args));
    BOOST_TEST(result.exit_code == 0, describe(result));
    if (!json) {  // --json prints the stored bytes as they are
      BOOST_TEST(raw_control_in(result.out).empty(), raw_control_in(result.out)
                                                         << "\n"
                                                         << describe(result));
    }
    return result;
  };

  // ps: one line per process, the name and decisions escaped.
  r = cli({"ps"});
  auto lines = split_lines(r.out);
  BOOST_TEST(lines.size() == 3u, describe(r));
  BOOST_TEST(contains(r.out, "evil\\x1b[31m\\nname"), describe(r));
  // Columns still line up: "status" starts at the same place in every line.
  const std::size_t status_at = lines[0].find("status");
  for (const auto& line : lines) {
    BOOST_TEST(line.substr(status_at, 9) == (&line == &lines[0] ? "status   " : "completed"),
               describe(r));
  }

  // show: the column name and cells, one line per row.
  r = cli({"show", "latest~1/load"});
  BOOST_TEST(contains(r.out, "note\\x1b[31m"), describe(r));
  BOOST_TEST(contains(r.out, "red\\x1b[31mx"), describe(r));
  BOOST_TEST(contains(r.out, "a\\tb\\nc"), describe(r));
  r = cli({"show", "latest/load"});
  BOOST_TEST(contains(r.out, "\\u009by"), describe(r));
  lines = split_lines(r.out);
  auto header = std::find_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return l.rfind("id  note", 0) == 0; });
  BOOST_TEST_REQUIRE((header != lines.end()), describe(r));
  BOOST_TEST((lines.end() - header) == 3, "header and two rows\n" << describe(r));

  // ls and diff print names and cells the same way.
  cli({"ls"});
  r = cli({"diff", "latest~1", "latest", "--key", "id"});
  BOOST_TEST(contains(r.out, "evil\\x1b[31m\\nname"), describe(r));

  // --json stays exact: the stored bytes, in JSON's own escapes.
  r = cli({"show", "latest~1/load", "--json"});
  const auto rows = parse_json(r.out).at(0).at("data").at("rows").as_array();
  BOOST_TEST(rows.at(0).at(1).as_string() == "red" + esc + "x");
  BOOST_TEST(rows.at(1).at(1).as_string() == "a\tb\nc");
  r = cli({"ps", "--json"});
  BOOST_TEST(parse_json(r.out).at(0).at("name").as_string() == name);
  r = cli({"show", "latest/raw"});
  BOOST_TEST(contains(r.out, "a\\x00b\\nc"), describe(r));
  BOOST_TEST(contains(r.out, "\\u009by\\xff"), describe(r));
  r = cli({"show", "latest/raw", "--json"});
  boost::json::parse_options invalid_utf8;
  invalid_utf8.allow_invalid_utf8 = true;
  const auto exact = json::parse(r.out, {}, invalid_utf8).at(0).at("data").at("rows");
  BOOST_TEST(exact.at(0).at(1).as_string() == "a" + nul + "b\nc");
  BOOST_TEST(exact.at(1).at(1).as_string() == csi + "y" + bad);
}

BOOST_AUTO_TEST_CASE(history_commands_on_empty_storage_say_so) {
  TempDir dir;
  const fs::path project = dir / "project.json";
  bdp::test::write_file(project, R"({"project": "empty",
    "storage_strategy": {"mode": "persist", "backend": "sqlite"}, "stages": []})");
  // No store yet: reading commands open it read-only, and create none.
  const std::string no_store = "no store at " + (dir / "bdp-data" / "bdp.sqlite").string();
  expect_only_error(bdp_cli({"--config", project.string(), "ls"}), 1, {no_store});
  BOOST_TEST(!fs::exists(dir / "bdp-data"));
  // A store with nothing in it (a cleanup opens it read-write, creating it).
  BOOST_TEST_REQUIRE(bdp_cli({"--config", project.string(), "cleanup"}).exit_code == 0);
  auto r = bdp_cli({"--config", project.string(), "ls"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.err, "no stored records match"), describe(r));
  r = bdp_cli({"--config", project.string(), "stats", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(parse_json(r.out).at("records").as_int64() == 0);
  expect_only_error(bdp_cli({"--config", project.string(), "show", "latest/gen"}), 1,
                    {"latest/gen", "only 0 stored processes"});
  // A broken config file is a usage error.
  bdp::test::write_file(project, "{");
  expect_only_error(bdp_cli({"--config", project.string(), "ls"}), 2, {"project.json"});
}
