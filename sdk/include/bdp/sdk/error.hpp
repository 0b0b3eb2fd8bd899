// bdp::Error is the one exception type of the project. Every failure that a
// caller can act on is reported as a bdp::Error carrying an ErrorCode and a
// one-line message that names the thing at fault (file, key path, stage,
// process) and, where there is one, what to do about it.
//
// Across the plugin boundary (descriptor and factory functions) errors travel
// as an ErrorCode plus message instead; see plugin.hpp.
#pragma once

#include <bdp/sdk/export.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace bdp {

// Stable numeric values: they cross the plugin boundary and map onto CLI exit
// codes, so existing values never change meaning.
enum class ErrorCode : int {
  ok = 0,
  invalid_argument = 1,  // a caller passed something malformed (bad name, bad value)
  config = 2,            // configuration is malformed, unknown key, wrong type
  not_found = 3,         // a stage, record, process, file or plugin does not exist
  io = 4,                // the operating system refused a read or write
  corrupt = 5,           // stored data failed a checksum, row-count or format check
  budget_exceeded = 6,   // a memory budget would be exceeded
  plugin = 7,            // a plugin could not be loaded, was refused, or failed to create
  unsupported = 8,       // the operation is valid but not available with this setup
  internal = 9,          // a bug: an invariant did not hold
};

// Short lowercase name of a code ("config", "not_found", ...).
BDP_SDK_API std::string_view to_string(ErrorCode code) noexcept;

class BDP_SDK_API Error : public std::runtime_error {
 public:
  // what() is `message` with any NUL byte shown as \x00, so that printing
  // it as a C string shows all of it.
  Error(ErrorCode code, const std::string& message);
  ~Error() override;

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace bdp
