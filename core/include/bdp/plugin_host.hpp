// The PluginHost finds, checks and loads plugin libraries, and creates
// backends and processors from them.
//
// Search order for a plugin called NAME (library file libbdp_NAME.so or
// bdp_NAME.so): the paths given to the constructor (config "plugin_paths"),
// then each entry of $BDP_PLUGIN_PATH (colon-separated), then the install's
// plugin folder next to the core library (<libdir>/bdp/plugins). A library's
// descriptor is read and checked before anything in it is called; a refusal
// names the file, what was expected and what was found. A library, once
// loaded, stays loaded for the life of the process: objects and data made by
// plugin code may outlive any host. Hosts share the loaded libraries.
//
// Thread-safety: all methods may be called from several threads at once.
#pragma once

#include <bdp/export.hpp>
#include <bdp/sdk/plugin_abi.hpp>

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bdp {

class Backend;
class Processor;

// A plugin's descriptor, copied out of its library.
struct PluginInfo {
  std::filesystem::path file;
  std::string name;
  PluginKind kind = PluginKind::backend;
  std::string version;
  std::string description;
  std::string compiler;
  std::string stdlib;
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::uint32_t boost_version = 0;  // BOOST_VERSION, 108100 for 1.81.0
  std::uint32_t cxx11_abi = 0;      // BDP_CXX11_ABI_ID
  std::vector<std::string> processors;
};

class BDP_CORE_API PluginHost {
 public:
  explicit PluginHost(std::vector<std::filesystem::path> config_paths = {});
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // The folders searched, in order.
  const std::vector<std::filesystem::path>& search_paths() const noexcept;

  // The install's plugin folder: <folder of the core library>/bdp/plugins.
  static std::filesystem::path default_plugin_dir();

  // Loads `file` and checks its descriptor. Throws bdp::Error(plugin) naming
  // the file when it is not a loadable library, lacks the descriptor or
  // factory, or fails a check.
  PluginInfo inspect(const std::filesystem::path& file);

  // Every plugin library in the search folders, the first of each name
  // winning. Libraries that are refused are skipped; their messages are
  // appended to `problems` when given. The folders are scanned once per
  // host, on the first call; later calls (and create_processor) reuse what
  // it found.
  std::vector<PluginInfo> discover(std::vector<std::string>* problems = nullptr);

  // Finds and checks the plugin `plugin` of kind `kind`. Throws
  // bdp::Error(not_found) listing every path tried, or bdp::Error(plugin).
  PluginInfo find(std::string_view plugin, PluginKind kind);

  // Creates the backend instance `instance` (its name under "backends") from
  // plugin `plugin`, configured by `settings`, relative paths resolving
  // against `base_dir`. With `read_only` the backend opens an existing store
  // for reading only (CreateRequest::read_only): it creates and writes
  // nothing, and its store(), remove(), save_process() and remove_process()
  // throw bdp::Error(invalid_argument). A store that does not exist is then
  // bdp::Error(not_found) with the backend's own message ("no store at
  // LOCATION"); a plugin that cannot be found is bdp::Error(not_found) from
  // find(), checked first.
  std::shared_ptr<Backend> create_backend(std::string_view plugin, std::string_view instance,
                                          const boost::json::object& settings,
                                          const std::filesystem::path& base_dir,
                                          bool read_only = false);

  // Creates processor `processor` from the first processor plugin in the
  // search path that provides it. Throws bdp::Error(not_found) listing the
  // processors available.
  std::shared_ptr<Processor> create_processor(std::string_view processor);

  // Names of every processor the discovered plugins provide, sorted.
  std::vector<std::string> processor_names();

 private:
  std::vector<PluginInfo> scan(std::vector<std::string>& problems);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bdp
