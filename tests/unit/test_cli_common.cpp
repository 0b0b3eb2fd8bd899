// The CLI's shared helpers: terminal_text, which every human-readable
// printer of stored text goes through, and the whole_number option check.
#include "cli_common.hpp"

#include <CLI/CLI.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

using bdp::cli::terminal_text;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

// Parses `args` (after the program name) with one `--n` option checked by
// whole_number(min); the error message, or "" when it parsed.
std::string parse_error(const std::vector<std::string>& args, std::uint64_t min,
                        std::optional<std::uint64_t>* value = nullptr) {
  CLI::App app;
  std::optional<std::uint64_t> n;
  bdp::cli::whole_number(app.add_option("--n", n), min);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  if (value) *value = n;
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_common)

BOOST_AUTO_TEST_CASE(terminal_text_escapes_c0_controls_and_del) {
  BOOST_TEST(terminal_text("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  BOOST_TEST(terminal_text(std::string("x\0y", 3)) == "x\\x00y");
  BOOST_TEST(terminal_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  BOOST_TEST(terminal_text("\x7f\x01\x1f") == "\\x7f\\x01\\x1f");
}

BOOST_AUTO_TEST_CASE(terminal_text_escapes_c1_controls_as_code_points) {
  BOOST_TEST(terminal_text(bytes({0xc2, 0x80})) == "\\u0080");
  BOOST_TEST(terminal_text(bytes({'a', 0xc2, 0x9b, '3', '1', 'm'})) == "a\\u009b31m");  // CSI
  BOOST_TEST(terminal_text(bytes({0xc2, 0xa0})) == bytes({0xc2, 0xa0}));  // U+00A0 is not C1
}

BOOST_AUTO_TEST_CASE(terminal_text_keeps_valid_utf8_and_plain_text) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 back\\slash \"quoted\"";
  BOOST_TEST(terminal_text(text) == text);
  BOOST_TEST(terminal_text("") == "");
}

BOOST_AUTO_TEST_CASE(terminal_text_escapes_each_byte_that_is_not_valid_utf8) {
  BOOST_TEST(terminal_text(bytes({'a', 0xff, 'b'})) == "a\\xffb");
  BOOST_TEST(terminal_text(bytes({0x80})) == "\\x80");                        // stray continuation
  BOOST_TEST(terminal_text(bytes({0xc3})) == "\\xc3");                        // cut short
  BOOST_TEST(terminal_text(bytes({0xe2, 0x82})) == "\\xe2\\x82");             // cut short
  BOOST_TEST(terminal_text(bytes({0xc0, 0xaf})) == "\\xc0\\xaf");             // overlong '/'
  BOOST_TEST(terminal_text(bytes({0xe0, 0x80, 0xaf})) == "\\xe0\\x80\\xaf");  // overlong
  BOOST_TEST(terminal_text(bytes({0xed, 0xa0, 0x80})) == "\\xed\\xa0\\x80");  // a surrogate
  BOOST_TEST(terminal_text(bytes({0xf4, 0x90, 0x80, 0x80})) ==
             "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
  BOOST_TEST(terminal_text(bytes({0xc3, 'a'})) == "\\xc3a");
}

BOOST_AUTO_TEST_CASE(terminal_text_output_is_safe_and_stable) {
  // Every byte value alone: the output has no control byte and no invalid
  // UTF-8, so a second pass changes nothing.
  for (int b = 0; b < 256; ++b) {
    const std::string once = terminal_text(bytes({b}));
    for (char c : once) {
      const auto u = static_cast<unsigned char>(c);
      BOOST_TEST((u >= 0x20 && u != 0x7f), "byte " << b << " gave " << once);
    }
    BOOST_TEST(terminal_text(once) == once, "byte " << b);
  }
}

BOOST_AUTO_TEST_CASE(whole_number_accepts_decimal_digits_only) {
  std::optional<std::uint64_t> value;
  BOOST_TEST(parse_error({"--n", "12"}, 0, &value) == "");
  BOOST_TEST(value.value_or(0) == 12u);
  BOOST_TEST(parse_error({"--n", "0"}, 0, &value) == "");
  BOOST_TEST(value.value_or(1) == 0u);
  for (const std::string bad : {"-1", "+3", "0x10", "1e3", "1.5", " 4", "", "abc"}) {
    const std::string message = parse_error({"--n", bad}, 0);
    BOOST_TEST(message.find("--n") != std::string::npos, bad << ": " << message);
    BOOST_TEST(message.find("not a whole number") != std::string::npos, bad << ": " << message);
  }
  BOOST_TEST(parse_error({"--n", "99999999999999999999"}, 0).find("too large") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(whole_number_enforces_the_minimum) {
  const std::string message = parse_error({"--n", "0"}, 1);
  BOOST_TEST(message.find("--n") != std::string::npos, message);
  BOOST_TEST(message.find("at least 1") != std::string::npos, message);
  BOOST_TEST(parse_error({"--n", "1"}, 1) == "");
}

BOOST_AUTO_TEST_SUITE_END()
