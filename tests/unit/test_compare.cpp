// Comparing stored data (issue #6): compare_tables on identical tables,
// schema changes, keyed changes with per-column old -> new, unkeyed
// multisets with duplicates, nulls and floats, numeric summaries; and
// compare_processes over the real csv and soci (SQLite) plugins, with A in
// a CSV folder and B in an SQLite file, decisions included; the changes CSV;
// export -> import round trips in both formats, and the import's refusals.
#include <bdp/archive.hpp>
#include <bdp/compare.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/json.hpp>
#include <bdp/sdk/table.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::ColumnType;
using bdp::ErrorCode;
using bdp::Value;
using bdp::test::expect_error;
using bdp::test::TempDir;

bdp::TablePtr table(const bdp::Schema& schema, const std::vector<std::vector<Value>>& rows) {
  bdp::TableBuilder b(schema);
  for (const auto& r : rows) b.append_row(r);
  return b.finish();
}

const bdp::Schema kSchema = {{"id", ColumnType::int64},
                             {"name", ColumnType::string},
                             {"price", ColumnType::float64},
                             {"ok", ColumnType::boolean},
                             {"ts", ColumnType::timestamp}};

bdp::TablePtr sample() {
  return table(kSchema,
               {{std::int64_t{1}, std::string("a"), 1.5, true, std::int64_t{1000}},
                {std::int64_t{2}, std::string("b"), 2.5, false, std::int64_t{2000}},
                {std::int64_t{3}, std::monostate{}, std::monostate{}, true, std::monostate{}},
                {std::int64_t{4}, std::string("d"), -0.0, false, std::int64_t{4000}}});
}

std::vector<std::string> changed_columns(const bdp::TableDiff& d, const bdp::ChangedRow& r) {
  std::vector<std::string> out;
  for (auto c : r.columns) out.push_back(d.compared[c]);
  return out;
}

bdp::PluginHost& host() {
  static bdp::PluginHost h;
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compare)

BOOST_AUTO_TEST_CASE(identical_tables_have_no_differences_keyed_or_not) {
  const auto a = sample();
  const auto b = sample();  // another Table with the same cells (nulls, -0.0)
  for (const std::vector<std::string>& key :
       {std::vector<std::string>{}, std::vector<std::string>{"id"}}) {
    const auto d = bdp::compare_tables(a, b, key);
    BOOST_TEST(!d.has_differences());
    BOOST_TEST(d.unchanged_rows == 4u);
    BOOST_TEST(d.only_a.empty());
    BOOST_TEST(d.only_b.empty());
    BOOST_TEST(d.changed.empty());
    BOOST_TEST(d.key == key);
    BOOST_TEST(d.note.empty());
    BOOST_TEST(d.compared.size() == 5u);
    BOOST_TEST(d.to_json().at("changed_rows").as_uint64() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(schema_changes_name_added_removed_and_retyped_columns) {
  const auto a = table(
      {{"id", ColumnType::int64}, {"gone", ColumnType::string}, {"amount", ColumnType::int64}},
      {{std::int64_t{1}, std::string("x"), std::int64_t{5}}});
  const auto b = table(
      {{"id", ColumnType::int64}, {"amount", ColumnType::float64}, {"extra", ColumnType::boolean}},
      {{std::int64_t{1}, 5.0, true}});
  const auto d = bdp::compare_tables(a, b, {"id"});
  BOOST_TEST(d.has_differences());
  BOOST_TEST_REQUIRE(d.schema_changes.size() == 3u);
  BOOST_TEST(d.schema_changes[0].column == "gone");
  BOOST_TEST(bdp::to_string(d.schema_changes[0].kind) == "removed");
  BOOST_TEST(d.schema_changes[1].column == "amount");
  BOOST_TEST(bdp::to_string(d.schema_changes[1].kind) == "retyped");
  BOOST_TEST(bdp::to_string(*d.schema_changes[1].type_a) == "int64");
  BOOST_TEST(bdp::to_string(*d.schema_changes[1].type_b) == "float64");
  BOOST_TEST(d.schema_changes[2].column == "extra");
  BOOST_TEST(bdp::to_string(d.schema_changes[2].kind) == "added");
  // Only "id" is compared cell by cell; the row matches.
  BOOST_TEST(d.compared == std::vector<std::string>{"id"});
  BOOST_TEST(d.unchanged_rows == 1u);
  BOOST_TEST(d.changed.empty());
  const auto j = d.to_json();
  BOOST_TEST(j.at("schema_changes").as_array().size() == 3u);
  BOOST_TEST(j.at("schema_changes").as_array()[1].at("type_b").as_string() == "float64");
}

BOOST_AUTO_TEST_CASE(keyed_changes_report_each_changed_column_old_and_new) {
  const auto a = sample();
  const auto b = table(
      kSchema, {
                   // id 1: name and price changed
                   {std::int64_t{1}, std::string("A"), 1.75, true, std::int64_t{1000}},
                   // id 3: null name becomes a value, ok flips
                   {std::int64_t{3}, std::string("c"), std::monostate{}, false, std::monostate{}},
                   // id 2 removed; id 4 same but after id 3; id 9 added
                   {std::int64_t{4}, std::string("d"), 0.0, false, std::int64_t{4000}},
                   {std::int64_t{9}, std::string("z"), 9.0, true, std::int64_t{9000}},
               });
  const auto d = bdp::compare_tables(a, b, {"id"});
  BOOST_TEST(d.key == std::vector<std::string>{"id"});
  BOOST_TEST_REQUIRE(d.changed.size() == 2u);
  BOOST_TEST(d.changed[0].row_a == 0u);
  BOOST_TEST(d.changed[0].row_b == 0u);
  BOOST_TEST(changed_columns(d, d.changed[0]) == (std::vector<std::string>{"name", "price"}));
  BOOST_TEST(d.changed[1].row_a == 2u);
  BOOST_TEST(d.changed[1].row_b == 1u);
  BOOST_TEST(changed_columns(d, d.changed[1]) == (std::vector<std::string>{"name", "ok"}));
  BOOST_TEST_REQUIRE(d.only_a.size() == 1u);
  BOOST_TEST(d.only_a[0].row == 1u);  // id 2
  BOOST_TEST_REQUIRE(d.only_b.size() == 1u);
  BOOST_TEST(d.only_b[0].row == 3u);   // id 9
  BOOST_TEST(d.unchanged_rows == 1u);  // id 4 (-0.0 equals 0.0)

  const auto j = d.to_json();
  const auto& first = j.at("examples").at("changed").as_array().at(0);
  BOOST_TEST(first.at("key").at("id").as_int64() == 1);
  BOOST_TEST(first.at("changes").at("name").at("old").as_string() == "a");
  BOOST_TEST(first.at("changes").at("name").at("new").as_string() == "A");
  BOOST_TEST(first.at("changes").at("price").at("old").as_double() == 1.5);
  BOOST_TEST(first.at("changes").at("price").at("new").as_double() == 1.75);
  BOOST_TEST(!first.at("changes").as_object().contains("ok"));
  const auto& second = j.at("examples").at("changed").as_array().at(1);
  BOOST_TEST(second.at("changes").at("name").at("old").is_null());
  BOOST_TEST(second.at("changes").at("name").at("new").as_string() == "c");
  BOOST_TEST(j.at("examples").at("only_a").as_array().at(0).at("row").at("id").as_int64() == 2);
  BOOST_TEST(j.at("examples").at("only_b").as_array().at(0).at("row").at("name").as_string() ==
             "z");
  // Examples are cut, the counts are not.
  BOOST_TEST(d.to_json(1).at("examples").at("changed").as_array().size() == 1u);
  BOOST_TEST(d.to_json(1).at("changed_rows").as_uint64() == 2u);
}

BOOST_AUTO_TEST_CASE(a_composite_key_matches_on_every_key_column) {
  const bdp::Schema s = {
      {"k1", ColumnType::string}, {"k2", ColumnType::int64}, {"v", ColumnType::int64}};
  const auto a = table(s, {{std::string("x"), std::int64_t{1}, std::int64_t{10}},
                           {std::string("x"), std::int64_t{2}, std::int64_t{20}}});
  const auto b = table(s, {{std::string("x"), std::int64_t{2}, std::int64_t{21}},
                           {std::string("y"), std::int64_t{1}, std::int64_t{10}}});
  const auto d = bdp::compare_tables(a, b, {"k1", "k2"});
  BOOST_TEST(d.changed.size() == 1u);
  BOOST_TEST(d.only_a_rows == 1u);  // (x, 1)
  BOOST_TEST(d.only_b_rows == 1u);  // (y, 1)
}

BOOST_AUTO_TEST_CASE(unkeyed_comparison_counts_duplicate_rows_as_a_multiset) {
  const bdp::Schema s = {{"v", ColumnType::int64}, {"w", ColumnType::string}};
  const auto a = table(s, {{std::int64_t{1}, std::string("a")},
                           {std::int64_t{1}, std::string("a")},
                           {std::int64_t{1}, std::string("a")},
                           {std::int64_t{2}, std::monostate{}},
                           {std::int64_t{3}, std::string("c")}});
  const auto b = table(s, {{std::int64_t{3}, std::string("c")},
                           {std::int64_t{1}, std::string("a")},
                           {std::int64_t{2}, std::string("")},  // "" is not null
                           {std::int64_t{4}, std::string("d")},
                           {std::int64_t{4}, std::string("d")}});
  const auto d = bdp::compare_tables(a, b);
  BOOST_TEST(d.key.empty());
  BOOST_TEST(d.unchanged_rows == 2u);  // one (1, a) and (3, c)
  BOOST_TEST(d.only_a_rows == 3u);     // two more (1, a) and (2, null)
  BOOST_TEST_REQUIRE(d.only_a.size() == 2u);
  BOOST_TEST(d.only_a[0].row == 0u);
  BOOST_TEST(d.only_a[0].count == 2u);
  BOOST_TEST(d.only_a[1].row == 3u);
  BOOST_TEST(d.only_b_rows == 3u);  // (2, "") and (4, d) twice
  BOOST_TEST_REQUIRE(d.only_b.size() == 2u);
  BOOST_TEST(d.only_b[0].row == 2u);
  BOOST_TEST(d.only_b[1].row == 3u);
  BOOST_TEST(d.only_b[1].count == 2u);
  BOOST_TEST(d.changed.empty());
  // Same rows in another order: no differences.
  const auto shuffled = table(s, {{std::int64_t{3}, std::string("c")},
                                  {std::int64_t{1}, std::string("a")},
                                  {std::int64_t{2}, std::monostate{}},
                                  {std::int64_t{1}, std::string("a")},
                                  {std::int64_t{1}, std::string("a")}});
  BOOST_TEST(!bdp::compare_tables(a, shuffled).has_differences());
}

BOOST_AUTO_TEST_CASE(a_key_that_is_missing_or_not_unique_falls_back_to_multisets_with_a_note) {
  const bdp::Schema s = {{"k", ColumnType::int64}, {"v", ColumnType::int64}};
  const auto a = table(s, {{std::int64_t{1}, std::int64_t{1}}, {std::int64_t{1}, std::int64_t{2}}});
  const auto b = table(s, {{std::int64_t{1}, std::int64_t{2}}, {std::int64_t{1}, std::int64_t{1}}});
  auto d = bdp::compare_tables(a, b, {"k"});
  BOOST_TEST(d.key.empty());
  BOOST_TEST(d.note.find("not unique in A") != std::string::npos, d.note);
  BOOST_TEST(d.note.find("k=1") != std::string::npos, d.note);
  BOOST_TEST(!d.has_differences());
  d = bdp::compare_tables(a, b, {"nope"});
  BOOST_TEST(d.note.find("'nope' is in neither table") != std::string::npos, d.note);
  expect_error(
      [&] {
        bdp::compare_tables(a, b, {"k", "k"});
      },
      ErrorCode::invalid_argument, {"'k' given twice"});
  expect_error([&] { bdp::compare_tables(a, nullptr); }, ErrorCode::invalid_argument, {"null"});
}

BOOST_AUTO_TEST_CASE(nulls_equal_nulls_and_differ_from_values_in_every_type) {
  const auto nulls = table(kSchema, {{std::int64_t{1}, std::monostate{}, std::monostate{},
                                      std::monostate{}, std::monostate{}}});
  const auto zeros =
      table(kSchema, {{std::int64_t{1}, std::string(""), 0.0, false, std::int64_t{0}}});
  BOOST_TEST(!bdp::compare_tables(nulls, nulls, {"id"}).has_differences());
  const auto d = bdp::compare_tables(nulls, zeros, {"id"});
  BOOST_TEST_REQUIRE(d.changed.size() == 1u);
  BOOST_TEST(changed_columns(d, d.changed[0]) ==
             (std::vector<std::string>{"name", "price", "ok", "ts"}));
  // A null key matches a null key.
  const auto null_key =
      table(kSchema, {{std::monostate{}, std::string("x"), 1.0, true, std::int64_t{1}}});
  BOOST_TEST(!bdp::compare_tables(null_key, null_key, {"id"}).has_differences());
  // NaN equals NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto with_nan = table({{"x", ColumnType::float64}}, {{nan}});
  BOOST_TEST(!bdp::compare_tables(with_nan, table({{"x", ColumnType::float64}}, {{nan}}))
                  .has_differences());
}

BOOST_AUTO_TEST_CASE(numeric_summaries_give_sum_mean_min_max_and_deltas) {
  const bdp::Schema s = {
      {"id", ColumnType::int64}, {"x", ColumnType::float64}, {"label", ColumnType::string}};
  const auto a = table(s, {{std::int64_t{1}, 1.0, std::string("a")},
                           {std::int64_t{2}, 3.0, std::string("b")},
                           {std::int64_t{3}, std::monostate{}, std::string("c")}});
  const auto b = table(s, {{std::int64_t{1}, 2.0, std::string("a")},
                           {std::int64_t{2}, 6.0, std::string("b")},
                           {std::int64_t{4}, 10.0, std::string("d")}});
  const auto d = bdp::compare_tables(a, b, {"id"});
  BOOST_TEST_REQUIRE(d.numeric.size() == 2u);  // id and x; label is not numeric
  const auto& id = d.numeric[0];
  BOOST_TEST(id.column == "id");
  BOOST_TEST(id.a->sum == 6.0);
  BOOST_TEST(id.b->sum == 7.0);
  BOOST_TEST(id.sum_delta == 1.0);
  const auto& x = d.numeric[1];
  BOOST_TEST(x.column == "x");
  BOOST_TEST(x.a->count == 2u);  // the null is skipped
  BOOST_TEST(x.a->sum == 4.0);
  BOOST_TEST(x.a->mean == 2.0);
  BOOST_TEST(x.a->min == 1.0);
  BOOST_TEST(x.a->max == 3.0);
  BOOST_TEST(x.b->count == 3u);
  BOOST_TEST(x.b->mean == 6.0);
  BOOST_TEST(x.comparable);
  BOOST_TEST(x.sum_delta == 14.0);
  BOOST_TEST(x.mean_delta == 4.0);
  BOOST_TEST(x.min_delta == 1.0);
  BOOST_TEST(x.max_delta == 7.0);
  const auto j = d.to_json();
  BOOST_TEST(j.at("numeric").as_array()[1].at("delta").at("sum").as_double() == 14.0);
}

BOOST_AUTO_TEST_CASE(the_changes_csv_holds_every_differing_row_with_its_side) {
  const bdp::Schema s = {{"id", ColumnType::int64}, {"v", ColumnType::string}};
  bdp::ProcessDiff diff;
  bdp::EntityDiff e;
  e.stage = "st";
  e.entity = "default";
  e.table = bdp::compare_tables(
      table(s, {{std::int64_t{1}, std::string("a")}, {std::int64_t{2}, std::string("b")}}),
      table(s, {{std::int64_t{1}, std::string("A")}, {std::int64_t{3}, std::string("c")}}), {"id"});
  diff.entities.push_back(e);
  std::string out;
  bdp::write_changes_csv(diff, out);
  const auto t = bdp::csv::parse(out);
  BOOST_TEST_REQUIRE(t->num_rows() == 4u);
  const auto& change = t->column("_change");
  BOOST_TEST(change.string_at(0) == "only_a");
  BOOST_TEST(t->column("id").int64_at(0) == 2);
  BOOST_TEST(change.string_at(1) == "only_b");
  BOOST_TEST(t->column("id").int64_at(1) == 3);
  BOOST_TEST(change.string_at(2) == "changed_a");
  BOOST_TEST(t->column("v").string_at(2) == "a");
  BOOST_TEST(change.string_at(3) == "changed_b");
  BOOST_TEST(t->column("v").string_at(3) == "A");
  BOOST_TEST(t->column("_changed_columns").string_at(3) == "v");
  BOOST_TEST(t->column("_stage").string_at(0) == "st");
}

// ------------------------------------------------ across backends (plugins)

namespace {

// A container over a CSV folder ("csv") and an SQLite file ("sqlite"), with
// processes stored in either.
struct TwoStores {
  TempDir dir;
  std::shared_ptr<bdp::Backend> csv = host().create_backend(
      "csv", "csv", {{"plugin", "csv"}, {"root", (dir / "csv").string()}}, dir.path());
  std::shared_ptr<bdp::Backend> db = host().create_backend(
      "soci", "sqlite",
      {{"plugin", "soci"}, {"connection", "sqlite3://db=" + (dir / "db.sqlite").string()}},
      dir.path());
  std::unique_ptr<bdp::DataContainer> container = open();

  std::unique_ptr<bdp::DataContainer> open() {
    bdp::StorageStrategy strategy;
    strategy.mode = bdp::StorageMode::persist;
    strategy.backend = "sqlite";
    auto memory = host().create_backend("memory", "memory", json::object{}, {});
    return std::make_unique<bdp::DataContainer>(
        strategy, memory,
        std::map<std::string, std::shared_ptr<bdp::Backend>, std::less<>>{{"csv", csv},
                                                                          {"sqlite", db}});
  }

  // Stores `stages` (name -> output) as process `id` in `backend`.
  void store(const std::string& id, const std::string& backend,
             const std::vector<std::pair<std::string, bdp::StageOutput>>& stages,
             json::object decisions = {}, json::object stage_decisions = {}) {
    bdp::ProcessInfo p;
    p.id = id;
    p.name = "cmp";
    p.status = bdp::ProcessStatus::completed;
    p.started_at = bdp::now_micros();  // newest last: "latest" is the last stored
    p.decisions = std::move(decisions);
    container->set_process(id);
    for (const auto& [name, output] : stages) {
      bdp::StagePlan plan;
      plan.persist = true;
      plan.backend = backend;
      plan.cleanup_policy = bdp::CleanupPolicy::keep_all;
      container->set_stage_plan(name, plan);
      container->store_stage_data(name, output, {{"decisions", stage_decisions}});
      bdp::StageInfo s;
      s.name = name;
      s.status = bdp::StageStatus::completed;
      s.decisions = stage_decisions;
      p.stages.push_back(s);
    }
    container->flush();
    // The process record goes where its data went (the container would
    // write it to every store, and an import must find its target new).
    (backend == "csv" ? csv : db)->save_process(p);
  }
};

bdp::StageOutput two_entities(const bdp::TablePtr& t, json::value result) {
  bdp::StageOutput out(t);
  out.set("summary", bdp::Payload(std::move(result)));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(processes_compare_across_backends_a_in_csv_and_b_in_sqlite) {
  TwoStores stores;
  const auto base = sample();
  const auto changed =
      table(kSchema, {{std::int64_t{1}, std::string("a"), 1.5, true, std::int64_t{1000}},
                      {std::int64_t{2}, std::string("b"), 99.0, false, std::int64_t{2000}},
                      {std::int64_t{3}, std::monostate{}, std::monostate{}, true, std::monostate{}},
                      {std::int64_t{4}, std::string("d"), -0.0, false, std::int64_t{4000}}});
  stores.store("run-a", "csv", {{"load", two_entities(base, json::value{{"n", 4}})}},
               {{"stages.load.params.x", 1}}, {{"params.x", 1}});
  stores.store("run-b", "sqlite", {{"load", two_entities(changed, json::value{{"n", 5}})}},
               {{"stages.load.params.x", 2}}, {{"params.x", 2}});
  stores.store("run-c", "sqlite", {{"load", two_entities(sample(), json::value{{"n", 4}})}},
               {{"stages.load.params.x", 1}}, {{"params.x", 1}});

  bdp::CompareOptions options;
  options.key = {"id"};
  const auto d = bdp::compare_processes(*stores.container, "run-a", "latest~1", options);
  BOOST_TEST(d.a.id == "run-a");
  BOOST_TEST(d.b.id == "run-b");
  BOOST_TEST(d.has_differences());
  BOOST_TEST_REQUIRE(d.decisions.size() == 2u);
  BOOST_TEST(d.decisions[0].stage.empty());
  BOOST_TEST(d.decisions[0].key == "stages.load.params.x");
  BOOST_TEST(d.decisions[0].a->as_int64() == 1);
  BOOST_TEST(d.decisions[0].b->as_int64() == 2);
  BOOST_TEST(d.decisions[1].stage == "load");
  BOOST_TEST(d.decisions[1].key == "params.x");
  BOOST_TEST_REQUIRE(d.entities.size() == 2u);
  const auto& table_entity = d.entities[0];
  BOOST_TEST(table_entity.entity == "default");
  BOOST_TEST(table_entity.record_a->backend == "csv");
  BOOST_TEST(table_entity.record_b->backend == "sqlite");
  BOOST_TEST_REQUIRE(table_entity.table.has_value());
  BOOST_TEST(table_entity.table->schema_changes.empty());  // types round-trip in both stores
  BOOST_TEST_REQUIRE(table_entity.table->changed.size() == 1u);
  BOOST_TEST(changed_columns(*table_entity.table, table_entity.table->changed[0]) ==
             std::vector<std::string>{"price"});
  BOOST_TEST(table_entity.table->unchanged_rows == 3u);
  const auto& json_entity = d.entities[1];
  BOOST_TEST(json_entity.entity == "summary");
  BOOST_TEST(!json_entity.table.has_value());
  BOOST_TEST(!json_entity.payload_equal);
  const auto j = d.to_json();
  BOOST_TEST(j.at("differences").as_bool());
  BOOST_TEST(j.at("entities").as_array()[0].at("a").at("backend").as_string() == "csv");

  // The same data in CSV and in SQLite: no differences, keyed or not.
  for (const std::vector<std::string>& key :
       {std::vector<std::string>{}, std::vector<std::string>{"id"}}) {
    bdp::CompareOptions same;
    same.key = key;
    const auto none = bdp::compare_processes(*stores.container, "run-a", "latest", same);
    BOOST_TEST(!none.has_differences(), bdp::to_pretty_json(none.to_json()));
  }
}

BOOST_AUTO_TEST_CASE(process_comparison_errors_name_the_selector_stage_or_key) {
  TwoStores stores;
  stores.store("run-a", "csv", {{"load", bdp::StageOutput(sample())}});
  stores.store("run-b", "sqlite", {{"load", bdp::StageOutput(sample())}});
  expect_error([&] { bdp::compare_processes(*stores.container, "run-x", "run-b"); },
               ErrorCode::not_found, {"'run-x'", "closest", "run-a"});
  bdp::CompareOptions stage;
  stage.stage = "lod";
  expect_error([&] { bdp::compare_processes(*stores.container, "run-a", "run-b", stage); },
               ErrorCode::not_found, {"stage 'lod'", "closest: load"});
  bdp::CompareOptions key;
  key.key = {"idd"};
  expect_error([&] { bdp::compare_processes(*stores.container, "run-a", "run-b", key); },
               ErrorCode::not_found, {"key column 'idd'", "load/default has id, name"});
}

BOOST_AUTO_TEST_CASE(a_stage_stored_by_one_process_only_is_reported_as_such) {
  TwoStores stores;
  stores.store("run-a", "csv", {{"load", bdp::StageOutput(sample())}});
  stores.store("run-b", "sqlite",
               {{"load", bdp::StageOutput(sample())}, {"more", bdp::StageOutput(sample())}});
  const auto d = bdp::compare_processes(*stores.container, "run-a", "run-b");
  BOOST_TEST_REQUIRE(d.entities.size() == 2u);
  BOOST_TEST(!d.entities[0].has_differences());
  BOOST_TEST(d.entities[1].stage == "more");
  BOOST_TEST(!d.entities[1].record_a.has_value());
  BOOST_TEST(d.has_differences());
}

// ------------------------------------------------------- export and import

BOOST_AUTO_TEST_CASE(export_then_import_into_another_store_compares_equal_in_both_formats) {
  for (const auto format : {bdp::ExportFormat::csv, bdp::ExportFormat::jsonl}) {
    TwoStores stores;
    // Awkward cells: quotes, commas, newlines, NaN, infinities, nulls.
    const auto awkward =
        table(kSchema,
              {{std::int64_t{1}, std::string("a,\"b\"\nc"), std::nan(""), true, std::int64_t{-5}},
               {std::int64_t{2}, std::string(""), HUGE_VAL, std::monostate{}, std::int64_t{0}},
               {std::int64_t{3}, std::monostate{}, 0.1 + 0.2, false, std::monostate{}},
               {std::monostate{}, std::string("ü"), -HUGE_VAL, true, std::int64_t{1}}});
    stores.store("run-a", "csv", {{"load", two_entities(awkward, json::value{{"n", 4}})}},
                 {{"stages.load.params.x", 1}}, {{"params.x", 1}});
    const fs::path out = stores.dir / "export";
    const auto report = bdp::export_selection(*stores.container, "run-a", format, out);
    BOOST_TEST(report.files.size() == 2u);
    BOOST_TEST(fs::is_regular_file(out / "manifest.json"));
    const std::string ext = format == bdp::ExportFormat::csv ? ".csv" : ".jsonl";
    BOOST_TEST(fs::is_regular_file(out / "load" / ("default" + ext)));
    BOOST_TEST(fs::is_regular_file(out / "load" / "summary.json"));

    // Into the SQLite store, which does not have run-a yet; a second import
    // of the same id is refused, one under --as is not.
    const auto imported = bdp::import_archive(out, *stores.db, "sqlite");
    BOOST_TEST(imported.process_id == "run-a");
    BOOST_TEST(imported.records.size() == 2u);
    expect_error([&] { bdp::import_archive(out, *stores.db, "sqlite"); },
                 ErrorCode::invalid_argument, {"'run-a'", "already stored", "--as"});
    bdp::ImportOptions as;
    as.as_process = "run-copy";
    const auto copy = bdp::import_archive(out, *stores.db, "sqlite", as);
    BOOST_TEST(copy.process_id == "run-copy");
    const auto copied = stores.db->list_processes();
    const auto it = std::find_if(copied.begin(), copied.end(),
                                 [](const bdp::ProcessInfo& p) { return p.id == "run-copy"; });
    BOOST_TEST_REQUIRE((it != copied.end()));
    BOOST_TEST(it->decisions.at("stages.load.params.x").as_int64() == 1);
    BOOST_TEST_REQUIRE(it->stages.size() == 1u);
    BOOST_TEST(it->stages[0].record_ids.size() == 2u);

    bdp::CompareOptions key;
    key.key = {"id"};
    const auto d = bdp::compare_processes(*stores.container, "run-a", "run-copy", key);
    BOOST_TEST(!d.has_differences(), bdp::to_pretty_json(d.to_json()));
    BOOST_TEST_REQUIRE(d.entities.size() == 2u);
    BOOST_TEST(d.entities[0].record_b->backend == "sqlite");
    BOOST_TEST(d.entities[0].record_b->metadata.at("imported_from").at("process").as_string() ==
               "run-a");
  }
}

BOOST_AUTO_TEST_CASE(import_verifies_checksums_and_names_the_damaged_file) {
  TwoStores stores;
  stores.store("run-a", "csv", {{"load", bdp::StageOutput(sample())}});
  const fs::path out = stores.dir / "export";
  bdp::export_selection(*stores.container, "run-a/load", bdp::ExportFormat::csv, out);
  const fs::path data = out / "load" / "default.csv";
  std::string text = bdp::test::read_file(data);
  text[text.size() - 2] = text[text.size() - 2] == '0' ? '1' : '0';
  bdp::test::write_file(data, text);
  expect_error([&] { bdp::import_archive(out, *stores.db, "sqlite"); }, ErrorCode::corrupt,
               {data.string(), "checksum mismatch"});
  BOOST_TEST(stores.db->list_processes().empty());  // nothing stored
  BOOST_TEST(stores.db->list({}).empty());
}

BOOST_AUTO_TEST_CASE(import_refuses_unsafe_names_in_the_manifest) {
  TwoStores stores;
  stores.store("run-a", "csv", {{"load", bdp::StageOutput(sample())}});
  const fs::path out = stores.dir / "export";
  bdp::export_selection(*stores.container, "run-a", bdp::ExportFormat::csv, out);
  std::string manifest = bdp::test::read_file(out / "manifest.json");
  const auto pos = manifest.find("\"stage\": \"load\"");
  BOOST_TEST_REQUIRE(pos != std::string::npos);
  manifest.replace(pos, 15, "\"stage\": \"../load\"");
  bdp::test::write_file(out / "manifest.json", manifest);
  expect_error([&] { bdp::import_archive(out, *stores.db, "sqlite"); }, ErrorCode::corrupt,
               {"manifest.json", "records[0]", "stage name"});
}

BOOST_AUTO_TEST_CASE(export_selectors_pick_a_stage_entity_or_version_and_name_close_matches) {
  TwoStores stores;
  stores.store("run-a", "csv", {{"load", two_entities(sample(), json::value{{"n", 1}})}});
  const auto one = bdp::export_selection(*stores.container, "run-a/load/summary",
                                         bdp::ExportFormat::jsonl, stores.dir / "one");
  BOOST_TEST_REQUIRE(one.files.size() == 1u);
  BOOST_TEST(one.files[0].file == "load/summary.json");
  BOOST_TEST(one.files[0].checksum == bdp::checksum_text(bdp::test::read_file(
                                          stores.dir / "one" / "load" / "summary.json")));
  expect_error(
      [&] {
        bdp::export_selection(*stores.container, "run-a/lod", bdp::ExportFormat::csv,
                              stores.dir / "x");
      },
      ErrorCode::not_found, {"'run-a/lod'", "closest: load"});
  expect_error(
      [&] {
        bdp::export_selection(*stores.container, "run-a/load/default@v7", bdp::ExportFormat::csv,
                              stores.dir / "x");
      },
      ErrorCode::not_found, {"no version v7", "v1"});
  expect_error(
      [&] {
        bdp::export_selection(*stores.container, "run-a", bdp::ExportFormat::csv,
                              stores.dir / "one");
      },
      ErrorCode::invalid_argument, {"not empty"});
}

BOOST_AUTO_TEST_SUITE_END()
