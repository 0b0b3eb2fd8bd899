// Data containers keep the intermediate data of a process's stages.
//
// BaseDataContainer is the interface, with the method names of the original
// framework (store_stage_data, retrieve_stage_data, list_available_data,
// cleanup) plus release, flush and stats. DataContainer implements it over
// backend plugins, following the storage strategy:
//   memory   every stage stays in memory (the memory backend); nothing leaves
//            the process. A store over the memory budget is refused.
//   persist  the selected stages are written to their backend synchronously
//            and kept nowhere else; the other stages stay in memory.
//   hybrid   every stage is served from memory; the selected stages are also
//            written to their backend by a background writer (write-behind)
//            whose queue is bounded in bytes.
// Under persist and hybrid a memory budget never refuses a store: copies that
// are already durable are evicted (least recently used first) and re-read
// from their backend on demand, and data kept only in memory is spilled to
// the strategy's backend. Spilled copies are removed by close().
//
// A background write that fails is never lost: the next store_stage_data()
// and every flush() throw bdp::Error(io) naming the record and the backend,
// stage_storage() reports it for the stage, and the data stays in memory.
//
// Thread-safety: a DataContainer may be used from several threads at once.
#pragma once

#include <bdp/config.hpp>
#include <bdp/export.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/records.hpp>

#include <boost/json/object.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace bdp {

class PluginHost;

struct ContainerStats {
  std::uint64_t memory_bytes = 0;         // payload bytes held in memory
  std::uint64_t memory_records = 0;       // records held in memory
  std::uint64_t max_memory_bytes = 0;     // the budget; 0 = unlimited
  std::uint64_t stores = 0;               // store_stage_data entities stored
  std::uint64_t retrieves = 0;            // entities retrieved
  double store_ms = 0.0;                  // time spent in store_stage_data's own backend calls
  std::uint64_t background_writes = 0;    // completed write-behind stores
  double background_write_ms = 0.0;       // time they took
  std::uint64_t background_failures = 0;  // write-behind stores that failed
  std::uint64_t queue_bytes = 0;          // bytes waiting for the background writer now
  std::uint64_t queue_peak_bytes = 0;     // the most that ever waited
  std::uint64_t evictions = 0;            // durable copies dropped from memory under the budget
  std::uint64_t spills = 0;               // memory-only copies written out under the budget
  std::uint64_t reloads = 0;  // retrieves served from a backend after an eviction or spill
  // Usage per backend instance.
  std::vector<std::pair<std::string, BackendStats>> backends;
};

// Where one stage of the current process is stored, for summaries.
struct StageStorage {
  std::string backend;          // the backend holding its durable copy, else the memory backend
  std::string location;         // file, table, or the backend's location
  std::int64_t bytes = 0;       // bytes of the newest version of each entity
  double write_ms = 0.0;        // time its durable writes took (background ones included)
  std::uint64_t pending = 0;    // entities still waiting for the background writer
  std::uint64_t in_memory = 0;  // entities with a copy in memory
  std::string error;            // a failed background write, or empty
};

struct CleanupReport {
  std::vector<RecordInfo> removed;  // what was (or, for a dry run, would be) removed
  std::uint64_t bytes = 0;          // their size
  bool dry_run = false;
  std::vector<std::string> removed_processes;  // process records removed (retain())
};

class BDP_CORE_API BaseDataContainer {
 public:
  virtual ~BaseDataContainer();

  // The process that stores go to and retrieves default to. Must be set
  // (validated as a name) before storing.
  virtual void set_process(std::string process_id) = 0;
  virtual std::string process_id() const = 0;

  // Stores every entity of `data` as a new version under the current
  // process and `stage_name`, with `metadata`. Returns one record per
  // entity. Throws bdp::Error(invalid_argument) for an invalid stage or
  // entity name, bdp::Error(budget_exceeded) when memory would exceed the
  // budget; nothing is stored then.
  virtual std::vector<RecordInfo> store_stage_data(std::string_view stage_name,
                                                   const StageOutput& data,
                                                   const boost::json::object& metadata = {}) = 0;

  // The newest version of every entity of `stage_name` in `process_id`
  // (default: the current process). Throws bdp::Error(not_found) naming the
  // stage and process, and saying whether the stage's data was ever kept.
  virtual StageOutput retrieve_stage_data(
      std::string_view stage_name, std::optional<std::string_view> process_id = std::nullopt) = 0;

  // Records in every backend that match `filters`.
  virtual std::vector<RecordInfo> list_available_data(const Query& filters = {}) = 0;

  // Applies `policy` to the current process's records: keep_all removes
  // nothing, keep_latest removes all but the newest version of each
  // (stage, entity), keep_none removes all of them.
  virtual CleanupReport cleanup(CleanupPolicy policy, bool dry_run = false) = 0;

  // Drops the current process's in-memory records of `stage_name`, freeing
  // their memory. Persisted copies stay. Returns the bytes freed.
  virtual std::uint64_t release(std::string_view stage_name) = 0;

  // Waits until every accepted store is durable in its backend. Throws
  // bdp::Error(io) when a background write failed.
  virtual void flush() = 0;

  // Where `stage_name`'s data of the current process is kept. The default
  // says nothing (an empty StageStorage).
  virtual StageStorage stage_storage(std::string_view stage_name);

  virtual ContainerStats stats() = 0;

  // Process records, kept with the data. list_processes() reports a
  // `running` record whose program is gone as `interrupted` (runner.hpp).
  virtual void save_process(const ProcessInfo& process) = 0;
  virtual std::vector<ProcessInfo> list_processes() = 0;
};

// Lifecycle rule across processes (keep_last_processes, max_age).
struct RetentionRule {
  // Only processes with this name (a project's runs); empty = every process.
  std::string process_name;
  // Only records of this stage; empty = every stage except `except_stages`.
  std::string stage_name;
  std::vector<std::string> except_stages;
  std::uint64_t keep_last_processes = 0;  // 0 = no count limit
  std::int64_t max_age_seconds = 0;       // 0 = no age limit
  // Never touched (the process being finalised). Processes that are still
  // running, and the processes they resume from or reuse stages of, are
  // never touched either, by any rule.
  std::string protect_process;
};

class BDP_CORE_API DataContainer final : public BaseDataContainer {
 public:
  // `memory` is the in-process backend; `backends` holds the other backend
  // instances by name (it may include `memory` under its own name). Throws
  // bdp::Error(config) when the strategy names a backend that is not there.
  DataContainer(StorageStrategy strategy, std::shared_ptr<Backend> memory,
                std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends = {});
  // Calls close(); an error there is logged, not thrown.
  ~DataContainer() override;

  // A container for `config`: the memory backend and the backends under
  // "backends" that it writes to (the strategy's backend unless the mode is
  // "memory", and each persisted stage's backend), created through `host`,
  // with each stage's plan applied. Other configured backends are never
  // opened. With `all_stores` the strategy's backend is opened whatever the
  // mode (for history and cleanup commands).
  static std::unique_ptr<DataContainer> open(const Config& config, PluginHost& host,
                                             bool all_stores = false);
  // A container for reading what `config`'s stores hold, for history and
  // other reading commands: the stores open(config, host, true) opens, each
  // opened read-only (PluginHost::create_backend with read_only), and a
  // read-only memory backend. Nothing is created or written, and it works on
  // stores the user cannot write. Calls that would change a store
  // (store_stage_data, save_process, a cleanup that is not a dry run) throw
  // the backend's bdp::Error(invalid_argument). A configured store that does
  // not exist is left out; when none of them exists, throws
  // bdp::Error(not_found) "no store at LOCATION" (several joined by "; ").
  static std::unique_ptr<DataContainer> open_read_only(const Config& config, PluginHost& host);
  // A memory-only container with the default strategy, for embedding.
  static std::unique_ptr<DataContainer> in_memory(PluginHost& host,
                                                  std::uint64_t max_memory_bytes = 0);

  // Pins where `stage_name`'s outputs go; stages without a plan follow the
  // strategy. Throws bdp::Error(config) for an unknown backend.
  void set_stage_plan(std::string_view stage_name, StagePlan plan);
  // The plan for `stage_name`.
  StagePlan plan_for(std::string_view stage_name) const;
  const StorageStrategy& strategy() const noexcept { return strategy_; }

  void set_process(std::string process_id) override;
  std::string process_id() const override;
  std::vector<RecordInfo> store_stage_data(std::string_view stage_name, const StageOutput& data,
                                           const boost::json::object& metadata = {}) override;
  StageOutput retrieve_stage_data(
      std::string_view stage_name,
      std::optional<std::string_view> process_id = std::nullopt) override;
  std::vector<RecordInfo> list_available_data(const Query& filters = {}) override;
  CleanupReport cleanup(CleanupPolicy policy, bool dry_run = false) override;
  std::uint64_t release(std::string_view stage_name) override;
  void flush() override;
  StageStorage stage_storage(std::string_view stage_name) override;
  ContainerStats stats() override;
  void save_process(const ProcessInfo& process) override;
  // Process records of every backend, newest started first. A process kept
  // in several backends is listed once: a sound record before a damaged
  // one, then the one finished last.
  std::vector<ProcessInfo> list_processes() override;

  // The payload of one record as listed by list_available_data() (its
  // `backend` names the backend that holds it). Throws bdp::Error(corrupt)
  // with the reason for a record listed as damaged, bdp::Error(config) for
  // a backend this container does not have, and what that backend's
  // retrieve() throws (not_found, corrupt, io).
  Payload retrieve_record(const RecordInfo& record);

  // The newest record of each entity of `stage_name` in `process_id`
  // (default: the current process): the durable one once it is written.
  // Throws like retrieve_stage_data when there is none.
  std::vector<RecordInfo> stage_records(std::string_view stage_name,
                                        std::optional<std::string_view> process_id = std::nullopt);

  // Applies `policy` to the current process's records of one stage only
  // (cleanup() applies it to every stage).
  CleanupReport cleanup_stage(std::string_view stage_name, CleanupPolicy policy,
                              bool dry_run = false);
  // Applies `policy` to every record matching `query`, in every backend:
  // keep_latest keeps the newest version per (process, stage, entity).
  // Records of other processes that are still running, or that a running
  // process reads (resumed from, reused stages of), are never removed.
  CleanupReport cleanup_where(const Query& query, CleanupPolicy policy, bool dry_run = false);
  // Applies `rule` in every backend. Removes the records it selects and,
  // when the rule covers every stage, the process records of the processes
  // it retires once none of their records remain.
  CleanupReport retain(const RetentionRule& rule, bool dry_run = false);
  // Removes, in every backend, the records whose process has no process
  // record anywhere (left by a run killed while its record was being
  // removed, or by a backend that keeps placeholder rows), except those of
  // the current process. Reported like retain().
  CleanupReport remove_orphans(bool dry_run = false);

  // The backend instances this container has, by name, each once (an
  // instance configured under two names is listed under the first). The
  // pointers are the container's: valid while it lives.
  std::vector<std::pair<std::string, Backend*>> backends() const;

  // The failed background writes so far (one line each), forgotten by this
  // call: after it, stores and flush() no longer throw for them.
  std::vector<std::string> take_failures();

  // Waits for the background writer, stops it and removes spilled copies.
  // Throws bdp::Error(io) like flush(). The container stays usable: a later
  // store starts the writer again.
  void close();

 private:
  struct Entry;
  struct Job;
  using EntryPtr = std::shared_ptr<Entry>;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  Backend& backend_named(std::string_view name) const;
  const std::string& name_of(const Backend* backend) const;
  std::vector<Backend*> distinct_backends() const;
  Backend* spill_backend() const;
  void forget_locked(const RecordInfo& record, const Backend* backend);
  void drop_entry_locked(const EntryPtr& entry);
  void throw_if_failed_locked() const;
  void wait_for_writer(std::unique_lock<std::mutex>& lock);
  void make_room(std::uint64_t bytes, std::string_view stage, const std::string& process,
                 bool& store_in_memory);
  void enqueue(std::unique_ptr<Job> job);
  void writer_loop();
  void stop_writer();
  // The processes no cleanup may touch: those still running and those whose
  // records a running process uses (resumed from, reused stages of).
  std::set<std::string, std::less<>> processes_in_use();

  StorageStrategy strategy_;
  std::shared_ptr<Backend> memory_;
  std::string memory_name_;
  std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends_;
  std::map<std::string, StagePlan, std::less<>> plans_;

  std::mutex budget_mutex_;  // serialises stores that must make room under the budget
  mutable std::mutex mutex_;
  std::string process_id_;
  // Every entity version stored through this container that still has a
  // copy somewhere, oldest first.
  std::vector<EntryPtr> entries_;
  // Current process: stage -> newest entry of each entity.
  std::unordered_map<std::string, std::vector<EntryPtr>, StringHash, std::equal_to<>> latest_;
  std::uint64_t clock_ = 0;  // LRU clock
  std::uint64_t memory_bytes_ = 0;
  std::uint64_t memory_records_ = 0;
  std::uint64_t stores_ = 0;
  std::uint64_t retrieves_ = 0;
  double store_ms_ = 0.0;
  std::uint64_t evictions_ = 0;
  std::uint64_t spills_ = 0;
  std::uint64_t reloads_ = 0;

  // The background writer (hybrid).
  std::condition_variable writer_wake_;  // work queued, or stop
  std::condition_variable writer_done_;  // a job finished
  std::deque<std::unique_ptr<Job>> queue_;
  std::uint64_t queue_bytes_ = 0;
  std::uint64_t queue_peak_bytes_ = 0;
  bool writing_ = false;         // the writer is inside a backend call
  bool stop_ = false;            // the writer is asked to end once the queue is empty
  bool writer_running_ = false;  // a writer thread is in writer_loop (it clears this on exit)
  std::thread writer_;           // the last writer started; joined by stop_writer or enqueue
  std::mutex stop_mutex_;        // one stop_writer at a time
  std::uint64_t background_writes_ = 0;
  double background_write_ms_ = 0.0;
  std::vector<std::string> failures_;  // failed background writes, in order
};

}  // namespace bdp
