#include "reliability_support.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace bdp::test {

namespace fs = std::filesystem;
namespace json = boost::json;

// ------------------------------------------------------------ children

std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (entry.rfind("BDP_PLUGIN_PATH=", 0) == 0 || entry.rfind("BDP_DEFAULTS=", 0) == 0) continue;
    env.push_back(entry);
  }
  env.emplace_back("BDP_PLUGIN_PATH=");
  env.emplace_back("BDP_DEFAULTS=");
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

Child::Child(const std::vector<std::string>& args, const std::vector<std::string>& env,
             const fs::path& out, const fs::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + args.front() + ": " + std::strerror(rc));
  }
}

Child::~Child() {
  if (code_) return;
  kill();
  try {
    wait();
  } catch (...) {
  }
}

void Child::kill() noexcept {
  if (!code_ && pid_ > 0) ::kill(pid_, SIGKILL);
}

int Child::wait() {
  if (code_) return *code_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed: " + std::string(strerror(errno)));
  }
  signalled_ = WIFSIGNALED(status);
  code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return *code_;
}

CommandResult run_spawned(const std::vector<std::string>& args, const std::vector<std::string>& env,
                          const fs::path& scratch) {
  static std::atomic<std::uint64_t> counter{0};
  const std::string stem = "cmd-" + std::to_string(++counter);
  const fs::path out = scratch / (stem + ".out");
  const fs::path err = scratch / (stem + ".err");
  CommandResult result;
  {
    Child child(args, env, out, err);
    result.exit_code = child.wait();
  }
  result.out = read_file(out);
  result.err = read_file(err);
  std::error_code ec;
  fs::remove(out, ec);
  fs::remove(err, ec);
  return result;
}

CommandResult bdp_at(const fs::path& project, std::vector<std::string> args,
                     const fs::path& scratch) {
  args.insert(args.begin(), {cli_path().string(), "--config", project.string()});
  static const std::vector<std::string> env = child_environment();
  return run_spawned(args, env, scratch);
}

std::string program(const std::string& name) {
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "/usr/bin/" + name;
}

// -------------------------------------------------------------- stores

std::string to_string(StoreKind kind) {
  switch (kind) {
    case StoreKind::csv:
      return "csv";
    case StoreKind::sqlite:
      return "sqlite";
    case StoreKind::postgresql:
      return "postgresql";
  }
  return "?";
}

namespace {

std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string pg_admin_url() {
  auto url = env_value("BDP_TEST_PG_URL");
  if (!url) {
    BOOST_FAIL(
        "CI=true but BDP_TEST_PG_URL is unset: the PostgreSQL cases must run in CI "
        "(./tools/test.sh starts the server)");
  }
  return *url;
}

// "postgresql://k=v ..." -> "k=v ..." for psql.
std::string conninfo_of(const std::string& url) {
  const std::string prefix = "postgresql://";
  return url.rfind(prefix, 0) == 0 ? url.substr(prefix.size()) : url;
}

std::string with_dbname(const std::string& url, const std::string& db) {
  static const std::regex dbname(R"(dbname=\S+)");
  return std::regex_replace(url, dbname, "dbname=" + db);
}

CommandResult psql(const std::string& url, const std::string& sql) {
  return run_command({program("psql"), conninfo_of(url), "-X", "-q", "-A", "-t", "-v",
                      "ON_ERROR_STOP=1", "-c", sql});
}

bool is_version_file(const std::string& name, const std::string& suffix) {
  static const std::regex version(R"(v[0-9]+)");
  return name.size() > suffix.size() && name.ends_with(suffix) &&
         std::regex_match(name.substr(0, name.size() - suffix.size()), version);
}

}  // namespace

boost::test_tools::assertion_result postgres_available(boost::unit_test::test_unit_id) {
  const bool wanted = env_value("BDP_TEST_PG_URL").has_value() ||
                      env_value("CI") == std::optional<std::string>("true");
  boost::test_tools::assertion_result result(wanted);
  result.message() << "BDP_TEST_PG_URL is not set: PostgreSQL cases skipped (run ./tools/test.sh, "
                      "which starts a throwaway server with tools/pg.sh)";
  return result;
}

TestStore::TestStore(StoreKind kind, const fs::path& dir) : kind_(kind), dir_(dir) {
  if (kind_ != StoreKind::postgresql) return;
  static std::atomic<int> counter{0};
  admin_url_ = pg_admin_url();
  db_name_ = "bdp_rel_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  auto r = psql(admin_url_, "create database " + db_name_);
  BOOST_TEST_REQUIRE(r.exit_code == 0, "create database " << db_name_ << ": " << r.err);
  url_ = with_dbname(admin_url_, db_name_);
}

TestStore::~TestStore() {
  if (db_name_.empty()) return;
  run_command({program("psql"), conninfo_of(admin_url_), "-X", "-q", "-c",
               "drop database if exists " + db_name_ + " with (force)"});
}

json::object TestStore::backend_block() const {
  switch (kind_) {
    case StoreKind::csv:
      return {{"plugin", "csv"}, {"root", (dir_ / "store").string()}};
    case StoreKind::sqlite:
      return {{"plugin", "soci"},
              {"connection", "sqlite3://db=" + (dir_ / "store.sqlite").string()}};
    case StoreKind::postgresql:
      return {{"plugin", "soci"}, {"connection", url_}};
  }
  return {};
}

std::string TestStore::sql(const std::string& statements) const {
  CommandResult r =
      kind_ == StoreKind::postgresql
          ? psql(url_, statements)
          : run_command({program("sqlite3"), (dir_ / "store.sqlite").string(), statements});
  BOOST_TEST_REQUIRE(r.exit_code == 0, statements << "\n" << describe(r));
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.out;
}

RawCounts TestStore::raw() const {
  RawCounts counts;
  if (kind_ == StoreKind::csv) {
    const fs::path root = dir_ / "store";
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string name = it->path().filename().string();
      if (it->is_directory()) {
        if (it.depth() == 0 && name == ".bdp") it.disable_recursion_pending();
        continue;
      }
      if (is_version_file(name, ".meta.json")) {
        ++counts.records;
      } else if (is_version_file(name, ".csv") || is_version_file(name, ".json")) {
        ++counts.data_objects;
        const std::string stem = name.substr(0, name.find('.'));
        if (!fs::exists(it->path().parent_path() / (stem + ".meta.json"))) {
          counts.leftovers.push_back(it->path().string() + " (no sidecar)");
        }
      } else {
        counts.leftovers.push_back(it->path().string());
      }
    }
    const fs::path processes = root / ".bdp" / "processes";
    if (fs::is_directory(processes)) {
      for (const auto& entry : fs::directory_iterator(processes)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".json") && name.front() != '.') {
          ++counts.processes;
        } else {
          counts.leftovers.push_back(entry.path().string());
        }
      }
    }
    return counts;
  }
  const bool pg = kind_ == StoreKind::postgresql;
  const std::string tables =
      pg ? "select count(*) from pg_tables where tablename like 'bdp\\_data\\_%'"
         : "select count(*) from sqlite_master where type = 'table' and name like "
           "'bdp\\_data\\_%' escape '\\'";
  const std::string line = sql(
      "select (select count(*) from intermediate_data), (" + tables +
      "), (select count(*) from bdp_processes where recorded" + (pg ? ")" : " = 1)") +
      ", (select count(*) from bdp_processes where " + (pg ? "not recorded)" : "recorded = 0)"));
  std::istringstream in(line);
  char bar1 = 0, bar2 = 0, bar3 = 0;
  in >> counts.records >> bar1 >> counts.data_objects >> bar2 >> counts.processes >> bar3 >>
      counts.placeholders;
  BOOST_TEST_REQUIRE((in && bar1 == '|' && bar2 == '|' && bar3 == '|'), "unexpected: " << line);
  return counts;
}

// ------------------------------------------------------------ listings

std::string ListedRecord::selector() const {
  return process_id + "/" + stage + "/" + entity + "@v" + std::to_string(version);
}

namespace {

std::optional<json::value> parse_array(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  return v;
}

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

}  // namespace

std::optional<std::vector<Listed>> parse_processes(const std::string& text) {
  auto v = parse_array(text);
  if (!v) return std::nullopt;
  std::vector<Listed> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_object()) return std::nullopt;
    const json::object& o = item.get_object();
    Listed p;
    p.id = string_at(o, "id");
    p.name = string_at(o, "name");
    p.status = string_at(o, "status");
    p.started_at = int_at(o, "started_at");
    p.damage = string_at(o, "damage");
    if (const json::value* stages = o.if_contains("stages"); stages && stages->is_array()) {
      for (const auto& s : stages->get_array()) {
        ++p.stages;
        if (s.is_object() && string_at(s.get_object(), "status") == "completed") {
          ++p.completed_stages;
        }
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<std::vector<ListedRecord>> parse_records(const std::string& text) {
  auto v = parse_array(text);
  if (!v) return std::nullopt;
  std::vector<ListedRecord> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_object()) return std::nullopt;
    const json::object& o = item.get_object();
    ListedRecord r;
    r.id = string_at(o, "id");
    r.process_id = string_at(o, "process_id");
    r.stage = string_at(o, "stage_name");
    r.entity = string_at(o, "entity_name");
    r.version = int_at(o, "version");
    r.storage_type = string_at(o, "storage_type");
    r.checksum = string_at(o, "checksum");
    r.size_bytes = int_at(o, "size_bytes");
    r.row_count = int_at(o, "row_count");
    r.damage = string_at(o, "damage");
    if (const json::value* m = o.if_contains("metadata"); m && m->is_object()) {
      r.metadata = m->get_object();
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool parse_json_quietly(const std::string& text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

std::optional<ExportedData> read_manifest(const fs::path& dir) {
  std::string text;
  try {
    text = read_file(dir / "manifest.json");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* records = v.get_object().if_contains("records");
  if (records == nullptr || !records->is_array()) return std::nullopt;
  ExportedData out;
  for (const auto& item : records->get_array()) {
    if (!item.is_object()) return std::nullopt;
    const json::object& o = item.get_object();
    out[{string_at(o, "stage"), string_at(o, "entity")}] = {int_at(o, "rows"),
                                                            string_at(o, "checksum")};
  }
  return out;
}

bool has_doctor() {
  const CommandResult r = bdp_cli({"doctor", "--help"});
  if (r.exit_code != 0) return false;
  for (const auto& line : split_lines(r.out)) {
    if (line.rfind("Usage:", 0) == 0) return contains(line, " doctor");
  }
  return false;
}

std::uint64_t test_seed() {
  if (auto text = env_value("BDP_TEST_SEED")) return std::stoull(*text);
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace bdp::test
