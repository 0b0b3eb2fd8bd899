// Internal: the core's named spdlog loggers ("bdp.core", "bdp.plugins", ...).
// They share spdlog's default sink (stderr) and the global level, which the
// CLI raises with --verbose; the library never writes to stdout.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace bdp::detail {

// The logger called `name`, created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

}  // namespace bdp::detail
