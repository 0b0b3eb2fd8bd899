// Out-of-line key functions of the SDK's interface classes, so that their
// vtables and type_info live once, in bdp_sdk, and are shared by the host
// and every plugin.
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/plugin_abi.hpp>
#include <bdp/sdk/processor.hpp>

namespace bdp {

Backend::~Backend() = default;
Processor::~Processor() = default;
ProcessorContext::~ProcessorContext() = default;

std::string_view to_string(PluginKind kind) noexcept {
  switch (kind) {
    case PluginKind::backend:
      return "backend";
    case PluginKind::processor:
      return "processor";
  }
  return "unknown";
}

}  // namespace bdp
