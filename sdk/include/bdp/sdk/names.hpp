// Validation of names that come from users (process ids, stage, entity and
// backend names). A valid name is 1..128 characters of letters, digits and
// "_-." that does not start with '.' or '-': safe as a path component, a
// file name and inside a SQL identifier after quoting.
#pragma once

#include <bdp/sdk/export.hpp>

#include <string_view>

namespace bdp {

// True when `name` is valid.
BDP_SDK_API bool is_valid_name(std::string_view name) noexcept;

// Throws bdp::Error(invalid_argument) naming `what` ("stage name") and the
// offending value when `name` is not valid. The value is shown safe for a
// terminal: control characters as \n or \xNN, invisible and bidirectional
// format characters as \uNNNN, bytes that are not UTF-8 as \xNN; printable
// characters, non-ASCII ones included, as they are.
BDP_SDK_API void validate_name(std::string_view what, std::string_view name);

}  // namespace bdp
