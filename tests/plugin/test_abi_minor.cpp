// The ABI minor rule seen from a newer host: bdp upgraded to the next minor
// release must keep loading plugins built for the previous one. The host in
// this suite is the core's real plugin_host.cpp compiled a second time with
// its ABI minor raised by one (see host_one_minor_ahead.hpp); the fixture
// plugins are built with the real SDK. This file itself sees the real
// kSdkAbiMinor.
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>

#include <boost/json/object.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

#include "test_support.hpp"

namespace fs = std::filesystem;
using bdp::ErrorCode;
using bdp::PluginHost;
using bdp::test::expect_error;

namespace {

fs::path fixture(const std::string& name) {
  return bdp::test::fixture_plugin_dir() / ("libbdp_" + name + ".so");
}

const std::string kHostVersion =
    std::to_string(bdp::kSdkAbiMajor) + "." + std::to_string(bdp::kSdkAbiMinor + 1);

}  // namespace

BOOST_AUTO_TEST_SUITE(abi_minor)

BOOST_AUTO_TEST_CASE(a_host_one_minor_ahead_accepts_a_plugin_built_for_an_older_minor) {
  PluginHost host({bdp::test::fixture_plugin_dir()});
  bdp::PluginInfo info = host.inspect(fixture("older_minor"));
  BOOST_TEST(info.abi_major == bdp::kSdkAbiMajor);
  BOOST_TEST(info.abi_minor == bdp::kSdkAbiMinor);
  // Accepted means usable: the factory runs and the object works.
  auto backend = host.create_backend("older_minor", "old", boost::json::object{}, {});
  BOOST_TEST(backend->location() == "nowhere");
}

BOOST_AUTO_TEST_CASE(a_host_one_minor_ahead_accepts_a_plugin_of_its_own_minor) {
  PluginHost host;
  // Built for kSdkAbiMinor + 1, which the real host refuses as newer.
  bdp::PluginInfo info = host.inspect(fixture("newer_minor"));
  BOOST_TEST(info.abi_minor == bdp::kSdkAbiMinor + 1);
}

BOOST_AUTO_TEST_CASE(a_host_one_minor_ahead_still_refuses_another_major) {
  PluginHost host;
  // The message also proves that this host really is one minor ahead.
  expect_error([&] { host.inspect(fixture("wrong_major")); }, ErrorCode::plugin,
               {fixture("wrong_major").string(), "expected ABI major",
                "this host provides " + kHostVersion});
}

BOOST_AUTO_TEST_SUITE_END()
