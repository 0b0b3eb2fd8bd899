// The bdp subcommands that live outside main.cpp: each registers its
// options on the CLI11 app and runs when it was given.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace bdp::cli {

struct PsArgs {
  std::optional<std::string> name;  // only processes with this name
  std::optional<std::size_t> limit;
  bool json = false;
};

struct LsArgs {
  std::optional<std::string> process;  // a process selector
  std::optional<std::string> stage;
  std::optional<std::string> entity;
  std::optional<std::string> since;  // ISO 8601 time or an age ("2h")
  std::optional<std::string> until;
  std::vector<std::string> where;  // key=value on the records' metadata
  std::optional<std::size_t> limit;
  bool oldest_first = false;
  bool json = false;
};

struct ShowArgs {
  std::string selector;   // PROCESS/STAGE[/ENTITY][@vN] or a record id
  std::size_t head = 10;  // rows of each table to print
  bool json = false;
};

struct StatsArgs {
  std::size_t top = 10;  // rows in the largest-consumer tables
  bool json = false;
};

// Each opens the stores that `config_file` names (see storage_config) and
// returns the exit code; errors are thrown (SetupError, bdp::Error).
int cmd_ps(const std::string& config_file, const PsArgs& args);
int cmd_ls(const std::string& config_file, const LsArgs& args);
int cmd_show(const std::string& config_file, const ShowArgs& args);
int cmd_stats(const std::string& config_file, const StatsArgs& args);

// `bdp ps`, `bdp ls`, `bdp show` and `bdp stats` on `app`. The object holds
// the parsed values: it must outlive app.parse().
class HistoryCommands {
 public:
  explicit HistoryCommands(CLI::App& app);
  // Runs the one of these commands that was given; nullopt for none.
  std::optional<int> run(const std::string& config_file) const;

 private:
  CLI::App* ps_ = nullptr;
  CLI::App* ls_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* stats_ = nullptr;
  PsArgs ps_args_;
  LsArgs ls_args_;
  ShowArgs show_args_;
  StatsArgs stats_args_;
};

// `bdp diff --exit-code` exits with this when the processes differ.
inline constexpr int kExitDifferences = 3;

struct DiffArgs {
  std::string process_a;  // process selectors
  std::string process_b;
  std::optional<std::string> stage;
  std::optional<std::string> key;  // "col,col"
  std::size_t examples = 5;        // example rows per kind in the report
  std::optional<std::string> changes_csv;
  bool exit_code = false;  // exit kExitDifferences when there are differences
  bool json = false;
};

struct ExportArgs {
  std::string selector;  // a process, or PROCESS/STAGE[/ENTITY][@vN]
  std::string format = "csv";
  std::string out;
  bool json = false;
};

struct ImportArgs {
  std::string dir;
  std::optional<std::string> as_process;
  bool json = false;
};

int cmd_diff(const std::string& config_file, const DiffArgs& args);
int cmd_export(const std::string& config_file, const ExportArgs& args);
// Imports into the backend the configuration's storage_strategy.backend names.
int cmd_import(const std::string& config_file, const ImportArgs& args);

// `bdp diff`, `bdp export` and `bdp import` on `app`; like HistoryCommands.
class DiffCommands {
 public:
  explicit DiffCommands(CLI::App& app);
  std::optional<int> run(const std::string& config_file) const;

 private:
  CLI::App* diff_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* import_ = nullptr;
  DiffArgs diff_args_;
  ExportArgs export_args_;
  ImportArgs import_args_;
};

struct DoctorArgs {
  bool quarantine = false;  // move damaged entries out of the listings
  bool json = false;
};

// Exit 0 when the stores are clean (after --quarantine: when every damaged
// entry was moved), 1 when damage was found (and remains).
int cmd_doctor(const std::string& config_file, const DoctorArgs& args);

// `bdp doctor` on `app`; like HistoryCommands.
class DoctorCommand {
 public:
  explicit DoctorCommand(CLI::App& app);
  std::optional<int> run(const std::string& config_file) const;

 private:
  CLI::App* doctor_ = nullptr;
  DoctorArgs args_;
};

}  // namespace bdp::cli
