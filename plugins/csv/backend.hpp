// The CSV backend: each record is a plain CSV (or JSON) file with a JSON
// sidecar under <root>/<process>/<stage>/<entity>/, found through an
// append-only index; see layout.hpp and docs/storage-csv.md.
//
// Thread-safe, and safe for several processes on one root: writers take an
// exclusive flock(2) on <root>/.bdp/lock, readers of the index a shared one.
// Every file is written to a temp file in its folder, fsynced and renamed,
// so a record is visible (listed) only once complete. Each backend keeps
// two threads for overlapping a store's fsyncs; like any object with
// threads, it is not for use in a child forked after it was opened.
//
// Opened read-only, it creates and writes nothing: it takes the shared lock
// through the existing lock file opened read-only, or reads without the
// lock when that file cannot be opened (see docs/storage-csv.md), and
// repairs what a crashed writer left in memory only (Index).
#pragma once

#include "files.hpp"
#include "index.hpp"
#include "layout.hpp"

#include <bdp/sdk/backend.hpp>

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace bdp::csv_backend {

class CsvBackend final : public Backend {
 public:
  // `instance` is the name under "backends"; `settings` its block:
  // {"plugin": "csv", "root": "<folder>"}, the root relative to `base_dir`.
  // Creates the root when missing and settles what a crashed writer left.
  // Throws bdp::Error(config) naming "backends.<instance>.<key>" for a bad
  // block, bdp::Error(io) when the root cannot be created or locked.
  // With `read_only`, opens an existing store only: a root that is not a
  // folder holding ".bdp" is bdp::Error(not_found) "no store at ROOT", and
  // store(), remove(), save_process(), remove_process() and rebuild_index()
  // throw bdp::Error(invalid_argument).
  CsvBackend(std::string_view instance, const boost::json::object& settings,
             const std::filesystem::path& base_dir, bool read_only = false);

  std::string location() const override;
  bool persistent() const noexcept override { return true; }
  RecordInfo store(const StoreRequest& request, const Payload& payload) override;
  Payload retrieve(const RecordInfo& record) override;
  std::vector<RecordInfo> list(const Query& query) override;
  void remove(const RecordInfo& record) override;
  void save_process(const ProcessInfo& process) override;
  std::vector<ProcessInfo> list_processes() override;
  void remove_process(std::string_view process_id) override;
  BackendStats stats() override;
  // Moves the files of damaged entries into
  // <root>/.bdp/quarantine/<UTC time>/, keeping their paths under the root,
  // with quarantine.jsonl saying what was moved and why, and drops their
  // index entries. See docs/storage-csv.md.
  QuarantineReport quarantine(const QuarantineRequest& request) override;

  // Rebuilds the index from the sidecars (also done automatically when the
  // index is missing or damaged; deleting <root>/.bdp/index.jsonl forces it).
  void rebuild_index();

 private:
  // Takes the lock shared and brings the index up to date (exclusive when
  // it needs a repair); the guard holds the lock.
  std::unique_ptr<LockGuard> read_locked();
  // Throws bdp::Error(invalid_argument) when the backend is read-only.
  void check_writable(std::string_view doing) const;

  std::string instance_;
  bool read_only_ = false;
  Layout layout_;
  std::mutex mutex_;  // serialises this object's threads over index_ and lock_
  std::unique_ptr<FileLock> lock_;
  Index index_;
  // Sync a store's data file and the index while it writes the sidecar.
  Worker data_syncer_;
  Worker index_syncer_;
};

}  // namespace bdp::csv_backend
