// Validation of user-supplied names.
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>

#include "internal.hpp"

#include <string>

namespace bdp {

namespace {

constexpr std::size_t kMaxNameLength = 128;

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
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
  message += detail::escape_for_message(name);
  message +=
      "' is not valid: use 1-128 letters, digits, '_', '-', '.'; it may not start with '.' or "
      "'-'";
  throw Error(ErrorCode::invalid_argument, message);
}

}  // namespace bdp
