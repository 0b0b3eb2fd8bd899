// Validation of user-supplied names.
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>

#include <cstdio>
#include <string>

namespace bdp {

namespace {

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxShownChars = 160;

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Code points a terminal does not show as themselves: C1 controls, soft
// hyphen, bidirectional and zero-width format characters, line and
// paragraph separators, BOM, interlinear annotations and tags.
bool is_invisible(char32_t c) noexcept {
  return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x61c || c == 0x180e ||
         (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
         (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
         (c >= 0xe0000 && c <= 0xe007f);
}

// The length of the well-formed UTF-8 sequence of a non-ASCII character at
// text[i], with its code point in `c`; 0 when the bytes there are not one.
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& c) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  std::size_t n = 0;
  if (byte(0) >= 0xc2 && byte(0) <= 0xdf) {
    n = 2;
    c = byte(0) & 0x1fu;
  } else if (byte(0) >= 0xe0 && byte(0) <= 0xef) {
    n = 3;
    c = byte(0) & 0x0fu;
  } else if (byte(0) >= 0xf0 && byte(0) <= 0xf4) {
    n = 4;
    c = byte(0) & 0x07u;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
    c = (c << 6) | (byte(k) & 0x3fu);
  }
  const bool overlong = (n == 3 && c < 0x800) || (n == 4 && c < 0x10000);
  if (overlong || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
  return n;
}

// `name` for an error message, safe to print on a terminal: backslash and
// quote escaped, control characters as \n, \r, \t or \xNN, invisible code
// points as \uNNNN, bytes that are not UTF-8 as \xNN; printable characters
// (é, 日本) as they are. Cut after kMaxShownChars characters with "...".
std::string shown(std::string_view name) {
  std::string out;
  char buf[16];
  std::size_t chars = 0;
  for (std::size_t i = 0; i < name.size(); ++chars) {
    if (chars == kMaxShownChars) {
      out += "...";
      break;
    }
    const auto b = static_cast<unsigned char>(name[i]);
    if (b < 0x80) {
      switch (b) {
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
          if (b < 0x20 || b == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", b);
            out += buf;
          } else {
            out += static_cast<char>(b);
          }
      }
      ++i;
      continue;
    }
    char32_t c = 0;
    const std::size_t n = utf8_sequence(name, i, c);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      out += buf;
      ++i;
    } else if (is_invisible(c)) {
      std::snprintf(buf, sizeof buf, c > 0xffff ? "\\U%08x" : "\\u%04x", static_cast<unsigned>(c));
      out += buf;
      i += n;
    } else {
      out.append(name.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (name.front() == '.' || name.front() == '-') return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

void validate_name(std::string_view what, std::string_view name) {
  if (is_valid_name(name)) return;
  std::string message;
  message.reserve(what.size() + name.size() + 128);
  message += what;
  message += " '";
  message += shown(name);
  message +=
      "' is not valid: use 1-128 letters, digits, '_', '-', '.'; it may not start with '.' or "
      "'-'";
  throw Error(ErrorCode::invalid_argument, message);
}

}  // namespace bdp
