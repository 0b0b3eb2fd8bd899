// The CSV codec writes every float64 cell byte for byte as std::to_chars
// does (the shortest text that reads back exactly): its fast path for short
// decimals must agree on digits and on fixed vs scientific notation.
#include <boost/test/unit_test.hpp>

#include <bdp/sdk/csv.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

namespace csv = bdp::csv;

std::string to_chars_text(double v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Writes `values` as a one-column table and checks each row's text.
void expect_written_like_to_chars(const std::vector<double>& values) {
  bdp::TableBuilder b({{"f", bdp::ColumnType::float64}});
  for (double v : values) b.column(0).append_float64(v);
  std::string text;
  csv::write(*b.finish(), text);
  std::size_t pos = text.find('\n') + 1;  // past the header
  std::size_t mismatches = 0;
  for (double v : values) {
    const std::size_t end = text.find('\n', pos);
    BOOST_REQUIRE(end != std::string::npos);
    const std::string got = text.substr(pos, end - pos);
    const std::string want = to_chars_text(v);
    if (got != want && ++mismatches <= 10) {
      BOOST_ERROR("value with bits " << std::bit_cast<std::uint64_t>(v) << ": wrote '" << got
                                     << "', std::to_chars gives '" << want << "'");
    }
    pos = end + 1;
  }
  BOOST_TEST(mismatches == 0u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(csv_floats)

BOOST_AUTO_TEST_CASE(short_decimals_are_written_as_to_chars_writes_them) {
  std::mt19937_64 rng(20261126);
  std::vector<double> values;
  const double scales[] = {1,   1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                           1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
  for (int i = 0; i < 400'000; ++i) {
    // n / 10^j with n of 1 to 17 digits and j of 0 to 17.
    const auto digits = static_cast<int>(rng() % 17) + 1;
    const std::uint64_t n = rng() % static_cast<std::uint64_t>(scales[digits]);
    const double v = static_cast<double>(n) / scales[rng() % 18];
    values.push_back((rng() & 1) != 0 ? -v : v);
  }
  expect_written_like_to_chars(values);
}

BOOST_AUTO_TEST_CASE(any_double_is_written_as_to_chars_writes_it) {
  std::mt19937_64 rng(7);
  std::vector<double> values;
  while (values.size() < 300'000) {
    const double v = std::bit_cast<double>(rng());
    if (std::isfinite(v)) values.push_back(v);
  }
  // Uniform magnitudes where short and long texts mix.
  std::uniform_real_distribution<double> uniform(0, 1e7);
  for (int i = 0; i < 100'000; ++i) values.push_back(uniform(rng));
  expect_written_like_to_chars(values);
}

BOOST_AUTO_TEST_CASE(notation_edges_are_written_as_to_chars_writes_them) {
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                0.5,
                                0.25,
                                0.1,
                                0.001,
                                0.0001,
                                0.00001,
                                0.000123,
                                0.0001234,
                                0.00012345,
                                1e-9,
                                1.5e-9,
                                123456789e-9,
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::lowest(),
                                std::numeric_limits<double>::epsilon(),
                                4503599627370496.0,  // 2^52
                                4503599627370495.0,
                                4503599627370497.0,
                                9007199254740992.0,  // 2^53
                                9007199254740993.0};
  // Powers of ten and round numbers around the fixed/scientific switch.
  for (int e = -30; e <= 30; ++e) {
    const double p = std::pow(10.0, e);
    for (double m : {1.0, 1.5, 2.0, 12.0, 12.5, 123.0, 1234.5, 99999.0}) {
      values.push_back(m * p);
      values.push_back(-m * p);
    }
  }
  for (std::int64_t n = 1; n <= 2'000'000'000; n *= 10) {
    for (std::int64_t f : {n, n * 3, n + 1, n * 10 - 1}) values.push_back(static_cast<double>(f));
  }
  // Around the fast path's magnitude limits, 2^52 / 10^k for k = 9, 6, 3, 0.
  for (double limit : {4503599627370496.0 / 1e9, 4503599627370496.0 / 1e6, 4503599627370496.0 / 1e3,
                       4503599627370496.0}) {
    double v = limit;
    double w = limit;
    for (int i = 0; i < 50; ++i) {
      values.push_back(v);
      values.push_back(w);
      v = std::nextafter(v, 0.0);
      w = std::nextafter(w, 1e300);
    }
    values.push_back(std::round(limit));
    values.push_back(std::round(limit) + 0.5);
    values.push_back(std::floor(limit) + 0.125);
  }
  expect_written_like_to_chars(values);
}

BOOST_AUTO_TEST_SUITE_END()
