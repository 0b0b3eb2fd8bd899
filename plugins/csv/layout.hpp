// Where the CSV backend keeps what, under its root (see docs/storage-csv.md):
//
//   <root>/<process>/<stage>/<entity>/v<N>.csv        a table, RFC 4180 + header
//   <root>/<process>/<stage>/<entity>/v<N>.json       a JSON payload
//   <root>/<process>/<stage>/<entity>/v<N>.meta.json  its sidecar: the full record
//   <root>/.bdp/index.jsonl                           append-only index (one JSON per line)
//   <root>/.bdp/lock                                  flock(2) taken by every writer
//   <root>/.bdp/processes/<process>.json              process records
//
// Valid names never start with '.', so ".bdp" and the temp files
// (".v<N>.csv.tmp") can never clash with user data.
#pragma once

#include <bdp/sdk/payload.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace bdp::csv_backend {

namespace fs = std::filesystem;

struct Layout {
  fs::path root;

  fs::path meta_dir() const { return root / ".bdp"; }
  fs::path index_file() const { return meta_dir() / "index.jsonl"; }
  fs::path lock_file() const { return meta_dir() / "lock"; }
  fs::path processes_dir() const { return meta_dir() / "processes"; }
  fs::path process_file(std::string_view id) const {
    return processes_dir() / (std::string(id) + ".json");
  }

  // Names must have been validated.
  fs::path entity_dir(std::string_view process, std::string_view stage,
                      std::string_view entity) const {
    return root / std::string(process) / std::string(stage) / std::string(entity);
  }
};

// "v<N>.csv" / "v<N>.json", "v<N>.meta.json".
inline std::string data_name(std::int64_t version, PayloadKind kind) {
  return "v" + std::to_string(version) + (kind == PayloadKind::table ? ".csv" : ".json");
}
inline std::string sidecar_name(std::int64_t version) {
  return "v" + std::to_string(version) + ".meta.json";
}
// The temp file a final file is written to before its rename: same folder,
// hidden, ".tmp" suffix.
inline fs::path temp_of(const fs::path& file) {
  return file.parent_path() / ("." + file.filename().string() + ".tmp");
}

// The key of a record's versions, and its id: "<process>/<stage>/<entity>"
// and "<process>/<stage>/<entity>/v<N>" (also its path under the root,
// without extension).
inline std::string key_of(std::string_view process, std::string_view stage,
                          std::string_view entity) {
  std::string key(process);
  key += '/';
  key += stage;
  key += '/';
  key += entity;
  return key;
}
inline std::string id_of(std::string_view process, std::string_view stage, std::string_view entity,
                         std::int64_t version) {
  return key_of(process, stage, entity) + "/v" + std::to_string(version);
}

}  // namespace bdp::csv_backend
