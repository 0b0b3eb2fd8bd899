// Reading commands open stores read-only (issue 13): `bdp ps`, `ls`,
// `show`, `stats`, `diff`, `export` and `cleanup --dry-run` create nothing
// in a folder without a store and say "no store at PATH"; on a read-only
// copy of a SQLite store and of a CSV store (cp -a, then chmod -R a-w), and
// on another user's store, they work and print what they print on the
// original, and change nothing. Root ignores file permissions, so when this
// test runs as root the reading commands run as the user "nobody". Each test
// runs the real binary on real stores in a temporary folder.
#include "cli_support.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::bdp_cli;
using bdp::test::CommandResult;
using bdp::test::describe;
using bdp::test::Launch;
using bdp::test::TempDir;

namespace {

bool running_as_root() {
  return ::geteuid() == 0;
}

boost::test_tools::assertion_result as_root(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result result(running_as_root());
  result.message() << "only root can make a store that belongs to another user";
  return result;
}

// Who runs the reading commands on a store this user may not write: as
// root, "nobody" (root ignores permissions); else this user.
Launch reader() {
  if (!running_as_root()) return {};
  const passwd* pw = ::getpwnam("nobody");
  BOOST_TEST_REQUIRE(pw != nullptr, "this test runs as root and needs the user 'nobody'");
  Launch launch;
  launch.uid = pw->pw_uid;
  launch.gid = pw->pw_gid;
  const CommandResult r = bdp_cli({"--help"}, {}, launch);
  if (r.exit_code != 0) {
    // A build tree inside a folder only root may enter (a home folder):
    // the commands run as root, who ignores the permissions, so this run
    // checks what they read but not that they need no write access.
    BOOST_TEST_MESSAGE("the user 'nobody' cannot run " << bdp::test::cli_path()
                                                       << " (the build tree is not readable by "
                                                          "everyone): reading as root instead");
    return {};
  }
  return launch;
}

// run_command does not search PATH: the full path of a program on it.
std::string program(const std::string& name) {
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return name;
}

void run_ok(const std::vector<std::string>& args) {
  const CommandResult r = bdp::test::run_command(args);
  BOOST_TEST_REQUIRE(r.exit_code == 0, args[0] << " failed: " << describe(r));
}

// Every path under `dir` with its contents ("<folder>" for folders) and
// permission bits.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    BOOST_TEST_REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    std::string entry = std::to_string(st.st_mode & 07777) + " ";
    entry += e.is_directory() ? "<folder>" : bdp::test::read_file(e.path());
    out[fs::relative(e.path(), dir).string()] = entry;
  }
  return out;
}

// A project in a fresh temporary folder that "nobody" may enter, stored in
// `store` (a SQLite file or a CSV folder) by two runs with different
// decisions. The folder `writable` is where anyone may export to.
struct Project {
  TempDir dir;
  fs::path folder = dir / "project";
  fs::path file = folder / "project.json";
  fs::path writable = dir / "exports";

  explicit Project(const std::string& backend) {
    fs::create_directories(folder);
    fs::create_directories(writable);
    fs::permissions(dir.path(), fs::perms(0755));
    fs::permissions(writable, fs::perms(0777));
    bdp::test::write_file(file, R"({
      "project": "ro",
      "storage_strategy": {"mode": "persist", "backend": "store", "cleanup_policy": "keep_all"},
      "backends": {"store": )" + backend +
                                    R"(},
      "stages": [
        {"name": "gen", "processor": "generate", "params": {"rows": 40, "seed": 3}},
        {"name": "cheap", "processor": "filter", "inputs": ["gen"],
         "params": {"column": "price", "op": "<", "value": 500}},
        {"name": "by_region", "processor": "aggregate", "inputs": ["cheap"],
         "params": {"group_by": ["region"], "sum": ["qty"], "count": true}}]})");
    for (const char* value : {"500", "100"}) {
      auto r = bdp_cli(
          {"run", file.string(), "--set", std::string("stages.cheap.params.value=") + value});
      BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    }
  }
  ~Project() {
    // Writable again, so that the folder can be removed (by a user other than root).
    bdp::test::run_command({program("chmod"), "-R", "u+w", dir.path().string()});
  }

  // Everything the reading commands print (exit code, stdout, stderr), run
  // with `launch`; `export` writes to writable/out, which is then moved to
  // writable/<tag> for comparing.
  std::vector<std::string> read_all(const Launch& launch, const std::string& tag) const {
    const std::vector<std::vector<std::string>> commands = {
        {"ps"},
        {"ps", "--json"},
        {"ls"},
        {"ls", "--json"},
        {"ls", "--process", "latest~1", "--stage", "cheap"},
        {"show", "latest/by_region"},
        {"show", "latest/gen", "--json", "--head", "3"},
        {"stats"},
        {"stats", "--json"},
        {"diff", "latest~1", "latest"},
        {"diff", "latest~1", "latest", "--json", "--stage", "cheap", "--key", "id"},
        {"cleanup", "--dry-run"},
        {"cleanup", "--dry-run", "--keep-last", "1", "--json"},
        {"cleanup", "--dry-run", "--policy", "keep_none"},
        {"export", "latest", "--out", (writable / "out").string()},
    };
    std::vector<std::string> out;
    for (auto args : commands) {
      const std::string shown = [&] {
        std::string s = "bdp";
        for (const auto& a : args) s += " " + a;
        return s;
      }();
      args.insert(args.begin(), {"--config", file.string()});
      const CommandResult r = bdp_cli(args, {}, launch);
      BOOST_TEST(r.exit_code == 0, shown << ": " << describe(r));
      out.push_back(shown + "\nexit " + std::to_string(r.exit_code) + "\n" + r.out + r.err);
    }
    fs::rename(writable / "out", writable / tag);
    return out;
  }

  // The export to writable/<a> and writable/<b> holds the same files, with
  // the same contents but the manifest's "exported_at".
  void expect_same_exports(const std::string& a, const std::string& b) const {
    auto files = [&](const std::string& tag) {
      std::map<std::string, std::string> out;
      for (const auto& e : fs::recursive_directory_iterator(writable / tag)) {
        if (!e.is_regular_file()) continue;
        std::string text = bdp::test::read_file(e.path());
        if (e.path().filename() == "manifest.json") {
          json::value manifest = bdp::test::parse_json(text);
          BOOST_TEST(manifest.as_object().erase("exported_at") == 1u);
          text = json::serialize(manifest);
        }
        out[fs::relative(e.path(), writable / tag).string()] = text;
      }
      return out;
    };
    const auto first = files(a);
    BOOST_TEST(first.size() > 1u, "the export wrote no data files");
    BOOST_TEST((first == files(b)));
  }
};

void expect_same(const std::vector<std::string>& expected, const std::vector<std::string>& got) {
  BOOST_TEST_REQUIRE(expected.size() == got.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(expected[i] == got[i], "expected:\n" << expected[i] << "\ngot:\n" << got[i]);
  }
}

// The reading commands on a read-only copy of the project's store print
// what they print on the original, and change nothing in the copy.
void check_read_only_copy(const std::string& backend) {
  Project p(backend);
  const auto original = p.read_all({}, "original");
  // The copy takes the original's place, so that every path it prints is
  // the same; root (and only root) needs the copy readable for "nobody".
  const fs::path copy = p.dir / "copy";
  run_ok({program("cp"), "-a", p.folder.string(), copy.string()});
  fs::rename(p.folder, p.dir / "original");
  fs::rename(copy, p.folder);
  if (running_as_root()) run_ok({program("chmod"), "-R", "a+rX", p.folder.string()});
  run_ok({program("chmod"), "-R", "a-w", p.folder.string()});
  const auto before = snapshot(p.folder);

  expect_same(original, p.read_all(reader(), "copy"));
  p.expect_same_exports("original", "copy");
  BOOST_TEST((snapshot(p.folder) == before), "a reading command changed the read-only copy");
}

const char* const kSqlite =
    R"({"plugin": "soci", "connection": "sqlite3://db=store/bdp.sqlite",
        "inline_threshold_bytes": 400})";
const char* const kCsv = R"({"plugin": "csv", "root": "store"})";

}  // namespace

BOOST_AUTO_TEST_SUITE(read_only_cli)

BOOST_AUTO_TEST_CASE(reading_commands_in_a_folder_without_a_store_create_nothing_and_say_so) {
  TempDir dir;
  fs::create_directories(dir / "empty");
  // The default configuration: bdp-data/bdp.sqlite in the working folder.
  const fs::path cwd = dir / "empty";
  const std::vector<std::vector<std::string>> commands = {
      {"ps"},
      {"ls"},
      {"show", "latest/gen"},
      {"stats"},
      {"diff", "latest~1", "latest"},
      {"export", "latest", "--out", "out"},
      {"cleanup", "--dry-run"},
  };
  Launch in_empty;
  in_empty.cwd = cwd;
  for (const auto& args : commands) {
    const CommandResult r = bdp_cli(args, {}, in_empty);
    BOOST_TEST(r.exit_code == 1, args[0] << ": " << describe(r));
    BOOST_TEST(r.err == "bdp: no store at " + (cwd / "bdp-data" / "bdp.sqlite").string() + "\n",
               args[0] << ": " << describe(r));
    BOOST_TEST(r.out.empty(), args[0] << ": " << describe(r));
    BOOST_TEST(fs::is_empty(cwd), args[0] << " created something in the folder");
  }

  // A project naming a SQLite file and a CSV folder: both are named.
  const fs::path project = dir / "project" / "project.json";
  bdp::test::write_file(project, R"({
    "project": "none",
    "storage_strategy": {"mode": "persist", "backend": "sqlite"},
    "backends": {"csv": {"plugin": "csv", "root": "csv"}},
    "stages": [{"name": "gen", "processor": "generate", "params": {"rows": 3},
                "storage": {"persist": true, "backend": "csv"}}]})");
  const auto before = snapshot(dir.path());
  for (auto args : commands) {
    const std::string command = args[0];
    args.insert(args.begin(), {"--config", project.string()});
    const CommandResult r = bdp_cli(args, {}, in_empty);
    bdp::test::expect_one_line_error(
        r, 1,
        {"bdp: no store at ",
         "no store at " + (dir / "project" / "bdp-data" / "bdp.sqlite").string(),
         "no store at " + (dir / "project" / "csv").string()});
    BOOST_TEST(r.out.empty(), command << ": " << describe(r));
  }
  BOOST_TEST((snapshot(dir.path()) == before), "a reading command created something");
}

BOOST_AUTO_TEST_CASE(reading_commands_leave_out_a_configured_store_that_is_not_there) {
  Project p(kSqlite);
  // The project now also names a CSV folder for one stage, never written.
  std::string text = bdp::test::read_file(p.file);
  text.replace(text.find(R"("backends": {)"), 13,
               R"("backends": {"csv": {"plugin": "csv", "root": "csv"}, )");
  text.replace(
      text.find(R"("params": {"rows": 40, "seed": 3}})"), 34,
      R"("params": {"rows": 40, "seed": 3}, "storage": {"persist": true, "backend": "csv"}})");
  bdp::test::write_file(p.file, text);
  const auto before = snapshot(p.folder);
  const CommandResult r = bdp_cli({"--config", p.file.string(), "ls", "--json"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
  BOOST_TEST(bdp::test::parse_json(r.out).as_array().size() == 6u, r.out);
  BOOST_TEST((snapshot(p.folder) == before));
  BOOST_TEST(!fs::exists(p.folder / "csv"));
}

BOOST_AUTO_TEST_CASE(reading_commands_work_on_a_read_only_copy_of_a_sqlite_store) {
  check_read_only_copy(kSqlite);
}

BOOST_AUTO_TEST_CASE(reading_commands_work_on_a_read_only_copy_of_a_csv_store) {
  check_read_only_copy(kCsv);
}

BOOST_AUTO_TEST_CASE(reading_commands_read_another_users_store,
                     *boost::unit_test::precondition(as_root)) {
  // Root's stores, readable by everyone (folders 0755, files 0644), read by
  // "nobody". The CSV store's lock file stays root's alone (0600): the
  // reader cannot take the lock and reads without it.
  for (const char* backend : {kSqlite, kCsv}) {
    Project p(backend);
    run_ok({program("chmod"), "-R", "u=rwX,go=rX", p.folder.string()});
    const fs::path lock = p.folder / "store" / ".bdp" / "lock";
    if (fs::exists(lock)) fs::permissions(lock, fs::perms(0600));
    const auto by_owner = p.read_all({}, "by-owner");
    const auto before = snapshot(p.folder);
    expect_same(by_owner, p.read_all(reader(), "by-other"));
    p.expect_same_exports("by-owner", "by-other");
    BOOST_TEST((snapshot(p.folder) == before), "a reading command changed the store");
  }
}

BOOST_AUTO_TEST_SUITE_END()
