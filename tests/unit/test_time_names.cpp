// Timestamps (format, parse, clock) and name validation.
#include <boost/test/unit_test.hpp>

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>

namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;

std::optional<std::int64_t> parse(const std::string& text) {
  return bdp::parse_timestamp(text);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(timestamps)

BOOST_AUTO_TEST_CASE(format_writes_iso8601_utc_with_micros_only_when_nonzero) {
  BOOST_TEST(bdp::format_timestamp(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(bdp::format_timestamp(1) == "1970-01-01T00:00:00.000001Z");
  BOOST_TEST(bdp::format_timestamp(1'700'000'000'000'000) == "2023-11-14T22:13:20Z");
  BOOST_TEST(bdp::format_timestamp(1'700'000'000'123'456) == "2023-11-14T22:13:20.123456Z");
  BOOST_TEST(bdp::format_timestamp(1'709'294'400 * kSecond) == "2024-03-01T12:00:00Z");
  // Leap days, including the 400-year rule.
  BOOST_TEST(bdp::format_timestamp(*parse("2024-02-29")) == "2024-02-29T00:00:00Z");
  BOOST_TEST(bdp::format_timestamp(951'782'400 * kSecond) == "2000-02-29T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(format_counts_back_from_midnight_before_1970) {
  BOOST_TEST(bdp::format_timestamp(-1) == "1969-12-31T23:59:59.999999Z");
  BOOST_TEST(bdp::format_timestamp(-kSecond) == "1969-12-31T23:59:59Z");
  BOOST_TEST(bdp::format_timestamp(-kDay) == "1969-12-31T00:00:00Z");
  BOOST_TEST(bdp::format_timestamp(-14'182'940 * kSecond) == "1969-07-20T20:17:40Z");
  BOOST_TEST(bdp::format_timestamp(-62'135'596'800 * kSecond) == "0001-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(format_uses_expanded_years_outside_0000_to_9999) {
  BOOST_TEST(bdp::format_timestamp(253'402'300'800 * kSecond) == "+10000-01-01T00:00:00Z");
  BOOST_TEST(bdp::format_timestamp(-62'167'219'200 * kSecond) == "0000-01-01T00:00:00Z");
  BOOST_TEST(bdp::format_timestamp(-62'167'219'200 * kSecond - 1).substr(0, 6) == "-0001-");
}

BOOST_AUTO_TEST_CASE(parse_accepts_dates_times_fractions_and_zones) {
  BOOST_TEST(*parse("1970-01-01") == 0);
  BOOST_TEST(*parse("1970-01-02") == kDay);
  BOOST_TEST(*parse("2023-11-14T22:13:20Z") == 1'700'000'000 * kSecond);
  BOOST_TEST(*parse("2023-11-14T22:13:20") == 1'700'000'000 * kSecond);
  BOOST_TEST(*parse("2023-11-14 22:13:20") == 1'700'000'000 * kSecond);
  BOOST_TEST(*parse("2023-11-14t22:13:20z") == 1'700'000'000 * kSecond);
  BOOST_TEST(*parse("2023-11-14T22:13:20.5Z") == 1'700'000'000 * kSecond + 500'000);
  BOOST_TEST(*parse("2023-11-14T22:13:20.000001") == 1'700'000'000 * kSecond + 1);
  BOOST_TEST(*parse("2023-11-14T22:13:20.123456Z") == 1'700'000'000'123'456);
  BOOST_TEST(*parse("2023-11-15T00:13:20+02:00") == 1'700'000'000 * kSecond);
  BOOST_TEST(*parse("2023-11-14T17:13:20-05:00") == 1'700'000'000 * kSecond);
  BOOST_TEST(*parse("1969-12-31T23:59:59.999999Z") == -1);
  BOOST_TEST(*parse("0001-01-01") == -62'135'596'800 * kSecond);
}

BOOST_AUTO_TEST_CASE(parse_rejects_malformed_and_impossible_timestamps) {
  for (const char* bad : {"",
                          "2024",
                          "2024-01",
                          "2024-1-01",
                          "2024-01-1",
                          "24-01-01",
                          "2024/01/01",
                          "2024-00-10",
                          "2024-13-01",
                          "2024-01-00",
                          "2024-01-32",
                          "2023-02-29",
                          "2100-02-29",
                          "2024-04-31",
                          "2024-01-01T",
                          "2024-01-01T12",
                          "2024-01-01T12:00",
                          "2024-01-01T24:00:00",
                          "2024-01-01T12:60:00",
                          "2024-01-01T12:00:60",
                          "2024-01-01T12:00:00.",
                          "2024-01-01T12:00:00.1234567",
                          "2024-01-01T12:00:00ZZ",
                          "2024-01-01T12:00:00+2:00",
                          "2024-01-01T12:00:00+0200",
                          "2024-01-01T12:00:00+24:00",
                          "2024-01-01X12:00:00",
                          " 2024-01-01",
                          "2024-01-01 ",
                          "2024-01-01T12:00:00 Z",
                          "abcd-ef-gh",
                          "1700000000",
                          "+9999999-01-01"}) {
    BOOST_TEST(!parse(bad).has_value(), "'" << bad << "' should not parse");
  }
  BOOST_TEST(parse("2000-02-29").has_value());
  BOOST_TEST(parse("2024-02-29T23:59:59.999999Z").has_value());
}

BOOST_AUTO_TEST_CASE(format_then_parse_round_trips_every_value) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> any(-100'000 * 365 * kDay, 100'000 * 365 * kDay);
  for (int i = 0; i < 20000; ++i) {
    std::int64_t v = any(rng);
    if (i % 3 == 0) v -= v % kSecond;  // some without micros
    auto back = bdp::parse_timestamp(bdp::format_timestamp(v));
    BOOST_REQUIRE_MESSAGE(back.has_value(), bdp::format_timestamp(v));
    BOOST_REQUIRE_EQUAL(*back, v);
  }
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
        std::numeric_limits<std::int64_t>::min()}) {
    auto text = bdp::format_timestamp(v);
    auto back = bdp::parse_timestamp(text);
    BOOST_REQUIRE_MESSAGE(back.has_value(), text);
    BOOST_TEST(*back == v, text);
  }
}

BOOST_AUTO_TEST_CASE(parse_refuses_values_past_the_int64_range) {
  BOOST_TEST(!parse("+294248-01-01T00:00:00Z").has_value());
  BOOST_TEST(!parse("-294248-01-01T00:00:00Z").has_value());
}

BOOST_AUTO_TEST_CASE(now_micros_follows_the_system_clock) {
  using namespace std::chrono;
  auto before = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  auto now = bdp::now_micros();
  auto after = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  BOOST_TEST(now >= before);
  BOOST_TEST(now <= after);
  BOOST_TEST(now > *parse("2020-01-01"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(names)

BOOST_AUTO_TEST_CASE(valid_names_are_letters_digits_and_underscore_dash_dot) {
  for (const char* good :
       {"a", "load", "stage_1", "Stage-2", "v1.2", "a..b", "9lives", "_x", "a-", "x."}) {
    BOOST_TEST(bdp::is_valid_name(good), good);
    BOOST_CHECK_NO_THROW(bdp::validate_name("stage name", good));
  }
  BOOST_TEST(bdp::is_valid_name(std::string(128, 'a')));
}

BOOST_AUTO_TEST_CASE(invalid_names_are_refused) {
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("../x"),
        std::string(".hidden"), std::string("-flag"), std::string("a/b"), std::string("a\\b"),
        std::string("a b"), std::string("tab\there"), std::string("nl\n"), std::string("a\0b", 3),
        std::string("\x01"), std::string("caf\xc3\xa9"), std::string("a:b"), std::string("a*"),
        std::string("a'b"), std::string("a\"b"), std::string(129, 'a')}) {
    BOOST_TEST(!bdp::is_valid_name(bad), "'" << bad << "' should be invalid");
    BOOST_CHECK_THROW(bdp::validate_name("stage name", bad), bdp::Error);
  }
}

BOOST_AUTO_TEST_CASE(validate_name_message_names_what_and_shows_the_value) {
  try {
    bdp::validate_name("stage name", "../x");
    BOOST_FAIL("no error");
  } catch (const bdp::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(bdp::ErrorCode::invalid_argument));
    BOOST_TEST(std::string(e.what()) ==
               "stage name '../x' is not valid: use 1-128 letters, digits, '_', '-', '.'; it may "
               "not start with '.' or '-'");
  }
}

BOOST_AUTO_TEST_CASE(validate_name_escapes_control_characters_in_the_message) {
  try {
    bdp::validate_name("entity name", std::string("a\nb\x01\x7f", 5));
    BOOST_FAIL("no error");
  } catch (const bdp::Error& e) {
    std::string msg = e.what();
    BOOST_TEST(msg.find("entity name 'a\\nb\\x01\\x7f'") == 0u, msg);
    BOOST_TEST(msg.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(an_error_message_with_a_nul_byte_shows_it_escaped_and_whole) {
  // what() is read as a C string: a raw NUL would cut the message there.
  const bdp::Error e(bdp::ErrorCode::config, std::string("p.json: a\0b: unknown key", 24));
  BOOST_TEST(std::string(e.what()) == "p.json: a\\x00b: unknown key");
  BOOST_TEST(std::string(bdp::Error(bdp::ErrorCode::io, "plain").what()) == "plain");
}

BOOST_AUTO_TEST_CASE(validate_name_message_stays_short_for_long_values) {
  try {
    bdp::validate_name("process id", std::string(5000, 'x') + "/");
    BOOST_FAIL("no error");
  } catch (const bdp::Error& e) {
    BOOST_TEST(std::string(e.what()).size() < 400u);
    BOOST_TEST(std::string(e.what()).find("...") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
