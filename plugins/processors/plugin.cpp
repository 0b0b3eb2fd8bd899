// Entry point of the bdp_processors plugin: the descriptor and the factory
// of the built-in processors used by config-driven runs.
#include <bdp/sdk/plugin.hpp>

#include "processors.hpp"

#include <array>
#include <string>

namespace {

struct Entry {
  const char* name;
  std::unique_ptr<bdp::Processor> (*make)();
};

constexpr std::array<Entry, 6> kProcessors{{
    {"read_csv", &bdp::processors::make_read_csv},
    {"generate", &bdp::processors::make_generate},
    {"filter", &bdp::processors::make_filter},
    {"select", &bdp::processors::make_select},
    {"aggregate", &bdp::processors::make_aggregate},
    {"sort", &bdp::processors::make_sort},
}};

constexpr std::array<const char*, kProcessors.size() + 1> kNames{
    "read_csv", "generate", "filter", "select", "aggregate", "sort", nullptr};

const bdp::PluginDescriptor* describe() noexcept {
  static const bdp::PluginDescriptor descriptor = BDP_PLUGIN_DESCRIPTOR(
      bdp::PluginKind::processor, "processors", "0.1.0",
      "Built-in stages: read_csv, generate, filter, select, aggregate, sort", kNames.data());
  return &descriptor;
}

void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
  bdp::plugin_guard(result, [&] {
    if (request.kind != bdp::PluginKind::processor) {
      throw bdp::Error(bdp::ErrorCode::plugin,
                       "plugin 'processors' provides processors only, not a " +
                           std::string(bdp::to_string(request.kind)));
    }
    std::string names;
    for (const Entry& entry : kProcessors) {
      if (request.name == entry.name) {
        result.processor = entry.make();
        return;
      }
      if (!names.empty()) names += ", ";
      names += entry.name;
    }
    throw bdp::Error(bdp::ErrorCode::not_found, "plugin 'processors' has no processor '" +
                                                    std::string(request.name) +
                                                    "'; it provides: " + names);
  });
}

}  // namespace

BDP_PLUGIN(describe, create)
