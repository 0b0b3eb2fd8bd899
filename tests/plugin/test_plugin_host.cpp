// The plugin host against real plugin libraries: the build's own plugins and
// the fixture plugins that must be refused.
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/processor.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/object.hpp>
#include <boost/test/unit_test.hpp>
#include <boost/version.hpp>

#include <algorithm>
#include <cstdlib>

#include "test_support.hpp"

namespace fs = std::filesystem;
using bdp::ErrorCode;
using bdp::PluginHost;
using bdp::PluginKind;
using bdp::test::expect_error;

namespace {

const boost::json::object kNoSettings;

fs::path fixture(const std::string& name) {
  return bdp::test::fixture_plugin_dir() / ("libbdp_" + name + ".so");
}

bdp::TablePtr small_table() {
  bdp::TableBuilder builder({{"x", bdp::ColumnType::int64}});
  builder.append_row({std::int64_t{1}});
  builder.append_row({std::int64_t{2}});
  return builder.finish();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_host)

BOOST_AUTO_TEST_CASE(default_plugin_dir_is_next_to_the_core_library) {
  BOOST_TEST(fs::equivalent(PluginHost::default_plugin_dir(),
                            bdp::test::build_dir() / "lib" / "bdp" / "plugins"));
}

BOOST_AUTO_TEST_CASE(search_order_is_config_paths_then_env_then_install_dir) {
  ::setenv("BDP_PLUGIN_PATH", "/opt/a::/opt/b", 1);
  PluginHost host({"/from/config"});
  ::unsetenv("BDP_PLUGIN_PATH");
  const auto& paths = host.search_paths();
  BOOST_REQUIRE_EQUAL(paths.size(), 4u);
  BOOST_TEST(paths[0] == fs::path("/from/config"));
  BOOST_TEST(paths[1] == fs::path("/opt/a"));
  BOOST_TEST(paths[2] == fs::path("/opt/b"));
  BOOST_TEST(paths[3] == PluginHost::default_plugin_dir());
}

BOOST_AUTO_TEST_CASE(discovers_the_memory_backend_and_the_six_processors) {
  PluginHost host;
  std::vector<std::string> problems;
  auto found = host.discover(&problems);
  BOOST_TEST(problems.empty());
  auto memory = std::find_if(found.begin(), found.end(),
                             [](const bdp::PluginInfo& p) { return p.name == "memory"; });
  BOOST_REQUIRE(memory != found.end());
  BOOST_TEST((memory->kind == PluginKind::backend));
  BOOST_TEST(memory->abi_major == bdp::kSdkAbiMajor);
  auto names = host.processor_names();
  for (const char* expected : {"aggregate", "filter", "generate", "read_csv", "select", "sort"}) {
    BOOST_TEST((std::find(names.begin(), names.end(), expected) != names.end()), expected);
  }
}

BOOST_AUTO_TEST_CASE(memory_backend_loaded_from_disk_stores_and_retrieves) {
  PluginHost host;
  auto backend = host.create_backend("memory", "memory", kNoSettings, {});
  BOOST_TEST(!backend->persistent());
  auto table = small_table();
  boost::json::object metadata{{"k", "v"}};
  auto record = backend->store({"p1", "load", "default", metadata}, table);
  BOOST_TEST(record.version == 1);
  BOOST_TEST(record.row_count == 2);
  BOOST_TEST(record.metadata.at("k").as_string() == "v");
  BOOST_TEST(backend->retrieve(record).table().get() == table.get());
}

BOOST_AUTO_TEST_CASE(library_stays_loaded_while_its_objects_live) {
  std::shared_ptr<bdp::Backend> backend;
  std::shared_ptr<bdp::Processor> processor;
  {
    PluginHost host;
    backend = host.create_backend("memory", "memory", kNoSettings, {});
    processor = host.create_processor("generate");
  }
  // The host is gone; calling into the libraries must still work.
  auto record = backend->store({"p1", "s", "default", kNoSettings}, small_table());
  BOOST_TEST(backend->retrieve(record).table()->num_rows() == 2u);
  BOOST_CHECK_NO_THROW(processor->validate(boost::json::object{{"rows", 3}}));
}

BOOST_AUTO_TEST_CASE(memory_backend_rejects_unknown_settings) {
  PluginHost host;
  expect_error(
      [&] {
        host.create_backend("memory", "mem", {{"plugin", "memory"}, {"size", 3}}, {});
      },
      ErrorCode::config, {"backends.mem.size"});
}

// "ABI 2.0"
std::string abi(std::uint32_t major, std::uint32_t minor) {
  return "ABI " + std::to_string(major) + "." + std::to_string(minor);
}

BOOST_AUTO_TEST_CASE(refuses_a_plugin_built_for_another_abi_major) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("wrong_major")); }, ErrorCode::plugin,
               {fixture("wrong_major").string(), abi(bdp::kSdkAbiMajor + 1, bdp::kSdkAbiMinor),
                "expected ABI major " + std::to_string(bdp::kSdkAbiMajor)});
}

BOOST_AUTO_TEST_CASE(refuses_a_plugin_built_for_a_newer_abi_minor) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("newer_minor")); }, ErrorCode::plugin,
               {fixture("newer_minor").string(), abi(bdp::kSdkAbiMajor, bdp::kSdkAbiMinor + 1),
                "newer than this host's " + abi(bdp::kSdkAbiMajor, bdp::kSdkAbiMinor).substr(4)});
}

BOOST_AUTO_TEST_CASE(accepts_a_plugin_built_for_its_own_abi_major_and_minor) {
  // A plugin built for an older minor than the host's is accepted too; that
  // needs a host ahead of the SDK, so it is tested in test_abi_minor.cpp.
  PluginHost host;
  bdp::PluginInfo info = host.inspect(fixture("older_minor"));
  BOOST_TEST(info.abi_major == bdp::kSdkAbiMajor);
  BOOST_TEST(info.abi_minor == bdp::kSdkAbiMinor);
}

BOOST_AUTO_TEST_CASE(refuses_a_plugin_built_with_another_standard_library) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("other_stdlib")); }, ErrorCode::plugin,
               {fixture("other_stdlib").string(), "libc++ 170000", "libstdc++"});
}

BOOST_AUTO_TEST_CASE(refuses_a_plugin_without_a_factory) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("no_factory")); }, ErrorCode::plugin,
               {fixture("no_factory").string(), "bdp_plugin_create"});
}

BOOST_AUTO_TEST_CASE(refuses_a_library_that_is_not_a_plugin) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("no_descriptor")); }, ErrorCode::plugin,
               {fixture("no_descriptor").string(), "bdp_plugin_descriptor"});
}

BOOST_AUTO_TEST_CASE(refuses_a_file_that_is_not_a_shared_library) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("garbage")); }, ErrorCode::plugin,
               {fixture("garbage").string(), "not a loadable shared library"});
}

BOOST_AUTO_TEST_CASE(refuses_a_plugin_built_against_another_boost_release) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("other_boost")); }, ErrorCode::plugin,
               {fixture("other_boost").string(), "built with Boost ",
                "expected Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
                    std::to_string(BOOST_VERSION / 100 % 1000) + "."});
}

BOOST_AUTO_TEST_CASE(refuses_a_plugin_built_with_the_other_libstdcxx_dual_abi) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("other_cxx11_abi")); }, ErrorCode::plugin,
               {fixture("other_cxx11_abi").string(), "_GLIBCXX_USE_CXX11_ABI=0",
                "_GLIBCXX_USE_CXX11_ABI=1"});
}

BOOST_AUTO_TEST_CASE(refuses_a_descriptor_shorter_than_the_2_0_layout) {
  PluginHost host;
  expect_error([&] { host.inspect(fixture("short_descriptor")); }, ErrorCode::plugin,
               {fixture("short_descriptor").string(), "descriptor is",
                "expected at least " + std::to_string(bdp::kPluginDescriptorSize2_0)});
}

BOOST_AUTO_TEST_CASE(objects_record_the_abi_minor_of_the_plugin_that_made_them) {
  PluginHost host;
  auto backend = host.create_backend("memory", "mem", boost::json::object{}, {});
  BOOST_TEST(backend->sdk_abi_minor() == bdp::kSdkAbiMinor);
  auto processor = host.create_processor("generate");
  BOOST_TEST(processor->sdk_abi_minor() == bdp::kSdkAbiMinor);
}

BOOST_AUTO_TEST_CASE(plugin_folders_are_scanned_once_per_host) {
  bdp::test::TempDir dir;
  bdp::test::write_file(dir / "libbdp_first.so", "not a library\n");
  PluginHost host({dir.path()});
  auto mentions = [](const std::vector<std::string>& problems, const std::string& file) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(file) != std::string::npos; });
  };
  std::vector<std::string> first;
  host.discover(&first);
  BOOST_TEST(mentions(first, "libbdp_first.so"));
  // A library that appears later is not seen by this host: it scanned once.
  bdp::test::write_file(dir / "libbdp_second.so", "not a library either\n");
  std::vector<std::string> again;
  host.discover(&again);
  BOOST_TEST(host.create_processor("sort") != nullptr);
  BOOST_TEST(again == first);
  // A new host scans anew and sees it.
  std::vector<std::string> fresh;
  PluginHost({dir.path()}).discover(&fresh);
  BOOST_TEST(mentions(fresh, "libbdp_second.so"));
}

BOOST_AUTO_TEST_CASE(inspecting_a_missing_file_is_not_found) {
  PluginHost host;
  expect_error([&] { host.inspect("/nonexistent/libbdp_x.so"); }, ErrorCode::not_found,
               {"/nonexistent/libbdp_x.so"});
}

BOOST_AUTO_TEST_CASE(a_throwing_factory_becomes_an_error_not_a_crash) {
  PluginHost host({bdp::test::fixture_plugin_dir()});
  expect_error([&] { host.create_backend("throws", "t", kNoSettings, {}); }, ErrorCode::plugin,
               {"fixture factory failed on purpose", fixture("throws").string()});
}

BOOST_AUTO_TEST_CASE(a_good_fixture_loads_from_a_configured_path) {
  PluginHost host({bdp::test::fixture_plugin_dir()});
  auto backend = host.create_backend("good", "g", kNoSettings, {});
  BOOST_TEST(backend->location() == "nowhere");
  expect_error(
      [&] {
        backend->store({"p", "s", "default", kNoSettings}, small_table());
      },
      ErrorCode::unsupported, {"stores nothing"});
}

BOOST_AUTO_TEST_CASE(missing_plugin_error_lists_every_path_tried) {
  bdp::test::TempDir dir;
  PluginHost host({dir.path()});
  expect_error(
      [&] { host.create_backend("nosuch", "n", kNoSettings, {}); }, ErrorCode::not_found,
      {"nosuch", (dir.path() / "libbdp_nosuch.so").string(),
       (PluginHost::default_plugin_dir() / "libbdp_nosuch.so").string(), "BDP_PLUGIN_PATH"});
}

BOOST_AUTO_TEST_CASE(a_processor_plugin_is_refused_as_a_backend) {
  PluginHost host;
  expect_error([&] { host.create_backend("processors", "p", kNoSettings, {}); }, ErrorCode::plugin,
               {"libbdp_processors.so", "processor plugin, expected a backend plugin"});
}

BOOST_AUTO_TEST_CASE(plugin_names_that_could_escape_a_folder_are_refused) {
  PluginHost host;
  expect_error([&] { host.find("../memory", PluginKind::backend); }, ErrorCode::invalid_argument,
               {"../memory"});
  expect_error([&] { host.find("", PluginKind::backend); }, ErrorCode::invalid_argument, {});
}

BOOST_AUTO_TEST_CASE(unknown_processor_lists_the_available_ones) {
  PluginHost host;
  expect_error([&] { host.create_processor("pivot"); }, ErrorCode::not_found,
               {"pivot", "filter", "generate"});
}

BOOST_AUTO_TEST_CASE(discovery_skips_refused_plugins_and_says_why) {
  PluginHost host({bdp::test::fixture_plugin_dir()});
  std::vector<std::string> problems;
  auto found = host.discover(&problems);
  BOOST_TEST((std::any_of(found.begin(), found.end(),
                          [](const bdp::PluginInfo& p) { return p.name == "good"; })));
  BOOST_TEST((std::none_of(found.begin(), found.end(),
                           [](const bdp::PluginInfo& p) { return p.name == "wrong_major"; })));
  for (const char* refused :
       {"wrong_major", "newer_minor", "other_stdlib", "no_factory", "no_descriptor", "garbage"}) {
    BOOST_TEST((std::any_of(problems.begin(), problems.end(),
                            [&](const std::string& p) {
                              return p.find(std::string("libbdp_") + refused) != std::string::npos;
                            })),
               refused);
  }
}

BOOST_AUTO_TEST_SUITE_END()
