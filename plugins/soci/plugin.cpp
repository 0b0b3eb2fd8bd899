// Entry points of the soci backend plugin.
#include <bdp/sdk/plugin.hpp>

#include "backend.hpp"

namespace {

const bdp::PluginDescriptor* describe() noexcept {
  static const bdp::PluginDescriptor descriptor = BDP_PLUGIN_DESCRIPTOR(
      bdp::PluginKind::backend, "soci", "0.1.0",
      "Keeps records in SQLite (embedded) or PostgreSQL (shared) through SOCI", nullptr);
  return &descriptor;
}

void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
  bdp::plugin_guard(result, [&] {
    result.backend = std::make_unique<bdp::socidb::SociBackend>(
        request.name, *request.config, request.base_dir, request.read_only);
  });
}

}  // namespace

BDP_PLUGIN(describe, create)
