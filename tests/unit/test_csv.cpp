// The CSV codec: round trips, type inference, and malformed input.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using bdp::ColumnType;
using bdp::ErrorCode;
using bdp::TableBuilder;
namespace csv = bdp::csv;

using bdp::test::error_of;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

csv::ReadOptions with_schema(const bdp::Schema& schema) {
  csv::ReadOptions o;
  for (const auto& f : schema) o.schema.emplace(f.name, f.type);
  return o;
}

std::string to_csv(const bdp::Table& t) {
  std::string out;
  csv::write(t, out);
  return out;
}

// Writes `t`, reads it back with its schema, and requires equality.
bdp::TablePtr round_trip(const bdp::TablePtr& t) {
  auto text = to_csv(*t);
  auto back = csv::parse(text, with_schema(t->schema()));
  BOOST_TEST(back->equals(*t), "round trip changed the table:\n" << text);
  return back;
}

bdp::TablePtr one_column(ColumnType type, const std::vector<bdp::Value>& cells,
                         const std::string& name = "c") {
  TableBuilder b({{name, type}});
  for (const auto& v : cells) b.append_row({v});
  return b.finish();
}

std::string exact(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return std::to_string(bits);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(csv_codec)

BOOST_AUTO_TEST_CASE(csv_round_trips_every_type_and_null) {
  TableBuilder b({{"i", ColumnType::int64},
                  {"f", ColumnType::float64},
                  {"s", ColumnType::string},
                  {"b", ColumnType::boolean},
                  {"t", ColumnType::timestamp}});
  b.append_row(
      {std::int64_t{42}, 0.1, std::string("hello"), true, std::int64_t{1'700'000'000'000'000}});
  b.append_row(
      {std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}});
  b.append_row({std::int64_t{-7}, -2.5, std::string(""), false, std::int64_t{-1}});
  auto t = b.finish();
  auto text = to_csv(*t);
  BOOST_TEST(text ==
             "i,f,s,b,t\n"
             "42,0.1,hello,true,2023-11-14T22:13:20Z\n"
             ",,,,\n"
             "-7,-2.5,\"\",false,1969-12-31T23:59:59.999999Z\n");
  round_trip(t);
}

BOOST_AUTO_TEST_CASE(strings_with_separators_quotes_newlines_and_utf8_round_trip) {
  std::vector<bdp::Value> cells = {std::string("a,b"),
                                   std::string("say \"hi\""),
                                   std::string("line1\nline2"),
                                   std::string("crlf\r\nx"),
                                   std::string("\r"),
                                   std::string("\""),
                                   std::string(","),
                                   std::string(" padded "),
                                   std::string("caf\xc3\xa9 \xe2\x82\xac"),
                                   std::string("\xf0\x9f\x98\x80"),
                                   std::string(""),
                                   std::monostate{},
                                   std::string("tab\there"),
                                   std::string("'single'"),
                                   std::string("nul\0x", 5),
                                   std::string("\"\"")};
  auto t = one_column(ColumnType::string, cells, "text, with comma");
  auto back = round_trip(t);
  BOOST_TEST(back->column(0).name() == "text, with comma");
  BOOST_TEST(back->column(0).is_null(11));
  BOOST_TEST(!back->column(0).is_null(10));
}

BOOST_AUTO_TEST_CASE(empty_cell_is_null_and_quoted_empty_cell_is_empty_string) {
  auto t = csv::parse("a,b\n,\"\"\n\"\",\n");
  BOOST_TEST(t->column("a").is_null(0));
  BOOST_TEST(!t->column("b").is_null(0));
  BOOST_TEST(t->column("b").string_at(0) == "");
  BOOST_TEST(!t->column("a").is_null(1));
  BOOST_TEST(t->column("b").is_null(1));
}

BOOST_AUTO_TEST_CASE(floats_round_trip_bit_for_bit_in_shortest_form) {
  const double denormal = std::numeric_limits<double>::denorm_min();
  std::vector<double> values = {0.1,
                                1e300,
                                -0.0,
                                0.0,
                                denormal,
                                -denormal,
                                2.2250738585072009e-308,
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::max(),
                                -std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::epsilon(),
                                1.0 / 3.0,
                                123456789012345680.0,
                                9007199254740993.0,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  std::vector<bdp::Value> cells(values.begin(), values.end());
  cells.emplace_back(std::numeric_limits<double>::quiet_NaN());
  auto t = one_column(ColumnType::float64, cells);
  auto back = round_trip(t);
  for (std::size_t i = 0; i < values.size(); ++i) {
    BOOST_TEST(exact(back->column(0).float64_at(i)) == exact(values[i]), "row " << i);
  }
  BOOST_TEST(std::isnan(back->column(0).float64_at(values.size())));

  auto text = to_csv(*t);
  BOOST_TEST(contains(text, "\n0.1\n"));
  BOOST_TEST(contains(text, "\n1e+300\n"));
  BOOST_TEST(contains(text, "\n-0\n"));
  BOOST_TEST(contains(text, "\n5e-324\n"));
  BOOST_TEST(contains(text, "\ninf\n-inf\nnan\n"));
}

BOOST_AUTO_TEST_CASE(random_floats_round_trip_exactly) {
  std::mt19937_64 rng(7);
  TableBuilder b({{"f", ColumnType::float64}});
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    b.column(0).append_float64(v);
  }
  round_trip(b.finish());
}

BOOST_AUTO_TEST_CASE(int64_extremes_round_trip) {
  auto t = one_column(ColumnType::int64, {std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max(), std::int64_t{0},
                                          std::int64_t{-1}});
  auto back = round_trip(t);
  auto inferred = csv::parse(to_csv(*t));
  BOOST_TEST(inferred->equals(*t));
}

BOOST_AUTO_TEST_CASE(integer_cells_read_like_from_chars_at_the_edges) {
  csv::ReadOptions o;
  o.schema.emplace("v", ColumnType::int64);
  auto t = csv::parse(
      "v\n9223372036854775807\n-9223372036854775808\n0000000000000000000000042\n-007\n0\n", o);
  BOOST_TEST(t->column(0).int64_at(0) == std::numeric_limits<std::int64_t>::max());
  BOOST_TEST(t->column(0).int64_at(1) == std::numeric_limits<std::int64_t>::min());
  BOOST_TEST(t->column(0).int64_at(2) == 42);
  BOOST_TEST(t->column(0).int64_at(3) == -7);
  for (const char* bad : {"9223372036854775808", "-9223372036854775809", "+1", "1-", "-", "1 ",
                          "0x10", "18446744073709551616", "99999999999999999999"}) {
    error_of([&] { (void)csv::parse(std::string("v\n") + bad + "\n", o); },
             ErrorCode::invalid_argument);
  }
  // Past the int64 range, inference moves on to float64.
  auto inferred = csv::parse("v\n1\n9223372036854775808\n");
  BOOST_TEST(bdp::to_string(inferred->column(0).type()) == "float64");
  BOOST_TEST(inferred->column(0).float64_at(1) == 9223372036854775808.0);
}

BOOST_AUTO_TEST_CASE(float_cells_read_exactly_like_from_chars) {
  std::mt19937_64 rng(11);
  std::vector<std::string> texts = {"1.",
                                    ".5",
                                    "1e5",
                                    "1E-5",
                                    "-0.0",
                                    "1e22",
                                    "1e23",
                                    "9007199254740993",
                                    "9007199254740992.5",
                                    "0.30000000000000004",
                                    "1e-400",
                                    "1e400",
                                    "123456789012345678901234567890",
                                    "4.9e-324",
                                    "1.7976931348623157e308",
                                    "nan",
                                    "-inf",
                                    "infinity",
                                    "1e",
                                    "1e+",
                                    "--1",
                                    "1.2.3",
                                    "e5"};
  for (int i = 0; i < 20000; ++i) {
    std::string t = (rng() & 1) ? "-" : "";
    t += std::to_string(rng() % 10'000'000'000ULL);
    if (rng() % 3 != 0) t += "." + std::to_string(rng() % 1'000'000'000ULL);
    if (rng() % 4 == 0) t += "e" + std::to_string(static_cast<int>(rng() % 60) - 30);
    texts.push_back(t);
  }
  for (const auto& text : texts) {
    double expected = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), expected);
    const bool valid = ec == std::errc() && ptr == text.data() + text.size();
    csv::ReadOptions o;
    o.schema.emplace("v", ColumnType::float64);
    if (!valid) {
      BOOST_CHECK_THROW((void)csv::parse("v\n" + text + "\n", o), bdp::Error);
      continue;
    }
    auto t = csv::parse("v\n" + text + "\n", o);
    double got = t->column(0).float64_at(0);
    if (std::isnan(expected)) {
      BOOST_TEST(std::isnan(got), text);
    } else {
      BOOST_REQUIRE_MESSAGE(exact(got) == exact(expected), text);
    }
  }
}

BOOST_AUTO_TEST_CASE(timestamps_round_trip_with_and_without_micros_and_before_1970) {
  auto t = one_column(
      ColumnType::timestamp,
      {std::int64_t{0}, std::int64_t{1'700'000'000'000'000}, std::int64_t{1'700'000'000'000'001},
       std::int64_t{-1}, std::int64_t{-14'182'940'000'000}, std::monostate{},
       std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()},
      "when");
  round_trip(t);
  auto inferred = csv::parse(to_csv(*t));
  BOOST_TEST(inferred->equals(*t));
  BOOST_TEST(bdp::to_string(inferred->column(0).type()) == "timestamp");
}

BOOST_AUTO_TEST_CASE(booleans_write_true_false_and_read_any_case) {
  auto t = one_column(ColumnType::boolean, {true, false, std::monostate{}});
  BOOST_TEST(to_csv(*t) == "c\ntrue\nfalse\n\n");
  round_trip(t);
  auto r = csv::parse("b\nTRUE\nFalse\n");
  BOOST_TEST(bdp::to_string(r->column(0).type()) == "bool");
  BOOST_TEST(r->column(0).bool_at(0));
  BOOST_TEST(!r->column(0).bool_at(1));
}

BOOST_AUTO_TEST_CASE(single_column_table_keeps_null_rows_as_empty_lines) {
  auto t = one_column(ColumnType::string, {std::monostate{}, std::string(""), std::monostate{}});
  BOOST_TEST(to_csv(*t) == "c\n\n\"\"\n\n");
  auto back = round_trip(t);
  BOOST_TEST(back->num_rows() == 3u);
}

BOOST_AUTO_TEST_CASE(inference_picks_int_float_bool_timestamp_then_string) {
  auto t = csv::parse(
      "i,f,b,t,s,n,widen\n"
      "1,1.5,true,2024-01-01T00:00:00Z,x,,1\n"
      "-2,nan,false,2024-01-01T10:00:00Z,1,,2.5\n"
      ",,,,,,\n"
      "3,-inf,true,1969-12-31T23:59:59.5Z,true,,3\n");
  BOOST_TEST(bdp::to_string(t->column("i").type()) == "int64");
  BOOST_TEST(bdp::to_string(t->column("f").type()) == "float64");
  BOOST_TEST(bdp::to_string(t->column("b").type()) == "bool");
  BOOST_TEST(bdp::to_string(t->column("t").type()) == "timestamp");
  BOOST_TEST(bdp::to_string(t->column("s").type()) == "string");
  BOOST_TEST(bdp::to_string(t->column("n").type()) == "string");  // all null
  BOOST_TEST(bdp::to_string(t->column("widen").type()) == "float64");
  BOOST_TEST(t->column("n").null_count() == 4u);
  BOOST_TEST(t->column("widen").float64_at(0) == 1.0);
  BOOST_TEST(t->column("widen").float64_at(1) == 2.5);
  BOOST_TEST(t->column("widen").is_null(2));
  BOOST_TEST(t->column("s").string_at(1) == "1");
  BOOST_TEST(t->column("t").int64_at(3) == -500'000);
}

BOOST_AUTO_TEST_CASE(inferred_string_column_keeps_the_original_text_of_numeric_cells) {
  auto t = csv::parse("zip,n\n007,1\n0042,2\n,3\nA17,4\n1e3,5\n");
  const auto& zip = t->column("zip");
  BOOST_TEST(bdp::to_string(zip.type()) == "string");
  BOOST_TEST(zip.string_at(0) == "007");
  BOOST_TEST(zip.string_at(1) == "0042");
  BOOST_TEST(zip.is_null(2));
  BOOST_TEST(zip.string_at(3) == "A17");
  BOOST_TEST(zip.string_at(4) == "1e3");
  BOOST_TEST(bdp::to_string(t->column("n").type()) == "int64");
  BOOST_TEST(t->column("n").int64_at(4) == 5);
}

BOOST_AUTO_TEST_CASE(inference_treats_negative_zero_as_float_and_mixed_kinds_as_string) {
  auto t = csv::parse("z,m,q\n-0,1,\"5\"\n2,true,\"a\"\"b\"\n");
  BOOST_TEST(bdp::to_string(t->column("z").type()) == "float64");
  BOOST_TEST(std::signbit(t->column("z").float64_at(0)));
  BOOST_TEST(bdp::to_string(t->column("m").type()) == "string");
  BOOST_TEST(t->column("m").string_at(1) == "true");
  BOOST_TEST(bdp::to_string(t->column("q").type()) == "string");
  BOOST_TEST(t->column("q").string_at(1) == "a\"b");
}

BOOST_AUTO_TEST_CASE(declared_schema_overrides_inference_for_named_columns) {
  csv::ReadOptions o;
  o.schema.emplace("code", ColumnType::string);
  o.schema.emplace("score", ColumnType::float64);
  auto t = csv::parse("code,score,n\n001,1,5\n002,2,6\n", o);
  BOOST_TEST(bdp::to_string(t->column("code").type()) == "string");
  BOOST_TEST(t->column("code").string_at(0) == "001");
  BOOST_TEST(bdp::to_string(t->column("score").type()) == "float64");
  BOOST_TEST(bdp::to_string(t->column("n").type()) == "int64");
}

BOOST_AUTO_TEST_CASE(crlf_line_ends_bom_and_missing_final_newline_are_accepted) {
  auto t = csv::parse(
      "\xEF\xBB\xBF"
      "a,b\r\n1,\"x\"\r\n2,y");
  BOOST_TEST(t->num_rows() == 2u);
  BOOST_TEST(t->column(0).name() == "a");
  BOOST_TEST(t->column("b").string_at(0) == "x");
  BOOST_TEST(t->column("b").string_at(1) == "y");
  BOOST_TEST(t->column("a").int64_at(1) == 2);
}

BOOST_AUTO_TEST_CASE(a_first_column_name_starting_with_a_bom_round_trips) {
  // A text with two BOMs: the reader drops the first, the name keeps the
  // second, and the writer must not let a reader drop that one too.
  auto t = csv::parse(
      "\xEF\xBB\xBF\xEF\xBB\xBF"
      "id,qty\n1,2\n");
  BOOST_TEST(t->column(0).name() ==
             "\xEF\xBB\xBF"
             "id");
  BOOST_TEST(to_csv(*t) ==
             "\"\xEF\xBB\xBF"
             "id\",qty\n1,2\n");
  round_trip(t);
  // Only the first name: anywhere else a BOM is plain text.
  auto later = csv::parse(
      "id,\xEF\xBB\xBF"
      "qty\n1,2\n");
  BOOST_TEST(to_csv(*later) ==
             "id,\xEF\xBB\xBF"
             "qty\n1,2\n");
  round_trip(later);
}

BOOST_AUTO_TEST_CASE(blank_lines_between_rows_are_skipped_when_there_are_several_columns) {
  auto t = csv::parse("a,b\n1,2\n\n3,4\n\r\n\n");
  BOOST_TEST(t->num_rows() == 2u);
  BOOST_TEST(t->column("a").int64_at(1) == 3);
}

BOOST_AUTO_TEST_CASE(header_only_and_empty_inputs_give_empty_tables) {
  auto header_only = csv::parse("a,b\n");
  BOOST_TEST(header_only->num_columns() == 2u);
  BOOST_TEST(header_only->num_rows() == 0u);
  auto empty = csv::parse("");
  BOOST_TEST(empty->num_columns() == 0u);
  std::string out;
  csv::write(*empty, out);
  BOOST_TEST(out.empty());
  auto zero_rows = one_column(ColumnType::int64, {});
  BOOST_TEST(to_csv(*zero_rows) == "c\n");
  round_trip(zero_rows);
}

BOOST_AUTO_TEST_CASE(write_appends_to_existing_text) {
  std::string out = "prefix|";
  csv::write(*one_column(ColumnType::int64, {std::int64_t{1}}), out);
  BOOST_TEST(out == "prefix|c\n1\n");
}

BOOST_AUTO_TEST_CASE(format_cell_gives_the_unquoted_text) {
  TableBuilder b({{"s", ColumnType::string},
                  {"f", ColumnType::float64},
                  {"t", ColumnType::timestamp},
                  {"b", ColumnType::boolean}});
  b.append_row({std::string("a,\"b\""), 0.25, std::int64_t{0}, true});
  b.append_row({std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}});
  auto t = b.finish();
  BOOST_TEST(csv::format_cell(t->column(0), 0) == "a,\"b\"");
  BOOST_TEST(csv::format_cell(t->column(1), 0) == "0.25");
  BOOST_TEST(csv::format_cell(t->column(2), 0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(csv::format_cell(t->column(3), 0) == "true");
  for (std::size_t c = 0; c < 4; ++c) BOOST_TEST(csv::format_cell(t->column(c), 1) == "");
}

BOOST_AUTO_TEST_CASE(unterminated_quote_names_the_line_where_it_opened) {
  csv::ReadOptions o;
  o.source_name = "orders.csv";
  auto msg = error_of([&] { (void)csv::parse("a,b\n1,2\n3,\"open\n4,5\n", o); },
                      ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("orders.csv: line 3, column 2: unterminated") == 0u, msg);
}

BOOST_AUTO_TEST_CASE(ragged_rows_name_the_line) {
  auto msg = error_of([] { (void)csv::parse("a,b,c\n1,2,3\n4,5\n"); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("<input>: line 3, column 3: row has 2 cells but the header has 3") == 0u,
             msg);
  msg = error_of([] { (void)csv::parse("a,b\n1,2\n3,4\n5,6,7\n"); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("<input>: line 4, column 3:") == 0u, msg);
  error_of([] { (void)csv::parse("a,b\n1,2,\n"); }, ErrorCode::invalid_argument);
}

BOOST_AUTO_TEST_CASE(line_numbers_count_newlines_inside_quoted_cells) {
  auto msg = error_of([] { (void)csv::parse("a,b\n\"x\ny\nz\",1\nshort\n"); },
                      ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("line 5,") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(text_after_a_closing_quote_is_an_error) {
  auto msg = error_of([] { (void)csv::parse("a,b\n\"x\"y,1\n"); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("line 2, column 1:") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(cell_not_fitting_its_declared_type_names_line_column_and_value) {
  csv::ReadOptions o;
  o.source_name = "in.csv";
  o.schema.emplace("qty", ColumnType::int64);
  auto msg =
      error_of([&] { (void)csv::parse("id,qty\n1,2\n2,2.5\n", o); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg == "in.csv: line 3, column 2: '2.5' is not a valid int64 for column 'qty'");

  for (auto [type, text] :
       {std::pair{ColumnType::float64, "abc"}, std::pair{ColumnType::boolean, "1"},
        std::pair{ColumnType::timestamp, "2024-02-30"},
        std::pair{ColumnType::int64, "99999999999999999999"}, std::pair{ColumnType::int64, "\"\""},
        std::pair{ColumnType::int64, " 1"}}) {
    csv::ReadOptions typed;
    typed.schema.emplace("v", type);
    error_of([&] { (void)csv::parse(std::string("v\n") + text + "\n", typed); },
             ErrorCode::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(control_characters_in_a_bad_cell_are_escaped_in_the_message) {
  csv::ReadOptions o;
  o.schema.emplace("v", ColumnType::int64);
  auto msg =
      error_of([&] { (void)csv::parse("v\n\"1\n\x01\"\n", o); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'1\\n\\x01'"), msg);
  BOOST_TEST(msg.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(header_problems_are_errors) {
  auto msg = error_of([] { (void)csv::parse("a,b,a\n1,2,3\n"); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("<input>: line 1, column 3:") == 0u, msg);
  BOOST_TEST(contains(msg, "'a'"));
  msg = error_of([] { (void)csv::parse("a,,c\n1,2,3\n"); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("line 1, column 2") != std::string::npos, msg);

  csv::ReadOptions o;
  o.schema.emplace("price", ColumnType::float64);
  msg = error_of([&] { (void)csv::parse("a,b\n1,2\n", o); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(msg, "'price'"), msg);
  BOOST_TEST(contains(msg, "'a', 'b'"), msg);
}

BOOST_AUTO_TEST_CASE(read_file_reads_and_names_the_file_in_errors) {
  bdp::test::TempDir dir;
  auto good = dir / "good.csv";
  bdp::test::write_file(good, "x,y\n1,a\n2,b\n");
  auto t = csv::read_file(good);
  BOOST_TEST(t->num_rows() == 2u);
  BOOST_TEST(t->column("y").string_at(1) == "b");

  auto bad = dir / "bad.csv";
  bdp::test::write_file(bad, "x,y\n1\n");
  auto msg = error_of([&] { (void)csv::read_file(bad); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find(bad.string() + ": line 2") == 0u, msg);

  msg = error_of([&] { (void)csv::read_file(dir / "missing.csv"); }, ErrorCode::not_found);
  BOOST_TEST(contains(msg, "missing.csv"));
  msg = error_of([&] { (void)csv::read_file(dir.path()); }, ErrorCode::io);
  BOOST_TEST(contains(msg, dir.path().string()));
}

BOOST_AUTO_TEST_CASE(large_generated_table_round_trips) {
  std::mt19937_64 rng(3);
  TableBuilder b({{"id", ColumnType::int64},
                  {"price", ColumnType::float64},
                  {"name", ColumnType::string},
                  {"flag", ColumnType::boolean},
                  {"ts", ColumnType::timestamp}});
  const char* words[] = {"plain", "with,comma", "with \"quote\"", "multi\nline", "", "\xc3\xa9"};
  for (int i = 0; i < 5000; ++i) {
    auto pick = rng() % 10;
    if (pick == 0) {
      b.append_row({std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{},
                    std::monostate{}});
      continue;
    }
    b.append_row(
        {static_cast<std::int64_t>(rng()), static_cast<double>(rng() % 100000) / 7.0,
         std::string(words[rng() % 6]), (rng() & 1) != 0,
         static_cast<std::int64_t>(rng() % 4'000'000'000'000'000ULL) - 2'000'000'000'000'000});
  }
  round_trip(b.finish());
}

// A table of `rows` rows whose string cells hold separators, quotes and line
// ends (every other row has a line end inside a quoted cell), with nulls.
bdp::TablePtr tricky_table(std::size_t rows) {
  TableBuilder b({{"id", ColumnType::int64},
                  {"price", ColumnType::float64},
                  {"note", ColumnType::string},
                  {"flag", ColumnType::boolean},
                  {"ts", ColumnType::timestamp}});
  b.reserve(rows);
  const char* notes[] = {"multi\nline, \"quoted\"", "plain", "", "two\n\nbreaks\r\n",
                         "\xc3\xa9t\xc3\xa9"};
  for (std::size_t i = 0; i < rows; ++i) {
    if (i % 17 == 5) {
      b.append_row({std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{},
                    std::monostate{}});
      continue;
    }
    b.append_row({static_cast<std::int64_t>(i) * 7919 - 1'000'000,
                  static_cast<double>(i % 1000) / 7.0, std::string(notes[i % 5]), i % 3 == 0,
                  std::int64_t{1'700'000'000'000'000} + static_cast<std::int64_t>(i) * 1'001});
  }
  return b.finish();
}

BOOST_AUTO_TEST_CASE(write_chunked_pieces_join_to_what_write_writes) {
  for (std::size_t rows : {std::size_t{0}, std::size_t{3}, std::size_t{90'000}}) {
    auto t = tricky_table(rows);
    const std::string whole = to_csv(*t);
    for (unsigned threads : {1u, 2u, 3u}) {
      std::string joined;
      std::size_t pieces = 0;
      csv::write_chunked(
          *t,
          [&](std::string_view piece) {
            BOOST_TEST(!piece.empty());
            joined.append(piece);
            ++pieces;
          },
          threads);
      BOOST_TEST((joined == whole), "rows " << rows << ", threads " << threads);
      if (rows == 90'000) BOOST_TEST(pieces > 2u);  // several MB: several pieces
    }
  }
}

BOOST_AUTO_TEST_CASE(write_chunked_stops_and_rethrows_when_the_sink_throws) {
  auto t = tricky_table(90'000);
  for (unsigned threads : {1u, 2u, 4u}) {
    int pieces = 0;
    BOOST_CHECK_THROW(csv::write_chunked(
                          *t,
                          [&](std::string_view) {
                            if (++pieces == 2) {
                              throw bdp::Error(ErrorCode::io, "disk full");
                            }
                          },
                          threads),
                      bdp::Error);
    BOOST_TEST(pieces == 2);
  }
}

BOOST_AUTO_TEST_CASE(reading_in_parallel_gives_the_sequential_result) {
  // About 12 MB: three parts of at least 4 MB, split at guessed line ends
  // that often fall inside quoted cells.
  auto t = tricky_table(240'000);
  const std::string text = to_csv(*t);
  BOOST_REQUIRE(text.size() > 12u << 20);
  auto options = with_schema(t->schema());
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    auto back = csv::parse(text, options, threads);
    BOOST_TEST(back->equals(*t), "threads " << threads);
  }
  // Only line ends inside quotes: no guessed split is a row start.
  TableBuilder b({{"s", ColumnType::string}, {"i", ColumnType::int64}});
  for (std::int64_t i = 0; i < 400'000; ++i) {
    b.append_row({std::string("a\nb\nc\nd\n\"e\""), i});
  }
  auto quoted = b.finish();
  const std::string quoted_text = to_csv(*quoted);
  BOOST_REQUIRE(quoted_text.size() > 8u << 20);
  BOOST_TEST(csv::parse(quoted_text, with_schema(quoted->schema()), 4)->equals(*quoted));
}

BOOST_AUTO_TEST_CASE(reading_in_parallel_reports_the_first_error_like_a_sequential_read) {
  auto t = tricky_table(240'000);
  std::string text = to_csv(*t);
  auto options = with_schema(t->schema());
  // Two bad id cells: one in the last third, one in the middle. (A line
  // end followed by a digit starts a row: no string cell has one.)
  for (double at : {0.9, 0.5}) {
    std::size_t pos = static_cast<std::size_t>(static_cast<double>(text.size()) * at);
    while (!(text[pos] == '\n' && text[pos + 1] >= '1' && text[pos + 1] <= '9')) ++pos;
    text[pos + 1] = 'x';
  }
  const std::string sequential =
      error_of([&] { (void)csv::parse(text, options, 1); }, ErrorCode::invalid_argument);
  BOOST_TEST(contains(sequential, "'x"), sequential);
  for (unsigned threads : {2u, 3u}) {
    BOOST_TEST(error_of([&] { (void)csv::parse(text, options, threads); },
                        ErrorCode::invalid_argument) == sequential);
  }
}

BOOST_AUTO_TEST_CASE(long_float_cells_read_exactly_like_from_chars) {
  // 16 to 19 significant digits with exponents around the edge of the
  // extended-precision shortcut, and the texts write() makes of random bits.
  std::mt19937_64 rng(13);
  std::vector<std::string> texts;
  for (int i = 0; i < 20000; ++i) {
    std::string t = std::to_string(rng() % 9'000'000'000'000'000'000ULL + 1'000'000'000'000'000ULL);
    const auto point = static_cast<std::ptrdiff_t>(rng() % t.size());
    if (point != 0) t.insert(t.begin() + point, '.');
    t += "e" + std::to_string(static_cast<int>(rng() % 70) - 35);
    texts.push_back(t);
    std::uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    char buf[64];
    texts.emplace_back(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  csv::ReadOptions o;
  o.schema.emplace("v", ColumnType::float64);
  for (const auto& text : texts) {
    double expected = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), expected);
    if (ec != std::errc() || ptr != text.data() + text.size() || std::isnan(expected)) continue;
    double got = csv::parse("v\n" + text + "\n", o)->column(0).float64_at(0);
    BOOST_REQUIRE_MESSAGE(exact(got) == exact(expected), text);
  }
}

// The reader for texts whose columns are all declared finds separators 64
// bytes at a time. These tests build texts cell by cell, with separators,
// quotes, "\r\n" line ends and long cells at every offset from a block
// boundary, and compare that reader both with the cells written and with
// the general reader (which a column left undeclared selects: the "tag"
// column, whose cells always read as strings).
namespace {

struct Built {
  std::string text;
  bdp::TablePtr expected;  // without the "tag" column
};

// The message of the bdp::Error `body` throws, or "" when it throws none.
template <class Body>
std::string message_of(Body&& body) {
  try {
    body();
  } catch (const bdp::Error& e) {
    return e.what();
  }
  return {};
}

// Reads `text` with every column declared and with "tag" left to
// inference, and requires both to give `expected` (when non-null) or the
// same error.
void check_both_readers(const std::string& text, const bdp::TablePtr& expected) {
  const bdp::Schema schema = {{"s", ColumnType::string},
                              {"i", ColumnType::int64},
                              {"f", ColumnType::float64},
                              {"t", ColumnType::string}};
  csv::ReadOptions all = with_schema(schema);
  all.schema.emplace("tag", ColumnType::string);
  const csv::ReadOptions general = with_schema(schema);
  bdp::TablePtr fast;
  bdp::TablePtr slow;
  const std::string fast_error = message_of([&] { fast = csv::parse(text, all, 1); });
  const std::string slow_error = message_of([&] { slow = csv::parse(text, general, 1); });
  BOOST_REQUIRE_MESSAGE(fast_error == slow_error, "errors differ: '" << fast_error << "' vs '"
                                                                     << slow_error << "'\n"
                                                                     << text);
  if (!fast_error.empty()) return;
  BOOST_REQUIRE_MESSAGE(fast->equals(*slow), "readers differ on:\n" << text);
  if (expected) {
    std::vector<bdp::Column> columns(fast->columns().begin(), fast->columns().end() - 1);
    BOOST_REQUIRE_MESSAGE(bdp::make_table(std::move(columns))->equals(*expected),
                          "unexpected cells in:\n"
                              << text);
  }
}

// A random text of `rows` rows: columns s (string), i (int64), f (float64),
// t (string), tag. Cells are quoted when they must be and at random
// otherwise; line ends are "\n" or "\r\n"; blank lines come between rows;
// the last row may lack its line end.
Built random_text(std::mt19937_64& rng, std::size_t rows) {
  TableBuilder b({{"s", ColumnType::string},
                  {"i", ColumnType::int64},
                  {"f", ColumnType::float64},
                  {"t", ColumnType::string}});
  std::string text = "s,i,f,t,tag\n";
  const char alphabet[] = "ab,\"\n\r x";
  auto random_string = [&] {
    std::string v;
    const std::size_t n = rng() % 8 == 0 ? 60 + rng() % 80 : rng() % 12;  // some over a block
    for (std::size_t k = 0; k < n; ++k) v += alphabet[rng() % (sizeof alphabet - 1)];
    return v;
  };
  auto put_string = [&](const std::optional<std::string>& v) {
    if (!v) return;  // null: an empty cell
    const bool special = v->empty() || v->find_first_of(",\"\n\r") != std::string::npos;
    if (!special && rng() % 4 != 0) {
      text += *v;
      return;
    }
    text += '"';
    for (char c : *v) {
      text += c;
      if (c == '"') text += '"';
    }
    text += '"';
  };
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<bdp::Value> row;
    std::optional<std::string> s;
    if (rng() % 6 != 0) s = random_string();
    put_string(s);
    row.push_back(s ? bdp::Value(*s) : bdp::Value());
    text += ',';
    if (rng() % 7 != 0) {
      const auto i = static_cast<std::int64_t>(rng() >> (rng() % 64)) * (rng() % 2 ? 1 : -1);
      text += std::to_string(i);
      row.push_back(i);
    } else {
      row.emplace_back();
    }
    text += ',';
    if (rng() % 7 != 0) {
      double f;
      std::uint64_t bits = rng();
      std::memcpy(&f, &bits, sizeof f);
      if (!std::isfinite(f) || rng() % 2 == 0) f = static_cast<double>(rng() % 100000) / 7.0;
      char buf[64];
      const std::string cell(buf, std::to_chars(buf, buf + sizeof buf, f).ptr);
      if (rng() % 5 == 0) {
        text += '"' + cell + '"';  // a quoted number
      } else {
        text += cell;
      }
      row.push_back(f);
    } else {
      row.emplace_back();
    }
    text += ',';
    std::optional<std::string> t;
    if (rng() % 6 != 0) t = random_string();
    put_string(t);
    row.push_back(t ? bdp::Value(*t) : bdp::Value());
    text += ",x" + std::string(rng() % 4 == 0 ? rng() % 80 : 0, 'y') + std::to_string(r);
    b.append_row(row);
    if (r + 1 == rows && rng() % 2 == 0) break;  // no final line end
    text += rng() % 3 == 0 ? "\r\n" : "\n";
    if (rng() % 10 == 0) text += rng() % 2 ? "\n" : "\r\n";  // a blank line
  }
  return {text, b.finish()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(declared_reader_matches_the_cells_and_the_general_reader) {
  std::mt19937_64 rng(2024);
  for (int round = 0; round < 300; ++round) {
    const Built built = random_text(rng, 1 + rng() % (round < 200 ? 4 : 60));
    check_both_readers(built.text, built.expected);
  }
}

BOOST_AUTO_TEST_CASE(declared_reader_handles_every_offset_from_a_block_boundary) {
  // A first cell of `pad` bytes moves what follows it across the 64-byte
  // blocks the separators are found in: quotes, separators, "\r\n" split
  // between blocks, cells longer than a block, texts shorter than one.
  const std::vector<std::string> tails = {
      ",1,2.5,b,x\n",          ",1,2.5,b,x",
      ",1,2.5,b,x\r\n",        ",,,,x\n",
      ",\"1\",\"2.5\",\"\",x", ",-7,1e300,\"a\"\"b,\nc\",x\r\n",
      ",1,2.5,\"\",x\r",       ",1,2.5," + std::string(70, 'q') + ",x\n"};
  for (std::size_t pad = 0; pad < 140; ++pad) {
    for (const auto& tail : tails) {
      for (bool quoted : {false, true}) {
        const std::string first = std::string(pad, 'p');
        const std::string cell = quoted ? "\"" + first + "\"" : first;
        const std::string text = "s,i,f,t,tag\n" + cell + tail + "\n" + cell + tail;
        check_both_readers(text, nullptr);
      }
    }
    // The last cell of a row `pad` bytes long, before every line end.
    for (const char* end : {"\n", "\r\n", "\r", ""}) {
      const std::string row = "a,1,2.5,b,x" + std::string(pad, 'y');
      check_both_readers("s,i,f,t,tag\n" + row + end + row + end, nullptr);
      check_both_readers("s,i,f,t,tag\n" + row + end + "\r\n" + row + end, nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(declared_reader_reports_errors_like_the_general_reader) {
  std::mt19937_64 rng(77);
  const char* breakers[] = {",", "z", "\"", "\n", "\r", "-", "."};
  for (int round = 0; round < 400; ++round) {
    Built built = random_text(rng, 2 + rng() % 30);
    // Breaks the text at a random place: a cell too many or too few, a
    // bad number, an unterminated or misplaced quote.
    std::string text = built.text;
    const std::size_t at = 12 + rng() % (text.size() - 12);
    const char* breaker = breakers[rng() % (sizeof breakers / sizeof breakers[0])];
    if (rng() % 2 == 0) {
      text.insert(at, breaker);
    } else {
      text[at] = *breaker;
    }
    check_both_readers(text, nullptr);
  }
}

// ------------------------------------------------ inference keeps the text
//
// An inferred column takes a type only when writing each value back gives
// its cell's text (docs/config.md, read_csv): these are the cases a user
// meets, each read as a one-cell column.

namespace {

struct InferenceCase {
  const char* text;
  const char* type;     // the inferred type
  const char* written;  // the cell as write() writes it back
};

const InferenceCase kInferenceCases[] = {
    // int64: the writer's form only.
    {"42", "int64", "42"},
    {"-7", "int64", "-7"},
    {"0", "int64", "0"},
    {"9223372036854775807", "int64", "9223372036854775807"},
    {"00501", "string", "00501"},
    {"01010001", "string", "01010001"},
    {"-01", "string", "-01"},
    {"+5", "string", "+5"},
    {"0x1F", "string", "0x1F"},
    {" 7", "string", " 7"},
    {"7 ", "string", "7 "},
    {"1_000", "string", "1_000"},
    // float64: every digit kept; trailing zeros after the point allowed.
    {"1.5", "float64", "1.5"},
    {"1.50", "float64", "1.5"},
    {"9.00", "float64", "9"},
    {"1.0", "float64", "1"},
    {"-0", "float64", "-0"},
    {"-0.0", "float64", "-0"},
    {"0.5", "float64", "0.5"},
    {"-0.25", "float64", "-0.25"},
    {"0.0001", "float64", "1e-04"},
    {"1000000000000000.0", "float64", "1e+15"},
    {"0.30000000000000004", "float64", "0.30000000000000004"},
    {"9223372036854775808", "float64", "9223372036854775808"},        // 2^63: the double is exact
    {"1180591620717411303424", "float64", "1180591620717411303424"},  // 2^70, written in full
    {"10000000000000000000000", "float64", "1e+22"},
    {"1e+300", "float64", "1e+300"},
    {"1e-07", "float64", "1e-07"},
    {"5e-324", "float64", "5e-324"},
    {"nan", "float64", "nan"},
    {"inf", "float64", "inf"},
    {"-inf", "float64", "-inf"},
    {"01.5", "string", "01.5"},
    {"00.5", "string", "00.5"},
    {".5", "string", ".5"},
    {"1.", "string", "1."},
    {"+1.5", "string", "+1.5"},
    {"1e3", "string", "1e3"},
    {"1E+300", "string", "1E+300"},
    {"2310009E13", "string", "2310009E13"},
    {"1e-7", "string", "1e-7"},
    {"NaN", "string", "NaN"},
    {"-nan", "string", "-nan"},
    {"Infinity", "string", "Infinity"},
    {"12345678901234567890", "string", "12345678901234567890"},
    {"0.1000000000000000055511151231257827", "string", "0.1000000000000000055511151231257827"},
    {"9007199254740993.0", "string", "9007199254740993.0"},
    // bool: true and false in any letter case.
    {"true", "bool", "true"},
    {"FALSE", "bool", "false"},
    {"True", "bool", "true"},
    {"yes", "string", "yes"},
    // timestamp: the writer's form, fraction digits optional.
    {"2024-01-01T10:00:00Z", "timestamp", "2024-01-01T10:00:00Z"},
    {"1969-12-31T23:59:59.5Z", "timestamp", "1969-12-31T23:59:59.500000Z"},
    {"2024-01-01T10:00:00.000Z", "timestamp", "2024-01-01T10:00:00Z"},
    {"2024-01-01T10:00:00.123456Z", "timestamp", "2024-01-01T10:00:00.123456Z"},
    {"2024-01-01", "string", "2024-01-01"},
    {"2024-01-01T10:00:00", "string", "2024-01-01T10:00:00"},
    {"2024-01-01 10:00:00Z", "string", "2024-01-01 10:00:00Z"},
    {"2024-01-01T12:00:00+02:00", "string", "2024-01-01T12:00:00+02:00"},
    {"2024-01-01t10:00:00z", "string", "2024-01-01t10:00:00z"},
};

}  // namespace

BOOST_AUTO_TEST_CASE(inference_takes_a_type_only_when_writing_the_value_back_gives_the_text) {
  for (const auto& c : kInferenceCases) {
    for (bool quoted : {false, true}) {
      const std::string cell = quoted ? "\"" + std::string(c.text) + "\"" : std::string(c.text);
      auto t = csv::parse("v\n" + cell + "\n");
      BOOST_TEST(bdp::to_string(t->column(0).type()) == c.type, "text '" << cell << "'");
      BOOST_TEST(csv::format_cell(t->column(0), 0) == c.written, "text '" << cell << "'");
    }
  }
}

BOOST_AUTO_TEST_CASE(inference_keeps_leading_zero_postal_codes_as_strings) {
  // Numbers first, codes with leading zeros later: the column is read again
  // as strings, every cell with its own text.
  auto t = csv::parse(
      "zip,district,plz,count,ratio\n"
      "10001,01010001,80331,0,0.5\n"
      "00501,01010002,01067,1,0.25\n"
      ",,,,\n"
      "02134,10010003,99999,10,1\n");
  for (const char* name : {"zip", "district", "plz"}) {
    BOOST_TEST(bdp::to_string(t->column(name).type()) == "string", name);
  }
  BOOST_TEST(t->column("zip").string_at(0) == "10001");
  BOOST_TEST(t->column("zip").string_at(1) == "00501");
  BOOST_TEST(t->column("zip").is_null(2));
  BOOST_TEST(t->column("zip").string_at(3) == "02134");
  BOOST_TEST(t->column("district").string_at(0) == "01010001");
  BOOST_TEST(t->column("plz").string_at(1) == "01067");
  BOOST_TEST(t->column("plz").string_at(3) == "99999");
  // "0" and "0.5" have no leading zero.
  BOOST_TEST(bdp::to_string(t->column("count").type()) == "int64");
  BOOST_TEST(bdp::to_string(t->column("ratio").type()) == "float64");
  // And the text written back is the text read.
  std::string out;
  csv::write(*t, out);
  BOOST_TEST(out ==
             "zip,district,plz,count,ratio\n"
             "10001,01010001,80331,0,0.5\n"
             "00501,01010002,01067,1,0.25\n"
             ",,,,\n"
             "02134,10010003,99999,10,1\n");
}

BOOST_AUTO_TEST_CASE(declared_int64_reads_leading_zero_codes_as_numbers) {
  csv::ReadOptions o;
  o.schema.emplace("zip", ColumnType::int64);
  auto t = csv::parse("zip,city\n00501,Holtsville\n10001,New York\n", o);
  BOOST_TEST(t->column("zip").int64_at(0) == 501);
  BOOST_TEST(t->column("zip").int64_at(1) == 10001);
}

BOOST_AUTO_TEST_CASE(inference_widens_integers_to_float_only_when_the_doubles_keep_them) {
  auto t = csv::parse(
      "small,big,exact,negzero\n"
      "1,9007199254740993,1152921504606846976,5\n"
      "2.5,0.5,0.5,-0\n");
  BOOST_TEST(bdp::to_string(t->column("small").type()) == "float64");
  BOOST_TEST(t->column("small").float64_at(0) == 1.0);
  // 2^53 + 1 has no double: as float64 it would change.
  BOOST_TEST(bdp::to_string(t->column("big").type()) == "string");
  BOOST_TEST(t->column("big").string_at(0) == "9007199254740993");
  BOOST_TEST(t->column("big").string_at(1) == "0.5");
  // 2^60 is a double, written back with all its digits.
  BOOST_TEST(bdp::to_string(t->column("exact").type()) == "float64");
  BOOST_TEST(csv::format_cell(t->column("exact"), 0) == "1152921504606846976");
  BOOST_TEST(bdp::to_string(t->column("negzero").type()) == "float64");
  BOOST_TEST(std::signbit(t->column("negzero").float64_at(1)));
}

// ------------------------------------------------------------ line ends

namespace {

// Reads `text` with every column declared, then with the "id" column left
// to inference, and requires both to equal `expected`.
void check_reads_as(const std::string& text, const bdp::TablePtr& expected, unsigned threads = 1) {
  auto declared = csv::parse(text, with_schema(expected->schema()), threads);
  BOOST_TEST(declared->equals(*expected), "declared reader, text:\n" << text.substr(0, 200));
  csv::ReadOptions general = with_schema(expected->schema());
  general.schema.erase("id");
  auto inferred = csv::parse(text, general, threads);
  BOOST_TEST(inferred->equals(*expected), "general reader, text:\n" << text.substr(0, 200));
}

// `text` with each "\n" replaced by `line_end`.
std::string with_line_ends(const std::string& text, const std::string& line_end) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += line_end;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lf_crlf_and_cr_line_ends_read_the_same_rows) {
  TableBuilder b({{"id", ColumnType::int64}, {"name", ColumnType::string}});
  b.append_row({std::int64_t{1}, std::string("alpha")});
  b.append_row({std::int64_t{2}, std::monostate{}});
  b.append_row({std::int64_t{3}, std::string("gamma, quoted")});
  auto expected = b.finish();
  const std::string lf = "id,name\n1,alpha\n2,\n3,\"gamma, quoted\"\n";
  for (const char* line_end : {"\n", "\r\n", "\r"}) {
    const std::string text = with_line_ends(lf, line_end);
    check_reads_as(text, expected);
    check_reads_as(text.substr(0, text.size() - std::strlen(line_end)), expected);  // no last end
    check_reads_as("\xEF\xBB\xBF" + text, expected);                                // a BOM
  }
}

BOOST_AUTO_TEST_CASE(mixed_line_ends_each_end_one_line) {
  TableBuilder b({{"id", ColumnType::int64}, {"name", ColumnType::string}});
  for (std::int64_t i = 1; i <= 4; ++i)
    b.append_row({i, std::string(1, static_cast<char>('a' + i))});
  auto expected = b.finish();
  check_reads_as("id,name\r\n1,b\r2,c\n3,d\r\n4,e\r", expected);
  // "\r\r\n" (a CRLF file converted once too often) is a line end and a
  // blank line, and blank lines between rows are skipped.
  check_reads_as("id,name\r\r\n1,b\r\r\n2,c\r\r\n3,d\r\r\n4,e\r\r\n", expected);
  // Line numbers in errors count every kind of line end.
  auto msg =
      error_of([] { (void)csv::parse("a,b\r1,2\r\n3\n4,5\r"); }, ErrorCode::invalid_argument);
  BOOST_TEST(msg.find("<input>: line 3, column 2: row has 1 cells") == 0u, msg);
}

BOOST_AUTO_TEST_CASE(a_lone_cr_inside_a_quoted_cell_stays_in_the_cell) {
  TableBuilder b({{"id", ColumnType::int64}, {"note", ColumnType::string}});
  b.append_row({std::int64_t{1}, std::string("two\rlines")});
  b.append_row({std::int64_t{2}, std::string("cr at end\r")});
  b.append_row({std::int64_t{3}, std::string("\r")});
  auto expected = b.finish();
  // In a file with CR line ends, and in one with LF line ends (as write()
  // makes it).
  check_reads_as("id,note\r1,\"two\rlines\"\r2,\"cr at end\r\"\r3,\"\r\"\r", expected);
  check_reads_as(to_csv(*expected), expected);
  BOOST_TEST(to_csv(*csv::parse(to_csv(*expected), with_schema(expected->schema()))) ==
             to_csv(*expected));
}

BOOST_AUTO_TEST_CASE(cr_line_ends_read_in_parallel_like_lf_ones) {
  // About 12 MB with every column declared: read in parts on threads.
  TableBuilder b({{"id", ColumnType::int64}, {"note", ColumnType::string}});
  const std::string note = "a quoted,\rcell " + std::string(50, 'n');
  for (std::int64_t i = 0; i < 200'000; ++i) {
    b.append_row({i, i % 7 == 3 ? bdp::Value() : bdp::Value(note)});
  }
  auto expected = b.finish();
  const std::string text = with_line_ends(to_csv(*expected), "\r");
  BOOST_REQUIRE(text.size() > 8u << 20);
  for (unsigned threads : {1u, 3u}) {
    BOOST_TEST(csv::parse(text, with_schema(expected->schema()), threads)->equals(*expected));
  }
}

// ------------------------------------------------------------- encodings

namespace {

csv::ReadOptions checked(csv::Encoding encoding = csv::Encoding::utf8) {
  csv::ReadOptions o;
  o.source_name = "people.csv";
  o.encoding = encoding;
  return o;
}

// The message of the error parse() gives for `text` read as `options`, with
// its columns declared and with them inferred: both must agree.
std::string read_error(const std::string& text, csv::ReadOptions options) {
  const std::string inferred =
      error_of([&] { (void)csv::parse(text, options); }, ErrorCode::invalid_argument);
  options.schema.emplace("id", ColumnType::string);
  options.schema.emplace("name", ColumnType::string);
  const std::string declared =
      error_of([&] { (void)csv::parse(text, options); }, ErrorCode::invalid_argument);
  BOOST_TEST(declared == inferred);
  return inferred;
}

}  // namespace

BOOST_AUTO_TEST_CASE(invalid_utf8_is_an_error_naming_the_line_the_column_and_the_byte) {
  // A latin1 'é' (0xE9) in a UTF-8 file: line 3, the second cell, byte 6.
  BOOST_TEST(read_error("id,name\n1,ok\n2,caf\xE9\n", checked()) ==
             "people.csv: line 3, column 2: not valid UTF-8 at byte 6 of the line (0xE9); if the "
             "text is latin1 or windows-1252, set that encoding");
  // In the header.
  BOOST_TEST(read_error("id,n\xFFme\n1,x\n", checked())
                 .find("line 1, column 2: not valid UTF-8 "
                       "at byte 5 of the line (0xFF)") != std::string::npos);
  // Inside a quoted cell over several lines, after CR line ends: the line
  // of the byte, the cell it is in.
  BOOST_TEST(read_error("id,name\r1,\"a\nb,\"\"c\"\"\n\xC3(\"\r", checked())
                 .find("line 4, column 2: not valid UTF-8 at byte 1 of the line (0xC3)") !=
             std::string::npos);
  // Every kind of bad sequence.
  for (const char* bad : {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80",
                          "\xED\xBF\xBF", "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80",
                          "\xF5\x80\x80\x80", "\xFF", "\xE2\x82", "\xE2\x82x", "\xF0\x9F\x98"}) {
    const std::string msg = read_error(std::string("id,name\n1,ab") + bad + "\n", checked());
    BOOST_TEST(
        msg.find("people.csv: line 2, column 2: not valid UTF-8 at byte 5 of the line") == 0u, msg);
  }
  // The ones that are valid, at the edges of the ranges.
  for (const char* good : {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                           "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
    auto t = csv::parse(std::string("id,name\n1,") + good + "\n", checked());
    BOOST_TEST(t->column("name").string_at(0) == good);
  }
}

BOOST_AUTO_TEST_CASE(utf8_check_finds_the_bad_byte_at_every_offset) {
  // ASCII runs of every length before and after the bad byte, across the
  // 16- and 64-byte steps of the check; valid multi-byte characters before it.
  for (std::size_t pad = 0; pad < 150; ++pad) {
    const std::string run(pad, 'x');
    std::string text = "id,name\n1," + run + "\xC3\xA9\xE2\x82\xAC" + run + "\xFE" + run + "\n";
    const std::string msg = read_error(text, checked());
    const std::string place =
        "line 2, column 2: not valid UTF-8 at byte " + std::to_string(2 + 2 * pad + 5 + 1);
    BOOST_TEST(contains(msg, place), msg);
    // Without the bad byte the text reads, as it is.
    text.erase(text.find('\xFE'), 1);
    auto t = csv::parse(text, checked());
    BOOST_TEST(t->column("name").string_at(0) == run + "\xC3\xA9\xE2\x82\xAC" + run + run);
  }
}

BOOST_AUTO_TEST_CASE(nul_byte_is_an_error_in_a_checked_text_and_data_as_is) {
  const std::string text("id,name\n1,ab\0c\n", 15);
  BOOST_TEST(read_error(text, checked()) ==
             "people.csv: line 2, column 2: NUL byte (byte 5 of the line): CSV text holds none "
             "(is the file UTF-16, or not text?)");
  BOOST_TEST(contains(read_error(text, checked(csv::Encoding::latin1)), "line 2, column 2: NUL"));
  // Unchecked (bdp's own files), the cell holds it, as the table did.
  auto t = csv::parse(text);
  BOOST_TEST(t->column("name").string_at(0) == std::string("ab\0c", 4));
}

BOOST_AUTO_TEST_CASE(a_utf16_file_is_named_as_such) {
  const std::string utf16le("\xFF\xFEi\0d\0\n\0", 8);
  BOOST_TEST(contains(read_error(utf16le, checked()),
                      "line 1, column 1: the text starts with a "
                      "UTF-16 byte order mark"));
  // Without a byte order mark, its NUL bytes give it away.
  const std::string no_bom("i\0d\0\n\0", 6);
  BOOST_TEST(contains(read_error(no_bom, checked()), "line 1, column 1: NUL byte (byte 2"));
}

BOOST_AUTO_TEST_CASE(latin1_and_windows1252_texts_are_converted_to_utf8) {
  const std::string text =
      "name,city,note\nJos\xE9,K\xF6ln,\x80 5\n\xC5sa,\"\x93Z\xFCrich\x94\",\x81\n";
  auto latin1 = csv::parse(text, checked(csv::Encoding::latin1));
  BOOST_TEST(latin1->column("name").string_at(0) == "Jos\xC3\xA9");
  BOOST_TEST(latin1->column("city").string_at(0) == "K\xC3\xB6ln");
  BOOST_TEST(latin1->column("note").string_at(0) == "\xC2\x80 5");  // U+0080 in latin1
  BOOST_TEST(latin1->column("name").string_at(1) == "\xC3\x85sa");
  auto cp1252 = csv::parse(text, checked(csv::Encoding::windows1252));
  BOOST_TEST(cp1252->column("name").string_at(0) == "Jos\xC3\xA9");
  BOOST_TEST(cp1252->column("note").string_at(0) == "\xE2\x82\xAC 5");  // the euro sign
  BOOST_TEST(cp1252->column("city").string_at(1) ==
             "\xE2\x80\x9CZ\xC3\xBCrich\xE2\x80\x9D");            // curly quotes
  BOOST_TEST(cp1252->column("note").string_at(1) == "\xC2\x81");  // unassigned: U+0081
  // The byte of an error is counted in the file's bytes, not the UTF-8.
  const std::string nul("name\n\xE9\xE9\0\n", 9);
  BOOST_TEST(contains(read_error(nul, checked(csv::Encoding::latin1)),
                      "line 2, column 1: NUL byte (byte 3 of the line)"));
  // A UTF-8 byte order mark says the file is not latin1.
  BOOST_TEST(contains(read_error("\xEF\xBB\xBFname\nx\n", checked(csv::Encoding::latin1)),
                      "UTF-8 byte order mark, so it is UTF-8, not latin1"));
}

BOOST_AUTO_TEST_CASE(encodings_are_named_in_any_letter_case) {
  BOOST_TEST((csv::parse_encoding("UTF-8") == csv::Encoding::utf8));
  BOOST_TEST((csv::parse_encoding("utf8") == csv::Encoding::utf8));
  BOOST_TEST((csv::parse_encoding("Latin1") == csv::Encoding::latin1));
  BOOST_TEST((csv::parse_encoding("ISO-8859-1") == csv::Encoding::latin1));
  BOOST_TEST((csv::parse_encoding("windows-1252") == csv::Encoding::windows1252));
  BOOST_TEST((csv::parse_encoding("CP1252") == csv::Encoding::windows1252));
  BOOST_TEST(!csv::parse_encoding("utf-16").has_value());
  BOOST_TEST(!csv::parse_encoding("").has_value());
}

// ---------------------------------------------------- empty files, big cells

BOOST_AUTO_TEST_CASE(empty_file_is_an_error_naming_it_and_a_header_only_file_has_no_rows) {
  bdp::test::TempDir dir;
  const auto empty = dir / "empty.csv";
  bdp::test::write_file(empty, "");
  BOOST_TEST(error_of([&] { (void)csv::read_file(empty); }, ErrorCode::invalid_argument) ==
             empty.string() + ": empty file (no header line)");
  const auto bom = dir / "bom.csv";
  bdp::test::write_file(bom, "\xEF\xBB\xBF");
  BOOST_TEST(error_of([&] { (void)csv::read_file(bom); }, ErrorCode::invalid_argument) ==
             bom.string() + ": empty file (no header line)");
  for (const char* text :
       {"zip,city\n", "zip,city", "zip,city\r\n", "zip,city\r", "\xEF\xBB\xBFzip,city\n"}) {
    const auto header = dir / "header.csv";
    bdp::test::write_file(header, text);
    auto t = csv::read_file(header);
    BOOST_TEST(t->num_columns() == 2u);
    BOOST_TEST(t->num_rows() == 0u);
    BOOST_TEST(t->column(1).name() == "city");
  }
}

BOOST_AUTO_TEST_CASE(huge_cells_read_whole_and_name_the_place_of_a_bad_byte) {
  // A 5 MB quoted cell with separators, quotes, line ends and UTF-8, and a
  // 3 MB unquoted one, read by both readers with the text checked.
  std::string quoted;
  while (quoted.size() < (5u << 20)) quoted += "caf\xC3\xA9, \"x\"\r\n\xE2\x82\xAC\n";
  const std::string plain(3u << 20, 'p');
  TableBuilder b({{"id", ColumnType::string}, {"name", ColumnType::string}});
  b.append_row({quoted, plain});
  b.append_row({std::string("tail"), std::string("end")});
  auto expected = b.finish();
  const std::string text = to_csv(*expected);
  for (bool declared : {false, true}) {
    csv::ReadOptions o = declared ? with_schema(expected->schema()) : csv::ReadOptions();
    o.encoding = csv::Encoding::utf8;
    BOOST_TEST(csv::parse(text, o, 2)->equals(*expected), "declared " << declared);
  }
  // A bad byte at the end of the unquoted cell: line 2 plus the cell's line
  // ends, the second cell, its place in that line.
  std::string bad = text;
  const std::size_t at = bad.find("\nta") - 1;  // the last 'p'
  bad[at] = '\xC0';
  const std::size_t lines =
      static_cast<std::size_t>(std::count(quoted.begin(), quoted.end(), '\n'));
  const std::size_t last_line = bad.rfind('\n', at);
  const std::string msg = read_error(bad, checked());
  BOOST_TEST(contains(msg, "line " + std::to_string(2 + lines) +
                               ", column 2: not valid UTF-8 at "
                               "byte " +
                               std::to_string(at - last_line) + " of the line (0xC0)"),
             msg);
}

BOOST_AUTO_TEST_SUITE_END()
