// Helpers of the reliability suites (test_kill_cli.cpp, test_concurrency_cli.cpp):
// child processes that can be killed or run from several threads at once,
// one store per test in each backend (a CSV folder, a SQLite file, a fresh
// PostgreSQL database), what bdp lists, and what the store holds counted
// behind bdp's back (files, SQL rows and tables).
#pragma once

#include "cli_support.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace bdp::test {

// The environment every bdp child gets: this program's, with
// BDP_PLUGIN_PATH and BDP_DEFAULTS emptied (as bdp_cli does), plus `extra`.
std::vector<std::string> child_environment(const std::vector<std::string>& extra = {});

// A program started with posix_spawn (safe from any thread), its stdout and
// stderr written to two files. The destructor kills (SIGKILL) and reaps it if
// it still runs. Not copyable.
class Child {
 public:
  // args[0] is the program's full path; `env` is its whole environment.
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env,
        const std::filesystem::path& out, const std::filesystem::path& err);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // Sends SIGKILL (a no-op once it has ended).
  void kill() noexcept;
  // Waits until it ends (once; later calls return the same): its exit code,
  // or 128 + the signal that ended it.
  int wait();
  // After wait(): whether a signal ended it.
  bool signalled() const noexcept { return signalled_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> code_;
  bool signalled_ = false;
};

// Runs `args` to its end with `env` (the whole environment), capturing its
// output in files under `scratch` (an existing folder used by one thread).
// Unlike run_command, safe to call from several threads at once.
CommandResult run_spawned(const std::vector<std::string>& args, const std::vector<std::string>& env,
                          const std::filesystem::path& scratch);

// `bdp --config PROJECT args...` through run_spawned.
CommandResult bdp_at(const std::filesystem::path& project, std::vector<std::string> args,
                     const std::filesystem::path& scratch);

// The full path of `name` on PATH (run_command does not search it).
std::string program(const std::string& name);

enum class StoreKind { csv, sqlite, postgresql };
std::string to_string(StoreKind kind);

// Boost.Test precondition of the PostgreSQL cases: true when
// BDP_TEST_PG_URL is set, and in CI (CI=true), where a missing server then
// fails the case instead of skipping it.
boost::test_tools::assertion_result postgres_available(boost::unit_test::test_unit_id);

// What a store holds, counted without bdp.
struct RawCounts {
  std::int64_t records = 0;            // sidecars (CSV); intermediate_data rows (SQL)
  std::int64_t data_objects = 0;       // data files (CSV); bdp_data_* tables (SQL)
  std::int64_t processes = 0;          // process record files (CSV); recorded process rows (SQL)
  std::int64_t placeholders = 0;       // SQL: process rows kept only for records (always 0 for CSV)
  std::vector<std::string> leftovers;  // CSV: temp files and data files without a sidecar
};

// One store of one kind for one test, in `dir`: the CSV folder dir/store,
// the SQLite file dir/store.sqlite, or a new PostgreSQL database on the
// test server (dropped by the destructor).
class TestStore {
 public:
  TestStore(StoreKind kind, const std::filesystem::path& dir);
  ~TestStore();
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  StoreKind kind() const noexcept { return kind_; }
  // The project file's "backends" entry for this store.
  boost::json::object backend_block() const;
  RawCounts raw() const;

 private:
  std::string sql(const std::string& statements) const;

  StoreKind kind_;
  std::filesystem::path dir_;
  std::string url_;        // PostgreSQL: the test database
  std::string admin_url_;  // PostgreSQL: the server's default database
  std::string db_name_;
};

// A process as `bdp ps --json` lists it.
struct Listed {
  std::string id;
  std::string name;
  std::string status;
  std::int64_t started_at = 0;
  std::string damage;
  std::size_t stages = 0;
  std::size_t completed_stages = 0;
};

// A record as `bdp ls --json` lists it.
struct ListedRecord {
  std::string id;
  std::string process_id;
  std::string stage;
  std::string entity;
  std::int64_t version = 0;
  std::string storage_type;
  std::string checksum;
  std::int64_t size_bytes = 0;
  std::int64_t row_count = 0;
  std::string damage;
  boost::json::object metadata;

  // PROCESS/STAGE/ENTITY@vN, a selector every backend's records answer to.
  std::string selector() const;
  // Everything but the metadata, for comparing listings.
  std::tuple<std::string, std::string, std::string, std::string, std::int64_t, std::string,
             std::string, std::int64_t, std::int64_t>
  key() const {
    return {id, process_id, stage, entity, version, storage_type, checksum, size_bytes, row_count};
  }
};

// Parse `bdp ps --json` / `bdp ls --json` output; nullopt when it is not
// the expected JSON (the caller reports the command).
std::optional<std::vector<Listed>> parse_processes(const std::string& text);
std::optional<std::vector<ListedRecord>> parse_records(const std::string& text);

// Whether `text` parses as JSON (no test failure when it does not: for
// threads other than the test's own).
bool parse_json_quietly(const std::string& text);

// Per exported file of `bdp export` (its manifest.json): (stage, entity) ->
// (rows, checksum of the exported CSV text). nullopt if the manifest is
// missing or malformed.
using ExportedData =
    std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::string>>;
std::optional<ExportedData> read_manifest(const std::filesystem::path& dir);

// Whether this bdp has `bdp doctor` (its own help, exit 0). `bdp X --help`
// for an unknown X prints the main help with exit 0, so the usage line is
// what tells.
bool has_doctor();

// The seed of a suite's random choices: $BDP_TEST_SEED when set, else a
// fresh one. Printed by the caller so that a run can be repeated.
std::uint64_t test_seed();

}  // namespace bdp::test
