// Timestamps: microseconds since 1970-01-01T00:00:00Z (UTC), as int64.
#pragma once

#include <bdp/sdk/export.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bdp {

// The current time, in microseconds since the epoch.
BDP_SDK_API std::int64_t now_micros() noexcept;

// ISO 8601 in UTC: "2024-03-01T12:00:00Z", with ".ffffff" when the
// microseconds are not zero.
BDP_SDK_API std::string format_timestamp(std::int64_t micros);

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM]" (a
// space may stand for 'T'). A time without a zone is taken as UTC. nullopt
// for anything else.
BDP_SDK_API std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept;

}  // namespace bdp
