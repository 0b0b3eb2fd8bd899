// Entry points of the memory backend plugin.
#include <bdp/sdk/plugin.hpp>

#include "backend.hpp"

namespace {

const bdp::PluginDescriptor* describe() noexcept {
  static const bdp::PluginDescriptor descriptor =
      BDP_PLUGIN_DESCRIPTOR(bdp::PluginKind::backend, "memory", "0.1.0",
                            "Keeps records in this process's memory, zero-copy", nullptr);
  return &descriptor;
}

void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
  bdp::plugin_guard(result, [&] {
    result.backend = std::make_unique<bdp::memory::MemoryBackend>(request.name, *request.config,
                                                                  request.read_only);
  });
}

}  // namespace

BDP_PLUGIN(describe, create)
