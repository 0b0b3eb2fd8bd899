// The CSV backend's index: an append-only log of JSON lines under
// <root>/.bdp/index.jsonl, and this process's in-memory view of it.
//
// Lines: a header {"bdp_csv_index":1}, then
//   {"op":"begin","process_id":..,"stage_name":..,"entity_name":..,"version":N}
//       a store started (its files may be half written);
//   {"op":"add","record":{RecordInfo JSON}}   the store completed;
//   {"op":"abort","id":..}                    the store failed and was undone;
//   {"op":"remove","id":..}                   the record was removed.
// Every line but the header ends with "sum", the checksum of the line
// without it (`{"op":..,...}`): a line that fails it, like one that does not
// parse, is damaged, and the index is rebuilt from the sidecars. (Lines
// without "sum", from older writers, are taken as they are.) A sidecar that
// cannot be read is listed as a damaged record ("add" of a record with
// "damage"), so that one bad file never hides the others.
// A record is listed only after its "add" line. A store makes its "begin"
// line durable together with its files, and the renames of its files
// durable, before it appends its "add" (not synced): a sidecar in place
// with its "begin" pending is a complete store whose "add" a crash lost,
// which the next refresh under the exclusive lock appends. Every method
// must be called
// with the root's lock held (shared for refresh(false), exclusive for
// everything that writes); the owner serialises threads.
//
// A read-only index (for a store opened read-only) writes nothing: it opens
// the file read-only, and does in memory what a repair would do on disk
// (see refresh()). It may be used without the lock when the lock file
// cannot be opened; a store another process has begun is then not yet
// complete, and is left out like a crashed one.
#pragma once

#include "files.hpp"
#include "layout.hpp"

#include <bdp/sdk/records.hpp>

#include <boost/json/object.hpp>

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace bdp::csv_backend {

class Index {
 public:
  explicit Index(Layout layout, bool read_only = false)
      : layout_(std::move(layout)),
        root_prefix_((layout_.root / "").string()),
        read_only_(read_only) {}

  // Reads the lines appended since the last call (all of them when the file
  // was replaced). With `exclusive`, also repairs: rebuilds a missing or
  // damaged index from the sidecars, cuts a partial last line, and settles
  // stores a crashed writer left half done. Without it, returns false when
  // a repair is needed first, or a store is pending (with the lock shared
  // no writer is running, so its writer crashed): the caller retries with
  // the lock exclusive.
  // A read-only index never writes and always returns true: `exclusive` is
  // ignored, a missing or damaged index is rebuilt in memory only (once,
  // until the file changes), a partial last line is skipped, and a pending
  // store is listed when its sidecar and data file are complete, else left
  // out (the next writer settles both on disk).
  bool refresh(bool exclusive);

  // Replaces the index by one built from the sidecars; deletes temp files
  // and data files that have no sidecar (leftovers of crashed stores). A
  // sidecar that does not parse, or describes another record, is indexed
  // as a damaged record (see damaged_record), its files left in place.
  // A read-only index only builds its view from the sidecars, deleting and
  // writing nothing; lines appended to the index file later apply on top.
  void rebuild();

  // Next version of a key: one more than the highest ever added.
  std::int64_t next_version(const std::string& key) const;

  // Appends a line (with its "sum"); with `sync`, fdatasyncs it. On
  // failure the file is cut back to its previous length and
  // bdp::Error(io) names it.
  void append(const boost::json::object& line, bool sync);
  // fdatasync of the index: every line appended so far is durable.
  void sync() const;

  // Records an "add"/"remove" this process appended.
  void added(const RecordInfo& record);
  void removed(const std::string& id);

  const std::unordered_map<std::string, RecordInfo>& records() const noexcept { return records_; }
  // The records `query` can match: those of its process, else of its stage,
  // when it names one (so a filtered list does not scan every record), else
  // all. Pointers into records(), valid until the index changes.
  std::vector<const RecordInfo*> candidates(const Query& query) const;
  const RecordInfo* find(const std::string& id) const;

  // The JSON form of a record as the index and the sidecar keep it
  // (data_reference relative to the root), and back.
  boost::json::object record_json(const RecordInfo& record) const;
  RecordInfo record_from_json(const boost::json::value& json, const std::string& where) const;

  // The record of version `version` of <process>/<stage>/<entity> whose
  // sidecar cannot be read, with `damage` saying why: its key and id from
  // the path, its data file (kind, size) when one is there (else the path
  // of a table's), and the sidecar's modification time as created_at.
  RecordInfo damaged_record(const std::string& process, const std::string& stage,
                            const std::string& entity, std::int64_t version,
                            std::string damage) const;
  // The record a sidecar file holds, or damaged_record() saying what is
  // wrong with it (it does not parse, or describes another record).
  RecordInfo read_sidecar(const std::string& process, const std::string& stage,
                          const std::string& entity, std::int64_t version) const;

 private:
  struct Pending {
    std::string process, stage, entity;
    std::int64_t version = 0;
  };
  void reset();
  // Opens the index file (false when it does not exist), resetting this
  // view when it is another file than the one read so far.
  bool open_file();
  // Applies one complete line; false when it is damaged.
  bool apply(std::string_view line, std::uint64_t at, bool exclusive);
  // Settles a store left pending by a crashed writer (read-only: lists it
  // when it is complete, else leaves it pending).
  void settle(const std::string& id, const Pending& pending);
  // True when the data file of a record whose sidecar is in place is there
  // too, with the sidecar's size (renaming its complete temp file into place
  // when only that made it to disk; read-only: false then).
  bool data_in_place(const RecordInfo& record);

  Layout layout_;
  std::string root_prefix_;  // the root with a trailing separator
  bool read_only_ = false;
  bool from_sidecars_ = false;  // read-only: the view was rebuilt in memory
  OwnedFd fd_;                  // the index file, open between calls (O_APPEND)
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t offset_ = 0;                             // bytes of the file applied
  std::unordered_map<std::string, RecordInfo> records_;  // by id
  // records_ by process and by stage (nodes of an unordered_map keep their
  // address until erased).
  using Bucket = std::unordered_set<const RecordInfo*>;
  std::unordered_map<std::string, Bucket> by_process_;
  std::unordered_map<std::string, Bucket> by_stage_;
  void link(const RecordInfo& record);
  void unlink(const RecordInfo& record);
  std::unordered_map<std::string, std::int64_t> max_version_;  // by key
  std::map<std::string, Pending> pending_;                     // begun, by id
};

}  // namespace bdp::csv_backend
