// The CLI's shared helpers: terminal_text, which every human-readable
// printer of stored text goes through.
#include "cli_common.hpp"

#include <boost/test/unit_test.hpp>

#include <initializer_list>
#include <string>

using bdp::cli::terminal_text;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
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

BOOST_AUTO_TEST_SUITE_END()
