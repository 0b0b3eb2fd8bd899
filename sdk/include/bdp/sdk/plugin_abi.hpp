// The binary contract between the host and a plugin library.
//
// A plugin exports two symbols (see plugin.hpp for the macro that does it):
//   bdp_plugin_descriptor  -> DescriptorFn: returns static, plain data
//   bdp_plugin_create      -> FactoryFn: creates a Backend or a Processor
// The host reads and checks the descriptor before calling anything else:
// the SDK ABI major must equal the host's, the plugin's minor must not be
// newer than the host's, the kind must be the one asked for, and the C++ ABI
// and standard library must match. Neither function lets an exception out:
// the factory reports failure as an ErrorCode and a message.
//
// ABI policy: the first three fields of PluginDescriptor never move. Adding
// fields at the end, or adding virtual functions at the end of an interface,
// bumps the minor; anything else bumps the major.
#pragma once

#include <bdp/sdk/error.hpp>

#include <boost/json/fwd.hpp>
#include <boost/version.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace bdp {

class Backend;
class Processor;

inline constexpr std::uint32_t kSdkAbiMajor = 2;
inline constexpr std::uint32_t kSdkAbiMinor = 0;

#define BDP_DETAIL_STR2(x) #x
#define BDP_DETAIL_STR(x) BDP_DETAIL_STR2(x)

// Identity of the compiler and standard library a translation unit is
// built with. Expanded in the plugin when its descriptor is compiled, and in
// the host, so the two can be compared.
#if defined(__clang__)
#define BDP_COMPILER_ID \
  "clang " BDP_DETAIL_STR(__clang_major__) "." BDP_DETAIL_STR(__clang_minor__) " itanium"
#elif defined(__GNUC__)
#define BDP_COMPILER_ID \
  "gcc " BDP_DETAIL_STR(__GNUC__) "." BDP_DETAIL_STR(__GNUC_MINOR__) " itanium"
#elif defined(_MSC_VER)
#define BDP_COMPILER_ID "msvc " BDP_DETAIL_STR(_MSC_VER) " msvc"
#else
#define BDP_COMPILER_ID "unknown unknown"
#endif

#if defined(_LIBCPP_VERSION)
#define BDP_STDLIB_ID "libc++ " BDP_DETAIL_STR(_LIBCPP_VERSION)
#elif defined(_GLIBCXX_RELEASE)
#define BDP_STDLIB_ID "libstdc++ " BDP_DETAIL_STR(_GLIBCXX_RELEASE)
#elif defined(_MSVC_STL_VERSION)
#define BDP_STDLIB_ID "msvcstl " BDP_DETAIL_STR(_MSVC_STL_VERSION)
#else
#define BDP_STDLIB_ID "unknown 0"
#endif

// The libstdc++ dual-ABI setting of a build (std::string and std::list
// differ between the two): 1 for the C++11 ABI, 0 for the old one, 2 when the
// standard library is not libstdc++.
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define BDP_CXX11_ABI_ID (_GLIBCXX_USE_CXX11_ABI ? 1u : 0u)
#else
#define BDP_CXX11_ABI_ID 2u
#endif

enum class PluginKind : std::uint32_t { backend = 1, processor = 2 };

// "backend" / "processor" / "unknown".
BDP_SDK_API std::string_view to_string(PluginKind kind) noexcept;

struct PluginDescriptor {
  // Frozen forever: the host reads these before trusting anything else.
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  std::uint32_t struct_size;  // sizeof(PluginDescriptor) in the plugin's SDK
  // ABI 1.0:
  PluginKind kind;
  const char* name;               // "csv": the library file is bdp_<name> (libbdp_csv.so)
  const char* version;            // the plugin's own version, "1.2.0"
  const char* description;        // one line
  const char* compiler;           // BDP_COMPILER_ID of the plugin's build
  const char* stdlib;             // BDP_STDLIB_ID of the plugin's build
  const char* const* processors;  // processor plugins: names, null-terminated; else nullptr
  // ABI 2.0:
  std::uint32_t boost_version;  // BOOST_VERSION of the plugin's build (Boost.JSON values cross)
  std::uint32_t cxx11_abi;      // BDP_CXX11_ABI_ID of the plugin's build
  // Fields added in a later minor go here, after a comment naming it; the
  // host reads one only when the plugin's abi_minor and struct_size cover it.
};

// The size of the descriptor as ABI 2.0 laid it out. A host refuses a
// smaller descriptor; later minors append fields, so sizeof(PluginDescriptor)
// grows while this stays: plugins built for an older minor keep loading.
inline constexpr std::uint32_t kPluginDescriptorSize2_0 =
    static_cast<std::uint32_t>(offsetof(PluginDescriptor, cxx11_abi) + sizeof(std::uint32_t));
static_assert(kPluginDescriptorSize2_0 <= sizeof(PluginDescriptor));

// What the host asks the factory to create.
struct CreateRequest {
  PluginKind kind;
  // Processor name for processor plugins; the backend instance name (the
  // key under "backends") for backend plugins.
  std::string_view name;
  // The backend's configuration block; an empty object for processors.
  const boost::json::object* config;
  // Folder that relative paths in `config` are resolved against.
  std::filesystem::path base_dir;
  // Backends only: open an existing store for reading. The backend creates
  // nothing (no folder, file, schema, lock file) and writes nothing; a store
  // that does not exist is bdp::Error(not_found) "no store at LOCATION", and
  // store(), remove(), save_process() and remove_process() throw
  // bdp::Error(invalid_argument). It must work on files the user cannot
  // write (a read-only copy, another user's store).
  bool read_only = false;
};

// What the factory hands back: exactly one of backend/processor on success,
// or a code other than ok and a message.
struct CreateResult {
  ErrorCode code = ErrorCode::ok;
  std::string message;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Processor> processor;
};

using DescriptorFn = const PluginDescriptor*() noexcept;
using FactoryFn = void(const CreateRequest& request, CreateResult& result) noexcept;

inline constexpr const char* kDescriptorSymbol = "bdp_plugin_descriptor";
inline constexpr const char* kFactorySymbol = "bdp_plugin_create";

}  // namespace bdp
