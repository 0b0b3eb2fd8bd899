// Force-included (-include) into a second compilation of the core's
// core/src/plugin_host.cpp, for test_abi_minor only: every use of
// kSdkAbiMinor in that file - the descriptor check and its messages - reads
// kSdkAbiMinor + 1, as if this were the host of the next minor release of
// the SDK. The fixture plugins keep the SDK's real version, so they are
// plugins built for an older minor, never rebuilt after bdp was upgraded.
// The real ABI version is untouched; the checks under test are the core's
// own code, not a copy.
#pragma once

#include <bdp/sdk/plugin_abi.hpp>

#include <cstdint>

namespace bdp {
inline constexpr std::uint32_t kHostAbiMinorOneAhead = kSdkAbiMinor + 1;
}  // namespace bdp

#define kSdkAbiMinor kHostAbiMinorOneAhead
