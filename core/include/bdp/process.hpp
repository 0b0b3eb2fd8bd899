// ProcessStageHandler tracks one run of a process: its stages, their
// decisions and progress, and stores each stage's outputs through a data
// container when the stage completes. The process record (status, stages,
// decisions, storage figures) is saved with the data after every change of
// status, so a crashed run leaves a record of how far it got.
//
// Typical use, around existing code:
//   bdp::ProcessStageHandler handler(container);
//   handler.initialize_process("nightly-orders");
//   handler.start_stage("load");
//   auto table = my_existing_load();
//   handler.record_stage_decision("load", "source", "orders.csv");
//   handler.complete_stage("load", table);
//   ...
//   handler.finish_process();
//
// While a process runs, its record carries who runs it (host, pid) and a
// heartbeat renewed every kHeartbeatInterval by a background thread (see
// runner.hpp), so that a run whose program was killed shows as interrupted.
//
// Thread-safety: all methods may be called from several threads at once.
#pragma once

#include <bdp/container.hpp>
#include <bdp/export.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/records.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace bdp {

class BDP_CORE_API ProcessStageHandler {
 public:
  // Called on every track_progress: stage, fraction 0..1, message.
  using ProgressListener = std::function<void(const std::string&, double, std::string_view)>;

  // The handler stores through `container`, which must outlive it.
  explicit ProcessStageHandler(BaseDataContainer& container);
  // Stops the heartbeat. A process still running stays `running` in its
  // record; once this program is gone, it reads as `interrupted`.
  ~ProcessStageHandler();
  ProcessStageHandler(const ProcessStageHandler&) = delete;
  ProcessStageHandler& operator=(const ProcessStageHandler&) = delete;

  // Starts a new process called `name` (a new id: "<UTC time>-<random>"),
  // makes it the container's current process, saves its record and starts
  // the heartbeat. Returns the id. Throws bdp::Error(invalid_argument) if a
  // process is already running.
  std::string initialize_process(std::string name, std::string description = {},
                                 boost::json::object config = {},
                                 boost::json::object decisions = {});

  // Marks `stage` running. Stages are created on first mention. Throws
  // bdp::Error(invalid_argument) for an invalid stage name or when no process
  // is running.
  void start_stage(std::string_view stage);

  // Records a decision of `stage` (started or not): stored in the metadata of
  // the stage's records and in the process record.
  void record_stage_decision(std::string_view stage, std::string_view key,
                             boost::json::value value);

  // Records progress (clamped to 0..1) and an optional message, and tells the
  // listener.
  void track_progress(std::string_view stage, double fraction, std::string_view message = {});

  // Stores `output` through the container with the stage's decisions, timing
  // and `metadata`, marks the stage completed, reports a last progress
  // (1.0, with where the data went), and returns the records. Storage
  // errors mark the stage failed and are rethrown.
  std::vector<RecordInfo> complete_stage(std::string_view stage, const StageOutput& output,
                                         boost::json::object metadata = {});

  // Marks `stage` completed with the stored data of the same stage of an
  // earlier process (`records`, from that process) instead of computing it:
  // a resumed run. The stage's decisions get "reused_from": `from_process`.
  // `records` may be empty: a stage the resumed process kept in memory
  // only, which no stage of the new run reads (the message says so).
  void reuse_stage(std::string_view stage, std::string_view from_process,
                   const std::vector<RecordInfo>& records);

  // Marks `stage` failed with `error`.
  void fail_stage(std::string_view stage, std::string_view error);

  // Refreshes every completed stage's storage figures (backend, location,
  // write time) from the container, e.g. once background writes are done
  // after flush(). A stage whose background write failed is marked failed
  // with that error. Returns the first such error, or "".
  std::string refresh_storage();

  // Ends the process: status completed, or failed if any stage failed or
  // `failed` is true. Saves the record.
  void finish_process(bool failed = false);

  // The process record with per-stage status, timings and storage figures.
  ProcessInfo get_process_summary() const;

  void set_progress_listener(ProgressListener listener);

  // How often the heartbeat renews the process record while it runs
  // (default kHeartbeatInterval); takes effect at the next renewal.
  void set_heartbeat_interval(std::chrono::milliseconds interval);

 private:
  void heartbeat_loop();
  void stop_heartbeat();
  StageInfo& stage_locked(std::string_view stage);
  void require_process_locked() const;
  void save_locked();
  void apply_records_locked(StageInfo& info, const std::vector<RecordInfo>& records);

  BaseDataContainer& container_;
  mutable std::mutex mutex_;
  ProcessInfo process_;
  bool running_ = false;
  ProgressListener listener_;

  std::chrono::milliseconds heartbeat_interval_;
  std::condition_variable heartbeat_wake_;  // the process ended, or the interval changed
  std::thread heartbeat_;
};

}  // namespace bdp
