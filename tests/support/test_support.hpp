// Helpers shared by the test suites: temporary folders, file I/O, paths of
// the build tree, running the CLI.
#pragma once

#include <bdp/sdk/error.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace bdp::test {

// A fresh folder under the system temp dir, removed with its contents when
// the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& file, const std::string& text);
std::string read_file(const std::filesystem::path& file);

inline std::filesystem::path source_dir() {
  return BDP_TEST_SOURCE_DIR;
}
inline std::filesystem::path build_dir() {
  return BDP_TEST_BUILD_DIR;
}
inline std::filesystem::path fixture_plugin_dir() {
  return BDP_TEST_FIXTURE_PLUGIN_DIR;
}
inline std::filesystem::path cli_path() {
  return BDP_TEST_CLI;
}

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `args` (args[0] is the program) with optional extra environment
// entries "KEY=VALUE", capturing stdout and stderr, in the working folder
// `cwd` (default: this process's). No shell is involved.
CommandResult run_command(const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {},
                          const std::filesystem::path& cwd = {});

// Runs `body`, requires it to throw bdp::Error with `code`, and returns
// the message (empty, and a test failure, when nothing was thrown).
template <class Body>
std::string error_of(Body&& body, ErrorCode code) {
  try {
    body();
  } catch (const Error& e) {
    BOOST_TEST(to_string(e.code()) == to_string(code), "code of: " << e.what());
    return e.what();
  }
  BOOST_ERROR("no bdp::Error(" << to_string(code) << ") thrown");
  return {};
}

// As error_of, and the message must contain every one of `parts`.
template <class Body>
void expect_error(Body&& body, ErrorCode code, const std::vector<std::string>& parts) {
  const std::string message = error_of(std::forward<Body>(body), code);
  if (message.empty()) return;
  for (const auto& part : parts) {
    BOOST_TEST(message.find(part) != std::string::npos, "'" << part << "' missing in: " << message);
  }
}

}  // namespace bdp::test
