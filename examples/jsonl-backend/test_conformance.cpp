// Runs bdp's backend conformance suite on the jsonl plugin, loaded from the
// folder given as the first argument by bdp's own PluginHost - the way
// `bdp run` loads it. Prints one line per check; exits with 1 when a check
// fails.
//
//   jsonl_conformance PLUGIN_DIR
#include <bdp/conformance/conformance.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>

#include <boost/json/object.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

namespace fs = std::filesystem;

namespace {

// A fresh folder under the system temp folder, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string name = (fs::temp_directory_path() / "jsonl-conformance-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary folder " + name);
    }
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: jsonl_conformance PLUGIN_DIR\n";
    return 2;
  }
  try {
    bdp::PluginHost host({argv[1]});
    int failed = 0;
    // persistent: a new backend object over the same folder sees the data.
    bdp::conformance::Options options;
    options.persistent = true;
    for (const auto& check : bdp::conformance::checks(options)) {
      TempDir dir;  // every check starts from an empty store
      const boost::json::object settings{{"plugin", "jsonl"}, {"root", dir.path().string()}};
      // Each call opens the same folder again, as the suite requires.
      bdp::conformance::Factory factory = [&] {
        return host.create_backend("jsonl", "jsonl", settings, dir.path());
      };
      try {
        check.run(factory);
        std::cout << "ok     " << check.name << '\n';
      } catch (const std::exception& e) {
        ++failed;
        std::cout << "FAILED " << check.name << ": " << e.what() << '\n';
      }
    }

    // Beyond the suite: a name from a user never becomes a path outside
    // the root.
    TempDir dir;
    auto backend = host.create_backend(
        "jsonl", "jsonl", {{"plugin", "jsonl"}, {"root", dir.path().string()}}, dir.path());
    const boost::json::object no_metadata;
    try {
      backend->store({"../escaped", "stage", "default", no_metadata},
                     bdp::Payload(boost::json::value("x")));
      ++failed;
      std::cout << "FAILED a process id '../escaped' was accepted\n";
    } catch (const bdp::Error& e) {
      if (e.code() != bdp::ErrorCode::invalid_argument) throw;
      std::cout << "ok     names_that_could_escape_the_root_are_refused\n";
    }

    std::cout << (failed ? "jsonl backend: " + std::to_string(failed) + " check(s) failed"
                         : std::string("jsonl backend: every check passed"))
              << '\n';
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "jsonl_conformance: " << e.what() << '\n';
    return 1;
  }
}
