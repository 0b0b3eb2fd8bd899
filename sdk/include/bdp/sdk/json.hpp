// JSON helpers shared by the host, plugins and tools.
#pragma once

#include <bdp/sdk/export.hpp>

#include <boost/json/fwd.hpp>

#include <string>

namespace bdp {

// `value` as indented JSON (two spaces), keys in their stored order, ending
// without a newline. Numbers and strings are written exactly as
// boost::json::serialize writes them.
BDP_SDK_API std::string to_pretty_json(const boost::json::value& value);

}  // namespace bdp
