// JsonlBackend keeps records as JSON Lines files in a folder: a small,
// complete storage backend written against the installed bdp SDK only.
//
// Layout under the root folder (the backend's "root" setting):
//   data/<process>/<stage>/<entity>/v<N>.jsonl
//       one record. Line 1 is the record itself (RecordInfo::to_json());
//       then one line per table row, a JSON array of the cells in column
//       order, or a single line holding a JSON payload.
//   processes/<process>.json
//       one process record (ProcessInfo::to_json()).
//   quarantine/<time>/...
//       damaged files moved aside by quarantine(), under their paths
//       relative to the root, with reasons.jsonl saying why.
// A file that cannot be read is listed as a damaged entry (its id from
// its path), never failing the whole listing.
// Process, stage and entity names become folder names, so every one is
// checked with bdp::validate_name() before it is used in a path.
//
// Thread-safety: one mutex serialises the calls of one object. One process
// at a time may use a root: there is no file locking (bdp's csv backend
// shows how to share a folder between processes).
#pragma once

#include <bdp/sdk/backend.hpp>

#include <boost/json/object.hpp>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jsonl {

class JsonlBackend final : public bdp::Backend {
 public:
  // `settings` is the backend's block in the project file,
  // {"plugin": "jsonl", "root": "folder"}; a relative root resolves against
  // `base_dir`. Throws bdp::Error(config) naming the key
  // ("backends.<instance>.root: ...") for a missing root or an unknown key,
  // bdp::Error(io) when the folder cannot be created.
  // With `read_only` (bdp's reading commands ask for it) the backend opens
  // an existing store and creates or writes nothing: a root without the
  // "data" folder is bdp::Error(not_found) "no store at ROOT", and store(),
  // remove(), save_process() and remove_process() throw
  // bdp::Error(invalid_argument). Reading needs no write permission.
  JsonlBackend(std::string_view instance, const boost::json::object& settings,
               const std::filesystem::path& base_dir, bool read_only = false);

  std::string location() const override;
  bool persistent() const noexcept override { return true; }
  bdp::RecordInfo store(const bdp::StoreRequest& request, const bdp::Payload& payload) override;
  bdp::Payload retrieve(const bdp::RecordInfo& record) override;
  std::vector<bdp::RecordInfo> list(const bdp::Query& query) override;
  void remove(const bdp::RecordInfo& record) override;
  void save_process(const bdp::ProcessInfo& process) override;
  std::vector<bdp::ProcessInfo> list_processes() override;
  void remove_process(std::string_view process_id) override;
  bdp::BackendStats stats() override;
  bdp::QuarantineReport quarantine(const bdp::QuarantineRequest& request) override;

 private:
  // The file of `record`, or nullopt when its names or version cannot
  // belong to a stored record (it is then not found).
  std::optional<std::filesystem::path> record_file(const bdp::RecordInfo& record) const;
  // Every stored record, read from the first line of each file; a file
  // whose first line cannot be read gives a damaged record.
  std::vector<bdp::RecordInfo> read_records() const;
  // Throws bdp::Error(invalid_argument) when the backend is read-only.
  void check_writable(std::string_view doing) const;

  std::filesystem::path root_;
  bool read_only_ = false;
  std::mutex mutex_;
};

}  // namespace jsonl
