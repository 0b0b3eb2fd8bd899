// Everything a plugin library needs to export itself. Include this in one
// source file of a plugin (its plugin.cpp) and write:
//
//   const bdp::PluginDescriptor* describe() noexcept {
//     static const bdp::PluginDescriptor d = BDP_PLUGIN_DESCRIPTOR(
//         bdp::PluginKind::backend, "memory", "1.0.0", "Keeps records in memory", nullptr);
//     return &d;
//   }
//   void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
//     bdp::plugin_guard(result, [&] { result.backend = std::make_unique<MyBackend>(request); });
//   }
//   BDP_PLUGIN(describe, create)
#pragma once

#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/plugin_abi.hpp>
#include <bdp/sdk/processor.hpp>

#include <boost/dll/alias.hpp>

#include <exception>

// A PluginDescriptor initialiser for this build of the plugin.
#define BDP_PLUGIN_DESCRIPTOR(kind, name, version, description, processors)                    \
  ::bdp::PluginDescriptor {                                                                    \
    ::bdp::kSdkAbiMajor, ::bdp::kSdkAbiMinor, sizeof(::bdp::PluginDescriptor), (kind), (name), \
        (version), (description), BDP_COMPILER_ID, BDP_STDLIB_ID, (processors), BOOST_VERSION, \
        BDP_CXX11_ABI_ID                                                                       \
  }

// Exports the descriptor and factory functions under the names the host
// looks for. Use once per plugin library, at namespace scope.
#define BDP_PLUGIN(descriptor_fn, factory_fn)           \
  BOOST_DLL_ALIAS(descriptor_fn, bdp_plugin_descriptor) \
  BOOST_DLL_ALIAS(factory_fn, bdp_plugin_create)

namespace bdp {

// Runs `body` and turns any exception into result.code/result.message, so
// that nothing is thrown across the plugin boundary.
template <class Body>
void plugin_guard(CreateResult& result, Body&& body) noexcept {
  try {
    body();
  } catch (const Error& e) {
    result.code = e.code();
    result.message = e.what();
  } catch (const std::exception& e) {
    result.code = ErrorCode::plugin;
    result.message = e.what();
  } catch (...) {
    result.code = ErrorCode::plugin;
    result.message = "unknown exception thrown by the plugin's factory";
  }
  if (result.code != ErrorCode::ok) {
    result.backend.reset();
    result.processor.reset();
  }
}

}  // namespace bdp
