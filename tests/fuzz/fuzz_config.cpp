// Fuzz target: the project-file parser and resolver (bdp::ConfigResolver).
//
// Input: the text of a project file, then optionally NUL-separated runtime
// overrides ("key.path=value", as given to --set). The text is written to a
// file and read with set_project_file, as `bdp run` reads it, so that the
// parser's error positions ("file:line:col") are computed too; the
// overrides go through add_override(assignment). Resolution then merges the
// installed defaults, the file and the overrides.
//
// A bdp::Error is the documented outcome for a bad file. Anything else is a
// finding: a crash, a sanitizer report, another exception, or a resolved
// Config that breaks what resolve() promises to have checked (unique stage
// names, inputs naming earlier stages, persisted stages' backends defined).
#include <bdp/config.hpp>
#include <bdp/sdk/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

// At most this many overrides are taken from one input.
constexpr std::size_t kMaxOverrides = 8;

struct Scratch {
  fs::path dir;
  fs::path project_file;
  std::optional<bdp::ConfigResolver> prototype;  // the defaults, read once

  ~Scratch() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

Scratch* scratch = nullptr;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_config: contract broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The defaults of this source tree, wherever the fuzzer binary runs from.
  ::setenv("BDP_DEFAULTS", BDP_FUZZ_DEFAULTS_FILE, 1);
  static Scratch s;
  std::string pattern = (fs::temp_directory_path() / "bdp-fuzz-config-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("fuzz_config: mkdtemp");
    std::abort();
  }
  s.dir = pattern;
  s.project_file = s.dir / "project.json";
  s.prototype.emplace();
  scratch = &s;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string_view> overrides;
  if (nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (overrides.size() < kMaxOverrides) {
      const std::size_t next = rest.find('\0');
      overrides.push_back(rest.substr(0, next));
      if (next == std::string_view::npos) break;
      rest.remove_prefix(next + 1);
    }
  }

  {
    std::ofstream out(scratch->project_file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) {
      std::perror("fuzz_config: cannot write the project file");
      std::abort();
    }
  }

  bdp::ConfigResolver resolver = *scratch->prototype;
  try {
    resolver.set_project_file(scratch->project_file);
    for (std::string_view assignment : overrides) resolver.add_override(assignment);
    const bdp::Config config = resolver.resolve();

    for (const auto& stage : config.stages) {
      check(config.find_stage(stage.name) == &stage, "find_stage() misses a resolved stage");
      for (const auto& input_name : stage.inputs) {
        const bdp::StageConfig* input_stage = config.find_stage(input_name);
        check(input_stage != nullptr && input_stage->index < stage.index,
              "a stage's input is not an earlier stage");
      }
      if (stage.plan.persist) {
        check(config.backends.contains(stage.plan.backend),
              "a persisted stage's backend is not under \"backends\"");
      }
    }
    (void)bdp::redact_secrets(config.document());
  } catch (const bdp::Error&) {
    // The documented outcome for a bad project file or override.
  }
  return 0;
}
