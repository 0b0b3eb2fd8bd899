// Runs the backend conformance suite (bdp::conformance) on every backend
// plugin the project builds, each loaded through the real PluginHost.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <bdp/conformance/conformance.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>

#include <boost/json/object.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace {

namespace conformance = bdp::conformance;
using bdp::test::TempDir;

// Runs every check; each gets fresh storage from `make_factory`.
template <class MakeFactory>
void run_all(const conformance::Options& options, MakeFactory&& make_factory) {
  for (const auto& check : conformance::checks(options)) {
    BOOST_TEST_CONTEXT("conformance check " << check.name) {
      TempDir dir;
      conformance::Factory factory = make_factory(dir);
      try {
        check.run(factory);
      } catch (const std::exception& e) {
        BOOST_ERROR(check.name << " failed: " << e.what());
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backend_conformance)

BOOST_AUTO_TEST_CASE(memory_backend_passes_every_check) {
  conformance::Options options;
  options.persistent = false;
  run_all(options, [](const TempDir& dir) -> conformance::Factory {
    auto host = std::make_shared<bdp::PluginHost>();
    std::shared_ptr<bdp::Backend> backend =
        host->create_backend("memory", "memory", {{"plugin", "memory"}}, dir.path());
    return [backend] { return backend; };
  });
}

BOOST_AUTO_TEST_CASE(csv_backend_passes_every_check) {
  conformance::Options options;
  options.persistent = true;
  run_all(options, [](const TempDir& dir) -> conformance::Factory {
    auto host = std::make_shared<bdp::PluginHost>();
    const std::string root = (dir.path() / "store").string();
    return [host, root, base = dir.path()] {
      return host->create_backend("csv", "csv", {{"plugin", "csv"}, {"root", root}}, base);
    };
  });
}

BOOST_AUTO_TEST_CASE(checks_have_unique_behaviour_names) {
  auto all = conformance::checks(conformance::Options{});
  std::set<std::string> names;
  for (const auto& c : all) BOOST_TEST(names.insert(c.name).second, c.name);
  BOOST_TEST(all.size() > conformance::checks(conformance::Options{false}).size());
}

BOOST_AUTO_TEST_SUITE_END()
