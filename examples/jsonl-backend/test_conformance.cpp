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

    // Read-only, as bdp's reading commands (ps, ls, show...) open stores:
    // nothing is created, and every change is refused.
    const auto expect = [&](const std::string& name, const std::string& failure) {
      if (failure.empty()) {
        std::cout << "ok     " << name << '\n';
      } else {
        ++failed;
        std::cout << "FAILED " << name << ": " << failure << '\n';
      }
    };
    const auto code_of = [](auto&& body) -> std::string {
      try {
        body();
      } catch (const bdp::Error& e) {
        return std::string(bdp::to_string(e.code()));
      }
      return "no error";
    };
    TempDir ro_dir;
    const fs::path root = ro_dir.path() / "store";
    const boost::json::object ro_settings{{"plugin", "jsonl"}, {"root", root.string()}};
    const std::string missing =
        code_of([&] { host.create_backend("jsonl", "jsonl", ro_settings, ro_dir.path(), true); });
    expect("read_only_open_of_a_missing_store_is_not_found_and_creates_nothing",
           missing != "not_found" ? "got " + missing
           : fs::exists(root)     ? root.string() + " was created"
                                  : "");
    auto writer = host.create_backend("jsonl", "jsonl", ro_settings, ro_dir.path());
    const bdp::RecordInfo kept =
        writer->store({"p", "stage", "default", no_metadata}, bdp::Payload(boost::json::value(1)));
    auto reader = host.create_backend("jsonl", "jsonl", ro_settings, ro_dir.path(), true);
    expect("read_only_open_reads_what_is_stored",
           reader->list(bdp::Query{}).size() == 1 && reader->retrieve(kept).json() == 1
               ? ""
               : "the stored record is not read back");
    bdp::ProcessInfo process;
    process.id = "p";
    const std::string refused[] = {code_of([&] {
                                     reader->store({"p", "stage", "default", no_metadata},
                                                   bdp::Payload(boost::json::value(2)));
                                   }),
                                   code_of([&] { reader->remove(kept); }),
                                   code_of([&] { reader->save_process(process); }),
                                   code_of([&] { reader->remove_process("p"); })};
    std::string wrong;
    for (const auto& code : refused) {
      if (code != "invalid_argument") wrong += (wrong.empty() ? "got " : ", ") + code;
    }
    if (wrong.empty() && writer->list(bdp::Query{}).size() != 1) wrong = "the store changed";
    expect("read_only_open_refuses_every_change", wrong);

    std::cout << (failed ? "jsonl backend: " + std::to_string(failed) + " check(s) failed"
                         : std::string("jsonl backend: every check passed"))
              << '\n';
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "jsonl_conformance: " << e.what() << '\n';
    return 1;
  }
}
