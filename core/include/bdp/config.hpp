// Layered configuration. A ConfigResolver merges, lowest first:
//   global   config/defaults.json shipped with bdp
//   project  the project file (bdp.json, quickstart.json, ...)
//   stage    a stage's "storage" block, for that stage only
//   runtime  overrides: --set key.path=value on the CLI, add_override() in C++
// into a Config. Every resolved value remembers the layer and source (file,
// "--set", "api") that set it. Unknown keys, wrong types and bad enum values
// are bdp::Error(config) whose one-line message names the file and the key
// path ("proj.json: storage_strategy.mode: ...").
//
// Key paths join object keys with dots; a stage is addressed by its name,
// "stages.recent.params.value", in overrides, provenance and error messages
// alike. An error about a stage whose name is missing, invalid or a
// duplicate uses its position instead: "stages[2].name". Array elements are
// "plugin_paths[1]". Arrays and empty objects are leaves: they replace as a
// whole and carry one provenance.
//
// Thread-safety: a ConfigResolver is not thread-safe; a resolved Config is
// an immutable value.
#pragma once

#include <bdp/export.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bdp {

enum class ConfigLayer { global = 0, project = 1, stage = 2, runtime = 3 };
enum class StorageMode { memory, persist, hybrid };
enum class CleanupPolicy { keep_all, keep_latest, keep_none };

BDP_CORE_API std::string_view to_string(ConfigLayer layer) noexcept;
BDP_CORE_API std::string_view to_string(StorageMode mode) noexcept;
BDP_CORE_API std::string_view to_string(CleanupPolicy policy) noexcept;
// Parse the names above; throw bdp::Error(config) listing the allowed values,
// prefixed with `where`.
BDP_CORE_API StorageMode parse_storage_mode(std::string_view text, std::string_view where);
BDP_CORE_API CleanupPolicy parse_cleanup_policy(std::string_view text, std::string_view where);
// Parses an age such as "30d", "12h", "90m", "45s" or "2w" into seconds.
// Throws bdp::Error(config) prefixed with `where` for anything else.
BDP_CORE_API std::int64_t parse_duration(std::string_view text, std::string_view where);

// A copy of `document` with secrets replaced by "***": the values of keys
// that name a password, secret or token, and passwords inside connection
// strings and URLs ("password=...", "user:pass@host"). Used for the config
// snapshot kept with every process record.
BDP_CORE_API boost::json::object redact_secrets(const boost::json::object& document);

// Where a resolved value came from.
struct Provenance {
  ConfigLayer layer = ConfigLayer::global;
  std::string source;  // a file path, "--set" or "api"
};

// The storage_strategy block, resolved.
struct StorageStrategy {
  StorageMode mode = StorageMode::memory;      // memory | persist | hybrid
  bool persist_intermediate_results = false;   // legacy switch of the Python framework
  std::vector<std::string> stages_to_persist;  // empty = every stage
  CleanupPolicy cleanup_policy = CleanupPolicy::keep_latest;
  std::string backend = "memory";      // persistent backend: a key of "backends"
  std::uint64_t max_memory_bytes = 0;  // memory budget; 0 = unlimited
  // hybrid: bytes of stage data that may wait for the background writer
  // before store_stage_data blocks.
  std::uint64_t write_queue_bytes = 256ull << 20;
  std::uint64_t keep_last_processes = 0;  // lifecycle: 0 = keep every process
  std::int64_t max_age_seconds = 0;       // lifecycle: 0 = no age limit
};

// Where one stage's outputs go.
struct StagePlan {
  bool persist = false;  // written to `backend` rather than kept in memory only
  std::string backend;   // instance name under "backends"
  CleanupPolicy cleanup_policy = CleanupPolicy::keep_latest;
  std::uint64_t keep_last_processes = 0;  // 0 = keep this stage's data of every process
  std::int64_t max_age_seconds = 0;       // 0 = no age limit
};

struct StageConfig {
  std::string name;
  std::string processor;
  std::vector<std::string> inputs;
  boost::json::object params;
  StagePlan plan;         // the stage's effective storage, all layers applied
  std::size_t index = 0;  // position in "stages"
};

struct BackendConfig {
  std::string name;              // the key under "backends"
  std::string plugin;            // plugin name: the library bdp_<plugin>
  boost::json::object settings;  // the whole block, as given
};

class BDP_CORE_API Config {
 public:
  std::string project;
  std::string description;
  std::filesystem::path file;                       // the project file; empty when built in code
  std::filesystem::path base_dir;                   // relative paths resolve against it
  std::vector<std::filesystem::path> plugin_paths;  // resolved to absolute paths
  StorageStrategy strategy;
  std::map<std::string, BackendConfig, std::less<>> backends;
  std::vector<StageConfig> stages;
  // Runtime overrides as given, {"key.path": value}; stored as decisions.
  boost::json::object runtime_overrides;
  // One line per deprecated key that was mapped ("file: key: deprecated ...").
  std::vector<std::string> warnings;

  // The whole merged document (what `bdp config show` prints), with each
  // stage's effective storage under stages[i].storage.
  const boost::json::object& document() const noexcept { return document_; }

  // Provenance of a leaf key path ("storage_strategy.mode",
  // "stages.recent.params.value", "stages.recent.storage.persist"), or
  // nullptr when no layer set it.
  const Provenance* provenance(std::string_view key_path) const;
  // Every leaf key path with its provenance, in document order.
  const std::vector<std::pair<std::string, Provenance>>& explain() const noexcept {
    return explain_;
  }

  // The stage called `name`, or nullptr.
  const StageConfig* find_stage(std::string_view name) const noexcept;

  // Resolves `path` against base_dir.
  std::filesystem::path resolve_path(std::string_view path) const;

 private:
  friend class ConfigResolver;
  boost::json::object document_;
  std::vector<std::pair<std::string, Provenance>> explain_;
};

class BDP_CORE_API ConfigResolver {
 public:
  // Starts with the installed global defaults (defaults.json found relative
  // to the core library, see default_defaults_file()).
  ConfigResolver();

  // The installed defaults file: <libdir>/../share/bdp/defaults.json next to
  // the core library, or $BDP_DEFAULTS when set.
  static std::filesystem::path default_defaults_file();

  // Replaces the global layer with a file / a document.
  void set_defaults_file(const std::filesystem::path& file);
  void set_defaults(boost::json::object document, std::string source);

  // Loads the project layer from a file. Throws bdp::Error(not_found) for a
  // missing file and bdp::Error(config) for malformed JSON
  // ("file:line:col: ...").
  void set_project_file(const std::filesystem::path& file);
  // Sets the project layer from a document; relative paths resolve against
  // `base_dir`.
  void set_project(boost::json::object document, std::string source,
                   std::filesystem::path base_dir);

  // A runtime override "key.path=value". The value is parsed as JSON when it
  // parses (5, true, [1,2], "x"), else taken as a string. A stage is
  // addressed by name: "stages.recent.params.value=2025". Throws
  // bdp::Error(config) for a malformed assignment.
  void add_override(std::string_view assignment);
  void add_override(std::string key_path, boost::json::value value, std::string source = "api");

  // Merges and checks the layers. Throws bdp::Error(config) naming the key
  // path and the file for unknown keys, wrong types, bad enum values,
  // duplicate or invalid stage names, inputs naming unknown or later stages,
  // a backend not defined under "backends", an override addressing a stage
  // that does not exist.
  Config resolve() const;

 private:
  struct Layer {
    boost::json::object document;
    std::string source;
  };
  Layer global_;
  std::optional<Layer> project_;
  std::filesystem::path project_file_;
  std::filesystem::path base_dir_;
  std::vector<std::pair<std::string, boost::json::value>> overrides_;  // key path, value
  std::vector<std::string> override_sources_;
};

// Parses a JSON file. Throws bdp::Error(not_found) for a missing file,
// bdp::Error(io) for an unreadable one and bdp::Error(config) with
// "file:line:col: <reason>" for malformed JSON.
BDP_CORE_API boost::json::value parse_json_file(const std::filesystem::path& file);

}  // namespace bdp
