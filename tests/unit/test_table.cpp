// Table, ColumnBuilder, TableBuilder, Payload, StageOutput and Error.
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/plugin_abi.hpp>
#include <bdp/sdk/table.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace {

using bdp::ColumnBuilder;
using bdp::ColumnType;
using bdp::ErrorCode;
using bdp::TableBuilder;

using bdp::test::error_of;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bdp::TablePtr sample_table() {
  TableBuilder b({{"id", ColumnType::int64},
                  {"price", ColumnType::float64},
                  {"name", ColumnType::string},
                  {"ok", ColumnType::boolean},
                  {"ts", ColumnType::timestamp}});
  b.append_row({std::int64_t{1}, 2.5, std::string("a"), true, std::int64_t{1000}});
  b.append_row(
      {std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}});
  b.append_row({std::int64_t{-3}, -0.0, std::string(""), false, std::int64_t{-1}});
  return b.finish();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(table)

BOOST_AUTO_TEST_CASE(column_type_names_round_trip) {
  for (auto t : {ColumnType::int64, ColumnType::float64, ColumnType::string, ColumnType::boolean,
                 ColumnType::timestamp}) {
    auto parsed = bdp::parse_column_type(bdp::to_string(t));
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(t));
  }
  BOOST_TEST(bdp::to_string(ColumnType::boolean) == "bool");
  BOOST_TEST(!bdp::parse_column_type("boolean").has_value());
  BOOST_TEST(!bdp::parse_column_type("INT64").has_value());
  BOOST_TEST(!bdp::parse_column_type("").has_value());
}

BOOST_AUTO_TEST_CASE(builder_appends_every_type_and_reads_back) {
  auto t = sample_table();
  BOOST_TEST(t->num_rows() == 3u);
  BOOST_TEST(t->num_columns() == 5u);
  const auto& id = t->column("id");
  BOOST_TEST(id.int64_at(0) == 1);
  BOOST_TEST(id.int64_at(2) == -3);
  BOOST_TEST(t->column("price").float64_at(0) == 2.5);
  BOOST_TEST(std::signbit(t->column("price").float64_at(2)));
  BOOST_TEST(t->column("name").string_at(0) == "a");
  BOOST_TEST(t->column("name").string_at(2) == "");
  BOOST_TEST(!t->column("name").is_null(2));
  BOOST_TEST(t->column("ok").bool_at(0));
  BOOST_TEST(!t->column("ok").bool_at(2));
  BOOST_TEST(t->column("ts").int64_at(1) == 0);
  BOOST_TEST(t->column("ts").int64_at(2) == -1);
  BOOST_TEST(id.int64_values().size() == 3u);
  BOOST_TEST(t->column("price").float64_values().size() == 3u);
  BOOST_TEST(t->column("name").int64_values().empty());
}

BOOST_AUTO_TEST_CASE(nulls_are_tracked_per_cell_and_read_as_zero) {
  auto t = sample_table();
  for (const auto& c : t->columns()) {
    BOOST_TEST(c.null_count() == 1u, c.name());
    BOOST_TEST(!c.is_null(0));
    BOOST_TEST(c.is_null(1));
    BOOST_TEST(!c.is_null(2));
    BOOST_TEST(c.value_at(1).index() == 0u);
  }
  BOOST_TEST(t->column("id").int64_at(1) == 0);
  BOOST_TEST(t->column("price").float64_at(1) == 0.0);
  BOOST_TEST(t->column("name").string_at(1) == "");
  BOOST_TEST(!t->column("ok").bool_at(1));
}

BOOST_AUTO_TEST_CASE(null_after_many_values_keeps_earlier_cells_valid) {
  ColumnBuilder b("x", ColumnType::string);
  for (int i = 0; i < 100; ++i) b.append_string(std::to_string(i));
  b.append_null();
  b.append_string("last");
  auto c = b.finish();
  BOOST_TEST(c.size() == 102u);
  BOOST_TEST(c.null_count() == 1u);
  for (std::size_t i = 0; i < 100; ++i) BOOST_TEST(!c.is_null(i));
  BOOST_TEST(c.is_null(100));
  BOOST_TEST(c.string_at(99) == "99");
  BOOST_TEST(c.string_at(101) == "last");
}

BOOST_AUTO_TEST_CASE(value_at_returns_typed_values_and_checks_bounds) {
  auto t = sample_table();
  BOOST_TEST(std::get<std::int64_t>(t->column("id").value_at(0)) == 1);
  BOOST_TEST(std::get<double>(t->column("price").value_at(0)) == 2.5);
  BOOST_TEST(std::get<std::string>(t->column("name").value_at(0)) == "a");
  BOOST_TEST(std::get<bool>(t->column("ok").value_at(0)) == true);
  BOOST_TEST(std::get<std::int64_t>(t->column("ts").value_at(0)) == 1000);
  auto msg = error_of([&] { (void)t->column("id").value_at(3); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'id'"));
  BOOST_TEST(contains(msg, "row 3"));
}

BOOST_AUTO_TEST_CASE(wrong_type_appends_throw_naming_the_column) {
  ColumnBuilder ints("qty", ColumnType::int64);
  auto msg = error_of([&] { ints.append_string("x"); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'qty'"));
  BOOST_TEST(contains(msg, "int64"));
  BOOST_TEST(contains(msg, "string"));
  error_of([&] { ints.append_float64(1.0); }, ErrorCode::invalid_argument);
  error_of([&] { ints.append_bool(true); }, ErrorCode::invalid_argument);
  error_of([&] { ints.append_timestamp(1); }, ErrorCode::invalid_argument);
  error_of([&] { ints.append(bdp::Value{2.0}); }, ErrorCode::invalid_argument);
  BOOST_TEST(ints.size() == 0u);

  ColumnBuilder ts("when", ColumnType::timestamp);
  error_of([&] { ts.append_int64(1); }, ErrorCode::invalid_argument);
  ts.append(bdp::Value{std::int64_t{5}});  // an int64 Value is accepted by timestamp columns
  BOOST_TEST(ts.size() == 1u);

  ColumnBuilder strings("s", ColumnType::string);
  error_of([&] { strings.append(bdp::Value{true}); }, ErrorCode::invalid_argument);
  BOOST_TEST(strings.size() == 0u);
}

BOOST_AUTO_TEST_CASE(append_from_copies_cells_of_the_same_type_only) {
  auto t = sample_table();
  ColumnBuilder b("copy", ColumnType::string);
  for (std::size_t r = 0; r < 3; ++r) b.append_from(t->column("name"), r);
  auto c = b.finish();
  BOOST_TEST(c.string_at(0) == "a");
  BOOST_TEST(c.is_null(1));
  BOOST_TEST(!c.is_null(2));
  ColumnBuilder wrong("w", ColumnType::int64);
  auto msg = error_of([&] { wrong.append_from(t->column("ts"), 0); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'w'"));
}

BOOST_AUTO_TEST_CASE(append_column_appends_every_cell_with_nulls_of_the_same_type_only) {
  auto t = sample_table();  // row 1 is all nulls
  for (const auto& source : t->columns()) {
    // Onto a builder without nulls, one with nulls, and an empty one.
    ColumnBuilder b("c", source.type());
    b.append_from(source, 0);
    b.append_column(source);
    b.append_from(source, 1);
    b.append_column(source);
    ColumnBuilder expected("c", source.type());
    for (std::size_t r : {0, 0, 1, 2, 1, 0, 1, 2}) expected.append_from(source, r);
    BOOST_TEST(b.finish().equals(expected.finish()), source.name());
    ColumnBuilder empty("c", source.type());
    empty.append_column(source);
    auto copy = empty.finish();
    BOOST_TEST(copy.null_count() == 1u);
    for (std::size_t r = 0; r < source.size(); ++r) {
      BOOST_TEST((copy.value_at(r) == source.value_at(r)), source.name() << " row " << r);
    }
  }
  ColumnBuilder wrong("w", ColumnType::int64);
  auto msg = error_of([&] { wrong.append_column(t->column("ts")); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'w'"));
}

BOOST_AUTO_TEST_CASE(finish_hands_over_the_column_and_empties_the_builder) {
  ColumnBuilder b("s", ColumnType::string);
  b.reserve(10, 100);
  b.append_string("one");
  auto first = b.finish();
  BOOST_TEST(first.size() == 1u);
  BOOST_TEST(b.size() == 0u);
  BOOST_TEST(b.name() == "s");
  b.append_string("two");
  auto second = b.finish();
  BOOST_TEST(second.size() == 1u);
  BOOST_TEST(second.string_at(0) == "two");
}

BOOST_AUTO_TEST_CASE(table_rejects_columns_of_unequal_length) {
  ColumnBuilder a("a", ColumnType::int64);
  a.append_int64(1);
  a.append_int64(2);
  ColumnBuilder b("b", ColumnType::int64);
  b.append_int64(1);
  std::vector<bdp::Column> cols;
  cols.push_back(a.finish());
  cols.push_back(b.finish());
  auto msg = error_of([&] { bdp::Table t(std::move(cols)); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'a'"));
  BOOST_TEST(contains(msg, "'b'"));

  TableBuilder tb({{"x", ColumnType::int64}, {"y", ColumnType::int64}});
  tb.column(0).append_int64(1);
  error_of([&] { (void)tb.finish(); }, ErrorCode::invalid_argument);
}

BOOST_AUTO_TEST_CASE(table_rejects_duplicate_column_names) {
  std::vector<bdp::Column> cols;
  cols.push_back(ColumnBuilder("dup", ColumnType::int64).finish());
  cols.push_back(ColumnBuilder("dup", ColumnType::string).finish());
  auto msg = error_of([&] { bdp::Table t(std::move(cols)); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'dup'"));
  error_of(
      [] {
        TableBuilder b({{"k", ColumnType::int64}, {"k", ColumnType::int64}});
      },
      ErrorCode::invalid_argument);
}

BOOST_AUTO_TEST_CASE(append_row_checks_arity_and_types_before_changing_anything) {
  TableBuilder b({{"id", ColumnType::int64}, {"name", ColumnType::string}});
  error_of([&] { b.append_row({std::int64_t{1}}); }, ErrorCode::invalid_argument);
  auto msg = error_of([&] { b.append_row({std::int64_t{1}, 2.0}); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'name'"));
  BOOST_TEST(b.column(0).size() == 0u);  // the good first cell was not appended
  b.append_row({std::int64_t{1}, std::string("x")});
  auto t = b.finish();
  BOOST_TEST(t->num_rows() == 1u);
}

BOOST_AUTO_TEST_CASE(column_lookup_by_name_lists_existing_columns_when_missing) {
  auto t = sample_table();
  BOOST_TEST(t->find("price") == &t->column(1));
  BOOST_TEST(t->find("nope") == nullptr);
  auto msg = error_of([&] { (void)t->column("nope"); }, ErrorCode::not_found);
  BOOST_TEST(contains(msg, "'nope'"));
  BOOST_TEST(contains(msg, "'id'"));
  BOOST_TEST(contains(msg, "'ts'"));
}

BOOST_AUTO_TEST_CASE(schema_lists_names_and_types_in_order) {
  auto s = sample_table()->schema();
  BOOST_REQUIRE(s.size() == 5u);
  BOOST_TEST(s[0].name == "id");
  BOOST_TEST((s[3] == bdp::Field{"ok", ColumnType::boolean}));
  BOOST_TEST(bdp::Table().num_rows() == 0u);
  BOOST_TEST(bdp::Table().schema().empty());
}

BOOST_AUTO_TEST_CASE(equals_compares_cells_with_nan_equal_and_signed_zero_distinct) {
  auto make = [](double v) {
    ColumnBuilder b("f", ColumnType::float64);
    b.append_float64(v);
    b.append_null();
    std::vector<bdp::Column> cols;
    cols.push_back(b.finish());
    return bdp::Table(std::move(cols));
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(make(nan).equals(make(-nan)));
  BOOST_TEST(make(1.5).equals(make(1.5)));
  BOOST_TEST(!make(0.0).equals(make(-0.0)));
  BOOST_TEST(!make(nan).equals(make(1.0)));
  BOOST_TEST(sample_table()->equals(*sample_table()));
  BOOST_TEST(!sample_table()->equals(bdp::Table()));
}

BOOST_AUTO_TEST_CASE(byte_size_counts_column_buffers) {
  auto t = sample_table();
  std::size_t sum = 0;
  for (const auto& c : t->columns()) sum += c.byte_size();
  BOOST_TEST(t->byte_size() == sum);
  BOOST_TEST(t->column("id").byte_size() >= 3 * sizeof(std::int64_t));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(payload)

BOOST_AUTO_TEST_CASE(payload_holds_a_table_or_json_and_refuses_null) {
  auto t = sample_table();
  bdp::Payload p(t);
  BOOST_TEST(p.is_table());
  BOOST_TEST(p.table().get() == t.get());
  BOOST_TEST(p.data_identity() == static_cast<const void*>(t.get()));
  BOOST_TEST(p.byte_size() == t->byte_size());
  error_of([&] { (void)p.json(); }, ErrorCode::invalid_argument);

  boost::json::value v = {{"a", 1}, {"b", "text"}};
  bdp::Payload j(v);
  BOOST_TEST(j.is_json());
  BOOST_TEST(j.json() == v);
  BOOST_TEST(j.byte_size() == boost::json::serialize(v).size());
  error_of([&] { (void)j.table(); }, ErrorCode::invalid_argument);
  bdp::Payload copy = j;
  BOOST_TEST(copy.data_identity() == j.data_identity());

  error_of([] { bdp::Payload n{bdp::TablePtr()}; }, ErrorCode::invalid_argument);
  error_of([] { bdp::Payload n{bdp::JsonPtr()}; }, ErrorCode::invalid_argument);
  BOOST_TEST(bdp::to_string(bdp::PayloadKind::table) == "table");
  BOOST_TEST(bdp::to_string(bdp::PayloadKind::json) == "json");
}

BOOST_AUTO_TEST_CASE(stage_output_names_entities_and_lists_them_when_missing) {
  auto t = sample_table();
  bdp::StageOutput out(t);
  BOOST_TEST(out.size() == 1u);
  BOOST_TEST(out.table().get() == t.get());
  out.set("summary", bdp::Payload(boost::json::value{{"n", 3}}));
  out.set("default", bdp::Payload(t));  // replaces, keeps the order
  BOOST_TEST(out.size() == 2u);
  BOOST_TEST(out.begin()->first == "default");
  BOOST_TEST(out.find("summary") != nullptr);
  BOOST_TEST(out.find("other") == nullptr);
  auto msg = error_of([&] { (void)out.at("other"); }, ErrorCode::not_found);
  BOOST_TEST(contains(msg, "'other'"));
  BOOST_TEST(contains(msg, "'summary'"));
  error_of([&] { (void)out.table("summary"); }, ErrorCode::invalid_argument);
  error_of([&] { out.set("../x", bdp::Payload(t)); }, ErrorCode::invalid_argument);
  BOOST_TEST(out.byte_size() == out.at("default").byte_size() + out.at("summary").byte_size());
  BOOST_TEST(bdp::StageOutput().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(error_carries_code_and_message) {
  bdp::Error e(ErrorCode::not_found, "stage 'x' not found");
  BOOST_TEST(static_cast<int>(e.code()) == 3);
  BOOST_TEST(std::string(e.what()) == "stage 'x' not found");
  BOOST_TEST(bdp::to_string(ErrorCode::ok) == "ok");
  BOOST_TEST(bdp::to_string(ErrorCode::not_found) == "not_found");
  BOOST_TEST(bdp::to_string(ErrorCode::budget_exceeded) == "budget_exceeded");
  BOOST_TEST(bdp::to_string(ErrorCode::internal) == "internal");
  BOOST_TEST(bdp::to_string(static_cast<ErrorCode>(99)) == "unknown");
  BOOST_TEST(bdp::to_string(bdp::PluginKind::backend) == "backend");
  BOOST_TEST(bdp::to_string(bdp::PluginKind::processor) == "processor");
  BOOST_TEST(bdp::to_string(static_cast<bdp::PluginKind>(7)) == "unknown");
}

BOOST_AUTO_TEST_SUITE_END()
