// Plain data that describes stored data and processes: RecordInfo (one
// stored entity), Query (discovery filters), ProcessInfo (one run of a
// process and its stages) and BackendStats (space usage). All are values:
// copyable, no behaviour beyond small helpers, safe to pass between threads.
#pragma once

#include <bdp/sdk/export.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bdp {

enum class StorageType : std::uint8_t {
  inline_data = 0,  // the payload lives in the record itself (memory, a blob column)
  reference = 1,    // the record points at the data (a file, a table)
};

// "inline" or "reference".
BDP_SDK_API std::string_view to_string(StorageType type) noexcept;

// One stored entity of one stage of one process, in one version.
struct BDP_SDK_API RecordInfo {
  std::string id;  // unique within its backend; assigned by the backend
  std::string process_id;
  std::string stage_name;
  std::string entity_name;
  std::int64_t version = 0;  // 1, 2, ... per (process, stage, entity); assigned by the backend
  StorageType storage_type = StorageType::inline_data;
  std::string data_reference;    // where the data is: file path, table name; empty when inline
  boost::json::object metadata;  // user metadata, decisions, timings
  std::int64_t created_at = 0;   // microseconds since the epoch, UTC
  std::int64_t size_bytes = 0;   // bytes the payload occupies in its backend
  std::string checksum;          // of the stored bytes; empty if the backend keeps none
  std::string backend;           // name of the configured backend instance holding it
  PayloadKind kind = PayloadKind::table;
  Schema schema;               // columns, for tables
  std::int64_t row_count = 0;  // rows, for tables
  // Why this record cannot be trusted, when its backend found it damaged
  // while listing (a sidecar or row that does not parse, say); empty for a
  // sound record. A damaged record is listed with what could be read of it
  // so that one bad entry never hides the others; retrieving it throws
  // bdp::Error(corrupt).
  std::string damage;

  // Canonical JSON form (used by sidecar files, the CLI's --json, exports).
  boost::json::object to_json() const;
  // Inverse of to_json; throws bdp::Error(corrupt) naming the bad field,
  // prefixed with `where` (a file name, a record id).
  static RecordInfo from_json(const boost::json::value& json, std::string_view where);
};

// Filters for discovery. Unset fields match everything.
struct BDP_SDK_API Query {
  std::optional<std::string> process_id;
  std::optional<std::string> stage_name;
  std::optional<std::string> entity_name;
  std::optional<std::int64_t> since;  // created_at >= since (µs)
  std::optional<std::int64_t> until;  // created_at <  until (µs)
  // Each metadata[key] must equal value.
  std::vector<std::pair<std::string, boost::json::value>> metadata_equals;
  std::optional<std::size_t> limit;  // at most this many results
  bool newest_first = true;          // order by (created_at, version); else oldest first

  // True when `record` passes every filter (limit and order aside).
  bool matches(const RecordInfo& record) const;
  // Sorts `records` in this query's order and cuts them to its limit.
  void order_and_limit(std::vector<RecordInfo>& records) const;
};

// `interrupted` is never saved by a running process: the core reports a
// `running` record as interrupted once the program that ran it is gone (see
// ProcessInfo's runner fields).
enum class ProcessStatus : std::uint8_t { running = 0, completed = 1, failed = 2, interrupted = 3 };
enum class StageStatus : std::uint8_t { pending = 0, running = 1, completed = 2, failed = 3 };

// "running", "completed", "failed", "interrupted" / "pending", "running", ...
BDP_SDK_API std::string_view to_string(ProcessStatus status) noexcept;
BDP_SDK_API std::string_view to_string(StageStatus status) noexcept;

struct BDP_SDK_API StageInfo {
  std::string name;
  StageStatus status = StageStatus::pending;
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
  boost::json::object decisions;  // key -> value recorded during the stage
  double progress = 0.0;          // 0..1, last reported
  std::string message;            // last progress message, or the error of a failed stage
  std::vector<std::string> record_ids;
  std::int64_t rows = 0;     // rows over the stage's table entities
  std::int64_t columns = 0;  // columns of its widest table entity
  std::int64_t bytes = 0;    // bytes stored
  double store_ms = 0.0;     // time spent storing its outputs
  double run_ms = 0.0;       // time spent computing it
  std::string backend;       // backend instance that holds it
  std::string location;      // where that backend keeps data

  boost::json::object to_json() const;
  static StageInfo from_json(const boost::json::value& json, std::string_view where);
};

struct BDP_SDK_API ProcessInfo {
  std::string id;
  std::string name;
  std::string description;
  ProcessStatus status = ProcessStatus::running;
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
  boost::json::object config;     // the resolved configuration snapshot
  boost::json::object decisions;  // process-level decisions (runtime overrides)
  std::vector<StageInfo> stages;
  // Who runs it, so that a run whose program died can be told from one that
  // is still going: the host name, the operating-system process id, an
  // identity of that OS process that a reused pid does not share (on Linux
  // the boot id and the process's start time), and when the record was
  // last saved (µs). Empty / 0 when unknown (records written before ABI 2).
  std::string host;
  std::int64_t pid = 0;
  std::string pid_start;
  std::int64_t heartbeat_at = 0;
  // Why this process record cannot be trusted, when its backend found it
  // damaged; empty for a sound record. A damaged record carries its id and
  // what else could be read, so listings show it marked instead of failing.
  std::string damage;

  boost::json::object to_json() const;
  static ProcessInfo from_json(const boost::json::value& json, std::string_view where);
};

// Space used in one backend, in total and per (process, stage).
struct BackendStats {
  struct Usage {
    std::string process_id;
    std::string stage_name;
    std::int64_t records = 0;
    std::int64_t bytes = 0;
  };
  std::int64_t records = 0;
  std::int64_t bytes = 0;
  std::vector<Usage> by_stage;
};

// Adds up a backend's BackendStats from its records, one add() per record.
class BDP_SDK_API UsageTally {
 public:
  void add(const RecordInfo& record);
  // The totals, with by_stage ordered by (process, stage).
  BackendStats finish() const;

 private:
  std::map<std::pair<std::string, std::string>, BackendStats::Usage> usage_;
};

}  // namespace bdp
