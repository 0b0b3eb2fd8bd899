#include <bdp/plugin_host.hpp>

#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/processor.hpp>

#include "log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/json/object.hpp>
#include <boost/version.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

namespace bdp {
namespace fs = std::filesystem;

namespace detail {
std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(name)) return existing;
  // One stderr sink for every core logger: spdlog's default logger writes to
  // stdout, which belongs to the application (bdp run --json prints there).
  static const auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto created = std::make_shared<spdlog::logger>(name, sink);
  created->set_level(spdlog::get_level());
  spdlog::register_logger(created);
  return created;
}
}  // namespace detail

namespace {

// A library that passed its checks, with its descriptor copied out.
struct Loaded {
  boost::dll::shared_library library;
  PluginInfo info;
  FactoryFn* factory = nullptr;
};

// "gcc 12.2 itanium" -> "itanium"; "libstdc++ 12" -> {"libstdc++", 12}.
std::string last_word(std::string_view text) {
  auto pos = text.rfind(' ');
  return std::string(pos == std::string_view::npos ? text : text.substr(pos + 1));
}
std::pair<std::string, long> split_stdlib(std::string_view text) {
  auto pos = text.find(' ');
  if (pos == std::string_view::npos) return {std::string(text), 0};
  return {std::string(text.substr(0, pos)),
          std::strtol(std::string(text.substr(pos + 1)).c_str(), nullptr, 10)};
}

std::string safe_string(const char* text) {
  return text ? std::string(text) : std::string();
}

bool is_plugin_file_name(const std::string& file, std::string* name) {
  std::string_view view(file);
  if (view.starts_with("lib")) view.remove_prefix(3);
  if (!view.starts_with("bdp_") || !view.ends_with(".so")) return false;
  view.remove_prefix(4);
  view.remove_suffix(3);
  if (view.empty()) return false;
  for (char c : view) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  if (name) *name = std::string(view);
  return true;
}

// 108100 -> "1.81.0".
std::string boost_version_text(std::uint32_t v) {
  return std::to_string(v / 100000) + "." + std::to_string(v / 100 % 1000) + "." +
         std::to_string(v % 100);
}

std::string cxx11_abi_text(std::uint32_t abi) {
  switch (abi) {
    case 0:
      return "the old libstdc++ ABI (_GLIBCXX_USE_CXX11_ABI=0)";
    case 1:
      return "the C++11 libstdc++ ABI (_GLIBCXX_USE_CXX11_ABI=1)";
    case 2:
      return "a standard library other than libstdc++";
  }
  return "an unknown standard-library ABI setting " + std::to_string(abi);
}

[[noreturn]] void refuse(const fs::path& file, const std::string& why) {
  throw Error(ErrorCode::plugin, "plugin " + file.string() + " refused: " + why);
}

}  // namespace

// The process-wide plugin registry, the one piece of global mutable state:
// every library that passed its checks, by absolute path. Libraries are
// never unloaded: objects, tables and shared-pointer control blocks made by
// plugin code may live anywhere in the process, for as long as it runs. The
// registry is deliberately never destroyed, so nothing is unloaded at static
// destruction either.
struct Registry {
  std::mutex mutex;
  std::map<fs::path, std::shared_ptr<Loaded>> loaded;
};
Registry& registry() {
  static Registry* instance = new Registry;  // never deleted, on purpose
  return *instance;
}

struct PluginHost::Impl {
  std::vector<fs::path> search_paths;
  // What discover() found, once per host: each call would open every
  // library on every search path again.
  std::mutex discovered_mutex;
  std::optional<std::vector<PluginInfo>> discovered;
  std::vector<std::string> discover_problems;

  std::shared_ptr<Loaded> load(const fs::path& requested);
  std::vector<fs::path> candidates(std::string_view plugin) const;
};

std::shared_ptr<Loaded> PluginHost::Impl::load(const fs::path& requested) {
  std::error_code ec;
  fs::path file = fs::absolute(requested, ec);
  if (ec) file = requested;
  Registry& reg = registry();
  {
    std::lock_guard lock(reg.mutex);
    if (auto it = reg.loaded.find(file); it != reg.loaded.end()) return it->second;
  }
  if (!fs::exists(file, ec)) {
    throw Error(ErrorCode::not_found, "plugin file " + file.string() + " does not exist");
  }

  auto entry = std::make_shared<Loaded>();
  try {
    // rtld_now: a plugin with a missing symbol fails here, not in the middle of a run.
    entry->library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::system_error& e) {
    refuse(file, std::string("not a loadable shared library (") + e.what() + ")");
  }
  if (!entry->library.has(kDescriptorSymbol)) {
    refuse(file, std::string("it exports no '") + kDescriptorSymbol +
                     "' (is it a bdp plugin? plugins export it with BDP_PLUGIN)");
  }
  DescriptorFn& describe = entry->library.get_alias<DescriptorFn>(kDescriptorSymbol);
  const PluginDescriptor* d = describe();
  if (d == nullptr) refuse(file, "its descriptor function returned nothing");

  // Only the three frozen fields may be read before these checks pass.
  if (d->abi_major != kSdkAbiMajor) {
    refuse(file, "built for SDK ABI " + std::to_string(d->abi_major) + "." +
                     std::to_string(d->abi_minor) + ", expected ABI major " +
                     std::to_string(kSdkAbiMajor) + " (this host provides " +
                     std::to_string(kSdkAbiMajor) + "." + std::to_string(kSdkAbiMinor) +
                     "); rebuild the plugin against this SDK");
  }
  if (d->abi_minor > kSdkAbiMinor) {
    refuse(file, "built for SDK ABI " + std::to_string(d->abi_major) + "." +
                     std::to_string(d->abi_minor) + ", newer than this host's " +
                     std::to_string(kSdkAbiMajor) + "." + std::to_string(kSdkAbiMinor) +
                     "; upgrade bdp or rebuild the plugin against this SDK");
  }
  // The 2.0 layout, not this host's sizeof: a plugin built for an older
  // minor has a shorter descriptor, and fields that minors append are read
  // only when its abi_minor and struct_size cover them.
  if (d->struct_size < kPluginDescriptorSize2_0) {
    refuse(file, "descriptor is " + std::to_string(d->struct_size) + " bytes, expected at least " +
                     std::to_string(kPluginDescriptorSize2_0) + " (the ABI " +
                     std::to_string(kSdkAbiMajor) + ".0 layout)");
  }

  PluginInfo& info = entry->info;
  info.file = file;
  info.abi_major = d->abi_major;
  info.abi_minor = d->abi_minor;
  info.kind = d->kind;
  info.name = safe_string(d->name);
  info.version = safe_string(d->version);
  info.description = safe_string(d->description);
  info.compiler = safe_string(d->compiler);
  info.stdlib = safe_string(d->stdlib);
  info.boost_version = d->boost_version;
  info.cxx11_abi = d->cxx11_abi;
  for (auto p = d->processors; p && *p; ++p) info.processors.emplace_back(*p);

  if (d->kind != PluginKind::backend && d->kind != PluginKind::processor) {
    refuse(file, "unknown plugin kind " + std::to_string(static_cast<std::uint32_t>(d->kind)) +
                     ", expected backend or processor");
  }
  const std::string host_abi = last_word(BDP_COMPILER_ID);
  if (last_word(info.compiler) != host_abi) {
    refuse(file, "compiled by '" + info.compiler + "' (C++ ABI " + last_word(info.compiler) +
                     "), expected the " + host_abi +
                     " C++ ABI of this host ('" BDP_COMPILER_ID "')");
  }
  auto [plugin_lib, plugin_rel] = split_stdlib(info.stdlib);
  auto [host_lib, host_rel] = split_stdlib(BDP_STDLIB_ID);
  if (plugin_lib != host_lib || plugin_rel > host_rel) {
    refuse(file, "built with standard library '" + info.stdlib +
                     "', expected '" BDP_STDLIB_ID "' or an older release of it");
  }
  // Boost.JSON values and std types cross the boundary: the same Boost
  // release and the same libstdc++ dual-ABI setting, or nothing fits.
  if (info.boost_version != BOOST_VERSION) {
    refuse(file, "built with Boost " + boost_version_text(info.boost_version) +
                     ", expected Boost " + boost_version_text(BOOST_VERSION) +
                     " as this host uses (Boost.JSON values cross the plugin boundary); rebuild "
                     "the plugin against this bdp's Boost");
  }
  if (info.cxx11_abi != BDP_CXX11_ABI_ID) {
    refuse(file, "built with " + cxx11_abi_text(info.cxx11_abi) + ", expected " +
                     cxx11_abi_text(BDP_CXX11_ABI_ID) +
                     " as this host uses; rebuild the plugin with the same _GLIBCXX_USE_CXX11_ABI");
  }
  std::string expected_name;
  if (is_plugin_file_name(file.filename().string(), &expected_name) && expected_name != info.name) {
    refuse(file, "its descriptor names it '" + info.name + "', expected '" + expected_name +
                     "' from its file name");
  }
  if (!entry->library.has(kFactorySymbol)) {
    refuse(file, std::string("it exports no '") + kFactorySymbol + "' factory");
  }
  entry->factory = &entry->library.get_alias<FactoryFn>(kFactorySymbol);

  detail::logger("bdp.plugins")
      ->debug("loaded {} plugin '{}' {} from {}", to_string(info.kind), info.name, info.version,
              file.string());
  std::lock_guard lock(reg.mutex);
  auto [it, inserted] = reg.loaded.emplace(file, entry);
  return it->second;
}

std::vector<fs::path> PluginHost::Impl::candidates(std::string_view plugin) const {
  std::vector<fs::path> out;
  for (const auto& dir : search_paths) {
    out.push_back(dir / ("libbdp_" + std::string(plugin) + ".so"));
    out.push_back(dir / ("bdp_" + std::string(plugin) + ".so"));
  }
  return out;
}

PluginHost::PluginHost(std::vector<fs::path> config_paths) : impl_(std::make_unique<Impl>()) {
  for (auto& p : config_paths) impl_->search_paths.push_back(std::move(p));
  if (const char* env = std::getenv("BDP_PLUGIN_PATH")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      auto colon = rest.find(':');
      auto part = rest.substr(0, colon);
      if (!part.empty()) impl_->search_paths.emplace_back(std::string(part));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  impl_->search_paths.push_back(default_plugin_dir());
}

PluginHost::~PluginHost() = default;

const std::vector<fs::path>& PluginHost::search_paths() const noexcept {
  return impl_->search_paths;
}

fs::path PluginHost::default_plugin_dir() {
  return boost::dll::this_line_location().parent_path() / "bdp" / "plugins";
}

PluginInfo PluginHost::inspect(const fs::path& file) {
  return impl_->load(file)->info;
}

std::vector<PluginInfo> PluginHost::discover(std::vector<std::string>* problems) {
  std::lock_guard lock(impl_->discovered_mutex);
  if (!impl_->discovered) {
    impl_->discovered = scan(impl_->discover_problems);
  }
  if (problems) {
    problems->insert(problems->end(), impl_->discover_problems.begin(),
                     impl_->discover_problems.end());
  }
  return *impl_->discovered;
}

std::vector<PluginInfo> PluginHost::scan(std::vector<std::string>& problems) {
  std::vector<PluginInfo> found;
  std::set<std::string> seen;
  for (const auto& dir : impl_->search_paths) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name;
      if (is_plugin_file_name(entry.path().filename().string(), &name))
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::string name;
      is_plugin_file_name(file.filename().string(), &name);
      if (seen.count(name)) continue;
      try {
        found.push_back(impl_->load(file)->info);
        seen.insert(name);
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  return found;
}

PluginInfo PluginHost::find(std::string_view plugin, PluginKind kind) {
  bool valid = !plugin.empty() && std::all_of(plugin.begin(), plugin.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  if (!valid) {
    throw Error(
        ErrorCode::invalid_argument,
        "plugin name '" + std::string(plugin) + "' is not valid: use letters, digits and '_' only");
  }
  auto paths = impl_->candidates(plugin);
  for (const auto& file : paths) {
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    PluginInfo info = impl_->load(file)->info;
    if (info.kind != kind) {
      refuse(file, "it is a " + std::string(to_string(info.kind)) + " plugin, expected a " +
                       std::string(to_string(kind)) + " plugin");
    }
    return info;
  }
  std::ostringstream tried;
  for (std::size_t i = 0; i < paths.size(); ++i) tried << (i ? ", " : "") << paths[i].string();
  throw Error(ErrorCode::not_found, std::string(to_string(kind)) + " plugin '" +
                                        std::string(plugin) + "' not found; tried: " + tried.str() +
                                        " (add its folder to plugin_paths or BDP_PLUGIN_PATH)");
}

namespace {
// Calls the factory and hands back what it made. (The library stays loaded
// for the life of the process, see Registry.)
template <class T>
std::shared_ptr<T> create_from(const std::shared_ptr<Loaded>& lib, const CreateRequest& request,
                               std::unique_ptr<T> CreateResult::*member) {
  CreateResult result;
  (*lib->factory)(request, result);
  const std::string what = std::string(to_string(request.kind)) + " '" + std::string(request.name) +
                           "' from plugin " + lib->info.file.string();
  if (result.code != ErrorCode::ok) {
    // A read-only open of a store that is not there is not a failure of the
    // plugin: the backend's "no store at LOCATION" is the whole message.
    if (request.read_only && result.code == ErrorCode::not_found) {
      throw Error(ErrorCode::not_found, result.message);
    }
    throw Error(result.code == ErrorCode::internal ? ErrorCode::plugin : result.code,
                "cannot create " + what + ": " + result.message);
  }
  std::unique_ptr<T> object = std::move(result.*member);
  if (!object)
    throw Error(ErrorCode::plugin, "cannot create " + what + ": the factory made nothing");
  return std::shared_ptr<T>(std::move(object));
}
}  // namespace

std::shared_ptr<Backend> PluginHost::create_backend(std::string_view plugin,
                                                    std::string_view instance,
                                                    const boost::json::object& settings,
                                                    const fs::path& base_dir, bool read_only) {
  PluginInfo info = find(plugin, PluginKind::backend);
  auto lib = impl_->load(info.file);
  CreateRequest request{PluginKind::backend, instance, &settings, base_dir, read_only};
  return create_from<Backend>(lib, request, &CreateResult::backend);
}

std::shared_ptr<Processor> PluginHost::create_processor(std::string_view processor) {
  std::vector<std::string> problems;
  for (const auto& info : discover(&problems)) {
    if (info.kind != PluginKind::processor) continue;
    if (std::find(info.processors.begin(), info.processors.end(), processor) ==
        info.processors.end()) {
      continue;
    }
    static const boost::json::object kNoSettings;
    CreateRequest request{PluginKind::processor, processor, &kNoSettings, fs::path()};
    return create_from<Processor>(impl_->load(info.file), request, &CreateResult::processor);
  }
  auto names = processor_names();
  std::string available;
  for (const auto& n : names) available += (available.empty() ? "" : ", ") + n;
  throw Error(ErrorCode::not_found,
              "unknown processor '" + std::string(processor) +
                  "' (available: " + (available.empty() ? "none found" : available) + ")");
}

std::vector<std::string> PluginHost::processor_names() {
  std::set<std::string> names;
  for (const auto& info : discover()) {
    if (info.kind == PluginKind::processor)
      names.insert(info.processors.begin(), info.processors.end());
  }
  return {names.begin(), names.end()};
}

}  // namespace bdp
