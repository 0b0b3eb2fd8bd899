// bdp::Error and the names of error codes.
#include <bdp/sdk/error.hpp>

#include <string>

namespace bdp {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::config:
      return "config";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::io:
      return "io";
    case ErrorCode::corrupt:
      return "corrupt";
    case ErrorCode::budget_exceeded:
      return "budget_exceeded";
    case ErrorCode::plugin:
      return "plugin";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::internal:
      return "internal";
  }
  return "unknown";
}

namespace {

// what() is read as a C string: a NUL byte in a name or key would cut the
// message short there, so it is shown as \x00 instead.
std::string printable_message(const std::string& message) {
  if (message.find('\0') == std::string::npos) return message;
  std::string out;
  out.reserve(message.size() + 8);
  for (char c : message) {
    if (c == '\0') {
      out += "\\x00";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(printable_message(message)), code_(code) {}

Error::~Error() = default;

}  // namespace bdp
