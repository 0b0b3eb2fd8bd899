#include <bdp/container.hpp>

#include <bdp/plugin_host.hpp>
#include <bdp/runner.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>

#include "log.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

namespace bdp {

BaseDataContainer::~BaseDataContainer() = default;

StageStorage BaseDataContainer::stage_storage(std::string_view /*stage_name*/) {
  return {};
}

// One stored entity version and where its copies are.
struct DataContainer::Entry {
  std::string process;
  std::string stage;
  std::string entity;
  std::int64_t version = 0;
  std::uint64_t bytes = 0;         // payload bytes, counted against the budget while in memory
  std::optional<RecordInfo> mem;   // the copy in the memory backend
  std::optional<RecordInfo> kept;  // the copy in a persistent backend
  Backend* kept_in = nullptr;      // ... that one
  Backend* target = nullptr;       // the backend the stage persists to; nullptr: none
  bool pending = false;            // waiting for the background writer
  bool spilled = false;            // `kept` exists only because of the memory budget
  std::string error;               // the failed background write
  double write_ms = 0.0;           // time the durable write took
  std::uint64_t last_use = 0;      // LRU clock at the last store or retrieve
};

// A background write.
struct DataContainer::Job {
  EntryPtr entry;
  Payload payload;
  Backend* target = nullptr;
  boost::json::object metadata;
  std::uint64_t bytes = 0;
};

namespace {
const boost::json::object kEmptySettings;

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string selector(const std::string& process, const std::string& stage,
                     const std::string& entity, std::int64_t version) {
  return process + "/" + stage + "/" + entity + "@v" + std::to_string(version);
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
  if (strategy_.mode != StorageMode::memory) backend_named(strategy_.backend);
  if (strategy_.write_queue_bytes == 0) strategy_.write_queue_bytes = 1;
}

DataContainer::~DataContainer() {
  try {
    close();
  } catch (const std::exception& e) {
    detail::logger("bdp.core")->error("closing the data container: {}", e.what());
  }
}

std::unique_ptr<DataContainer> DataContainer::open(const Config& config, PluginHost& host,
                                                   bool all_stores) {
  // Only the backends this configuration writes to are created: opening one
  // may create files or connect to a server (the default "sqlite" backend
  // would make bdp-data/bdp.sqlite on every memory-only run).
  std::set<std::string, std::less<>> used{"memory"};
  if (config.strategy.mode != StorageMode::memory || all_stores) {
    used.insert(config.strategy.backend);
  }
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

std::unique_ptr<DataContainer> DataContainer::open_read_only(const Config& config,
                                                             PluginHost& host) {
  std::set<std::string, std::less<>> used{"memory", config.strategy.backend};
  for (const auto& stage : config.stages) {
    if (stage.plan.persist) used.insert(stage.plan.backend);
  }
  std::map<std::string, std::shared_ptr<Backend>, std::less<>> backends;
  std::string missing;  // "no store at ..." of each store that is not there
  bool found_store = false;
  for (const auto& [name, settings] : config.backends) {
    if (!used.count(name)) continue;
    // A plugin that cannot be found is an error of its own, not a missing store.
    host.find(settings.plugin, PluginKind::backend);
    try {
      auto backend =
          host.create_backend(settings.plugin, name, settings.settings, config.base_dir, true);
      found_store = found_store || backend->persistent();
      backends.emplace(name, std::move(backend));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      detail::logger("bdp.core")->debug("backend '{}' left out: {}", name, e.what());
      missing += (missing.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (!found_store && !missing.empty()) throw Error(ErrorCode::not_found, missing);
  std::shared_ptr<Backend> memory;
  if (auto it = backends.find("memory"); it != backends.end() && !it->second->persistent()) {
    memory = it->second;
  } else {
    memory = host.create_backend("memory", "memory", kEmptySettings, config.base_dir, true);
  }
  // The strategy and the plans only route stores, which a read-only
  // container refuses anyway; a store that is left out routes nothing.
  StorageStrategy strategy = config.strategy;
  if (!backends.count(strategy.backend)) strategy.mode = StorageMode::memory;
  auto container = std::make_unique<DataContainer>(strategy, memory, std::move(backends));
  for (const auto& stage : config.stages) {
    if (stage.plan.persist && !container->backends_.count(stage.plan.backend)) continue;
    container->set_stage_plan(stage.name, stage.plan);
  }
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

std::vector<std::pair<std::string, Backend*>> DataContainer::backends() const {
  std::vector<std::pair<std::string, Backend*>> out;
  for (Backend* backend : distinct_backends()) out.emplace_back(name_of(backend), backend);
  return out;
}

std::vector<Backend*> DataContainer::distinct_backends() const {
  std::vector<Backend*> out;
  for (const auto& [name, b] : backends_) {
    if (std::find(out.begin(), out.end(), b.get()) == out.end()) out.push_back(b.get());
  }
  return out;
}

Backend* DataContainer::spill_backend() const {
  if (strategy_.mode == StorageMode::memory) return nullptr;
  auto it = backends_.find(strategy_.backend);
  if (it == backends_.end() || !it->second->persistent()) return nullptr;
  return it->second.get();
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
  plan.keep_last_processes = strategy_.keep_last_processes;
  plan.max_age_seconds = strategy_.max_age_seconds;
  const auto& selected = strategy_.stages_to_persist;
  plan.persist = strategy_.mode != StorageMode::memory &&
                 (selected.empty() ||
                  std::find(selected.begin(), selected.end(), stage_name) != selected.end());
  return plan;
}

std::string DataContainer::process_id() const {
  std::lock_guard lock(mutex_);
  return process_id_;
}

void DataContainer::set_process(std::string process_id) {
  validate_name("process id", process_id);
  std::lock_guard lock(mutex_);
  if (process_id != process_id_) latest_.clear();
  process_id_ = std::move(process_id);
}

void DataContainer::throw_if_failed_locked() const {
  if (failures_.empty()) return;
  std::string message = failures_.front();
  if (failures_.size() > 1) {
    message += " (and " + std::to_string(failures_.size() - 1) + " more failed background writes)";
  }
  throw Error(ErrorCode::io, message);
}

std::vector<std::string> DataContainer::take_failures() {
  std::lock_guard lock(mutex_);
  return std::exchange(failures_, {});
}

void DataContainer::wait_for_writer(std::unique_lock<std::mutex>& lock) {
  writer_done_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

// Called with budget_mutex_ held. Reserves `bytes` of the budget for a store
// into memory, evicting durable copies and spilling memory-only ones as
// needed. Sets `store_in_memory` to false when the new data itself cannot
// fit: it then goes straight to its backend (or the spill backend).
void DataContainer::make_room(std::uint64_t bytes, std::string_view stage,
                              const std::string& process, bool& store_in_memory) {
  std::unique_lock lock(mutex_);
  const std::uint64_t budget = strategy_.max_memory_bytes;
  auto fits = [&] { return memory_bytes_ + bytes <= budget; };
  auto refuse = [&](std::string_view advice) {
    throw Error(ErrorCode::budget_exceeded,
                "storing stage '" + std::string(stage) + "' of process '" + process + "' needs " +
                    std::to_string(bytes) +
                    " bytes but the memory budget (storage_strategy.max_memory_bytes = " +
                    std::to_string(budget) + ") has " +
                    std::to_string(budget - std::min(budget, memory_bytes_)) + " bytes free; " +
                    std::string(advice));
  };
  if (fits()) {
    memory_bytes_ += bytes;
    return;
  }
  if (strategy_.mode == StorageMode::memory) {
    refuse(
        "raise the budget, release() earlier stages, or use mode \"hybrid\" so that data "
        "can be spilled to a backend");
  }
  // The least recently used entry in memory that `eligible` accepts.
  auto lru = [&](auto eligible) -> EntryPtr {
    EntryPtr best;
    for (const auto& e : entries_) {
      if (e->mem && eligible(*e) && (!best || e->last_use < best->last_use)) best = e;
    }
    return best;
  };
  auto drop_memory_copy = [&](Entry& e) {
    memory_->remove(*e.mem);
    e.mem.reset();
    memory_bytes_ -= std::min(memory_bytes_, e.bytes);
    if (memory_records_ > 0) --memory_records_;
  };
  while (!fits()) {
    // 1. Copies that are durable elsewhere: drop them, re-read on demand.
    if (EntryPtr e = lru([](const Entry& x) { return x.kept && !x.pending; })) {
      drop_memory_copy(*e);
      ++evictions_;
      continue;
    }
    // 2. Copies on their way to a backend: wait until they are durable.
    bool pending =
        std::any_of(entries_.begin(), entries_.end(), [](const EntryPtr& x) { return x->pending; });
    if (pending) {
      wait_for_writer(lock);
      continue;
    }
    // 3. Copies only in memory: spill them to the strategy's backend.
    Backend* spill = spill_backend();
    EntryPtr e = spill ? lru([](const Entry& x) { return !x.kept && x.error.empty(); }) : nullptr;
    if (!e) break;
    Payload payload = memory_->retrieve(*e->mem);
    boost::json::object metadata = e->mem->metadata;
    metadata["spilled"] = true;
    lock.unlock();
    RecordInfo record =
        spill->store(StoreRequest{e->process, e->stage, e->entity, metadata}, payload);
    lock.lock();
    record.backend = name_of(spill);
    drop_memory_copy(*e);
    e->kept = std::move(record);
    e->kept_in = spill;
    e->spilled = true;
    ++spills_;
  }
  if (fits()) {
    memory_bytes_ += bytes;
    return;
  }
  // The new data alone is over what the budget can give.
  const StagePlan plan = [&] {
    lock.unlock();
    auto p = plan_for(stage);
    lock.lock();
    return p;
  }();
  if (plan.persist || spill_backend()) {
    store_in_memory = false;
    return;
  }
  refuse(
      "nothing can be spilled (storage_strategy.backend is not a persistent backend); raise the "
      "budget or configure a persistent backend");
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
  Backend* target = plan.persist ? &backend_named(plan.backend) : nullptr;
  const bool write_behind = target && strategy_.mode == StorageMode::hybrid;
  bool in_memory = !target || write_behind;
  const std::uint64_t bytes = data.byte_size();

  std::string process;
  {
    std::lock_guard lock(mutex_);
    throw_if_failed_locked();
    if (process_id_.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "cannot store stage '" + std::string(stage_name) +
                      "': no current process (initialize a process first)");
    }
    process = process_id_;
  }

  std::unique_lock<std::mutex> budget_lock;
  if (in_memory && strategy_.max_memory_bytes != 0) {
    budget_lock = std::unique_lock(budget_mutex_);
    make_room(bytes, stage_name, process, in_memory);
  } else if (in_memory) {
    std::lock_guard lock(mutex_);
    memory_bytes_ += bytes;
  }
  // Where the data goes when it is not kept in memory.
  Backend* direct = in_memory ? nullptr : (target ? target : spill_backend());
  const bool spilled = !in_memory && !target;
  boost::json::object spilled_metadata;
  if (spilled) {
    spilled_metadata = metadata;
    spilled_metadata["spilled"] = true;
  }
  Backend& destination = in_memory ? *memory_ : *direct;

  std::vector<RecordInfo> stored;
  stored.reserve(data.size());
  const auto start = std::chrono::steady_clock::now();
  try {
    for (const auto& [entity, payload] : data) {
      StoreRequest request{process, stage_name, entity, spilled ? spilled_metadata : metadata};
      stored.push_back(destination.store(request, payload));
      stored.back().backend = name_of(&destination);
    }
  } catch (...) {
    // All entities or none: take back what this call stored, then report.
    for (const auto& record : stored) {
      try {
        destination.remove(record);
      } catch (const Error& e) {
        detail::logger("bdp.core")
            ->error("could not roll back record {} after a failed store: {}", record.id, e.what());
      }
    }
    if (in_memory) {
      std::lock_guard lock(mutex_);
      memory_bytes_ -= std::min(memory_bytes_, bytes);
    }
    throw;
  }
  const double elapsed = ms_since(start);

  std::vector<std::unique_ptr<Job>> jobs;
  {
    std::lock_guard lock(mutex_);
    store_ms_ += elapsed;
    stores_ += stored.size();
    std::vector<EntryPtr>* held = nullptr;
    if (process == process_id_) held = &latest_[std::string(stage_name)];
    std::size_t i = 0;
    for (const auto& [entity, payload] : data) {
      const RecordInfo& record = stored[i++];
      auto entry = std::make_shared<Entry>();
      entry->process = process;
      entry->stage = std::string(stage_name);
      entry->entity = entity;
      entry->version = record.version;
      entry->bytes = payload.byte_size();
      entry->target = target;
      entry->last_use = ++clock_;
      if (in_memory) {
        entry->mem = record;
        ++memory_records_;
      } else {
        entry->kept = record;
        entry->kept_in = direct;
        entry->spilled = spilled;
        entry->write_ms = elapsed / static_cast<double>(data.size());
        if (spilled) ++spills_;
      }
      if (write_behind && in_memory) {
        entry->pending = true;
        jobs.push_back(std::make_unique<Job>(Job{entry, payload, target, metadata, entry->bytes}));
      }
      entries_.push_back(entry);
      if (held) {
        auto same = std::find_if(held->begin(), held->end(),
                                 [&](const EntryPtr& h) { return h->entity == entity; });
        if (same != held->end()) {
          *same = std::move(entry);
        } else {
          held->push_back(std::move(entry));
        }
      }
    }
  }
  for (auto& job : jobs) enqueue(std::move(job));
  return stored;
}

void DataContainer::enqueue(std::unique_ptr<Job> job) {
  std::unique_lock lock(mutex_);
  const std::uint64_t limit = strategy_.write_queue_bytes;
  // Bounded in bytes; a job larger than the whole bound still goes alone.
  writer_done_.wait(lock, [&] { return queue_bytes_ == 0 || queue_bytes_ + job->bytes <= limit; });
  queue_bytes_ += job->bytes;
  queue_peak_bytes_ = std::max(queue_peak_bytes_, queue_bytes_);
  queue_.push_back(std::move(job));
  // A writer that is still in writer_loop takes the job, even one asked to
  // stop: it ends only once the queue is empty. Else start one.
  if (!writer_running_) {
    // A previous writer has left writer_loop (it cleared writer_running_
    // under this lock and takes it no more), so joining it here is quick.
    if (writer_.joinable()) writer_.join();
    writer_running_ = true;
    writer_ = std::thread([this] { writer_loop(); });
  }
  writer_wake_.notify_one();
}

void DataContainer::writer_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    writer_wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {  // stopping, and everything is written
      writer_running_ = false;
      return;
    }
    std::unique_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    Entry& entry = *job->entry;
    lock.unlock();

    std::optional<RecordInfo> record;
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    try {
      record = job->target->store(
          StoreRequest{entry.process, entry.stage, entry.entity, job->metadata}, job->payload);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    const double elapsed = ms_since(start);

    lock.lock();
    writing_ = false;
    queue_bytes_ -= std::min(queue_bytes_, job->bytes);
    entry.pending = false;
    entry.write_ms += elapsed;
    if (record) {
      record->backend = name_of(job->target);
      entry.kept = std::move(*record);
      entry.kept_in = job->target;
      ++background_writes_;
      background_write_ms_ += elapsed;
    } else {
      entry.error = "background write of " +
                    selector(entry.process, entry.stage, entry.entity, entry.version) +
                    " to backend '" + name_of(job->target) + "' failed: " + error +
                    " (the data is still in memory)";
      failures_.push_back(entry.error);
      detail::logger("bdp.core")->error("{}", entry.error);
    }
    writer_done_.notify_all();
  }
}

void DataContainer::stop_writer() {
  std::lock_guard stopping(stop_mutex_);
  std::thread writer;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    writer = std::move(writer_);
  }
  writer_wake_.notify_all();
  // A store racing this call either queued its job before the writer saw
  // the queue empty (the writer writes it before it ends) or finds no writer
  // running and starts a new one, which also ends once the queue is empty.
  if (writer.joinable()) writer.join();
  std::unique_lock lock(mutex_);
  // A writer started while this one was stopping: wait for it to end too.
  while (writer_running_) {
    writer = std::move(writer_);
    lock.unlock();
    writer_wake_.notify_all();
    if (writer.joinable()) writer.join();
    lock.lock();
  }
  if (writer_.joinable()) {
    writer = std::move(writer_);
    lock.unlock();
    writer.join();
    lock.lock();
  }
  stop_ = false;
}

StageOutput DataContainer::retrieve_stage_data(std::string_view stage_name,
                                               std::optional<std::string_view> process_id) {
  validate_name("stage name", stage_name);
  std::vector<EntryPtr> held;
  std::string process;
  {
    std::lock_guard lock(mutex_);
    process = process_id ? std::string(*process_id) : process_id_;
    if (process == process_id_) {
      if (auto it = latest_.find(stage_name); it != latest_.end()) held = it->second;
    }
  }
  validate_name("process id", process);

  StageOutput out;
  if (!held.empty()) {
    // Stored through this container: from memory when the copy is there,
    // else from the backend that keeps it.
    std::vector<EntryPtr> reload;
    {
      std::lock_guard lock(mutex_);
      for (const auto& e : held) {
        e->last_use = ++clock_;
        if (e->mem) {
          out.set(e->entity, memory_->retrieve(*e->mem));
        } else {
          reload.push_back(e);
        }
      }
      retrieves_ += held.size();
    }
    for (const auto& e : reload) {
      RecordInfo record;
      Backend* backend = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (!e->kept) {
          throw Error(ErrorCode::not_found,
                      "the data of " + selector(e->process, e->stage, e->entity, e->version) +
                          " is gone: it was released or cleaned up");
        }
        record = *e->kept;
        backend = e->kept_in;
        ++reloads_;
      }
      out.set(e->entity, backend->retrieve(record));
    }
    return out;
  }

  std::vector<std::pair<RecordInfo, Backend*>> found;
  for (Backend* backend : distinct_backends()) {
    Query query;
    query.process_id = process;
    query.stage_name = std::string(stage_name);
    for (auto& record : backend->list(query)) found.emplace_back(std::move(record), backend);
  }
  // The newest version of each entity; on a tie the in-memory copy (the
  // same data, and faster).
  std::map<std::string, std::pair<RecordInfo, Backend*>> newest;
  for (auto& [record, backend] : found) {
    auto it = newest.find(record.entity_name);
    if (it == newest.end() || record.version > it->second.first.version ||
        (record.version == it->second.first.version && !backend->persistent())) {
      newest[record.entity_name] = {record, backend};
    }
  }
  if (newest.empty()) {
    const StagePlan plan = plan_for(stage_name);
    std::string hint =
        plan.persist
            ? ""
            : "; this stage is kept in memory only, so its data does not outlive the process "
              "that made it (set storage_strategy.mode to \"persist\" or \"hybrid\" and list the "
              "stage in stages_to_persist, or give the stage \"storage\": {\"persist\": true}, "
              "to keep it)";
    throw Error(ErrorCode::not_found, "no stored data for stage '" + std::string(stage_name) +
                                          "' of process '" + process + "'" + hint);
  }
  for (auto& [entity, pair] : newest) out.set(entity, pair.second->retrieve(pair.first));
  std::lock_guard lock(mutex_);
  retrieves_ += newest.size();
  return out;
}

Payload DataContainer::retrieve_record(const RecordInfo& record) {
  if (!record.damage.empty()) throw Error(ErrorCode::corrupt, record.damage);
  Backend& backend = backend_named(record.backend.empty() ? memory_name_ : record.backend);
  Payload payload = backend.retrieve(record);
  std::lock_guard lock(mutex_);
  ++retrieves_;
  return payload;
}

std::vector<RecordInfo> DataContainer::stage_records(std::string_view stage_name,
                                                     std::optional<std::string_view> process_id) {
  validate_name("stage name", stage_name);
  std::vector<RecordInfo> out;
  {
    std::lock_guard lock(mutex_);
    const std::string process = process_id ? std::string(*process_id) : process_id_;
    if (process == process_id_) {
      if (auto it = latest_.find(stage_name); it != latest_.end()) {
        for (const auto& e : it->second) {
          if (e->kept) {
            out.push_back(*e->kept);
          } else if (e->mem) {
            out.push_back(*e->mem);
          }
        }
        return out;
      }
    }
  }
  Query query;
  query.process_id = process_id ? std::string(*process_id) : process_id_;
  query.stage_name = std::string(stage_name);
  std::map<std::string, RecordInfo> newest;
  for (auto& record : list_available_data(query)) {
    auto it = newest.find(record.entity_name);
    if (it == newest.end() || record.version > it->second.version) {
      newest[record.entity_name] = std::move(record);
    }
  }
  for (auto& [entity, record] : newest) out.push_back(std::move(record));
  return out;
}

std::vector<RecordInfo> DataContainer::list_available_data(const Query& filters) {
  // A hybrid container holds the same version in memory and in its backend:
  // list it once, as the durable record.
  std::map<std::tuple<std::string, std::string, std::string, std::int64_t>, RecordInfo> unique;
  Query all = filters;
  all.limit.reset();
  for (Backend* backend : distinct_backends()) {
    for (auto& record : backend->list(all)) {
      record.backend = name_of(backend);
      auto key =
          std::make_tuple(record.process_id, record.stage_name, record.entity_name, record.version);
      auto it = unique.find(key);
      if (it == unique.end()) {
        unique.emplace(std::move(key), std::move(record));
      } else if (backend->persistent() && !backend_named(it->second.backend).persistent()) {
        it->second = std::move(record);
      }
    }
  }
  std::vector<RecordInfo> out;
  out.reserve(unique.size());
  for (auto& [key, record] : unique) out.push_back(std::move(record));
  filters.order_and_limit(out);
  return out;
}

void DataContainer::drop_entry_locked(const EntryPtr& entry) {
  entries_.erase(std::remove(entries_.begin(), entries_.end(), entry), entries_.end());
  if (entry->process != process_id_) return;
  auto it = latest_.find(entry->stage);
  if (it == latest_.end()) return;
  auto& held = it->second;
  held.erase(std::remove(held.begin(), held.end(), entry), held.end());
  if (held.empty()) latest_.erase(it);
}

void DataContainer::forget_locked(const RecordInfo& record, const Backend* backend) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    EntryPtr e = entries_[i];
    if (backend == memory_.get() && e->mem && e->mem->id == record.id) {
      e->mem.reset();
      memory_bytes_ -= std::min(memory_bytes_, e->bytes);
      if (memory_records_ > 0) --memory_records_;
    } else if (backend == e->kept_in && e->kept && e->kept->id == record.id) {
      e->kept.reset();
      e->kept_in = nullptr;
    } else {
      continue;
    }
    if (!e->mem && !e->kept && !e->pending) drop_entry_locked(e);
    return;
  }
}

CleanupReport DataContainer::cleanup_where(const Query& query, CleanupPolicy policy, bool dry_run) {
  CleanupReport report;
  report.dry_run = dry_run;
  if (policy == CleanupPolicy::keep_all) return report;
  std::lock_guard budget(budget_mutex_);
  {
    std::unique_lock lock(mutex_);
    wait_for_writer(lock);  // a pending write would bring a removed version back
  }
  std::string current;
  {
    std::lock_guard lock(mutex_);
    current = process_id_;
  }
  // Listed only when another process's records are up for removal.
  std::optional<std::set<std::string, std::less<>>> in_use;
  auto untouchable = [&](const std::string& process) {
    if (process == current) return false;  // the caller's own process
    if (!in_use) in_use = processes_in_use();
    return in_use->count(process) != 0;
  };
  for (Backend* backend : distinct_backends()) {
    auto records = backend->list(query);
    std::erase_if(records, [&](const RecordInfo& r) { return untouchable(r.process_id); });
    // Newest version of each (process, stage, entity) in this backend.
    std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> newest;
    for (const auto& r : records) {
      auto& v = newest[{r.process_id, r.stage_name, r.entity_name}];
      v = std::max(v, r.version);
    }
    for (auto& record : records) {
      bool keep =
          policy == CleanupPolicy::keep_latest &&
          record.version == newest[{record.process_id, record.stage_name, record.entity_name}];
      if (keep) continue;
      record.backend = name_of(backend);
      if (!dry_run) {
        backend->remove(record);
        std::lock_guard lock(mutex_);
        forget_locked(record, backend);
      }
      report.removed.push_back(std::move(record));
    }
  }
  // A hybrid container removed the memory and the durable copy of each
  // version: report the version once, as the durable record.
  using Key = std::tuple<std::string, std::string, std::string, std::int64_t>;
  auto key_of = [](const RecordInfo& r) {
    return Key{r.process_id, r.stage_name, r.entity_name, r.version};
  };
  std::set<Key> durable;
  for (const auto& r : report.removed) {
    if (backend_named(r.backend).persistent()) durable.insert(key_of(r));
  }
  std::erase_if(report.removed, [&](const RecordInfo& r) {
    return !backend_named(r.backend).persistent() && durable.count(key_of(r));
  });
  for (const auto& r : report.removed) report.bytes += static_cast<std::uint64_t>(r.size_bytes);
  return report;
}

CleanupReport DataContainer::cleanup(CleanupPolicy policy, bool dry_run) {
  Query query;
  {
    std::lock_guard lock(mutex_);
    if (process_id_.empty()) return CleanupReport{{}, 0, dry_run, {}};
    query.process_id = process_id_;
  }
  return cleanup_where(query, policy, dry_run);
}

CleanupReport DataContainer::cleanup_stage(std::string_view stage_name, CleanupPolicy policy,
                                           bool dry_run) {
  validate_name("stage name", stage_name);
  Query query;
  query.stage_name = std::string(stage_name);
  {
    std::lock_guard lock(mutex_);
    if (process_id_.empty()) return CleanupReport{{}, 0, dry_run, {}};
    query.process_id = process_id_;
  }
  return cleanup_where(query, policy, dry_run);
}

std::set<std::string, std::less<>> DataContainer::processes_in_use() {
  std::set<std::string, std::less<>> in_use;
  for (const auto& process : list_processes()) {
    if (process.status != ProcessStatus::running) continue;
    in_use.insert(process.id);
    // What a running process reads from other processes: the one it resumes
    // from and the owners of the stages it reused.
    auto add = [&](const boost::json::object& decisions, std::string_view key) {
      if (const auto* v = decisions.if_contains(key); v && v->is_string()) {
        in_use.emplace(v->get_string());
      }
    };
    add(process.decisions, "resumed_from");
    for (const auto& stage : process.stages) add(stage.decisions, "reused_from");
  }
  return in_use;
}

CleanupReport DataContainer::retain(const RetentionRule& rule, bool dry_run) {
  CleanupReport report;
  report.dry_run = dry_run;
  if (rule.keep_last_processes == 0 && rule.max_age_seconds == 0) return report;
  if (!rule.stage_name.empty()) validate_name("stage name", rule.stage_name);
  const std::int64_t cutoff = rule.max_age_seconds == 0
                                  ? std::numeric_limits<std::int64_t>::min()
                                  : now_micros() - rule.max_age_seconds * 1'000'000;
  std::lock_guard budget(budget_mutex_);
  {
    std::unique_lock lock(mutex_);
    wait_for_writer(lock);
  }
  std::set<std::string> removed_processes;
  const auto in_use = processes_in_use();
  for (Backend* backend : distinct_backends()) {
    // The processes the rule covers, newest first; the ones it retires.
    std::set<std::string> covered;
    std::set<std::string> retired;
    std::uint64_t kept = 0;
    for (const auto& process : backend->list_processes()) {
      if (!rule.process_name.empty() && process.name != rule.process_name) continue;
      if (in_use.count(process.id)) {
        // Running, or read by a running process: kept and counted as kept.
        ++kept;
        continue;
      }
      covered.insert(process.id);
      if (process.id == rule.protect_process) {
        ++kept;
        continue;
      }
      const bool too_many = rule.keep_last_processes != 0 && kept >= rule.keep_last_processes;
      const bool too_old = process.started_at < cutoff;
      if (too_many || too_old) {
        retired.insert(process.id);
      } else {
        ++kept;
      }
    }
    Query query;
    if (!rule.stage_name.empty()) query.stage_name = rule.stage_name;
    std::map<std::string, std::size_t> remaining;  // records left per retired process
    for (auto& record : backend->list(query)) {
      if (!covered.count(record.process_id) || record.process_id == rule.protect_process) continue;
      const bool excepted = std::find(rule.except_stages.begin(), rule.except_stages.end(),
                                      record.stage_name) != rule.except_stages.end();
      const bool remove =
          !excepted && (retired.count(record.process_id) || record.created_at < cutoff);
      if (!remove) {
        ++remaining[record.process_id];
        continue;
      }
      record.backend = name_of(backend);
      if (!dry_run) {
        backend->remove(record);
        std::lock_guard lock(mutex_);
        forget_locked(record, backend);
      }
      report.bytes += static_cast<std::uint64_t>(record.size_bytes);
      report.removed.push_back(std::move(record));
    }
    if (!rule.stage_name.empty()) continue;
    for (const auto& id : retired) {
      if (remaining.count(id)) continue;  // some of its records are still kept
      if (!dry_run) backend->remove_process(id);
      removed_processes.insert(id);
    }
  }
  report.removed_processes.assign(removed_processes.begin(), removed_processes.end());
  return report;
}

CleanupReport DataContainer::remove_orphans(bool dry_run) {
  CleanupReport report;
  report.dry_run = dry_run;
  std::lock_guard budget(budget_mutex_);
  {
    std::unique_lock lock(mutex_);
    wait_for_writer(lock);
  }
  // Records first, processes second: a run saves its process record before
  // its first record, so a record listed here whose process is missing from
  // the later process listing has none.
  std::vector<std::pair<RecordInfo, Backend*>> records;
  for (Backend* backend : distinct_backends()) {
    for (auto& record : backend->list(Query{})) records.emplace_back(std::move(record), backend);
  }
  std::set<std::string, std::less<>> known;
  for (const auto& process : list_processes()) known.insert(process.id);
  {
    std::lock_guard lock(mutex_);
    if (!process_id_.empty()) known.insert(process_id_);
  }
  for (auto& [record, backend] : records) {
    if (known.count(record.process_id)) continue;
    record.backend = name_of(backend);
    if (!dry_run) {
      backend->remove(record);
      std::lock_guard lock(mutex_);
      forget_locked(record, backend);
    }
    report.bytes += static_cast<std::uint64_t>(record.size_bytes);
    report.removed.push_back(std::move(record));
  }
  return report;
}

std::uint64_t DataContainer::release(std::string_view stage_name) {
  validate_name("stage name", stage_name);
  std::lock_guard budget(budget_mutex_);
  std::unique_lock lock(mutex_);
  if (process_id_.empty()) return 0;
  wait_for_writer(lock);  // a copy on its way to a backend is still needed
  std::uint64_t freed = 0;
  const auto entries = entries_;
  for (const auto& e : entries) {
    if (e->process != process_id_ || e->stage != stage_name || !e->mem) continue;
    memory_->remove(*e->mem);
    e->mem.reset();
    memory_bytes_ -= std::min(memory_bytes_, e->bytes);
    if (memory_records_ > 0) --memory_records_;
    freed += e->bytes;
    if (!e->kept) drop_entry_locked(e);
  }
  return freed;
}

void DataContainer::flush() {
  std::unique_lock lock(mutex_);
  wait_for_writer(lock);
  throw_if_failed_locked();
}

void DataContainer::close() {
  stop_writer();
  std::vector<EntryPtr> spilled;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
      if (e->spilled && e->kept) spilled.push_back(e);
    }
  }
  std::string first_error;
  for (const auto& e : spilled) {
    try {
      e->kept_in->remove(*e->kept);
    } catch (const Error& error) {
      if (first_error.empty()) first_error = error.what();
      continue;
    }
    std::lock_guard lock(mutex_);
    e->kept.reset();
    e->kept_in = nullptr;
    if (!e->mem) drop_entry_locked(e);
  }
  if (!first_error.empty()) {
    throw Error(ErrorCode::io, "removing spilled copies: " + first_error);
  }
  std::lock_guard lock(mutex_);
  throw_if_failed_locked();
}

StageStorage DataContainer::stage_storage(std::string_view stage_name) {
  StageStorage out;
  std::lock_guard lock(mutex_);
  auto it = latest_.find(stage_name);
  if (it == latest_.end()) return out;
  for (const auto& e : it->second) {
    out.bytes += static_cast<std::int64_t>(e->bytes);
    out.write_ms += e->write_ms;
    if (e->pending) ++out.pending;
    if (e->mem) ++out.in_memory;
    if (!e->error.empty() && out.error.empty()) out.error = e->error;
    if (e->kept && !e->spilled && out.backend.empty()) {
      out.backend = name_of(e->kept_in);
      out.location = e->kept->data_reference.empty() ? out.backend : e->kept->data_reference;
    }
  }
  if (out.backend.empty()) {
    const auto& front = it->second.front();
    const Backend* where = front->pending || !front->error.empty() ? front->target
                           : front->kept                           ? front->kept_in
                                                                   : memory_.get();
    out.backend = name_of(where);
    out.location = out.backend;
  }
  return out;
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
    stats.background_writes = background_writes_;
    stats.background_write_ms = background_write_ms_;
    stats.background_failures = failures_.size();
    stats.queue_bytes = queue_bytes_;
    stats.queue_peak_bytes = queue_peak_bytes_;
    stats.evictions = evictions_;
    stats.spills = spills_;
    stats.reloads = reloads_;
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
      if (inserted) continue;
      // The same process saved in two backends: keep a sound record over a
      // damaged one, then the most complete.
      const bool sound = process.damage.empty();
      const bool kept_sound = it->second.damage.empty();
      if ((sound && !kept_sound) ||
          (sound == kept_sound && process.finished_at > it->second.finished_at)) {
        it->second = process;
      }
    }
  }
  std::vector<ProcessInfo> out;
  const std::int64_t now = now_micros();
  for (auto& [id, process] : by_id) {
    process.status = effective_status(process, now);
    out.push_back(std::move(process));
  }
  std::sort(out.begin(), out.end(), [](const ProcessInfo& a, const ProcessInfo& b) {
    return a.started_at != b.started_at ? a.started_at > b.started_at : a.id > b.id;
  });
  return out;
}

}  // namespace bdp
