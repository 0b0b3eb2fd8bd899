// The SDK's binary payload codec (bdp::binary): exact round trips and
// damaged input reported as corrupt, never read past.
#include <bdp/sdk/binary.hpp>
#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace {

bdp::TablePtr every_type() {
  bdp::TableBuilder b({{"i", bdp::ColumnType::int64},
                       {"f", bdp::ColumnType::float64},
                       {"s", bdp::ColumnType::string},
                       {"b", bdp::ColumnType::boolean},
                       {"t", bdp::ColumnType::timestamp}});
  b.append_row({std::int64_t{-5}, -0.0, std::string("caf\xC3\xA9\n\0x", 8), true,
                std::int64_t{1700000000000001}});
  b.append_row({std::monostate{}, std::numeric_limits<double>::quiet_NaN(), std::monostate{},
                std::monostate{}, std::monostate{}});
  b.append_row({std::numeric_limits<std::int64_t>::min(), std::numeric_limits<double>::infinity(),
                std::string(), false, std::int64_t{-1}});
  return b.finish();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binary_codec)

BOOST_AUTO_TEST_CASE(tables_round_trip_exactly_with_nulls_and_special_floats) {
  auto table = every_type();
  const std::string bytes = bdp::binary::encode(bdp::Payload(table));
  BOOST_TEST(bytes.size() == bdp::binary::encoded_size(bdp::Payload(table)));
  BOOST_TEST(bytes.substr(0, 4) == "BDPB");
  auto back = bdp::binary::decode(bytes, "test");
  BOOST_REQUIRE(back.is_table());
  BOOST_TEST(back.table()->equals(*table));
  BOOST_TEST(std::signbit(back.table()->column(1).float64_at(0)));
}

BOOST_AUTO_TEST_CASE(json_and_empty_tables_round_trip) {
  auto doc = boost::json::parse(R"({"a": [1, 2.5, "x", null], "b": {"c": true}})");
  auto bytes = bdp::binary::encode(bdp::Payload(doc));
  BOOST_TEST(bytes.size() == bdp::binary::encoded_size(bdp::Payload(doc)));
  BOOST_TEST(bdp::binary::decode(bytes, "test").json() == doc);
  auto empty = std::make_shared<const bdp::Table>();
  auto back = bdp::binary::decode(bdp::binary::encode(bdp::Payload(empty)), "test");
  BOOST_TEST(back.table()->num_columns() == 0u);
}

BOOST_AUTO_TEST_CASE(every_truncation_and_trailing_bytes_are_corrupt_naming_where) {
  const std::string bytes = bdp::binary::encode(bdp::Payload(every_type()));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      bdp::binary::decode(std::string_view(bytes).substr(0, n), "record 7");
      BOOST_ERROR("a blob cut to " << n << " bytes decoded");
    } catch (const bdp::Error& e) {
      BOOST_TEST(bdp::to_string(e.code()) == "corrupt");
      BOOST_TEST(std::string(e.what()).rfind("record 7: damaged binary payload", 0) == 0u,
                 e.what());
    }
  }
  BOOST_CHECK_THROW(bdp::binary::decode(bytes + "x", "r"), bdp::Error);
  std::string bad_version = bytes;
  bad_version[4] = 9;
  BOOST_CHECK_THROW(bdp::binary::decode(bad_version, "r"), bdp::Error);
  std::string huge_rows = bytes;
  huge_rows[10] = '\xff';  // row count's top bytes: lengths past the end, no huge allocation
  huge_rows[17] = '\x7f';
  BOOST_CHECK_THROW(bdp::binary::decode(huge_rows, "r"), bdp::Error);
}

// A table with one cell of every type replaced: row `row` of column `col`
// set to `value`, the rest as every_type().
bdp::TablePtr with_cell(std::size_t col, std::size_t row, const bdp::Value& value) {
  const auto table = every_type();
  std::vector<bdp::Column> columns;
  for (std::size_t c = 0; c < table->num_columns(); ++c) {
    const bdp::Column& source = table->column(c);
    bdp::ColumnBuilder b(source.name(), source.type());
    for (std::size_t r = 0; r < table->num_rows(); ++r) {
      if (c == col && r == row) {
        b.append(value);
      } else {
        b.append_from(source, r);
      }
    }
    columns.push_back(b.finish());
  }
  return bdp::make_table(std::move(columns));
}

BOOST_AUTO_TEST_CASE(content_checksum_is_the_checksum_of_the_encoding) {
  // Without NaN the content checksum is that of the blob encode() writes.
  const auto table = with_cell(1, 1, 2.5);
  BOOST_TEST(bdp::binary::content_checksum(*table) ==
             bdp::checksum_text(bdp::binary::encode(bdp::Payload(table))));
  const auto empty = std::make_shared<const bdp::Table>();
  BOOST_TEST(bdp::binary::content_checksum(*empty) ==
             bdp::checksum_text(bdp::binary::encode(bdp::Payload(empty))));
}

BOOST_AUTO_TEST_CASE(content_checksum_changes_with_any_cell_and_not_with_the_nan_bits) {
  const std::string base = bdp::binary::content_checksum(*every_type());
  BOOST_TEST(base.starts_with("xxh64:"));
  BOOST_TEST(bdp::binary::content_checksum(*every_type()) == base);
  // Another NaN (sign bit set, as 0.0 / 0.0 gives on x86) is the same content.
  const double other_nan = -std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(bdp::binary::content_checksum(*with_cell(1, 1, other_nan)) == base);
  // Any changed cell, null or not, changes it.
  const std::vector<std::tuple<std::size_t, std::size_t, bdp::Value>> changes = {
      {0, 0, std::int64_t{-6}},
      {0, 1, std::int64_t{0}},
      {1, 0, 0.0},
      {1, 2, -std::numeric_limits<double>::infinity()},
      {2, 0, std::string("cafe")},
      {2, 1, std::string()},
      {2, 2, std::monostate{}},
      {3, 0, false},
      {3, 2, std::monostate{}},
      {4, 0, std::int64_t{1700000000000002}},
      {4, 1, std::int64_t{0}}};
  for (const auto& [col, row, value] : changes) {
    BOOST_TEST(bdp::binary::content_checksum(*with_cell(col, row, value)) != base,
               "column " << col << " row " << row);
  }
}

BOOST_AUTO_TEST_SUITE_END()
