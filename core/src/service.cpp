#include <bdp/service.hpp>

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/processor.hpp>

#include "log.hpp"

#include <chrono>
#include <map>

namespace bdp {

namespace {

// Prefix for errors about one stage's configuration: the file (or source)
// that defined the stage, and the stage's key path.
std::string stage_where(const Config& config, const StageConfig& stage) {
  const std::string path = "stages." + stage.name + ".";
  const Provenance* where = config.provenance(path + "processor");
  return (where ? where->source : std::string("config")) + ": " + path;
}

class StageContext final : public ProcessorContext {
 public:
  StageContext(const Config& config, const StageConfig& stage, ProcessStageHandler& handler,
               std::map<std::string, StageOutput, std::less<>> inputs)
      : config_(config), stage_(stage), handler_(handler), inputs_(std::move(inputs)) {}

  const std::string& stage_name() const noexcept override { return stage_.name; }
  const boost::json::object& params() const noexcept override { return stage_.params; }
  const std::vector<std::string>& input_names() const noexcept override { return stage_.inputs; }
  const StageOutput& input(std::string_view stage) const override {
    auto it = inputs_.find(stage);
    if (it == inputs_.end()) {
      throw Error(ErrorCode::not_found, "stage '" + stage_.name + "' has no input '" +
                                            std::string(stage) +
                                            "' (list it under the stage's \"inputs\")");
    }
    return it->second;
  }
  std::filesystem::path resolve_path(std::string_view path) const override {
    return config_.resolve_path(path);
  }
  void progress(double fraction, std::string_view message) override {
    handler_.track_progress(stage_.name, fraction, message);
  }
  void record_decision(std::string_view key, const boost::json::value& value) override {
    handler_.record_stage_decision(stage_.name, key, value);
  }

 private:
  const Config& config_;
  const StageConfig& stage_;
  ProcessStageHandler& handler_;
  std::map<std::string, StageOutput, std::less<>> inputs_;
};

}  // namespace

Service::Service(Config config) : config_(std::move(config)) {
  host_ = std::make_unique<PluginHost>(config_.plugin_paths);
  container_ = DataContainer::open(config_, *host_);
  for (const auto& stage : config_.stages) {
    std::shared_ptr<Processor> processor;
    try {
      processor = host_->create_processor(stage.processor);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      throw Error(ErrorCode::config, stage_where(config_, stage) + "processor: " + e.what());
    }
    try {
      processor->validate(stage.params);
    } catch (const Error& e) {
      throw Error(ErrorCode::config, stage_where(config_, stage) + e.what());
    }
    processors_.push_back(std::move(processor));
  }
}

Service::~Service() = default;

ProcessInfo Service::run(const RunOptions& options) {
  auto log = detail::logger("bdp.core");
  ProcessStageHandler handler(*container_);
  if (options.on_progress) handler.set_progress_listener(options.on_progress);
  const std::string& process_id =
      handler.initialize_process(options.name.value_or(config_.project), config_.description,
                                 config_.document(), config_.runtime_overrides);
  log->info("process {} started ({} stages)", process_id, config_.stages.size());

  for (std::size_t i = 0; i < config_.stages.size(); ++i) {
    const StageConfig& stage = config_.stages[i];
    if (options.on_stage_start) options.on_stage_start(stage);
    try {
      handler.start_stage(stage.name);
      // Runtime overrides that address this stage are its decisions.
      const std::string prefix = "stages." + stage.name + ".";
      for (const auto& kv : config_.runtime_overrides) {
        if (kv.key().starts_with(prefix)) {
          handler.record_stage_decision(stage.name, kv.key().substr(prefix.size()), kv.value());
        }
      }
      std::map<std::string, StageOutput, std::less<>> inputs;
      for (const auto& input : stage.inputs) {
        inputs.emplace(input, container_->retrieve_stage_data(input));
      }
      StageContext context(config_, stage, handler, std::move(inputs));
      StageOutput output = processors_[i]->run(context);
      boost::json::object metadata;
      metadata["processor"] = stage.processor;
      metadata["params"] = stage.params;
      if (!config_.file.empty()) metadata["config_file"] = config_.file.string();
      handler.complete_stage(stage.name, output, std::move(metadata));
    } catch (const std::exception& e) {
      handler.fail_stage(stage.name, e.what());
      handler.finish_process(true);
      if (options.on_stage_end) options.on_stage_end(handler.get_process_summary().stages.at(i));
      const auto code = [&] {
        if (auto* err = dynamic_cast<const Error*>(&e)) return err->code();
        return ErrorCode::internal;
      }();
      throw Error(code,
                  "stage '" + stage.name + "' of process '" + process_id + "' failed: " + e.what());
    }
    if (options.on_stage_end) options.on_stage_end(handler.get_process_summary().stages.at(i));
  }

  container_->flush();
  for (const auto& stage : config_.stages) {
    auto report = container_->cleanup_stage(stage.name, stage.plan.cleanup_policy);
    if (!report.removed.empty()) {
      log->info("cleanup ({}) of stage {}: removed {} records, {} bytes",
                to_string(stage.plan.cleanup_policy), stage.name, report.removed.size(),
                report.bytes);
    }
  }
  handler.finish_process();
  log->info("process {} completed", process_id);
  return handler.get_process_summary();
}

}  // namespace bdp
