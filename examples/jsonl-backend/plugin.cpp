// Entry points of the jsonl backend plugin: what bdp reads (the descriptor)
// and calls (the factory) when a project names {"plugin": "jsonl"}.
#include <bdp/sdk/plugin.hpp>

#include "backend.hpp"

#include <memory>

namespace {

const bdp::PluginDescriptor* describe() noexcept {
  // The name must match the library's file name: libbdp_jsonl.so.
  static const bdp::PluginDescriptor descriptor =
      BDP_PLUGIN_DESCRIPTOR(bdp::PluginKind::backend, "jsonl", "1.0.0",
                            "Keeps records as JSON Lines files in a folder", nullptr);
  return &descriptor;
}

void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
  // plugin_guard turns any exception into result.code and result.message:
  // nothing may be thrown across the plugin boundary.
  bdp::plugin_guard(result, [&] {
    // request.read_only: bdp only reads (bdp ps, ls, show...); create nothing.
    result.backend = std::make_unique<jsonl::JsonlBackend>(request.name, *request.config,
                                                           request.base_dir, request.read_only);
  });
}

}  // namespace

BDP_PLUGIN(describe, create)
