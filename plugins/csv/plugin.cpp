// Entry points of the CSV backend plugin.
#include <bdp/sdk/plugin.hpp>

#include "backend.hpp"

namespace {

const bdp::PluginDescriptor* describe() noexcept {
  static const bdp::PluginDescriptor descriptor = BDP_PLUGIN_DESCRIPTOR(
      bdp::PluginKind::backend, "csv", "0.1.0",
      "Keeps records as plain CSV/JSON files with sidecars and a crash-safe index", nullptr);
  return &descriptor;
}

void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
  bdp::plugin_guard(result, [&] {
    result.backend = std::make_unique<bdp::csv_backend::CsvBackend>(
        request.name, *request.config, request.base_dir, request.read_only);
  });
}

}  // namespace

BDP_PLUGIN(describe, create)
