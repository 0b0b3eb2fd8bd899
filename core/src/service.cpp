#include <bdp/service.hpp>

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/processor.hpp>
#include <bdp/selectors.hpp>

#include "log.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <new>
#include <set>

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

namespace {

// The records behind an input stage's outputs, as lineage metadata. A
// record still on its way to its backend (hybrid) has no id there yet: it is
// named by process, stage, entity and version, with the backend it goes to.
boost::json::array lineage_of(const std::vector<RecordInfo>& records, const StageStorage& storage) {
  boost::json::array out;
  for (const auto& r : records) {
    boost::json::object item;
    item["process_id"] = r.process_id;
    item["stage"] = r.stage_name;
    item["entity"] = r.entity_name;
    item["version"] = r.version;
    const bool pending = storage.pending != 0 && r.backend != storage.backend;
    if (pending) {
      item["backend"] = storage.backend;
      item["pending"] = true;
    } else {
      item["record_id"] = r.id;
      item["backend"] = r.backend;
    }
    out.emplace_back(std::move(item));
  }
  return out;
}

}  // namespace

std::string Service::resolve_resume(const RunOptions& options, std::size_t& first_stage) {
  if (options.resume_from.has_value() != options.from_stage.has_value()) {
    throw Error(ErrorCode::invalid_argument,
                "resuming needs both the process to resume from and the stage to start at "
                "(--resume-from PROCESS --from-stage STAGE)");
  }
  first_stage = 0;
  if (!options.resume_from) return {};
  const StageConfig* from = config_.find_stage(*options.from_stage);
  if (!from) {
    std::string names;
    for (const auto& stage : config_.stages) names += (names.empty() ? "" : ", ") + stage.name;
    throw Error(ErrorCode::invalid_argument, "--from-stage: no stage named '" +
                                                 *options.from_stage + "' (stages: " + names + ")");
  }
  first_stage = from->index;
  // The selector grammar of ps, ls, show and diff; "latest" and "latest~N"
  // count only the processes with this run's name.
  const std::string name = options.name.value_or(config_.project);
  try {
    return resolve_process(container_->list_processes(), *options.resume_from, name);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    throw Error(ErrorCode::not_found,
                "--resume-from: " + std::string(e.what()) +
                    " (only processes whose stages were persisted can be resumed from)");
  }
}

ProcessInfo Service::run(const RunOptions& options) {
  auto log = detail::logger("bdp.core");
  std::size_t first_stage = 0;
  const std::string resume_from = resolve_resume(options, first_stage);
  // Stages before first_stage whose results a later stage needs.
  std::set<std::string, std::less<>> needed;
  for (std::size_t i = first_stage; i < config_.stages.size(); ++i) {
    for (const auto& input : config_.stages[i].inputs) {
      const StageConfig* source = config_.find_stage(input);
      if (source && source->index < first_stage) needed.insert(input);
    }
  }
  // Every stage before first_stage is reused from the process resumed from
  // and listed in the new process record as such. Check them all before
  // running anything: a resume that cannot finish should not start.
  // A stage that the resumed process itself reused lives in the process it
  // came from: follow "reused_from".
  std::map<std::string, ProcessInfo, std::less<>> processes;
  if (!resume_from.empty()) {
    for (auto& p : container_->list_processes()) processes.emplace(p.id, std::move(p));
  }
  auto owner_of = [&](const std::string& stage) {
    std::string owner = resume_from;
    for (std::size_t hops = 0; hops < processes.size(); ++hops) {
      auto it = processes.find(owner);
      if (it == processes.end()) break;
      auto info = std::find_if(it->second.stages.begin(), it->second.stages.end(),
                               [&](const StageInfo& s) { return s.name == stage; });
      if (info == it->second.stages.end()) break;
      const auto* from = info->decisions.if_contains("reused_from");
      if (!from || !from->is_string()) break;
      owner = std::string(from->get_string());
    }
    return owner;
  };
  auto cannot_resume = [&](ErrorCode code, const std::string& why) {
    return Error(code, "cannot resume from process '" + resume_from + "' at stage '" +
                           *options.from_stage + "': " + why);
  };
  struct Reused {
    std::string owner;  // the process whose data it is
    std::vector<RecordInfo> records;
  };
  std::map<std::string, Reused, std::less<>> reused;
  for (std::size_t i = 0; i < first_stage; ++i) {
    const std::string& stage = config_.stages[i].name;
    auto stored = processes.find(resume_from);
    if (stored == processes.end()) {
      throw cannot_resume(ErrorCode::not_found, "its process record is no longer stored");
    }
    const ProcessInfo& source = stored->second;
    auto info = std::find_if(source.stages.begin(), source.stages.end(),
                             [&](const StageInfo& s) { return s.name == stage; });
    if (info == source.stages.end() || info->status != StageStatus::completed) {
      throw cannot_resume(ErrorCode::not_found,
                          "stage '" + stage + "' " +
                              (info == source.stages.end()
                                   ? std::string("did not run in it")
                                   : "is " + std::string(to_string(info->status)) + " in it") +
                              " (resume from a stage at or before it)");
    }
    Reused item{owner_of(stage), {}};
    try {
      item.records = container_->stage_records(stage, item.owner);
    } catch (const Error& e) {
      throw cannot_resume(e.code(), e.what());
    }
    if (item.records.empty() && needed.contains(stage)) {
      throw cannot_resume(ErrorCode::not_found,
                          "no stored data for stage '" + stage + "' of process '" + item.owner +
                              "' (persist it: storage_strategy.mode \"persist\" or \"hybrid\" "
                              "with the stage in stages_to_persist)");
    }
    reused.emplace(stage, std::move(item));
  }

  ProcessStageHandler handler(*container_);
  if (options.on_progress) handler.set_progress_listener(options.on_progress);
  boost::json::object decisions = config_.runtime_overrides;
  if (!resume_from.empty()) {
    decisions["resumed_from"] = resume_from;
    decisions["from_stage"] = *options.from_stage;
  }
  const std::string& process_id =
      handler.initialize_process(options.name.value_or(config_.project), config_.description,
                                 redact_secrets(config_.document()), std::move(decisions));
  log->info("process {} started ({} stages)", process_id, config_.stages.size());

  // Where each stage's results are read from: this process, or the one
  // resumed from.
  std::map<std::string, std::string, std::less<>> source_process;
  // The stage called `name` in the process record as it is now.
  auto stage_info = [&](const std::string& name) {
    const ProcessInfo summary = handler.get_process_summary();
    auto it = std::find_if(summary.stages.begin(), summary.stages.end(),
                           [&](const StageInfo& s) { return s.name == name; });
    if (it == summary.stages.end()) {
      throw Error(
          ErrorCode::internal,
          "stage '" + name + "' is missing from the record of process '" + process_id + "'");
    }
    return *it;
  };
  auto fail_process = [&](const StageConfig& stage, ErrorCode code, const std::string& what) {
    // A failed background write of an earlier stage surfaces in a later
    // stage's store: mark the stage it belongs to failed too.
    handler.refresh_storage();
    handler.fail_stage(stage.name, what);
    handler.finish_process(true);
    if (options.on_stage_end) options.on_stage_end(stage_info(stage.name));
    throw Error(code, "stage '" + stage.name + "' of process '" + process_id + "' failed: " + what);
  };

  for (std::size_t i = 0; i < config_.stages.size(); ++i) {
    const StageConfig& stage = config_.stages[i];
    if (i < first_stage) {
      const Reused& item = reused.at(stage.name);
      handler.reuse_stage(stage.name, item.owner, item.records);
      source_process[stage.name] = item.owner;
      if (options.on_stage_end) options.on_stage_end(stage_info(stage.name));
      continue;
    }
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
      boost::json::array lineage;
      double read_ms = 0.0;
      std::uint64_t read_bytes = 0;
      for (const auto& input : stage.inputs) {
        std::optional<std::string_view> from;
        if (auto it = source_process.find(input); it != source_process.end()) from = it->second;
        const auto read_start = std::chrono::steady_clock::now();
        StageOutput data = container_->retrieve_stage_data(input, from);
        read_ms +=
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - read_start)
                .count();
        read_bytes += data.byte_size();
        inputs.emplace(input, std::move(data));
        const StageStorage storage = from ? StageStorage{} : container_->stage_storage(input);
        for (auto& item : lineage_of(container_->stage_records(input, from), storage)) {
          lineage.push_back(std::move(item));
        }
      }
      StageContext context(config_, stage, handler, std::move(inputs));
      StageOutput output = processors_[i]->run(context);
      boost::json::object metadata;
      metadata["processor"] = stage.processor;
      metadata["params"] = stage.params;
      metadata["inputs"] = std::move(lineage);
      if (!stage.inputs.empty()) {
        // How fast its inputs were read (from memory or from a backend).
        metadata["read_bytes"] = read_bytes;
        metadata["read_ms"] = read_ms;
      }
      if (!config_.file.empty()) metadata["config_file"] = config_.file.string();
      handler.complete_stage(stage.name, output, std::move(metadata));
    } catch (const std::bad_alloc&) {
      // The stage's data is gone with the stack that held it: there is
      // memory again to record the failure.
      const std::uint64_t budget = config_.strategy.max_memory_bytes;
      fail_process(stage, ErrorCode::budget_exceeded,
                   "out of memory while the stage ran (" +
                       (budget ? "memory budget storage_strategy.max_memory_bytes = " +
                                     std::to_string(budget) +
                                     " bytes, which bounds stored results, not a stage's working "
                                     "memory"
                               : std::string("no memory budget is set")) +
                       "): give it less data or more memory");
    } catch (const Error& e) {
      fail_process(stage, e.code(), e.what());
    } catch (const std::exception& e) {
      fail_process(stage, ErrorCode::internal, e.what());
    }
    if (options.on_stage_end) options.on_stage_end(stage_info(stage.name));
  }

  // Every background write must be durable before the process counts as
  // completed; a failed one fails the stage it belongs to and the process.
  try {
    container_->flush();
  } catch (const Error& e) {
    handler.refresh_storage();
    handler.finish_process(true);
    throw Error(ErrorCode::io, "process '" + process_id + "' failed: " + e.what());
  }
  handler.refresh_storage();

  for (const auto& stage : config_.stages) {
    if (stage.index < first_stage) continue;
    auto report = container_->cleanup_stage(stage.name, stage.plan.cleanup_policy);
    if (!report.removed.empty()) {
      log->info("cleanup ({}) of stage {}: removed {} records, {} bytes",
                to_string(stage.plan.cleanup_policy), stage.name, report.removed.size(),
                report.bytes);
    }
  }
  handler.finish_process();
  apply_retention(handler.get_process_summary());
  log->info("process {} completed", process_id);
  return handler.get_process_summary();
}

void Service::apply_retention(const ProcessInfo& process) {
  auto log = detail::logger("bdp.core");
  const auto& strategy = config_.strategy;
  auto report = [&](const std::string& what, const CleanupReport& r) {
    if (r.removed.empty() && r.removed_processes.empty()) return;
    log->info("lifecycle ({}): removed {} records ({} bytes) and {} process records", what,
              r.removed.size(), r.bytes, r.removed_processes.size());
  };
  // Stages with their own rule are handled on their own; the strategy's rule
  // covers the rest, and retires whole processes.
  RetentionRule general;
  general.process_name = process.name;
  general.protect_process = process.id;
  general.keep_last_processes = strategy.keep_last_processes;
  general.max_age_seconds = strategy.max_age_seconds;
  for (const auto& stage : config_.stages) {
    if (stage.plan.keep_last_processes == strategy.keep_last_processes &&
        stage.plan.max_age_seconds == strategy.max_age_seconds) {
      continue;
    }
    general.except_stages.push_back(stage.name);
    RetentionRule own = general;
    own.except_stages.clear();
    own.stage_name = stage.name;
    own.keep_last_processes = stage.plan.keep_last_processes;
    own.max_age_seconds = stage.plan.max_age_seconds;
    report("stage " + stage.name, container_->retain(own));
  }
  report("storage_strategy", container_->retain(general));
}

}  // namespace bdp
