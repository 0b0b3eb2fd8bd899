// Data containers keep the intermediate data of a process's stages.
//
// BaseDataContainer is the interface, with the method names of the original
// framework (store_stage_data, retrieve_stage_data, list_available_data,
// cleanup) plus release, flush and stats. DataContainer implements it over
// backend plugins: by default everything stays in memory (the memory
// backend); under mode "persist" the stages selected by the storage strategy
// are written to their configured backend instead.
//
// Thread-safety: a DataContainer may be used from several threads at once.
#pragma once

#include <bdp/config.hpp>
#include <bdp/export.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/records.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bdp {

class PluginHost;

struct ContainerStats {
  std::uint64_t memory_bytes = 0;      // payload bytes held in memory
  std::uint64_t memory_records = 0;    // records held in memory
  std::uint64_t max_memory_bytes = 0;  // the budget; 0 = unlimited
  std::uint64_t stores = 0;            // store_stage_data entities stored
  std::uint64_t retrieves = 0;         // entities retrieved
  double store_ms = 0.0;               // time spent in backends' store()
  // Usage per backend instance.
  std::vector<std::pair<std::string, BackendStats>> backends;
};

struct CleanupReport {
  std::vector<RecordInfo> removed;  // what was (or, for a dry run, would be) removed
  std::uint64_t bytes = 0;          // their size
  bool dry_run = false;
};

class BDP_CORE_API BaseDataContainer {
 public:
  virtual ~BaseDataContainer();

  // The process that stores go to and retrieves default to. Must be set
  // (validated as a name) before storing.
  virtual void set_process(std::string process_id) = 0;
  virtual const std::string& process_id() const noexcept = 0;

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

  // Waits until every accepted store is durable in its backend.
  virtual void flush() = 0;

  virtual ContainerStats stats() = 0;

  // Process records, kept with the data.
  virtual void save_process(const ProcessInfo& process) = 0;
  virtual std::vector<ProcessInfo> list_processes() = 0;
};

class BDP_CORE_API DataContainer final : public BaseDataContainer {
 public:
  // `memory` is the in-process backend; `backends` holds the other backend
  // instances by name (it may include `memory` under its own name).
  DataContainer(StorageStrategy strategy, std::shared_ptr<Backend> memory,
                std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends = {});
  ~DataContainer() override;

  // A container for `config`: the memory backend and the backends under
  // "backends" that it writes to (the strategy's backend unless the mode is
  // "memory", and each persisted stage's backend), created through `host`,
  // with each stage's plan applied. Other configured backends are never
  // opened.
  static std::unique_ptr<DataContainer> open(const Config& config, PluginHost& host);
  // A memory-only container with the default strategy, for embedding.
  static std::unique_ptr<DataContainer> in_memory(PluginHost& host,
                                                  std::uint64_t max_memory_bytes = 0);

  // Pins where `stage_name`'s outputs go; stages without a plan follow the
  // strategy. Throws bdp::Error(config) for an unknown backend.
  void set_stage_plan(std::string_view stage_name, StagePlan plan);
  // The plan for `stage_name`.
  StagePlan plan_for(std::string_view stage_name) const;

  void set_process(std::string process_id) override;
  const std::string& process_id() const noexcept override { return process_id_; }
  std::vector<RecordInfo> store_stage_data(std::string_view stage_name, const StageOutput& data,
                                           const boost::json::object& metadata = {}) override;
  StageOutput retrieve_stage_data(
      std::string_view stage_name,
      std::optional<std::string_view> process_id = std::nullopt) override;
  std::vector<RecordInfo> list_available_data(const Query& filters = {}) override;
  CleanupReport cleanup(CleanupPolicy policy, bool dry_run = false) override;
  std::uint64_t release(std::string_view stage_name) override;
  void flush() override;
  ContainerStats stats() override;
  void save_process(const ProcessInfo& process) override;
  std::vector<ProcessInfo> list_processes() override;

  // Applies `policy` to the current process's records of one stage only
  // (cleanup() applies it to every stage).
  CleanupReport cleanup_stage(std::string_view stage_name, CleanupPolicy policy,
                              bool dry_run = false);

 private:
  // A record of the current process and the backend that holds it.
  struct Held {
    RecordInfo record;
    Backend* backend = nullptr;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  Backend& backend_named(std::string_view name) const;
  const std::string& name_of(const Backend* backend) const;
  std::vector<Backend*> distinct_backends() const;
  CleanupReport cleanup_matching(const Query& query, CleanupPolicy policy, bool dry_run);
  void forget_locked(const RecordInfo& record, const Backend* backend);

  StorageStrategy strategy_;
  std::shared_ptr<Backend> memory_;
  std::string memory_name_;
  std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends_;
  std::map<std::string, StagePlan, std::less<>> plans_;

  mutable std::mutex mutex_;
  std::string process_id_;
  // Current process: stage -> newest record of each entity.
  std::unordered_map<std::string, std::vector<std::shared_ptr<const Held>>, StringHash,
                     std::equal_to<>>
      latest_;
  std::uint64_t memory_bytes_ = 0;
  std::uint64_t memory_records_ = 0;
  std::uint64_t stores_ = 0;
  std::uint64_t retrieves_ = 0;
  double store_ms_ = 0.0;
};

}  // namespace bdp
