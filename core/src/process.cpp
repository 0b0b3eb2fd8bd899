#include <bdp/process.hpp>

#include <bdp/runner.hpp>

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>

#include "log.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

namespace bdp {

namespace {

// "20261126T144500-3fa2c1": sortable by start time, unique enough for
// processes started in the same second.
std::string new_process_id(std::int64_t now) {
  std::string stamp = format_timestamp(now - now % 1'000'000);  // 2026-11-26T14:45:00Z
  std::string compact;
  for (char c : stamp) {
    if (c != '-' && c != ':' && c != 'Z') compact.push_back(c);
  }
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%06x", static_cast<unsigned>(rd() & 0xffffffu));
  return compact + "-" + suffix;
}

// What a completed stage's message says about its data.
std::string storage_message(const StageInfo& info, const StageStorage& storage) {
  return "stored " + std::to_string(info.bytes) + " bytes in " + info.backend +
         (storage.pending ? " (writing in the background)" : "");
}

}  // namespace

ProcessStageHandler::ProcessStageHandler(BaseDataContainer& container)
    : container_(container), heartbeat_interval_(kHeartbeatInterval) {}

ProcessStageHandler::~ProcessStageHandler() {
  stop_heartbeat();
}

std::string ProcessStageHandler::initialize_process(std::string name, std::string description,
                                                    boost::json::object config,
                                                    boost::json::object decisions) {
  {
    // The heartbeat thread of a finished process has ended or is ending.
    std::thread finished;
    {
      std::lock_guard lock(mutex_);
      if (!running_) finished = std::move(heartbeat_);
    }
    if (finished.joinable()) finished.join();
  }
  std::lock_guard lock(mutex_);
  if (running_) {
    throw Error(ErrorCode::invalid_argument,
                "process '" + process_.id + "' is still running; finish it first");
  }
  if (name.empty()) name = "process";
  ProcessInfo process;
  process.started_at = now_micros();
  process.id = new_process_id(process.started_at);
  process.name = std::move(name);
  process.description = std::move(description);
  process.config = std::move(config);
  process.decisions = std::move(decisions);
  process.status = ProcessStatus::running;
  container_.set_process(process.id);
  process_ = std::move(process);
  running_ = true;
  save_locked();
  if (!heartbeat_.joinable()) heartbeat_ = std::thread([this] { heartbeat_loop(); });
  return process_.id;
}

void ProcessStageHandler::heartbeat_loop() {
  std::unique_lock lock(mutex_);
  while (running_) {
    const auto interval = heartbeat_interval_;
    if (heartbeat_wake_.wait_for(lock, interval, [&] { return !running_; })) break;
    if (interval != heartbeat_interval_) continue;  // changed while waiting: wait anew
    try {
      save_locked();
    } catch (const std::exception& e) {
      // The next save (a stage change, the next beat) tries again; a run
      // whose beats keep failing is judged by its last saved heartbeat.
      detail::logger("bdp.core")
          ->warn("process {}: could not renew its heartbeat: {}", process_.id, e.what());
    }
  }
}

void ProcessStageHandler::stop_heartbeat() {
  std::thread beat;
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    beat = std::move(heartbeat_);
  }
  heartbeat_wake_.notify_all();
  if (beat.joinable()) beat.join();
}

void ProcessStageHandler::set_heartbeat_interval(std::chrono::milliseconds interval) {
  {
    std::lock_guard lock(mutex_);
    heartbeat_interval_ = std::max(interval, std::chrono::milliseconds(1));
  }
  heartbeat_wake_.notify_all();
}

void ProcessStageHandler::require_process_locked() const {
  if (!running_) {
    throw Error(ErrorCode::invalid_argument,
                "no process is running: call initialize_process() first");
  }
}

StageInfo& ProcessStageHandler::stage_locked(std::string_view stage) {
  require_process_locked();
  validate_name("stage name", stage);
  auto it = std::find_if(process_.stages.begin(), process_.stages.end(),
                         [&](const StageInfo& s) { return s.name == stage; });
  if (it != process_.stages.end()) return *it;
  StageInfo info;
  info.name = std::string(stage);
  process_.stages.push_back(std::move(info));
  return process_.stages.back();
}

void ProcessStageHandler::save_locked() {
  stamp_runner(process_, now_micros());
  container_.save_process(process_);
}

void ProcessStageHandler::start_stage(std::string_view stage) {
  std::lock_guard lock(mutex_);
  StageInfo& info = stage_locked(stage);
  if (info.status == StageStatus::running) {
    throw Error(ErrorCode::invalid_argument,
                "stage '" + info.name + "' of process '" + process_.id + "' is already running");
  }
  info.status = StageStatus::running;
  info.started_at = now_micros();
  info.finished_at = 0;
  info.progress = 0.0;
  info.message.clear();
  save_locked();
}

void ProcessStageHandler::record_stage_decision(std::string_view stage, std::string_view key,
                                                boost::json::value value) {
  if (key.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "a decision of stage '" + std::string(stage) + "' needs a non-empty key");
  }
  std::lock_guard lock(mutex_);
  stage_locked(stage).decisions[key] = std::move(value);
}

void ProcessStageHandler::track_progress(std::string_view stage, double fraction,
                                         std::string_view message) {
  ProgressListener listener;
  std::string name;
  {
    std::lock_guard lock(mutex_);
    StageInfo& info = stage_locked(stage);
    info.progress = std::clamp(fraction, 0.0, 1.0);
    info.message = std::string(message);
    fraction = info.progress;
    name = info.name;
    listener = listener_;
  }
  if (listener) listener(name, fraction, message);
}

std::vector<RecordInfo> ProcessStageHandler::complete_stage(std::string_view stage,
                                                            const StageOutput& output,
                                                            boost::json::object metadata) {
  std::int64_t started = 0;
  std::int64_t now = now_micros();
  {
    std::lock_guard lock(mutex_);
    StageInfo& info = stage_locked(stage);
    if (info.status != StageStatus::running) info.started_at = now;  // completed without start
    info.status = StageStatus::running;
    started = info.started_at;
    metadata["decisions"] = info.decisions;
    metadata["process_name"] = process_.name;
    metadata["run_ms"] = static_cast<double>(now - started) / 1000.0;
  }

  std::vector<RecordInfo> records;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    records = container_.store_stage_data(stage, output, metadata);
  } catch (const Error& e) {
    fail_stage(stage, e.what());
    throw;
  }
  const double store_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  const StageStorage storage = container_.stage_storage(stage);
  ProgressListener listener;
  std::string name;
  std::string message;
  {
    std::lock_guard lock(mutex_);
    StageInfo& info = stage_locked(stage);
    info.status = StageStatus::completed;
    info.finished_at = now_micros();
    info.progress = 1.0;
    info.run_ms = static_cast<double>(now - started) / 1000.0;
    info.store_ms = store_ms;
    apply_records_locked(info, records);
    if (!storage.backend.empty()) {
      info.backend = storage.backend;
      info.location = storage.location;
    }
    message = storage_message(info, storage);
    info.message = message;
    name = info.name;
    listener = listener_;
    save_locked();
  }
  if (listener) listener(name, 1.0, message);
  return records;
}

void ProcessStageHandler::apply_records_locked(StageInfo& info,
                                               const std::vector<RecordInfo>& records) {
  info.rows = 0;
  info.columns = 0;
  info.bytes = 0;
  info.record_ids.clear();
  for (const auto& r : records) {
    info.record_ids.push_back(r.id);
    info.bytes += r.size_bytes;
    if (r.kind == PayloadKind::table) {
      info.rows += r.row_count;
      info.columns =
          std::max<std::int64_t>(info.columns, static_cast<std::int64_t>(r.schema.size()));
    }
  }
  if (!records.empty()) {
    info.backend = records.front().backend;
    info.location = records.front().data_reference.empty() ? records.front().backend
                                                           : records.front().data_reference;
  }
}

void ProcessStageHandler::reuse_stage(std::string_view stage, std::string_view from_process,
                                      const std::vector<RecordInfo>& records) {
  std::lock_guard lock(mutex_);
  StageInfo& info = stage_locked(stage);
  const std::int64_t now = now_micros();
  info.status = StageStatus::completed;
  info.started_at = now;
  info.finished_at = now;
  info.progress = 1.0;
  info.run_ms = 0.0;
  info.store_ms = 0.0;
  info.decisions["reused_from"] = std::string(from_process);
  apply_records_locked(info, records);
  info.message = records.empty()
                     ? "not run: resumed from process " + std::string(from_process) +
                           ", which kept this stage's result in memory only"
                     : "reused the stored result of process " + std::string(from_process);
  save_locked();
}

std::string ProcessStageHandler::refresh_storage() {
  std::vector<std::string> stages;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : process_.stages) {
      if (s.status == StageStatus::completed && !s.decisions.contains("reused_from")) {
        stages.push_back(s.name);
      }
    }
  }
  std::string first_error;
  std::lock_guard lock(mutex_);
  for (const auto& name : stages) {
    const StageStorage storage = container_.stage_storage(name);
    if (storage.backend.empty()) continue;
    StageInfo& info = stage_locked(name);
    info.backend = storage.backend;
    info.location = storage.location;
    if (storage.write_ms > 0) info.store_ms = storage.write_ms;
    if (!storage.error.empty()) {
      info.status = StageStatus::failed;
      info.message = storage.error;
      if (first_error.empty()) first_error = storage.error;
    } else {
      info.message = storage_message(info, storage);
    }
  }
  save_locked();
  return first_error;
}

void ProcessStageHandler::fail_stage(std::string_view stage, std::string_view error) {
  std::lock_guard lock(mutex_);
  StageInfo& info = stage_locked(stage);
  info.status = StageStatus::failed;
  info.finished_at = now_micros();
  info.message = std::string(error);
  save_locked();
}

void ProcessStageHandler::finish_process(bool failed) {
  std::lock_guard lock(mutex_);
  require_process_locked();
  bool any_failed =
      failed || std::any_of(process_.stages.begin(), process_.stages.end(),
                            [](const StageInfo& s) { return s.status == StageStatus::failed; });
  process_.status = any_failed ? ProcessStatus::failed : ProcessStatus::completed;
  process_.finished_at = now_micros();
  running_ = false;
  heartbeat_wake_.notify_all();
  save_locked();
}

ProcessInfo ProcessStageHandler::get_process_summary() const {
  std::lock_guard lock(mutex_);
  return process_;
}

void ProcessStageHandler::set_progress_listener(ProgressListener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

}  // namespace bdp
