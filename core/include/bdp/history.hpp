// History: discovering and retrieving what past processes stored.
//
// A History reads through a DataContainer opened over every configured
// store (DataContainer::open(config, host, /*all_stores=*/true)): the
// process records, the stored records with filters, the records a selector
// names (see selectors.hpp), their payloads, and space and throughput
// figures. Listing goes to each backend's list() (the CSV index, SQL with
// its indexes); nothing here reads a payload except retrieve().
//
// Errors: bdp::Error(not_found) for a selector or name that matches nothing,
// with the closest existing names; bdp::Error(invalid_argument) for text
// that cannot be parsed; what the backends throw otherwise. Each is one line
// naming the selector, process or stage.
//
// Thread-safety: as safe as the container (a DataContainer may be used from
// several threads); a History holds no state of its own besides it.
#pragma once

#include <bdp/export.hpp>
#include <bdp/sdk/records.hpp>
#include <bdp/selectors.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bdp {

class DataContainer;

// Space used and write throughput, over every configured store.
struct BDP_CORE_API HistoryStats {
  struct Backend {
    std::string name;  // the configured backend instance
    std::int64_t records = 0;
    std::int64_t bytes = 0;
  };
  struct Process {
    std::string id;
    std::string name;             // from its process record; empty without one
    std::int64_t started_at = 0;  // µs; 0 without a process record
    std::int64_t records = 0;
    std::int64_t bytes = 0;
  };
  struct Stage {
    std::string process_id;
    std::string stage_name;
    std::string backend;
    std::int64_t records = 0;
    std::int64_t bytes = 0;
  };
  // Throughput of one stage name. Write: over the processes whose records
  // say how long storing it took (StageInfo::store_ms and bytes). Read:
  // over the stored records whose metadata says how long reading the
  // stage's inputs took ("read_bytes", "read_ms", recorded at store time).
  struct Throughput {
    std::string stage_name;
    std::int64_t runs = 0;         // process records that timed it
    std::int64_t bytes = 0;        // bytes stored in those runs
    double store_ms = 0.0;         // time those stores took
    double mb_per_s() const;       // bytes / store time, in MB/s (10^6 bytes); 0 without time
    std::int64_t read_runs = 0;    // runs whose records timed reading the inputs
    std::int64_t read_bytes = 0;   // input bytes read in those runs
    double read_ms = 0.0;          // time those reads took
    double read_mb_per_s() const;  // read_bytes / read time, in MB/s; 0 without time
  };

  // A record or process record its backend listed as damaged.
  struct Damaged {
    std::string backend;
    std::string process_id;
    std::string record_id;  // empty for a process record
    std::string name;       // "process ID" or "PROCESS/STAGE/ENTITY@vN"
    std::string damage;     // why, one line
  };

  std::int64_t records = 0;  // counted by the backends, damaged ones included
  std::int64_t bytes = 0;
  std::int64_t processes = 0;          // process records, damaged ones included
  std::vector<Damaged> damaged;        // what the listings mark as damaged
  std::vector<Backend> backends;       // by name
  std::vector<Process> by_process;     // largest first
  std::vector<Stage> by_stage;         // largest first: the largest consumers
  std::vector<Throughput> throughput;  // by stage name

  boost::json::object to_json() const;
};

class BDP_CORE_API History {
 public:
  // Reads through `container`, which must outlive the History.
  explicit History(DataContainer& container) noexcept : container_(container) {}

  // Process records, newest first; only those called `name` when it is not
  // empty; at most `limit` when set.
  std::vector<ProcessInfo> processes(std::string_view name = {},
                                     std::optional<std::size_t> limit = std::nullopt);

  // The id `selector` names ("latest", "latest~N", an id or a unique id
  // prefix; see resolve_process). An id without a process record is
  // accepted when records are stored under it. Throws not_found with the
  // closest ids, invalid_argument for a malformed selector.
  std::string resolve_process(std::string_view selector);

  // The stored records that pass `query`, in its order and cut to its
  // limit. `query.process_id` may be any process selector: it is resolved
  // first. Stage and entity names are validated (invalid_argument).
  std::vector<RecordInfo> records(Query query);

  // The records `selector` names: the newest version of each entity (or of
  // the one entity it gives) unless it gives @vN, ordered by entity. Throws
  // not_found naming the selector with the close stages, entities or
  // versions of that process.
  std::vector<RecordInfo> resolve(const RecordSelector& selector);
  // As resolve(parse_record_selector(text)).
  std::vector<RecordInfo> resolve(std::string_view text);

  // The record whose id is `id` in whichever store holds it (ids are unique
  // within a backend). Throws not_found when none has it, invalid_argument
  // when several stores do (name it by selector instead).
  RecordInfo find_record(std::string_view id);

  // The payload of `record` as listed by records()/resolve() (its backend
  // names the store). Throws what the backend throws (not_found, corrupt).
  Payload retrieve(const RecordInfo& record);

  // Bytes and records per backend, process and stage, and write throughput
  // per stage from the process records; damaged entries are counted as far
  // as they could be read and listed in `damaged`.
  HistoryStats stats();

 private:
  DataContainer& container_;
};

// "key=value" for Query::metadata_equals: the value is JSON when it parses
// as JSON (3, true, "x", {"a":1}), else the text itself as a string. Throws
// invalid_argument naming `text` without a key or '='.
BDP_CORE_API std::pair<std::string, boost::json::value> parse_metadata_filter(
    std::string_view text);

// A time bound for --since/--until: an ISO 8601 timestamp (see
// parse_timestamp) or an age such as "2h", "30d" meaning that long before
// `now` (µs). Throws invalid_argument prefixed with `where`.
BDP_CORE_API std::int64_t parse_time_bound(std::string_view text, std::string_view where,
                                           std::int64_t now);

}  // namespace bdp
