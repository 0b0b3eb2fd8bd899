#include <bdp/container.hpp>

#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>

#include "log.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace bdp {

BaseDataContainer::~BaseDataContainer() = default;

namespace {
const boost::json::object kEmptySettings;

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}
}  // namespace

DataContainer::DataContainer(StorageStrategy strategy, std::shared_ptr<Backend> memory,
                             std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends)
    : strategy_(std::move(strategy)), memory_(std::move(memory)), backends_(std::move(backends)) {
  if (!memory_) throw Error(ErrorCode::invalid_argument, "a data container needs a memory backend");
  memory_name_ = "memory";
  for (const auto& [name, backend] : backends_) {
    if (backend == memory_) memory_name_ = name;
  }
  if (!backends_.count(memory_name_)) backends_.emplace(memory_name_, memory_);
  if (strategy_.mode == StorageMode::hybrid) {
    throw Error(ErrorCode::unsupported,
                "storage_strategy.mode: 'hybrid' (write-behind) is not available in this version "
                "yet; use 'memory' or 'persist'");
  }
  if (strategy_.mode != StorageMode::memory) backend_named(strategy_.backend);
}

DataContainer::~DataContainer() = default;

std::unique_ptr<DataContainer> DataContainer::open(const Config& config, PluginHost& host) {
  // Only the backends this configuration writes to are created: opening one
  // may create files or connect to a server (the default "sqlite" backend
  // would make bdp-data/bdp.sqlite on every memory-only run).
  std::set<std::string, std::less<>> used{"memory"};
  if (config.strategy.mode != StorageMode::memory) used.insert(config.strategy.backend);
  for (const auto& stage : config.stages) {
    if (stage.plan.persist) used.insert(stage.plan.backend);
  }
  std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends;
  for (const auto& [name, settings] : config.backends) {
    if (!used.count(name)) continue;
    backends.emplace(
        name, host.create_backend(settings.plugin, name, settings.settings, config.base_dir));
  }
  std::shared_ptr<Backend> memory;
  if (auto it = backends.find("memory"); it != backends.end() && !it->second->persistent()) {
    memory = it->second;
  } else {
    memory = host.create_backend("memory", "memory", kEmptySettings, config.base_dir);
  }
  auto container = std::make_unique<DataContainer>(config.strategy, memory, std::move(backends));
  for (const auto& stage : config.stages) container->set_stage_plan(stage.name, stage.plan);
  return container;
}

std::unique_ptr<DataContainer> DataContainer::in_memory(PluginHost& host,
                                                        std::uint64_t max_memory_bytes) {
  StorageStrategy strategy;
  strategy.max_memory_bytes = max_memory_bytes;
  auto memory = host.create_backend("memory", "memory", kEmptySettings, {});
  return std::make_unique<DataContainer>(strategy, memory);
}

Backend& DataContainer::backend_named(std::string_view name) const {
  auto it = backends_.find(name);
  if (it == backends_.end()) {
    std::string known;
    for (const auto& [n, b] : backends_) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorCode::config,
                "backend '" + std::string(name) +
                    "' is not configured under \"backends\" (configured: " + known + ")");
  }
  return *it->second;
}

const std::string& DataContainer::name_of(const Backend* backend) const {
  for (const auto& [name, b] : backends_) {
    if (b.get() == backend) return name;
  }
  return memory_name_;
}

std::vector<Backend*> DataContainer::distinct_backends() const {
  std::vector<Backend*> out;
  for (const auto& [name, b] : backends_) {
    if (std::find(out.begin(), out.end(), b.get()) == out.end()) out.push_back(b.get());
  }
  return out;
}

void DataContainer::set_stage_plan(std::string_view stage_name, StagePlan plan) {
  validate_name("stage name", stage_name);
  if (plan.persist) backend_named(plan.backend);
  std::lock_guard lock(mutex_);
  plans_[std::string(stage_name)] = std::move(plan);
}

StagePlan DataContainer::plan_for(std::string_view stage_name) const {
  std::lock_guard lock(mutex_);
  if (auto it = plans_.find(stage_name); it != plans_.end()) return it->second;
  StagePlan plan;
  plan.backend = strategy_.backend;
  plan.cleanup_policy = strategy_.cleanup_policy;
  const auto& selected = strategy_.stages_to_persist;
  plan.persist = strategy_.mode != StorageMode::memory &&
                 (selected.empty() ||
                  std::find(selected.begin(), selected.end(), stage_name) != selected.end());
  return plan;
}

void DataContainer::set_process(std::string process_id) {
  validate_name("process id", process_id);
  std::lock_guard lock(mutex_);
  if (process_id != process_id_) latest_.clear();
  process_id_ = std::move(process_id);
}

std::vector<RecordInfo> DataContainer::store_stage_data(std::string_view stage_name,
                                                        const StageOutput& data,
                                                        const boost::json::object& metadata) {
  validate_name("stage name", stage_name);
  if (data.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "stage '" + std::string(stage_name) + "' has no output entities to store");
  }
  for (const auto& [entity, payload] : data) validate_name("entity name", entity);

  const StagePlan plan = plan_for(stage_name);
  Backend& target = plan.persist ? backend_named(plan.backend) : *memory_;
  const bool in_memory = !target.persistent();
  const std::uint64_t bytes = in_memory ? data.byte_size() : 0;

  std::string process;
  {
    std::lock_guard lock(mutex_);
    if (process_id_.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "cannot store stage '" + std::string(stage_name) +
                      "': no current process (initialize a process first)");
    }
    process = process_id_;
    const auto budget = strategy_.max_memory_bytes;
    if (in_memory && budget != 0 && memory_bytes_ + bytes > budget) {
      throw Error(ErrorCode::budget_exceeded,
                  "storing stage '" + std::string(stage_name) + "' of process '" + process +
                      "' needs " + std::to_string(bytes) +
                      " bytes but the memory budget (storage_strategy.max_memory_bytes = " +
                      std::to_string(budget) + ") has " +
                      std::to_string(budget - std::min(budget, memory_bytes_)) +
                      " bytes free; raise the budget, release() earlier stages or persist "
                      "this stage");
    }
    memory_bytes_ += bytes;  // reserved now, so concurrent stores cannot overshoot
  }

  std::vector<RecordInfo> stored;
  stored.reserve(data.size());
  const auto start = std::chrono::steady_clock::now();
  try {
    for (const auto& [entity, payload] : data) {
      StoreRequest request{process, stage_name, entity, metadata};
      stored.push_back(target.store(request, payload));
      stored.back().backend = name_of(&target);
    }
  } catch (...) {
    // All entities or none: take back what this call stored, then report.
    for (const auto& record : stored) {
      try {
        target.remove(record);
      } catch (const Error& e) {
        detail::logger("bdp.core")
            ->error("could not roll back record {} after a failed store: {}", record.id, e.what());
      }
    }
    std::lock_guard lock(mutex_);
    memory_bytes_ -= bytes;
    throw;
  }
  const double elapsed = ms_since(start);

  std::lock_guard lock(mutex_);
  store_ms_ += elapsed;
  stores_ += stored.size();
  if (in_memory) memory_records_ += stored.size();
  if (process == process_id_) {
    auto& held = latest_[std::string(stage_name)];
    for (const auto& record : stored) {
      auto entry = std::make_shared<const Held>(Held{record, &target});
      auto same = std::find_if(held.begin(), held.end(), [&](const auto& h) {
        return h->record.entity_name == record.entity_name;
      });
      if (same != held.end()) {
        *same = std::move(entry);
      } else {
        held.push_back(std::move(entry));
      }
    }
  }
  return stored;
}

StageOutput DataContainer::retrieve_stage_data(std::string_view stage_name,
                                               std::optional<std::string_view> process_id) {
  validate_name("stage name", stage_name);
  std::vector<std::shared_ptr<const Held>> held;
  std::string process;
  {
    std::lock_guard lock(mutex_);
    process = process_id ? std::string(*process_id) : process_id_;
    if (process == process_id_) {
      if (auto it = latest_.find(stage_name); it != latest_.end()) held = it->second;
    }
  }
  validate_name("process id", process);

  if (held.empty()) {
    // Not stored by this container: look in every backend for the newest
    // version of each entity.
    Query query;
    query.process_id = process;
    query.stage_name = std::string(stage_name);
    for (Backend* backend : distinct_backends()) {
      for (auto& record : backend->list(query)) {
        auto same = std::find_if(held.begin(), held.end(), [&](const auto& h) {
          return h->record.entity_name == record.entity_name;
        });
        if (same == held.end()) {
          held.push_back(std::make_shared<const Held>(Held{std::move(record), backend}));
        } else if (record.version > (*same)->record.version) {
          *same = std::make_shared<const Held>(Held{std::move(record), backend});
        }
      }
    }
  }
  if (held.empty()) {
    const StagePlan plan = plan_for(stage_name);
    std::string hint =
        plan.persist
            ? ""
            : "; this stage is kept in memory only, so its data does not outlive the process "
              "that made it (set storage_strategy.mode to \"persist\" and list the stage in "
              "stages_to_persist to keep it)";
    throw Error(ErrorCode::not_found, "no stored data for stage '" + std::string(stage_name) +
                                          "' of process '" + process + "'" + hint);
  }

  StageOutput out;
  for (const auto& h : held) {
    out.set(h->record.entity_name, h->backend->retrieve(h->record));
  }
  std::lock_guard lock(mutex_);
  retrieves_ += held.size();
  return out;
}

std::vector<RecordInfo> DataContainer::list_available_data(const Query& filters) {
  std::vector<RecordInfo> out;
  for (Backend* backend : distinct_backends()) {
    for (auto& record : backend->list(filters)) {
      record.backend = name_of(backend);
      out.push_back(std::move(record));
    }
  }
  filters.order_and_limit(out);
  return out;
}

void DataContainer::forget_locked(const RecordInfo& record, const Backend* backend) {
  if (!backend->persistent()) {
    memory_bytes_ -= std::min<std::uint64_t>(memory_bytes_, record.size_bytes);
    if (memory_records_ > 0) --memory_records_;
  }
  if (record.process_id != process_id_) return;
  auto it = latest_.find(record.stage_name);
  if (it == latest_.end()) return;
  auto& held = it->second;
  held.erase(std::remove_if(
                 held.begin(), held.end(),
                 [&](const auto& h) { return h->backend == backend && h->record.id == record.id; }),
             held.end());
  if (held.empty()) latest_.erase(it);
}

CleanupReport DataContainer::cleanup_matching(const Query& query, CleanupPolicy policy,
                                              bool dry_run) {
  CleanupReport report;
  report.dry_run = dry_run;
  if (policy == CleanupPolicy::keep_all) return report;
  for (Backend* backend : distinct_backends()) {
    auto records = backend->list(query);
    // Newest version of each (stage, entity) in this backend.
    std::map<std::pair<std::string, std::string>, std::int64_t> newest;
    for (const auto& r : records) {
      auto& v = newest[{r.stage_name, r.entity_name}];
      v = std::max(v, r.version);
    }
    for (auto& record : records) {
      bool keep = policy == CleanupPolicy::keep_latest &&
                  record.version == newest[{record.stage_name, record.entity_name}];
      if (keep) continue;
      record.backend = name_of(backend);
      if (!dry_run) {
        backend->remove(record);
        std::lock_guard lock(mutex_);
        forget_locked(record, backend);
      }
      report.bytes += static_cast<std::uint64_t>(record.size_bytes);
      report.removed.push_back(std::move(record));
    }
  }
  return report;
}

CleanupReport DataContainer::cleanup(CleanupPolicy policy, bool dry_run) {
  Query query;
  {
    std::lock_guard lock(mutex_);
    if (process_id_.empty()) return CleanupReport{{}, 0, dry_run};
    query.process_id = process_id_;
  }
  return cleanup_matching(query, policy, dry_run);
}

CleanupReport DataContainer::cleanup_stage(std::string_view stage_name, CleanupPolicy policy,
                                           bool dry_run) {
  validate_name("stage name", stage_name);
  Query query;
  query.stage_name = std::string(stage_name);
  {
    std::lock_guard lock(mutex_);
    if (process_id_.empty()) return CleanupReport{{}, 0, dry_run};
    query.process_id = process_id_;
  }
  return cleanup_matching(query, policy, dry_run);
}

std::uint64_t DataContainer::release(std::string_view stage_name) {
  validate_name("stage name", stage_name);
  Query query;
  query.stage_name = std::string(stage_name);
  {
    std::lock_guard lock(mutex_);
    if (process_id_.empty()) return 0;
    query.process_id = process_id_;
  }
  std::uint64_t freed = 0;
  for (Backend* backend : distinct_backends()) {
    if (backend->persistent()) continue;
    for (const auto& record : backend->list(query)) {
      backend->remove(record);
      std::lock_guard lock(mutex_);
      forget_locked(record, backend);
      freed += static_cast<std::uint64_t>(record.size_bytes);
    }
  }
  return freed;
}

void DataContainer::flush() {
  // Stores are synchronous: when store_stage_data returns, the backend has
  // the data. Nothing is in flight.
}

ContainerStats DataContainer::stats() {
  ContainerStats stats;
  {
    std::lock_guard lock(mutex_);
    stats.memory_bytes = memory_bytes_;
    stats.memory_records = memory_records_;
    stats.max_memory_bytes = strategy_.max_memory_bytes;
    stats.stores = stores_;
    stats.retrieves = retrieves_;
    stats.store_ms = store_ms_;
  }
  for (Backend* backend : distinct_backends()) {
    stats.backends.emplace_back(name_of(backend), backend->stats());
  }
  return stats;
}

void DataContainer::save_process(const ProcessInfo& process) {
  validate_name("process id", process.id);
  // The process record goes wherever its data may go, so it is found with it.
  std::set<Backend*> targets{memory_.get()};
  {
    std::lock_guard lock(mutex_);
    if (strategy_.mode != StorageMode::memory) targets.insert(&backend_named(strategy_.backend));
    for (const auto& [stage, plan] : plans_) {
      if (plan.persist) targets.insert(&backend_named(plan.backend));
    }
  }
  for (Backend* backend : targets) backend->save_process(process);
}

std::vector<ProcessInfo> DataContainer::list_processes() {
  std::map<std::string, ProcessInfo> by_id;
  for (Backend* backend : distinct_backends()) {
    for (auto& process : backend->list_processes()) {
      auto [it, inserted] = by_id.emplace(process.id, process);
      // The same process saved in two backends: keep the most complete record.
      if (!inserted && process.finished_at > it->second.finished_at) it->second = process;
    }
  }
  std::vector<ProcessInfo> out;
  for (auto& [id, process] : by_id) out.push_back(std::move(process));
  std::sort(out.begin(), out.end(), [](const ProcessInfo& a, const ProcessInfo& b) {
    return a.started_at != b.started_at ? a.started_at > b.started_at : a.id > b.id;
  });
  return out;
}

}  // namespace bdp
