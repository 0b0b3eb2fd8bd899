// Out-of-line key functions of the SDK's interface classes, so that their
// vtables and type_info live once, in bdp_sdk, and are shared by the host
// and every plugin.
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/plugin_abi.hpp>
#include <bdp/sdk/processor.hpp>

namespace bdp {

Backend::~Backend() = default;

QuarantineReport Backend::quarantine(const QuarantineRequest&) {
  throw Error(ErrorCode::unsupported, "the backend at " + location() +
                                          " cannot quarantine damaged entries (its plugin does "
                                          "not implement Backend::quarantine)");
}
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
