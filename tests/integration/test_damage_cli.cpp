// One damaged entry never breaks the whole store (issue 13): real stores
// (a CSV folder, a SQLite file) with three runs, one entry damaged for
// real (files truncated, overwritten or with a bit flipped; rows changed
// with the sqlite3 CLI), then the real `bdp`: ps, ls, show, diff, stats
// and export keep working for everything else and fail with one line
// naming the damaged entry only where it is needed; `bdp doctor` reports
// it (exit 1); `bdp doctor --quarantine` moves it aside without losing it;
// then doctor is clean (exit 0) and the listings work.
#include "cli_support.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::bdp_cli;
using bdp::test::CommandResult;
using bdp::test::contains;
using bdp::test::describe;
using bdp::test::parse_json;
using bdp::test::read_file;
using bdp::test::split_lines;
using bdp::test::TempDir;
using bdp::test::write_file;

namespace {

enum class StoreKind { csv, sqlite };

// Three runs (A oldest, B, C newest) of a two-stage project: "gen" (200
// rows) and "totals" (4 rows), both persisted. In the SQLite store "gen"
// is a reference table and "totals" an inline blob.
struct ThreeRuns {
  TempDir dir;
  fs::path project = dir / "project.json";
  StoreKind kind;
  std::string a, b, c;

  explicit ThreeRuns(StoreKind k) : kind(k) {
    const std::string backends =
        kind == StoreKind::csv
            ? R"("backend": "csv"}, "backends": {"csv": {"plugin": "csv", "root": "store"}},)"
            : R"("backend": "sqlite"}, "backends": {"sqlite": {"plugin": "soci",
                 "connection": "sqlite3://db=bdp-data/bdp.sqlite",
                 "inline_threshold_bytes": 2048}},)";
    write_file(project, R"({"project": "dmg",
      "storage_strategy": {"mode": "persist", "cleanup_policy": "keep_all", )" +
                            backends + R"(
      "stages": [
        {"name": "gen", "processor": "generate", "params": {"rows": 200, "seed": 1}},
        {"name": "totals", "processor": "aggregate", "inputs": ["gen"],
         "params": {"group_by": ["region"], "sum": ["qty"], "count": true}}]})");
    a = run(1);
    b = run(2);
    c = run(3);
  }

  std::string run(int seed) {
    auto r = bdp_cli({"run", project.string(), "--json", "--set",
                      "stages.gen.params.seed=" + std::to_string(seed)});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    return std::string(parse_json(r.out).at("id").as_string());
  }

  CommandResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--config", project.string()});
    return bdp_cli(std::move(args));
  }

  fs::path csv_root() const { return dir / "store"; }
  fs::path sqlite_file() const { return dir / "bdp-data" / "bdp.sqlite"; }

  // The record of `stage` of `process`, as `bdp ls --json` lists it.
  json::object record(const std::string& process, const std::string& stage) const {
    auto r = cli({"ls", "--process", process, "--stage", stage, "--json"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    const auto records = parse_json(r.out).as_array();
    BOOST_TEST_REQUIRE(records.size() == 1u, r.out);
    return records[0].as_object();
  }
  std::string record_id(const std::string& process, const std::string& stage) const {
    return std::string(record(process, stage).at("id").as_string());
  }

  // Plain SQL on the SQLite file, through the sqlite3 CLI.
  std::string sql(const std::string& statement) const {
    auto r = bdp::test::run_command({"/usr/bin/sqlite3", sqlite_file().string(), statement});
    BOOST_TEST_REQUIRE(r.exit_code == 0, "sqlite3 " << statement << ": " << describe(r));
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
};

std::string flip_bit(std::string text, std::size_t at, int bit) {
  text[at] = static_cast<char>(text[at] ^ (1 << bit));
  return text;
}

// What one damage case expects.
struct Expected {
  std::string needle;                // what every message about the damage names
  std::optional<std::string> stage;  // A's stage whose record is damaged, if one is
  bool process_damaged = false;      // A's process record is damaged
  bool listed_damaged = false;       // the listing itself can tell (ls marks the record)
  std::function<void()> kept_aside;  // checks the quarantined bytes are still there
};

std::size_t count_damaged(const json::array& entries) {
  return static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), [](const auto& e) {
    return e.as_object().contains("damage");
  }));
}

// The damage of A was made; every command behaves as the top of the file says.
void expect_isolated(const ThreeRuns& runs, const Expected& want) {
  const std::string& a = runs.a;
  const std::string& b = runs.b;
  const std::string& c = runs.c;

  // ps: every process, A marked when its record is damaged.
  auto r = runs.cli({"ps", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto processes = parse_json(r.out).as_array();
  BOOST_TEST(processes.size() == 3u, r.out);
  BOOST_TEST(count_damaged(processes) == (want.process_damaged ? 1u : 0u), r.out);
  for (const auto& p : processes) {
    if (!p.as_object().contains("damage")) continue;
    BOOST_TEST(p.at("id").as_string() == a);
    BOOST_TEST(contains(std::string(p.at("damage").as_string()), want.needle), r.out);
  }
  r = runs.cli({"ps"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(split_lines(r.out).size() == 4u, describe(r));
  if (want.process_damaged) {
    for (const auto& line : split_lines(r.out)) {
      if (line.starts_with(a)) BOOST_TEST(contains(line, "damaged"), line);
    }
    BOOST_TEST(contains(r.err, want.needle), describe(r));
  }

  // ls: every record; the damaged one marked when its listing can tell.
  r = runs.cli({"ls", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto records = parse_json(r.out).as_array();
  BOOST_TEST(records.size() == 6u, r.out);
  BOOST_TEST(count_damaged(records) == (want.listed_damaged ? 1u : 0u), r.out);
  r = runs.cli({"ls"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(split_lines(r.out).size() == 7u, describe(r));
  if (want.listed_damaged) {
    std::size_t marked = 0;
    for (const auto& line : split_lines(r.out)) {
      if (line.ends_with("damaged")) {
        ++marked;
        BOOST_TEST(line.starts_with(a), line);
        BOOST_TEST(contains(line, *want.stage), line);
      }
    }
    BOOST_TEST(marked == 1u, describe(r));
    BOOST_TEST(contains(r.err, want.needle), describe(r));
  }

  // show: the damaged record is one error line naming it; the rest shows.
  for (const auto& selector : {c + "/gen", c + "/totals", b + "/gen"}) {
    r = runs.cli({"show", selector});
    BOOST_TEST(r.exit_code == 0, describe(r));
  }
  if (want.stage) {
    r = runs.cli({"show", a + "/" + *want.stage});
    bdp::test::expect_one_line_error(r, 1, {want.needle});
    BOOST_TEST(r.out.empty(), describe(r));
    r = runs.cli({"show", a + "/" + *want.stage, "--json"});
    bdp::test::expect_one_line_error(r, 1, {want.needle});
  } else {
    r = runs.cli({"show", a + "/gen"});
    BOOST_TEST(r.exit_code == 0, describe(r));
  }

  // diff: of the others works; with the damaged record, one line naming it.
  r = runs.cli({"diff", b, c});
  BOOST_TEST(r.exit_code == 0, describe(r));
  r = runs.cli({"diff", a, c});
  if (want.stage) {
    bdp::test::expect_one_line_error(r, 1, {want.needle});
  } else {
    BOOST_TEST(r.exit_code == 0, describe(r));
  }

  // stats: counts every record, lists what the listings mark.
  r = runs.cli({"stats", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto stats = parse_json(r.out);
  BOOST_TEST(stats.at("records").to_number<int>() == 6, r.out);
  const std::size_t marked = (want.listed_damaged ? 1u : 0u) + (want.process_damaged ? 1u : 0u);
  BOOST_TEST(stats.at("damaged").as_array().size() == marked, r.out);
  r = runs.cli({"stats"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  if (marked != 0) BOOST_TEST(contains(r.out, want.needle), describe(r));

  // export: of another process works; of A only when nothing of it is damaged.
  r = runs.cli({"export", c, "--out", (runs.dir / "export-c").string()});
  BOOST_TEST(r.exit_code == 0, describe(r));
  r = runs.cli({"export", a, "--out", (runs.dir / "export-a").string()});
  BOOST_TEST(r.exit_code == (want.stage ? 1 : 0), describe(r));

  // doctor: reports the damage, exit 1.
  r = runs.cli({"doctor"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  std::size_t lines = 0;
  for (const auto& line : split_lines(r.out)) {
    if (!contains(line, ": damaged: ")) continue;
    ++lines;
    BOOST_TEST(contains(line, want.needle), line);
  }
  BOOST_TEST(lines == 1u, describe(r));
  r = runs.cli({"doctor", "--json"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  const auto report = parse_json(r.out);
  BOOST_TEST(report.at("damaged").to_number<int>() == 1, r.out);
  BOOST_TEST(report.at("clean").as_bool() == false);

  // doctor --quarantine: moves it aside (exit 0: nothing damaged is left).
  r = runs.cli({"doctor", "--quarantine"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "moved: "), describe(r));
  if (want.kept_aside) want.kept_aside();
  r = runs.cli({"doctor"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "no damage"), describe(r));

  // And everything else works as before the damage.
  r = runs.cli({"ps", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(parse_json(r.out).as_array().size() == (want.process_damaged ? 2u : 3u), r.out);
  BOOST_TEST(count_damaged(parse_json(r.out).as_array()) == 0u);
  r = runs.cli({"ls", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(parse_json(r.out).as_array().size() == (want.stage ? 5u : 6u), r.out);
  BOOST_TEST(count_damaged(parse_json(r.out).as_array()) == 0u);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"show", c + "/gen"}, {"diff", b, c}, {"stats"}, {"ls"}, {"ps"}}) {
    r = runs.cli(args);
    BOOST_TEST(r.exit_code == 0, describe(r));
  }
}

// ------------------------------------------------------------- CSV store

fs::path process_file(const ThreeRuns& runs) {
  return runs.csv_root() / ".bdp" / "processes" / (runs.a + ".json");
}

fs::path entity_dir(const ThreeRuns& runs, const std::string& stage) {
  return runs.csv_root() / runs.a / stage / "default";
}

// The quarantined copy of `file` (relative to the store's root) exists and
// holds `text`.
std::function<void()> kept_in_csv_quarantine(const ThreeRuns& runs, const fs::path& file,
                                             std::string text) {
  return [&runs, file, text] {
    const fs::path quarantine = runs.csv_root() / ".bdp" / "quarantine";
    std::vector<fs::path> found;
    for (const auto& e : fs::recursive_directory_iterator(quarantine)) {
      if (e.path().lexically_relative(quarantine).string().ends_with(file.string())) {
        found.push_back(e.path());
      }
    }
    BOOST_TEST_REQUIRE(found.size() == 1u, file << " is not in " << quarantine);
    BOOST_TEST(read_file(found[0]) == text);
    BOOST_TEST(!fs::exists(runs.csv_root() / file));
  };
}

void damaged_process_file(const std::function<std::string(const std::string&)>& damage) {
  ThreeRuns runs(StoreKind::csv);
  const fs::path file = process_file(runs);
  const std::string damaged = damage(read_file(file));
  write_file(file, damaged);
  Expected want;
  want.needle = runs.a + ".json";
  want.process_damaged = true;
  want.kept_aside =
      kept_in_csv_quarantine(runs, fs::path(".bdp") / "processes" / (runs.a + ".json"), damaged);
  expect_isolated(runs, want);
  // The records of the process whose record was moved are still there.
  auto r = runs.cli({"show", runs.a + "/gen"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  r = runs.cli({"doctor"});
  BOOST_TEST(contains(r.out, runs.a + ": note: 2 records have no process record"), describe(r));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(damage_cli)

BOOST_AUTO_TEST_CASE(csv_truncated_process_record_is_marked_and_the_rest_works) {
  damaged_process_file([](const std::string& text) { return text.substr(0, text.size() / 3); });
}

BOOST_AUTO_TEST_CASE(csv_garbage_process_record_is_marked_and_the_rest_works) {
  damaged_process_file([](const std::string&) { return std::string("\x7f\x45LF garbage\n", 13); });
}

BOOST_AUTO_TEST_CASE(csv_process_record_with_a_flipped_bit_is_marked_and_the_rest_works) {
  // The first key's opening quote becomes '#'.
  damaged_process_file([](const std::string& text) { return flip_bit(text, text.find('"'), 0); });
}

BOOST_AUTO_TEST_CASE(csv_garbage_sidecar_fails_only_its_record) {
  ThreeRuns runs(StoreKind::csv);
  const fs::path sidecar = entity_dir(runs, "gen") / "v1.meta.json";
  const std::string csv_text = read_file(entity_dir(runs, "gen") / "v1.csv");
  write_file(sidecar, "{\"id\": \"" + runs.a + "/gen/default/v1\", \"version\": ");
  Expected want;
  want.needle = runs.a + "/gen/default/v1.meta.json";
  want.stage = "gen";
  // The index still lists it: found when it is read.
  want.listed_damaged = false;
  want.kept_aside =
      kept_in_csv_quarantine(runs, fs::path(runs.a) / "gen" / "default" / "v1.csv", csv_text);
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(csv_damaged_sidecar_is_listed_marked_once_the_index_is_rebuilt) {
  ThreeRuns runs(StoreKind::csv);
  const fs::path sidecar = entity_dir(runs, "totals") / "v1.meta.json";
  const std::string text = read_file(sidecar);
  write_file(sidecar, text.substr(0, text.size() - 40));
  fs::remove(runs.csv_root() / ".bdp" / "index.jsonl");
  Expected want;
  want.needle = runs.a + "/totals/default/v1.meta.json";
  want.stage = "totals";
  want.listed_damaged = true;
  want.kept_aside =
      kept_in_csv_quarantine(runs, fs::path(runs.a) / "totals" / "default" / "v1.meta.json",
                             text.substr(0, text.size() - 40));
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(csv_data_file_with_a_flipped_bit_fails_only_its_record) {
  ThreeRuns runs(StoreKind::csv);
  const fs::path data = entity_dir(runs, "gen") / "v1.csv";
  std::string text = read_file(data);
  const std::size_t digit = text.find_first_of("0123456789", text.size() / 2);
  text = flip_bit(text, digit, 0);  // another digit, same size
  write_file(data, text);
  Expected want;
  want.needle = runs.a + "/gen/default/v1.csv";
  want.stage = "gen";
  want.kept_aside =
      kept_in_csv_quarantine(runs, fs::path(runs.a) / "gen" / "default" / "v1.csv", text);
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(csv_truncated_data_file_fails_only_its_record) {
  ThreeRuns runs(StoreKind::csv);
  const fs::path data = entity_dir(runs, "totals") / "v1.csv";
  const std::string text = read_file(data);
  write_file(data, text.substr(0, text.size() / 2));
  Expected want;
  want.needle = runs.a + "/totals/default/v1.csv";
  want.stage = "totals";
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(csv_damaged_index_lines_are_repaired_from_the_sidecars_losing_nothing) {
  // The index is derived from the sidecars: a line that does not parse,
  // or fails its checksum, is repaired by rebuilding it, so every command
  // sees every record and doctor finds nothing left to report.
  ThreeRuns runs(StoreKind::csv);
  const fs::path index = runs.csv_root() / ".bdp" / "index.jsonl";
  auto before = runs.cli({"ls", "--json"});
  BOOST_TEST_REQUIRE(before.exit_code == 0, describe(before));
  std::string text = read_file(index);
  // A bit flipped inside a value (still valid JSON) in one line, garbage in another.
  const std::size_t rows = text.find("\"row_count\":200");
  BOOST_TEST_REQUIRE(rows != std::string::npos);
  text = flip_bit(text, rows + 12, 0);  // 200 -> 300
  text.insert(text.find('\n') + 1, "garbage\n");
  write_file(index, text);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ps"}, {"show", runs.a + "/gen"}, {"diff", runs.a, runs.c}, {"stats"}}) {
    auto r = runs.cli(args);
    BOOST_TEST(r.exit_code == 0, describe(r));
  }
  auto after = runs.cli({"ls", "--json"});
  BOOST_TEST_REQUIRE(after.exit_code == 0, describe(after));
  BOOST_TEST(parse_json(after.out) == parse_json(before.out));
  auto r = runs.cli({"doctor"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(contains(r.out, "no damage"), describe(r));
}

BOOST_AUTO_TEST_CASE(process_record_damaged_in_one_store_is_read_from_the_other) {
  // Stages in a CSV folder and an SQLite file: the process record is saved
  // in both. A damaged copy in one is reported by doctor; every listing
  // uses the sound one, even when the damaged one looks newer.
  TempDir dir;
  const fs::path project = dir / "project.json";
  write_file(project, R"({"project": "two",
    "storage_strategy": {"mode": "persist", "backend": "sqlite", "cleanup_policy": "keep_all"},
    "backends": {"csv": {"plugin": "csv", "root": "store"}},
    "stages": [
      {"name": "gen", "processor": "generate", "params": {"rows": 20},
       "storage": {"persist": true, "backend": "csv"}},
      {"name": "top", "processor": "sort", "inputs": ["gen"], "params": {"by": ["qty"]}}]})");
  auto r = bdp_cli({"run", project.string(), "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const std::string id(parse_json(r.out).at("id").as_string());
  // The SQLite copy: its summary cut, its columns saying it finished later.
  auto sql = bdp::test::run_command(
      {"/usr/bin/sqlite3", (dir / "bdp-data" / "bdp.sqlite").string(),
       "update bdp_processes set summary = substr(summary, 1, 9), finished_at = finished_at + 1"});
  BOOST_TEST_REQUIRE(sql.exit_code == 0, describe(sql));
  const std::vector<std::string> config = {"--config", project.string()};
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), config.begin(), config.end());
    return bdp_cli(std::move(args));
  };
  r = cli({"ps", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  const auto processes = parse_json(r.out).as_array();
  BOOST_REQUIRE(processes.size() == 1u);
  BOOST_TEST(!processes[0].as_object().contains("damage"), r.out);
  BOOST_TEST(processes[0].at("name").as_string() == "two");
  r = cli({"doctor"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(contains(r.out, "sqlite: process " + id + ": damaged: "), describe(r));
  r = cli({"doctor", "--quarantine"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  r = cli({"doctor"});
  BOOST_TEST(r.exit_code == 0, describe(r));
  // No orphans: the process record is still in the other store.
  BOOST_TEST(!contains(r.out, "note:"), describe(r));
}

// ----------------------------------------------------------- SQLite store

BOOST_AUTO_TEST_CASE(sqlite_damaged_summary_json_is_marked_and_the_rest_works) {
  ThreeRuns runs(StoreKind::sqlite);
  runs.sql("update bdp_processes set summary = substr(summary, 1, 30) where id = '" + runs.a + "'");
  Expected want;
  want.needle = "process row " + runs.a;
  want.process_damaged = true;
  want.kept_aside = [&runs] {
    BOOST_TEST(runs.sql("select source_id, length(row_json) > 30 from bdp_quarantine") ==
               runs.a + "|1");
  };
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(sqlite_damaged_metadata_json_is_listed_marked_and_the_rest_works) {
  ThreeRuns runs(StoreKind::sqlite);
  const std::string id = runs.record_id(runs.a, "totals");
  runs.sql("update intermediate_data set metadata = '{\"decisions\": {' where id = " + id);
  Expected want;
  want.needle = "record " + id + " (" + runs.a + "/totals/default v1)";
  want.stage = "totals";
  want.listed_damaged = true;
  want.kept_aside = [&runs, id] {
    BOOST_TEST(runs.sql("select source_id, payload is not null from bdp_quarantine") == id + "|1");
  };
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(sqlite_damaged_schema_json_is_listed_marked_and_the_rest_works) {
  ThreeRuns runs(StoreKind::sqlite);
  const std::string id = runs.record_id(runs.a, "gen");
  runs.sql(
      "update intermediate_data set schema = '[{\"name\": \"id\", \"type\": \"int65\"}]'"
      " where id = " +
      id);
  Expected want;
  want.needle = "record " + id + " (" + runs.a + "/gen/default v1)";
  want.stage = "gen";
  want.listed_damaged = true;
  want.kept_aside = [&runs, id] {
    BOOST_TEST(runs.sql("select count(*) from bdp_quarantine_data_" + id) == "200");
  };
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(sqlite_changed_reference_table_value_fails_only_its_record) {
  ThreeRuns runs(StoreKind::sqlite);
  const auto record = runs.record(runs.a, "gen");
  const std::string table(record.at("data_reference").as_string());
  BOOST_TEST_REQUIRE(table.starts_with("bdp_data_"), table);
  runs.sql("update " + table + " set qty = qty + 1 where rowid = 17");
  Expected want;
  want.needle = "reference table " + table + " was changed";
  want.stage = "gen";
  want.kept_aside = [&runs, id = std::string(record.at("id").as_string())] {
    BOOST_TEST(runs.sql("select count(*) from bdp_quarantine_data_" + id) == "200");
    BOOST_TEST(runs.sql("select data_table from bdp_quarantine") == "bdp_quarantine_data_" + id);
  };
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_CASE(sqlite_damaged_inline_blob_fails_only_its_record) {
  ThreeRuns runs(StoreKind::sqlite);
  const auto record = runs.record(runs.a, "totals");
  BOOST_TEST_REQUIRE(record.at("storage_type").as_string() == "inline");
  const std::string id(record.at("id").as_string());
  runs.sql(
      "update intermediate_data set payload = cast(substr(payload, 1, 30) || x'ee' ||"
      " substr(payload, 32) as blob) where id = " +
      id);
  Expected want;
  want.needle = "record " + id + " (" + runs.a + "/totals/default v1)";
  want.stage = "totals";
  want.kept_aside = [&runs, id] {
    BOOST_TEST(runs.sql("select source_id, length(payload) > 30 from bdp_quarantine") == id + "|1");
  };
  expect_isolated(runs, want);
}

BOOST_AUTO_TEST_SUITE_END()
