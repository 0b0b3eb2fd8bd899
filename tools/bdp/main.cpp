// bdp: the command-line interface.
//
// Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error. Errors
// are one line on stderr; --verbose adds the log.
#include "cli_common.hpp"
#include "commands.hpp"

#include <bdp/config.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/json.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>
#include <bdp/service.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

namespace fs = std::filesystem;

namespace {

using bdp::cli::fixed;
using bdp::cli::human_bytes;
using bdp::cli::kExitOk;
using bdp::cli::kExitRuntime;
using bdp::cli::kExitUsage;
using bdp::cli::load_config;
using bdp::cli::print_table;
using bdp::cli::SetupError;
using bdp::cli::storage_config;
using bdp::cli::Stores;
using bdp::cli::terminal_text;

// Shows which stage is running, with elapsed time and last progress, on a
// terminal's stderr while a stage takes longer than half a second.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool enabled) : enabled_(enabled) {
    if (enabled_) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressDisplay() {
    if (!enabled_) return;
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    clear();
  }
  void stage_started(const std::string& stage) {
    std::lock_guard lock(mutex_);
    stage_ = stage;
    fraction_ = -1.0;
    message_.clear();
    started_ = std::chrono::steady_clock::now();
  }
  void progress(double fraction, std::string_view message) {
    std::lock_guard lock(mutex_);
    fraction_ = fraction;
    message_ = std::string(message);
  }
  void stage_ended() {
    std::lock_guard lock(mutex_);
    stage_.clear();
    clear();
  }

 private:
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (stop_ || stage_.empty()) continue;
      double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      if (elapsed < 0.5) continue;
      std::string text = "  running " + stage_ + " " + fixed(elapsed, 1) + "s";
      if (fraction_ >= 0) text += " " + fixed(fraction_ * 100.0, 0) + "%";
      if (!message_.empty()) text += " " + message_;
      std::fprintf(stderr, "\r\033[K%s", text.c_str());
      std::fflush(stderr);
      shown_ = true;
    }
  }

  bool enabled_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool shown_ = false;
  std::string stage_;
  double fraction_ = -1.0;
  std::string message_;
  std::chrono::steady_clock::time_point started_;
};

void print_summary(const bdp::ProcessInfo& process) {
  double total_ms = process.finished_at > process.started_at
                        ? static_cast<double>(process.finished_at - process.started_at) / 1000.0
                        : 0.0;
  std::cout << "process " << process.id << " (" << terminal_text(process.name)
            << "): " << bdp::to_string(process.status) << " in " << fixed(total_ms, 1) << " ms\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : process.stages) {
    rows.push_back({s.name, std::string(bdp::to_string(s.status)), std::to_string(s.rows),
                    std::to_string(s.columns), human_bytes(s.bytes),
                    s.location.empty() ? "-" : s.location, fixed(s.run_ms, 1),
                    fixed(s.store_ms, 3)});
  }
  print_table({"stage", "status", "rows", "columns", "bytes", "stored in", "ms", "store ms"}, rows,
              {false, false, true, true, true, false, true, true});
  for (const auto& s : process.stages) {
    if (s.status == bdp::StageStatus::failed)
      std::cout << "\n" << s.name << ": " << terminal_text(s.message) << '\n';
  }
}

struct RunArgs {
  std::string file;
  std::vector<std::string> sets;
  std::optional<std::string> name;
  std::optional<std::string> resume_from;
  std::optional<std::string> from_stage;
  bool json = false;
};

int cmd_run(const RunArgs& args) {
  const auto& [file, sets, name, resume_from, from_stage, json] = args;
  if (name && name->empty()) throw SetupError{"--name: must not be empty"};
  bdp::Config config = load_config(file, sets);
  std::optional<bdp::Service> service;
  try {
    service.emplace(std::move(config));
  } catch (const bdp::Error& e) {
    throw SetupError{e.what()};
  }
  ProgressDisplay display(!json && ::isatty(STDERR_FILENO));
  bdp::RunOptions options;
  options.name = name;
  options.resume_from = resume_from;
  options.from_stage = from_stage;
  options.on_stage_start = [&](const bdp::StageConfig& s) { display.stage_started(s.name); };
  options.on_stage_end = [&](const bdp::StageInfo&) { display.stage_ended(); };
  options.on_progress = [&](const std::string&, double f, std::string_view m) {
    display.progress(f, m);
  };
  bdp::ProcessInfo process;
  try {
    process = service->run(options);
  } catch (const bdp::Error& e) {
    display.stage_ended();
    // Nothing ran when the run was refused before its process started
    // (e.g. a resume from a process that is not stored).
    const std::string current = service->container().process_id();
    if (current.empty()) {
      std::cerr << "bdp: " << e.what() << '\n';
      return e.code() == bdp::ErrorCode::invalid_argument ? kExitUsage : kExitRuntime;
    }
    auto processes = service->container().list_processes();
    std::erase_if(processes, [&](const bdp::ProcessInfo& p) { return p.id != current; });
    if (!processes.empty()) {
      if (json) {
        std::cout << bdp::to_pretty_json(processes.front().to_json()) << '\n';
      } else {
        print_summary(processes.front());
      }
    }
    // A stage that fails while running is a run-time error, whatever its
    // cause (even bad params that only the data reveals).
    std::cerr << "bdp: " << e.what() << '\n';
    return kExitRuntime;
  }
  if (json) {
    std::cout << bdp::to_pretty_json(process.to_json()) << '\n';
  } else {
    print_summary(process);
  }
  return kExitOk;
}

struct CleanupArgs {
  std::optional<std::string> policy;
  std::optional<std::uint64_t> keep_last;
  std::optional<std::string> max_age;
  std::optional<std::string> process;
  std::optional<std::string> name;
  bool dry_run = false;
  bool json = false;
};

int cmd_cleanup(const std::string& config_file, const CleanupArgs& args) {
  bdp::Config config = storage_config(config_file);
  bdp::CleanupPolicy policy = config.strategy.cleanup_policy;
  bdp::RetentionRule rule;
  rule.keep_last_processes = args.keep_last.value_or(config.strategy.keep_last_processes);
  rule.max_age_seconds = config.strategy.max_age_seconds;
  try {
    if (args.policy) policy = bdp::parse_cleanup_policy(*args.policy, "--policy");
    if (args.max_age) rule.max_age_seconds = bdp::parse_duration(*args.max_age, "--max-age");
    if (args.process) bdp::validate_name("process id (--process)", *args.process);
  } catch (const bdp::Error& e) {
    throw SetupError{e.what()};
  }
  if (args.name) rule.process_name = *args.name;
  // A dry run only reads: it must work on stores this user cannot write,
  // and create none.
  Stores stores(config, args.dry_run ? bdp::cli::Access::read_only : bdp::cli::Access::read_write);
  bdp::Query query;
  if (args.process) query.process_id = *args.process;
  if (args.process) {
    auto processes = stores.container->list_processes();
    if (std::none_of(processes.begin(), processes.end(),
                     [&](const bdp::ProcessInfo& p) { return p.id == *args.process; }) &&
        stores.container->list_available_data(query).empty()) {
      throw bdp::Error(bdp::ErrorCode::not_found,
                       "--process: no stored process '" + *args.process + "'");
    }
  }
  bdp::CleanupReport report = stores.container->cleanup_where(query, policy, args.dry_run);
  if (!args.process) {
    bdp::CleanupReport more = stores.container->retain(rule, args.dry_run);
    for (auto& r : more.removed) report.removed.push_back(std::move(r));
    report.bytes += more.bytes;
    report.removed_processes = std::move(more.removed_processes);
    bdp::CleanupReport orphans = stores.container->remove_orphans(args.dry_run);
    for (auto& r : orphans.removed) report.removed.push_back(std::move(r));
    report.bytes += orphans.bytes;
  }
  if (args.json) {
    boost::json::object out;
    out["dry_run"] = args.dry_run;
    out["policy"] = bdp::to_string(policy);
    boost::json::array records;
    for (const auto& r : report.removed) records.push_back(r.to_json());
    out["removed"] = std::move(records);
    out["bytes"] = report.bytes;
    boost::json::array processes;
    for (const auto& id : report.removed_processes) processes.emplace_back(id);
    out["removed_processes"] = std::move(processes);
    std::cout << bdp::to_pretty_json(out) << '\n';
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : report.removed) {
    rows.push_back({r.process_id, r.stage_name, r.entity_name, "v" + std::to_string(r.version),
                    human_bytes(r.size_bytes), r.backend});
  }
  if (!rows.empty()) {
    print_table({"process", "stage", "entity", "version", "bytes", "backend"}, rows,
                {false, false, false, true, true, false});
  }
  std::cout << (args.dry_run ? "would remove " : "removed ") << report.removed.size()
            << " records (" << human_bytes(static_cast<std::int64_t>(report.bytes)) << ")";
  if (!report.removed_processes.empty()) {
    std::cout << " and " << report.removed_processes.size() << " process records";
  }
  std::cout << " [policy " << bdp::to_string(policy);
  if (rule.keep_last_processes) std::cout << ", keep last " << rule.keep_last_processes;
  if (rule.max_age_seconds) std::cout << ", max age " << rule.max_age_seconds << " s";
  std::cout << "]\n";
  return kExitOk;
}

// The value at a dotted key path of a resolved document, where
// "stages.<name>" addresses the stage called <name>; nullptr if absent.
const boost::json::value* find_by_path(const boost::json::object& document, std::string_view path) {
  const boost::json::value* current = nullptr;
  const boost::json::object* object = &document;
  while (!path.empty()) {
    auto dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (!object) return nullptr;
    auto it = object->find(key);
    if (it == object->end()) return nullptr;
    current = &it->value();
    if (key == "stages" && current->is_array() && !path.empty() && object == &document) {
      auto next_dot = path.find('.');
      std::string_view name = path.substr(0, next_dot);
      path = next_dot == std::string_view::npos ? std::string_view() : path.substr(next_dot + 1);
      const boost::json::value* found = nullptr;
      for (const auto& stage : current->get_array()) {
        if (const auto* o = stage.if_object()) {
          auto n = o->find("name");
          if (n != o->end() && n->value().is_string() && n->value().get_string() == name) {
            found = &stage;
          }
        }
      }
      if (!found) return nullptr;
      current = found;
    }
    object = current->if_object();
  }
  return current;
}

int cmd_config_show(const std::string& file, const std::vector<std::string>& sets, bool explain) {
  bdp::Config config = load_config(file, sets);
  if (!explain) {
    std::cout << bdp::to_pretty_json(config.document()) << '\n';
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [path, where] : config.explain()) {
    const boost::json::value* value = find_by_path(config.document(), path);
    std::string text = value ? boost::json::serialize(*value) : std::string("-");
    constexpr std::size_t kMaxValue = 48;  // keep the table readable; `config show` has it all
    if (text.size() > kMaxValue) text = text.substr(0, kMaxValue - 3) + "...";
    rows.push_back({path, text, std::string(bdp::to_string(where.layer)), where.source});
  }
  print_table({"key", "value", "layer", "source"}, rows, {false, false, false, false});
  return kExitOk;
}

void print_plugin(const bdp::PluginInfo& p) {
  std::cout << "name:        " << p.name << '\n'
            << "kind:        " << bdp::to_string(p.kind) << '\n'
            << "version:     " << p.version << '\n'
            << "description: " << p.description << '\n'
            << "sdk abi:     " << p.abi_major << '.' << p.abi_minor << '\n'
            << "compiler:    " << p.compiler << '\n'
            << "stdlib:      " << p.stdlib << '\n'
            << "boost:       " << p.boost_version / 100000 << '.' << p.boost_version / 100 % 1000
            << '.' << p.boost_version % 100 << '\n'
            << "cxx11 abi:   " << p.cxx11_abi << '\n'
            << "file:        " << p.file.string() << '\n';
  if (!p.processors.empty()) {
    std::cout << "processors: ";
    for (const auto& name : p.processors) std::cout << ' ' << name;
    std::cout << '\n';
  }
}

boost::json::object plugin_json(const bdp::PluginInfo& p) {
  boost::json::object o;
  o["name"] = p.name;
  o["kind"] = bdp::to_string(p.kind);
  o["version"] = p.version;
  o["description"] = p.description;
  o["abi"] = std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
  o["compiler"] = p.compiler;
  o["stdlib"] = p.stdlib;
  o["boost_version"] = p.boost_version;
  o["cxx11_abi"] = p.cxx11_abi;
  o["file"] = p.file.string();
  boost::json::array procs;
  for (const auto& n : p.processors) procs.emplace_back(n);
  o["processors"] = std::move(procs);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bdp: multi-stage data processes with configurable intermediate storage"};
  app.require_subcommand(1);
  bool verbose = false;
  std::string config_file;
  app.add_flag("-v,--verbose", verbose, "Log what happens (to stderr)");
  app.add_option("--config", config_file,
                 "Project file that names the storage (default: ./bdp.json when present)");

  auto* run = app.add_subcommand("run", "Run the stages of a project file");
  std::string run_file;
  std::vector<std::string> run_sets;
  std::optional<std::string> run_name;
  bool run_json = false;
  run->add_option("CONFIG", run_file, "Project file (JSON)")->required();
  run->add_option("--set", run_sets, "Runtime override key.path=value (repeatable)");
  run->add_option("--name", run_name, "Process name (default: the project's name)");
  run->add_flag("--json", run_json, "Print the process record as JSON");
  std::optional<std::string> run_resume_from;
  std::optional<std::string> run_from_stage;
  auto* resume_opt =
      run->add_option("--resume-from", run_resume_from,
                      "Reuse the stored stage results of this process (an id, id prefix, "
                      "latest or latest~N)");
  auto* from_opt =
      run->add_option("--from-stage", run_from_stage, "The first stage to compute when resuming");
  resume_opt->needs(from_opt);
  from_opt->needs(resume_opt);

  bdp::cli::HistoryCommands history(app);  // ps, ls, show, stats
  bdp::cli::DiffCommands diff(app);        // diff, export, import
  bdp::cli::DoctorCommand doctor(app);     // doctor

  auto* cleanup = app.add_subcommand(
      "cleanup", "Remove stored data by policy, process count and age (the config's by default)");
  CleanupArgs cleanup_args;
  cleanup->add_option("--policy", cleanup_args.policy, "keep_all, keep_latest or keep_none");
  bdp::cli::whole_number(
      cleanup->add_option("--keep-last", cleanup_args.keep_last,
                          "Keep the data of the newest N processes (of each name with --name)"));
  cleanup->add_option("--max-age", cleanup_args.max_age, "Remove data older than this (e.g. 30d)");
  cleanup->add_option("--process", cleanup_args.process, "Apply the policy to this process only");
  cleanup->add_option("--name", cleanup_args.name,
                      "Count and age only processes with this name (--keep-last, --max-age)");
  cleanup->add_flag("--dry-run", cleanup_args.dry_run,
                    "Show what would be removed, remove nothing");
  cleanup->add_flag("--json", cleanup_args.json, "Print as JSON");

  auto* config = app.add_subcommand("config", "Inspect configuration");
  config->require_subcommand(1);
  auto* show = config->add_subcommand("show", "Print the resolved configuration");
  std::string show_file;
  std::vector<std::string> show_sets;
  bool show_explain = false;
  show->add_option("CONFIG", show_file, "Project file (JSON)");
  show->add_option("--set", show_sets, "Runtime override key.path=value (repeatable)");
  show->add_flag("--explain", show_explain, "Show the layer and file that set each value");

  auto* plugins = app.add_subcommand("plugins", "List or inspect plugins");
  auto* list = plugins->add_subcommand("list", "List the plugins found on the search path");
  bool list_json = false;
  list->add_flag("--json", list_json, "Print as JSON");
  auto* inspect = plugins->add_subcommand("inspect", "Read and check one plugin library");
  std::string inspect_file;
  bool inspect_json = false;
  inspect->add_option("FILE", inspect_file, "Plugin library file")->required();
  inspect->add_flag("--json", inspect_json, "Print as JSON");

  // Usage errors are one line too.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "bdp: " + std::string(e.what()) + " (see bdp --help)\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // "bdp frobnicate" fails as "a subcommand is required": name the word instead.
    auto extras = app.remaining();
    if (app.get_subcommands().empty() && !extras.empty() && e.get_exit_code() != 0) {
      std::string commands;
      for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        commands += (commands.empty() ? "" : ", ") + sub->get_name();
      }
      std::cerr << "bdp: unknown command '" << extras.front() << "' (commands: " << commands
                << "; see bdp --help)\n";
      return kExitUsage;
    }
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  // Errors reach the user as one line (below); the log is for --verbose.
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::off);
  spdlog::set_pattern("%^[%l]%$ %n: %v");
  if (config_file.empty() && fs::exists("bdp.json")) config_file = "bdp.json";

  try {
    if (*run) {
      return cmd_run(
          RunArgs{run_file, run_sets, run_name, run_resume_from, run_from_stage, run_json});
    }
    if (auto code = history.run(config_file)) return *code;
    if (auto code = diff.run(config_file)) return *code;
    if (auto code = doctor.run(config_file)) return *code;
    if (*cleanup) return cmd_cleanup(config_file, cleanup_args);
    if (*show) {
      std::string file = show_file.empty() ? config_file : show_file;
      if (file.empty()) throw SetupError{"config show: name a project file (or --config FILE)"};
      return cmd_config_show(file, show_sets, show_explain);
    }
    if (*plugins) {
      std::vector<fs::path> paths;
      if (!config_file.empty()) paths = load_config(config_file, {}).plugin_paths;
      bdp::PluginHost host(paths);
      if (*inspect) {
        auto info = host.inspect(inspect_file);
        if (inspect_json) {
          std::cout << bdp::to_pretty_json(plugin_json(info)) << '\n';
        } else {
          print_plugin(info);
        }
        return kExitOk;
      }
      std::vector<std::string> problems;
      auto found = host.discover(&problems);
      for (const auto& p : problems) std::cerr << "bdp: skipped " << p << '\n';
      if (list_json) {
        boost::json::array arr;
        for (const auto& p : found) arr.push_back(plugin_json(p));
        std::cout << bdp::to_pretty_json(arr) << '\n';
        return kExitOk;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : found) {
        std::string provides;
        for (const auto& n : p.processors) provides += (provides.empty() ? "" : ",") + n;
        rows.push_back({p.name, std::string(bdp::to_string(p.kind)), p.version,
                        std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor),
                        provides.empty() ? "-" : provides, p.file.string()});
      }
      print_table({"name", "kind", "version", "abi", "provides", "file"}, rows,
                  {false, false, false, false, false, false});
      if (found.empty()) {
        std::cerr << "bdp: no plugins found; searched:";
        for (const auto& p : host.search_paths()) std::cerr << ' ' << p.string();
        std::cerr << '\n';
      }
      return kExitOk;
    }
  } catch (const SetupError& e) {
    std::cerr << "bdp: " << e.message << '\n';
    return kExitUsage;
  } catch (const bdp::Error& e) {
    std::cerr << "bdp: " << e.what() << '\n';
    return e.code() == bdp::ErrorCode::config ? kExitUsage : kExitRuntime;
  } catch (const std::bad_alloc&) {
    std::cerr << "bdp: out of memory: the system refused an allocation (free memory, or work on "
                 "less data at once)\n";
    return kExitRuntime;
  } catch (const std::exception& e) {
    std::cerr << "bdp: internal error: " << e.what() << '\n';
    return kExitRuntime;
  }
  return kExitUsage;
}
