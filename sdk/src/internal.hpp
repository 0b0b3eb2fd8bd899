// Helpers shared by the SDK's own sources; not part of the public SDK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bdp::detail {

// `text` for an error message: control characters, backslashes and single
// quotes escaped; cut after `max_chars` characters with "...".
inline std::string escape_for_message(std::string_view text, std::size_t max_chars = 160) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() < max_chars ? text.size() + 8 : max_chars + 8);
  std::size_t shown = 0;
  for (char ch : text) {
    if (shown == max_chars) {
      out += "...";
      break;
    }
    ++shown;
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  return out;
}

// Longest output of format_timestamp_to.
inline constexpr std::size_t kMaxTimestampChars = 40;

// Writes format_timestamp(micros) to `out` (at least kMaxTimestampChars
// bytes) and returns its length.
std::size_t format_timestamp_to(char* out, std::int64_t micros) noexcept;

}  // namespace bdp::detail
