// Keeping secrets out of messages and stored snapshots.
//
// Thread-safety: a pure function; safe from any thread.
#pragma once

#include <bdp/sdk/export.hpp>

#include <string>
#include <string_view>

namespace bdp {

// `connection` with every password replaced by "***": the value of a
// "password=" keyword (quoted or not, in a conninfo string or a URI query)
// and the password part of "scheme://user:password@host". Text without a
// password comes back unchanged.
BDP_SDK_API std::string redact_connection(std::string_view connection);

}  // namespace bdp
