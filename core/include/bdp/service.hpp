// Service runs a configured process: it builds the plugin host, the data
// container and the process handler from a resolved Config, checks that
// every stage's processor exists and accepts its params, then executes the
// stages in order, handing each the outputs of its inputs, and finalises:
// flush (a failed background write fails the process), cleanup per policy,
// then the lifecycle rules (keep_last_processes, max_age).
//
// Thread-safety: one run at a time per Service.
#pragma once

#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/export.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/process.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace bdp {

struct RunOptions {
  // Process name; defaults to the config's "project".
  std::optional<std::string> name;
  // Told about stage progress (stage, fraction, message), from the stage's thread.
  ProcessStageHandler::ProgressListener on_progress;
  // Told when a stage starts and when it ends.
  std::function<void(const StageConfig&)> on_stage_start;
  std::function<void(const StageInfo&)> on_stage_end;
  // Resume: the stages before `from_stage` are not run; the stored results
  // of process `resume_from` ("latest": the newest process with this
  // process's name) stand in for them. Both or neither.
  std::optional<std::string> resume_from;
  std::optional<std::string> from_stage;
};

class BDP_CORE_API Service {
 public:
  // Creates plugins and storage for `config` and checks every stage. Throws
  // bdp::Error(config) naming the file and key path for an unknown processor
  // or bad params, bdp::Error(plugin / not_found) when a plugin cannot be
  // loaded.
  explicit Service(Config config);
  ~Service();

  // Runs every stage. Returns the process record. When a stage fails, the
  // process is recorded as failed and a bdp::Error naming the stage and
  // process is thrown.
  ProcessInfo run(const RunOptions& options = {});

  const Config& config() const noexcept { return config_; }
  PluginHost& plugins() noexcept { return *host_; }
  DataContainer& container() noexcept { return *container_; }

 private:
  // The process a resumed run reads from ("" when not resuming) and the
  // index of the first stage to run.
  std::string resolve_resume(const RunOptions& options, std::size_t& first_stage);
  void apply_retention(const ProcessInfo& process);

  Config config_;
  std::unique_ptr<PluginHost> host_;
  std::unique_ptr<DataContainer> container_;
  std::vector<std::shared_ptr<Processor>> processors_;  // one per stage, in order
};

}  // namespace bdp
