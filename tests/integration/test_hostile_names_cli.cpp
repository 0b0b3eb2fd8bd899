// Hostile names (issue #13): "..", "/", NUL, quotes, SQL, terminal escapes,
// 300-character, unicode and invalid UTF-8 names in every place a user names
// something: the project and process name, stage names and inputs, entity
// names, backend instance and plugin names, --set key paths, the selectors of
// ls, show, diff, export, cleanup, import and run, metadata filter keys,
// export folders and --config paths.
//
// Each attempt is either refused — exit code 2 (1 for a lookup that parses
// but names nothing), exactly one line on stderr that names the place and
// shows the value escaped, with no raw control, format or invalid UTF-8 byte
// in it — or stored inertly: the value round-trips exactly through --json
// and nothing appears outside the store. For every attempt the whole
// temporary folder tree is compared before and after (only paths under the
// store's root may change, no path is named after the value), as are the
// SQLite or PostgreSQL tables and schemas (only bdp's own may appear, none may
// go), and afterwards `bdp ps` and `bdp ls` still list the earlier data
// unchanged. Human (table) output must not carry raw control characters
// either.
//
// Real bdp runs over real SQLite files and CSV folders, and a PostgreSQL
// database when BDP_TEST_PG_URL is set. Each store is created once and shared
// by the test cases; attempts that are refused before anything is written run
// a few at a time.
//
// Defects this suite finds and that are not fixed yet are listed in
// known_defects() with the reason: such a check is reported as a message
// instead of an error, and a listed defect that no longer shows fails the
// test, so that the list shrinks as they are fixed.
#include "cli_support.hpp"

#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::CommandResult;
using bdp::test::describe;
using bdp::test::TempDir;

namespace {

// ------------------------------------------------------------------ values

// One hostile value. `shown` lists the renderings of it that an error may
// use (C, JSON or hex escapes, or the text itself where it is harmless);
// a refusal must contain one of them.
struct Hostile {
  std::string label;
  std::string text;
  std::vector<std::string> shown;

  bool fits_argv() const { return text.find('\0') == std::string::npos; }
  // Usable as one file name: no '/', no NUL, not empty, ".", ".." or over NAME_MAX.
  bool fits_file_name() const {
    return fits_argv() && !text.empty() && text != "." && text != ".." &&
           text.find('/') == std::string::npos && text.size() <= 255;
  }
};

// The values, `absolute` being an absolute path inside the test's own folder
// (so that a value that escaped would still be seen there).
std::vector<Hostile> hostile_values(const fs::path& absolute) {
  const std::string abs = absolute.string();
  return {
      {"dot-dot", "..", {".."}},
      {"dot", ".", {"'.'", "\".\""}},
      {"slash", "a/b", {"a/b"}},
      {"traversal", "../../escaped", {"../../escaped"}},
      {"absolute", abs, {abs}},
      {"backslash", "a\\b", {"a\\\\b", "a\\b"}},
      {"leading-dash", "-x", {"'-x'", "\"-x\"", " -x"}},
      {"nul", std::string("a\0b", 3), {"a\\x00b", "a\\0b", "a\\u0000b"}},
      {"single-quote", "'", {"'\\''", "\"'\""}},
      {"double-quote", "\"", {"'\"'", "\"\\\"\""}},
      {"sql", "'; drop table intermediate_data; --", {"drop table intermediate_data; --"}},
      {"format", "%s%n", {"%s%n"}},
      {"esc-clear", "\x1b[2J", {"\\x1b[2J", "\\x1B[2J", "\\u001b[2J", "\\e[2J", "\\033[2J"}},
      {"osc-title",
       "\x1b]0;title\x07",
       {"\\x1b]0;title\\x07", "\\x1B]0;title\\x07", "\\u001b]0;title\\u0007", "\\e]0;title\\a"}},
      {"newline", "a\nb", {"a\\nb", "a\\x0ab", "a\\x0Ab", "a\\u000ab"}},
      {"carriage-return", "a\rb", {"a\\rb", "a\\x0db", "a\\x0Db", "a\\u000db"}},
      {"tab", "a\tb", {"a\\tb", "a\\x09b", "a\\u0009b"}},
      {"long-300", std::string(300, 'n'), {std::string(100, 'n')}},
      {"e-acute", "caf\xc3\xa9", {"caf\xc3\xa9", "caf\\xc3\\xa9", "caf\\u00e9"}},
      {"cjk",
       "\xe6\x97\xa5\xe6\x9c\xac",
       {"\xe6\x97\xa5\xe6\x9c\xac", "\\xe6\\x97\\xa5\\xe6\\x9c\\xac", "\\u65e5\\u672c"}},
      {"emoji",
       "\xf0\x9f\x98\x80",
       {"\xf0\x9f\x98\x80", "\\xf0\\x9f\\x98\\x80", "\\U0001f600", "\\ud83d\\ude00"}},
      {"rtl-override",
       "a\xe2\x80\xae"
       "b",
       {"a\\u202eb", "a\\u202Eb", "a\\xe2\\x80\\xaeb"}},
      {"zero-width-joiner",
       "a\xe2\x80\x8d"
       "b",
       {"a\\u200db", "a\\u200Db", "a\\xe2\\x80\\x8db"}},
      {"invalid-utf8",
       "a\xff\xfe"
       "b",
       {"a\\xff\\xfeb", "a\\xFF\\xFEb"}},
      {"empty", "", {"''", "\"\"", "empty", "required"}},
      {"whitespace", "   ", {"'   '", "\"   \""}},
  };
}

bool valid_utf8(std::string_view text);

// The value as a JSON string literal. Invalid UTF-8 is written as it is:
// such a file is not JSON, which is a case of its own.
std::string json_literal(const std::string& text) {
  return json::serialize(json::string_view(text.data(), text.size()));
}

// ------------------------------------------------------------ byte checks

// Code points a terminal does not show as themselves: C1 controls, soft
// hyphen, bidirectional and zero-width format characters, line and
// paragraph separators, BOM, interlinear annotation and tag characters.
bool invisible(char32_t c) {
  return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x61c || c == 0x180e ||
         (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
         (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
         (c >= 0xe0000 && c <= 0xe007f);
}

// Decodes one UTF-8 sequence at text[i]; returns its length, 0 if invalid.
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& c) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = b(0);
  std::size_t n = 0;
  if (lead < 0x80) {
    c = lead;
    return 1;
  }
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2;
    c = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    c = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    c = lead & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    c = (c << 6) | (b(k) & 0x3f);
  }
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
      (c >= 0xd800 && c <= 0xdfff)) {
    return 0;
  }
  return n;
}

bool valid_utf8(std::string_view text) {
  char32_t c = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = decode_utf8(text, i, c);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// The first byte of `text` that would reach a terminal raw: a control
// character other than '\n', an invisible code point (see invisible()) or
// invalid UTF-8; nullopt when there is none.
std::optional<std::string> raw_control(std::string_view text) {
  char buf[64];
  char32_t c = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = decode_utf8(text, i, c);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02x at byte %zu",
                    static_cast<unsigned>(static_cast<unsigned char>(text[i])), i);
      return buf;
    }
    if ((c < 0x20 && c != '\n') || c == 0x7f || invisible(c)) {
      std::snprintf(buf, sizeof buf, "raw U+%04X at byte %zu", static_cast<unsigned>(c), i);
      return buf;
    }
    i += n;
  }
  return std::nullopt;
}

BOOST_AUTO_TEST_CASE(the_byte_check_finds_every_kind_of_raw_character) {
  // The check the suite relies on: it must see what it is meant to see.
  for (const char* raw : {"\x1b[2J", "a\rb", "a\tb", "\x7f",
                          "a\xc2\x9b"
                          "b",
                          "a\xe2\x80\xae"
                          "b",
                          "a\xe2\x80\x8d"
                          "b",
                          "\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
    BOOST_TEST(raw_control(raw).has_value(), "not seen: " << raw);
  }
  BOOST_TEST(raw_control(std::string("a\0b", 3)).has_value());
  for (const char* clean : {"", "plain\n", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
                            "\\x1b[2J \\u202e"}) {
    BOOST_TEST(!raw_control(clean).has_value(), "seen in clean text: " << clean);
  }
}

BOOST_AUTO_TEST_CASE(validate_name_shows_format_characters_and_invalid_utf8_escaped) {
  // The message every refused name gets: what a terminal would not show as
  // itself is escaped, printable characters are kept.
  auto message = [](const std::string& name) {
    try {
      bdp::validate_name("stage name", name);
    } catch (const bdp::Error& e) {
      const std::string what = e.what();
      return what.substr(0, what.find(" is not valid"));
    }
    return std::string("(accepted)");
  };
  BOOST_TEST(message("a\xe2\x80\xae"
                     "b") == "stage name 'a\\u202eb'");
  BOOST_TEST(message("a\xe2\x80\x8d"
                     "b") == "stage name 'a\\u200db'");
  BOOST_TEST(message("a\xc2\x9b"
                     "b") == "stage name 'a\\u009bb'");
  BOOST_TEST(message("a\xff\xfe"
                     "b") == "stage name 'a\\xff\\xfeb'");
  BOOST_TEST(message("\xed\xa0\x80") == "stage name '\\xed\\xa0\\x80'");  // a surrogate
  BOOST_TEST(message("caf\xc3\xa9 \xf0\x9f\x98\x80") ==
             "stage name 'caf\xc3\xa9 \xf0\x9f\x98\x80'");
  BOOST_TEST(message("\x1b[2J\n'") == "stage name '\\x1b[2J\\n\\''");
  BOOST_TEST(!raw_control(message("\xe2\x80\xae\xe2\x81\xa6\xef\xbb\xbf\xc2\x85")));
}

// ---------------------------------------------------------------- findings

enum class Check {
  exit_code,    // not the exit code of a refusal (or of success)
  one_line,     // stderr is not exactly one line
  raw_bytes,    // stderr carries a raw control, invisible or invalid UTF-8 byte
  place,        // the error does not name the place
  value,        // the error does not show the value
  stdout_text,  // a refusal printed something on stdout
  outside,      // a path outside the store's root changed, or one is named after the value
  sql,          // a table or schema other than bdp's own appeared, or one went
  store,        // afterwards ps or ls fail, or the earlier data changed
  round_trip,   // stored, but --json does not give the value back exactly
  table,        // human (table) output carries a raw control, invisible or invalid byte
};

const char* to_string(Check c) {
  switch (c) {
    case Check::exit_code:
      return "exit_code";
    case Check::one_line:
      return "one_line";
    case Check::raw_bytes:
      return "raw_bytes";
    case Check::place:
      return "place";
    case Check::value:
      return "value";
    case Check::stdout_text:
      return "stdout_text";
    case Check::outside:
      return "outside";
    case Check::sql:
      return "sql";
    case Check::store:
      return "store";
    case Check::round_trip:
      return "round_trip";
    case Check::table:
      return "table";
  }
  return "?";
}

struct Problem {
  Check check;
  std::string detail;
};

// What one attempt (or, with value "*", one batch of attempts) did wrong.
struct Finding {
  std::string place;
  std::string backend;
  std::string value;  // a Hostile label, or "*" for the whole batch
  std::vector<Problem> problems;
};

// A defect found by this suite and not fixed yet: `check` fails for `place`
// with these values (labels) on these backends (empty: every backend).
struct KnownDefect {
  std::string place;
  std::vector<std::string> values;
  Check check;
  std::string why;
  std::vector<std::string> backends = {};
};

const std::vector<KnownDefect>& known_defects();

// `text` with control bytes shown as \xNN, for failure messages.
std::string printable(std::string_view text, std::size_t max = 300) {
  std::string out;
  for (char ch : text.substr(0, max)) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

// Reports `findings`: a problem that a known defect covers is a message,
// any other an error; and a known defect of one of `places` that did not
// show on a (place, backend, value) that ran is an error too.
void report(const std::vector<Finding>& findings, const std::set<std::string>& places) {
  std::set<std::tuple<std::string, std::string, std::string>> ran;
  std::set<std::tuple<std::string, std::string, std::string, Check>> seen;
  auto covers = [](const KnownDefect& k, const Finding& f, Check c) {
    return k.place == f.place && k.check == c &&
           (k.backends.empty() ||
            std::find(k.backends.begin(), k.backends.end(), f.backend) != k.backends.end()) &&
           std::find(k.values.begin(), k.values.end(), f.value) != k.values.end();
  };
  for (const auto& f : findings) {
    ran.emplace(f.place, f.backend, f.value);
    for (const auto& p : f.problems) {
      seen.emplace(f.place, f.backend, f.value, p.check);
      const auto& known = known_defects();
      auto k = std::find_if(known.begin(), known.end(),
                            [&](const KnownDefect& d) { return covers(d, f, p.check); });
      if (k != known.end()) {
        BOOST_TEST_MESSAGE("known defect [" << f.place << " | " << f.backend << " | " << f.value
                                            << " | " << to_string(p.check) << "] " << k->why);
      } else {
        BOOST_ERROR("[" << f.place << " | " << f.backend << " | " << f.value << " | "
                        << to_string(p.check) << "] " << p.detail);
      }
    }
  }
  for (const auto& k : known_defects()) {
    if (!places.count(k.place)) continue;
    for (const auto& [place, backend, value] : ran) {
      if (place != k.place ||
          std::find(k.values.begin(), k.values.end(), value) == k.values.end() ||
          (!k.backends.empty() &&
           std::find(k.backends.begin(), k.backends.end(), backend) == k.backends.end())) {
        continue;
      }
      if (!seen.count({place, backend, value, k.check})) {
        BOOST_ERROR("known defect [" << place << " | " << backend << " | " << value << " | "
                                     << to_string(k.check)
                                     << "] no longer shows: remove it from known_defects()");
      }
    }
  }
}

// ------------------------------------------------------------------ places

// How a refusal must look at one place.
struct Refusal {
  std::vector<std::string> names;  // one of these must be in the error: key path, option
  // Exit code 1 is allowed too (a lookup that names nothing): always, or
  // only for values with a '/' (which turns them into another selector).
  enum class Lookup { no, with_slash, yes } lookup = Lookup::no;
  bool json_file = false;  // the value is in a JSON file: invalid UTF-8 makes it malformed
};

// Checks `r` as a refusal of `value` at a place.
std::vector<Problem> refusal_problems(const CommandResult& r, const Hostile& value,
                                      const Refusal& how) {
  std::vector<Problem> out;
  const bool lookup =
      how.lookup == Refusal::Lookup::yes ||
      (how.lookup == Refusal::Lookup::with_slash && value.text.find('/') != std::string::npos);
  if (r.exit_code != 2 && !(lookup && r.exit_code == 1)) {
    out.push_back({Check::exit_code,
                   "exit " + std::to_string(r.exit_code) + ", stderr: " + printable(r.err)});
  }
  if (!bdp::test::is_one_line(r.err)) {
    out.push_back({Check::one_line, "stderr is not one line: " + printable(r.err)});
  }
  if (auto raw = raw_control(r.err)) {
    out.push_back({Check::raw_bytes, *raw + " in stderr: " + printable(r.err)});
  }
  if (!how.names.empty() &&
      std::none_of(how.names.begin(), how.names.end(),
                   [&](const std::string& n) { return bdp::test::contains(r.err, n); })) {
    out.push_back({Check::place, "the error names none of {" + [&] {
                     std::string s;
                     for (const auto& n : how.names) s += " '" + n + "'";
                     return s;
                   }() + " }: " + printable(r.err)});
  }
  // The value may also be shown as it is when it is harmless and can be
  // told apart (two characters or more, not only spaces), or, when a '/'
  // makes it a selector, by the quoted part that names nothing.
  std::vector<std::string> shown = value.shown;
  const bool harmless = !raw_control(value.text) && value.text.find('\n') == std::string::npos;
  if (harmless && value.text.size() >= 2 &&
      value.text.find_first_not_of(' ') != std::string::npos) {
    shown.push_back(value.text);
  }
  if (harmless && value.text.find('/') != std::string::npos) {
    std::istringstream parts(value.text);
    for (std::string part; std::getline(parts, part, '/');) {
      if (!part.empty()) shown.push_back("'" + part + "'");
    }
  }
  if (std::none_of(shown.begin(), shown.end(),
                   [&](const std::string& s) { return bdp::test::contains(r.err, s); })) {
    out.push_back({Check::value, "the error does not show the value: " + printable(r.err)});
  }
  if (!r.out.empty()) {
    out.push_back({Check::stdout_text, "stdout of a refusal: " + printable(r.out)});
  }
  return out;
}

// ------------------------------------------------------------------ stores

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// run_command does not search PATH: the full path of a program on it.
std::string program(const std::string& name) {
  const std::string dirs = env("PATH").value_or("/usr/bin:/bin");
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const auto candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "/usr/bin/" + name;
}

// "postgresql://k=v ..." -> "k=v ..." for psql.
std::string conninfo_of(const std::string& url) {
  const std::string prefix = "postgresql://";
  return url.rfind(prefix, 0) == 0 ? url.substr(prefix.size()) : url;
}

std::string with_dbname(const std::string& url, const std::string& db) {
  const auto at = url.find("dbname=");
  if (at == std::string::npos) return url + " dbname=" + db;
  return url.substr(0, at) + "dbname=" + db + url.substr(std::min(url.find(' ', at), url.size()));
}

// The lines a query prints through psql or sqlite3; throws on error (it may
// run on a worker thread, where Boost.Test may not be used).
std::set<std::string> query_lines(const std::vector<std::string>& command) {
  auto r = bdp::test::run_command(command);
  if (r.exit_code != 0) throw std::runtime_error("query failed: " + describe(r));
  std::set<std::string> out;
  for (auto& line : bdp::test::split_lines(r.out)) out.insert(line);
  return out;
}

enum class Kind { sqlite, csv, postgresql };

const char* to_string(Kind k) {
  switch (k) {
    case Kind::sqlite:
      return "sqlite";
    case Kind::csv:
      return "csv";
    case Kind::postgresql:
      return "postgresql";
  }
  return "?";
}

using Tree = std::map<std::string, std::string>;  // relative path -> kind, size, time

// What differs between two trees, one line per path, for failure messages.
std::string tree_change(const Tree& before, const Tree& after) {
  std::string out;
  for (const auto& [path, what] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      out += "removed " + path + "\n";
    } else if (it->second != what) {
      out += "changed " + path + ": " + what + " -> " + it->second + "\n";
    }
  }
  for (const auto& [path, what] : after) {
    if (before.count(path) == 0) out += "added " + path + ": " + what + "\n";
  }
  return out;
}

// One store with the project that writes to it, in a temporary folder that
// holds nothing else: commands run in root/w1/w2/work, so that "../.." still
// lands inside root. The store is backend "db" of work/project.json:
// work/bdp-data/bdp.sqlite, the CSV folder work/bdp-data, or a fresh
// PostgreSQL database (dropped by the destructor). One run of the project,
// the seed, is stored first; check_store() proves it is still there.
class Store {
 public:
  Store(Kind kind, const std::string& pg_admin_url = {}) : kind_(kind) {
    work_ = root_.path() / "w1" / "w2" / "work";
    fs::create_directories(work_);
    fs::create_directories(root_.path() / "outside");
    values_ = hostile_values(root_.path() / "outside" / "abs");
    std::string backend;
    switch (kind) {
      case Kind::sqlite:
        backend = R"({"plugin": "soci", "connection": "sqlite3://db=bdp-data/bdp.sqlite"})";
        store_root_ = "w1/w2/work/bdp-data";
        break;
      case Kind::csv:
        backend = R"({"plugin": "csv", "root": "bdp-data"})";
        store_root_ = "w1/w2/work/bdp-data";
        break;
      case Kind::postgresql:
        pg_admin_url_ = pg_admin_url;
        pg_db_ = "bdp_hostile_" + std::to_string(::getpid());
        psql(pg_admin_url_, "drop database if exists " + pg_db_);
        psql(pg_admin_url_, "create database " + pg_db_);
        pg_url_ = with_dbname(pg_admin_url_, pg_db_);
        backend = R"({"plugin": "soci", "connection": )" + json_literal(pg_url_) + "}";
        break;
    }
    backend_json_ = backend;
    project_ = work_ / "project.json";
    bdp::test::write_file(project_, project_text("\"seed\""));
    auto r = bdp({"run", project_.string(), "--json"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    seed_ = std::string(bdp::test::parse_json(r.out).at("id").as_string());
    auto ls = cli({"ls", "--process", seed_, "--json"});
    BOOST_TEST_REQUIRE(ls.exit_code == 0, describe(ls));
    seed_records_ = ls.out;
    archive_ = root_.path() / "archive";
    auto exported = cli({"export", seed_, "--out", archive_.string()});
    BOOST_TEST_REQUIRE(exported.exit_code == 0, describe(exported));
  }
  ~Store() {
    if (!pg_db_.empty()) {
      bdp::test::run_command({program("psql"), conninfo_of(pg_admin_url_), "-X", "-q", "-c",
                              "drop database if exists " + pg_db_ + " with (force)"});
    }
  }
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Kind kind() const { return kind_; }
  const char* name() const { return to_string(kind_); }
  const fs::path& root() const { return root_.path(); }
  const fs::path& work() const { return work_; }
  const fs::path& project() const { return project_; }
  const fs::path& archive() const { return archive_; }
  const std::string& seed() const { return seed_; }
  const std::vector<Hostile>& values() const { return values_; }

  // A project file's text over this store, "project" set to `project_json`
  // and `stages_json` as its stages.
  std::string project_text(
      const std::string& project_json,
      const std::string& stages_json =
          R"([{"name": "gen", "processor": "generate", "params": {"rows": 4, "seed": 7}}])",
      const std::string& extra_backends = "") const {
    return "{\"project\": " + project_json +
           ",\n \"storage_strategy\": {\"mode\": \"persist\", \"backend\": \"db\", "
           "\"cleanup_policy\": \"keep_all\"},\n \"backends\": {\"db\": " +
           backend_json_ + extra_backends + "},\n \"stages\": " + stages_json + "}\n";
  }

  // bdp `args`, run in work().
  CommandResult bdp(std::vector<std::string> args) const {
    args.insert(args.begin(), bdp::test::cli_path().string());
    return bdp::test::run_command(args, {"BDP_PLUGIN_PATH=", "BDP_DEFAULTS="},
                                  bdp::test::Launch{work_, {}, {}});
  }
  // bdp --config project.json `args`, run in work().
  CommandResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--config", project_.string()});
    return bdp(std::move(args));
  }

  // Every path under root() with its kind, and for a file its size and
  // modification time (a write changes one of them).
  Tree tree() const {
    Tree out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root(), ec), end; !ec && it != end; it.increment(ec)) {
      const std::string rel = it->path().string().substr(root().string().size() + 1);
      const auto status = it->symlink_status(ec);
      if (fs::is_symlink(status)) {
        out[rel] = "link " + fs::read_symlink(it->path(), ec).string();
      } else if (fs::is_directory(status)) {
        out[rel] = "dir";
      } else {
        const auto size = it->file_size(ec);
        const auto time = it->last_write_time(ec).time_since_epoch().count();
        out[rel] = "file " + std::to_string(size) + " " + std::to_string(time);
      }
    }
    return out;
  }

  // The tables, indexes, views and schemas of the database, one a line;
  // empty for the CSV store.
  std::set<std::string> sql_objects() const {
    switch (kind_) {
      case Kind::sqlite: {
        const auto file = work_ / "bdp-data" / "bdp.sqlite";
        if (!fs::exists(file)) return {};
        return query_lines(
            {program("sqlite3"), file.string(), "select type || ' ' || name from sqlite_master"});
      }
      case Kind::postgresql:
        return query_lines(
            {program("psql"), conninfo_of(pg_url_), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-c",
             "select 'table ' || table_schema || '.' || table_name from information_schema.tables "
             "where table_schema not in ('pg_catalog', 'information_schema') union all "
             "select 'schema ' || schema_name from information_schema.schemata union all "
             "select 'index ' || schemaname || '.' || indexname from pg_indexes where schemaname "
             "not in ('pg_catalog', 'information_schema')"});
      case Kind::csv:
        break;
    }
    return {};
  }

  // Whether `path` (relative to root()) is the store's or under it.
  bool in_store(const std::string& path) const {
    return !store_root_.empty() && (path == store_root_ || path.rfind(store_root_ + "/", 0) == 0);
  }

  // Problems with the store now: ps or ls fail, or the seed's records
  // changed. `ps` and `ls`, when given, are `ps --json` and `ls --json` run
  // just now.
  // Without `with_ls`, ls is not looked at.
  std::vector<Problem> check_store(std::optional<CommandResult> ps = std::nullopt,
                                   std::optional<CommandResult> ls = std::nullopt,
                                   bool with_ls = true) const {
    std::vector<Problem> out;
    if (!ps) ps = cli({"ps", "--json"});
    boost::system::error_code ec;
    if (ps->exit_code != 0) {
      out.push_back({Check::store, "bdp ps fails: " + printable(ps->err)});
    } else {
      auto v = json::parse(ps->out, ec);
      const bool listed = !ec && v.is_array() &&
                          std::any_of(v.as_array().begin(), v.as_array().end(), [&](auto& p) {
                            return p.at("id") == seed_.c_str() && p.at("name") == "seed";
                          });
      if (!listed) out.push_back({Check::store, "bdp ps --json lost the seed: " + ps->out});
    }
    if (!with_ls) return out;
    if (!ls) ls = cli({"ls", "--json"});
    json::array seed_records;
    if (ls->exit_code == 0) {
      auto v = json::parse(ls->out, ec);
      if (!ec && v.is_array()) {
        for (auto& r : v.as_array()) {
          if (r.at("process_id") == seed_.c_str()) seed_records.push_back(r);
        }
      }
    }
    if (ls->exit_code != 0 || seed_records != json::parse(seed_records_)) {
      out.push_back({Check::store, "bdp ls lost or changed the seed's records: " +
                                       printable(describe(*ls), 600)});
    }
    return out;
  }

  // Saves the store's files (SQLite file or CSV folder) to restore().
  // (Kept in a folder of its own, outside root().)
  void backup() const {
    if (kind_ == Kind::postgresql) return;
    const auto saved = saved_.path() / "bdp-data";
    fs::remove_all(saved);
    fs::copy(work_ / "bdp-data", saved, fs::copy_options::recursive);
  }
  // Puts the files saved by backup() back, after an attempt broke the store.
  void restore() const {
    if (kind_ == Kind::postgresql) return;
    fs::remove_all(work_ / "bdp-data");
    fs::copy(saved_.path() / "bdp-data", work_ / "bdp-data", fs::copy_options::recursive);
  }
  void drop_backup() const { fs::remove_all(saved_.path() / "bdp-data"); }

 private:
  static void psql(const std::string& url, const std::string& sql) {
    auto r = bdp::test::run_command(
        {program("psql"), conninfo_of(url), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql});
    BOOST_TEST_REQUIRE(r.exit_code == 0, "psql " << sql << ": " << r.err);
  }

  Kind kind_;
  TempDir root_;
  TempDir saved_;  // backup()'s copy
  fs::path work_;
  fs::path project_;
  fs::path archive_;
  std::string store_root_;  // relative to root(); empty when the store is no file
  std::string backend_json_;
  std::string pg_admin_url_, pg_db_, pg_url_;
  std::string seed_;
  std::string seed_records_;
  std::vector<Hostile> values_;
};

bool in_ci() {
  return env("CI") == std::optional<std::string>("true");
}

// The stores, created on first use and shared by the test cases: SQLite and
// CSV always, PostgreSQL when BDP_TEST_PG_URL names a server (in CI it must).
std::vector<Store*> stores() {
  static std::unique_ptr<Store> sqlite, csv, postgresql;
  static bool pg_tried = false;
  if (!sqlite) sqlite = std::make_unique<Store>(Kind::sqlite);
  if (!csv) csv = std::make_unique<Store>(Kind::csv);
  if (!pg_tried) {
    pg_tried = true;
    if (auto url = env("BDP_TEST_PG_URL")) {
      postgresql = std::make_unique<Store>(Kind::postgresql, *url);
    } else if (in_ci()) {
      BOOST_ERROR("CI=true but BDP_TEST_PG_URL is unset: the PostgreSQL cases must run in CI");
    } else {
      BOOST_TEST_MESSAGE("BDP_TEST_PG_URL is not set: the PostgreSQL store is skipped");
    }
  }
  std::vector<Store*> out = {sqlite.get(), csv.get()};
  if (postgresql) out.push_back(postgresql.get());
  return out;
}

Store& sqlite_store() {
  return *stores().front();
}

// ------------------------------------------------------------ running them

// fn(0) ... fn(n - 1), a few at a time; fn must not use Boost.Test.
template <class Fn>
auto parallel_map(std::size_t n, Fn fn) {
  using Result = decltype(fn(std::size_t{0}));
  std::vector<Result> out(n);
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < n;) out[i] = fn(i);
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::min<std::size_t>(4, n); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return out;
}

// Paths that differ between two trees.
std::vector<std::string> changed_paths(const Tree& before, const Tree& after) {
  std::vector<std::string> out;
  for (const auto& [path, what] : after) {
    auto it = before.find(path);
    if (it == before.end() || it->second != what) out.push_back(path);
  }
  for (const auto& [path, what] : before) {
    if (!after.count(path)) out.push_back(path);
  }
  return out;
}

// Whether `path` is named after `value`: the value is long enough to tell
// and appears in it.
bool named_after(const std::string& path, const Hostile& value) {
  if (value.text.size() < 2 || value.text == ".." || value.text.find('/') != std::string::npos) {
    return false;
  }
  return path.find(value.text) != std::string::npos;
}

constexpr std::size_t kBatch = static_cast<std::size_t>(-1);

// The problems of the tree changes between `before` and `after`, each with
// the index in `values` of the value whose name the path carries, or kBatch.
// Paths under the store's root may change, and those at or under one of
// `allowed` (relative to root()) or folders on the way to one; no other path
// anywhere may be named after a value.
std::vector<std::pair<std::size_t, Problem>> tree_problems(
    const Store& store, const Tree& before, const Tree& after,
    const std::vector<const Hostile*>& values, const std::vector<std::string>& allowed = {}) {
  std::vector<std::pair<std::size_t, Problem>> out;
  for (const auto& path : changed_paths(before, after)) {
    // At, under or (a folder created on the way) above an allowed path.
    const bool under_allowed =
        std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
          return !a.empty() &&
                 (path == a || path.rfind(a + "/", 0) == 0 || a.rfind(path + "/", 0) == 0);
        });
    bool attributed = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (under_allowed || !named_after(path, *values[i])) continue;
      out.push_back(
          {i, {Check::outside, "a path named after the value changed: " + printable(path)}});
      attributed = true;
    }
    if (!store.in_store(path) && !under_allowed && !attributed) {
      out.push_back(
          {kBatch, {Check::outside, "a path outside the store changed: " + printable(path)}});
    }
  }
  return out;
}

// Adds tree_problems(...) to `findings` (parallel to `values`), or to a
// batch finding for `place` appended to them.
void add_tree_problems(const Store& store, const Tree& before, const Tree& after,
                       const std::vector<const Hostile*>& values, std::vector<Finding>& findings,
                       const std::string& place, const std::vector<std::string>& allowed = {}) {
  Finding batch{place, store.name(), "*", {}};
  for (auto& [i, p] : tree_problems(store, before, after, values, allowed)) {
    (i == kBatch ? batch : findings[i]).problems.push_back(std::move(p));
  }
  if (!batch.problems.empty()) findings.push_back(std::move(batch));
}

// The problems of the SQL object changes between `before` and `after`, each
// with the index in `values` of the value the object is named after, or
// kBatch.
std::vector<std::pair<std::size_t, Problem>> sql_problems(
    const std::set<std::string>& before, const std::set<std::string>& after,
    const std::vector<const Hostile*>& values = {}) {
  std::vector<std::pair<std::size_t, Problem>> out;
  auto add = [&](const std::string& object, const std::string& what) {
    std::size_t owner = kBatch;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (named_after(object, *values[i])) owner = i;
    }
    out.push_back({owner, {Check::sql, what + printable(object)}});
  };
  for (const auto& o : after) {
    if (before.count(o)) continue;
    // A payload stored by reference is a table bdp_data_<record id>.
    const auto at = o.find("bdp_data_");
    const bool data_table =
        at != std::string::npos && o.find_first_not_of("0123456789_", at + 9) == std::string::npos;
    if (!data_table) add(o, "new database object: ");
  }
  for (const auto& o : before) {
    if (!after.count(o)) add(o, "database object gone: ");
  }
  return out;
}

// sql_problems(...) as plain problems, for one batch.
std::vector<Problem> batch_sql_problems(const std::set<std::string>& before,
                                        const std::set<std::string>& after) {
  std::vector<Problem> out;
  for (auto& [i, p] : sql_problems(before, after)) out.push_back(std::move(p));
  return out;
}

// One place where a refused value must be refused. `command` gives the bdp
// arguments for a value (run in the store's work folder), or nullopt when
// the value cannot be given there (NUL on a command line). `prepare` may
// write files the command needs; it runs before the "before" snapshot.
struct RefusedPlace {
  std::string place;
  Refusal how;
  std::function<std::optional<std::vector<std::string>>(const Store&, const Hostile&,
                                                        std::size_t index)>
      command;
  std::function<void(const Store&, const Hostile&, std::size_t index)> prepare = {};
  std::function<void(const Store&, std::size_t index)> tidy = {};
  // More renderings of the value that an error may show, e.g. the whole
  // key path it is part of, quoted.
  std::function<std::vector<std::string>(const Hostile&)> also_shown = {};
  // When not empty, only these values (labels) are tried.
  std::set<std::string> only = {};
};

// A few values of each kind, for places whose values go through the same
// checks as a place that gets them all.
const std::set<std::string> kSample = {"traversal",    "absolute",     "sql",
                                       "esc-clear",    "newline",      "long-300",
                                       "rtl-override", "invalid-utf8", "empty"};

// Runs every value of `place` against `store`, a few at a time, and judges
// each as a refusal; then the tree, the database and the store itself.
std::vector<Finding> run_refused(const Store& store, const RefusedPlace& place) {
  const auto& values = store.values();
  std::vector<std::optional<std::vector<std::string>>> commands;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!place.only.empty() && !place.only.count(values[i].label)) {
      commands.emplace_back();
      continue;
    }
    if (place.prepare) place.prepare(store, values[i], i);
    commands.push_back(place.command(store, values[i], i));
  }
  const Tree before = store.tree();
  const auto sql_before = store.sql_objects();
  auto results = parallel_map(values.size(), [&](std::size_t i) -> std::optional<CommandResult> {
    if (!commands[i]) return std::nullopt;
    return store.bdp(*commands[i]);
  });
  const Tree after = store.tree();
  const auto sql_after = store.sql_objects();

  std::vector<Finding> findings;
  std::vector<const Hostile*> ran;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!results[i]) continue;
    Refusal how = place.how;
    Hostile shown = values[i];
    if (place.also_shown) {
      for (auto& extra : place.also_shown(shown)) shown.shown.push_back(std::move(extra));
    }
    if (how.json_file && !valid_utf8(shown.text)) {
      // Not UTF-8, so not JSON: the parser's error names the file and the byte.
      how.names = {"malformed JSON"};
      shown.shown = {"\\xff", "\\xFF"};
    }
    findings.push_back(
        {place.place, store.name(), values[i].label, refusal_problems(*results[i], shown, how)});
    ran.push_back(&values[i]);
  }
  add_tree_problems(store, before, after, ran, findings, place.place);
  std::vector<Problem> batch = batch_sql_problems(sql_before, sql_after);
  for (auto& p : store.check_store()) batch.push_back(std::move(p));
  if (!batch.empty()) findings.push_back({place.place, store.name(), "*", std::move(batch)});
  if (place.tidy) {
    for (std::size_t i = 0; i < values.size(); ++i) place.tidy(store, i);
  }
  return findings;
}

std::set<std::string> places_of(const std::vector<RefusedPlace>& places) {
  std::set<std::string> out;
  for (const auto& p : places) out.insert(p.place);
  return out;
}

// A file of the test written under work(): attempt-<index>.json.
fs::path attempt_file(const Store& store, std::size_t index) {
  return store.work() / ("attempt-" + std::to_string(index) + ".json");
}

// A place in a project file: `text` builds the file with the value's JSON
// literal in it; the command runs it. Refusals name `path`.
RefusedPlace project_file_place(std::string place, std::vector<std::string> names,
                                std::function<std::string(const Store&, const std::string&)> text) {
  RefusedPlace p{std::move(place), Refusal{std::move(names)},
                 [](const Store& store, const Hostile&, std::size_t i) {
                   return std::optional<std::vector<std::string>>(
                       {"run", attempt_file(store, i).string(), "--json"});
                 }};
  p.how.json_file = true;
  p.prepare = [text](const Store& store, const Hostile& v, std::size_t i) {
    bdp::test::write_file(attempt_file(store, i), text(store, json_literal(v.text)));
  };
  p.tidy = [](const Store& store, std::size_t i) { fs::remove(attempt_file(store, i)); };
  return p;
}

// The value as one command-line argument, when the OS allows it.
std::optional<std::string> arg(const Hostile& v, const std::string& prefix = "") {
  if (!v.fits_argv()) return std::nullopt;
  return prefix + v.text;
}

// --config FILE then `args`: the store's project.
std::vector<std::string> with_config(const Store& store, std::vector<std::string> args) {
  args.insert(args.begin(), {"--config", store.project().string()});
  return args;
}

}  // namespace

// ================================================================== cases

BOOST_AUTO_TEST_SUITE(hostile_names)

BOOST_AUTO_TEST_CASE(names_in_a_project_file_are_refused_with_one_escaped_line_naming_the_key) {
  const std::string gen = R"({"name": "gen", "processor": "generate", "params": {"rows": 3}})";
  std::vector<RefusedPlace> places = {
      project_file_place("stages[].name", {"stages[0].name"},
                         [](const Store& s, const std::string& v) {
                           return s.project_text(
                               "\"p\"",
                               "[{\"name\": " + v +
                                   R"(, "processor": "generate", "params": {"rows": 3}}])");
                         }),
      project_file_place("stages[].inputs", {"stages.second.inputs"},
                         [gen](const Store& s, const std::string& v) {
                           return s.project_text("\"p\"",
                                                 "[" + gen +
                                                     R"(, {"name": "second", "processor": )"
                                                     R"("select", "inputs": [)" +
                                                     v + R"(], "params": {"columns": ["id"]}}])");
                         }),
      project_file_place("backends key", {"backends"},
                         [gen](const Store& s, const std::string& v) {
                           return s.project_text("\"p\"", "[" + gen + "]",
                                                 ", " + v + R"(: {"plugin": "csv", "root": "x"})");
                         }),
      project_file_place("backends.*.plugin", {"backends.extra.plugin"},
                         [gen](const Store& s, const std::string& v) {
                           return s.project_text("\"p\"", "[" + gen + "]",
                                                 R"(, "extra": {"plugin": )" + v + "}");
                         }),
      project_file_place(
          "stages[].storage.backend", {"stages.gen.storage.backend"},
          [](const Store& s, const std::string& v) {
            return s.project_text(
                "\"p\"", R"([{"name": "gen", "processor": "generate", "params": {"rows": 3}, )"
                         R"("storage": {"persist": true, "backend": )" +
                             v + "}}]");
          }),
  };
  std::vector<Finding> findings;
  for (const auto& place : places) {
    for (auto& f : run_refused(sqlite_store(), place)) findings.push_back(std::move(f));
  }
  report(findings, places_of(places));
}

BOOST_AUTO_TEST_CASE(set_key_paths_are_refused_with_one_escaped_line) {
  auto set = [](std::string place, std::string before, std::string after) {
    RefusedPlace p{std::move(place), Refusal{{"--set"}},
                   [before, after](const Store& s, const Hostile& v, std::size_t) {
                     auto a = arg(v);
                     if (!a) return std::optional<std::vector<std::string>>();
                     return std::optional<std::vector<std::string>>(
                         {"run", s.project().string(), "--set", before + *a + after});
                   }};
    // The whole override or key path, quoted, shows the value too.
    p.also_shown = [before, after](const Hostile& v) {
      const std::string key = after.substr(0, after.find('='));
      return std::vector<std::string>{"\"" + before + v.text + after + "\"",
                                      "\"" + before + v.text + key + "\""};
    };
    return p;
  };
  std::vector<RefusedPlace> places = {
      set("--set KEY=", "", "=1"),
      set("--set stages.KEY.", "stages.", ".params.rows=1"),
      set("--set storage_strategy.KEY=", "storage_strategy.", "=1"),
      set("--set backends.KEY.plugin=", "backends.", ".plugin=csv"),
  };
  std::vector<Finding> findings;
  for (const auto& place : places) {
    for (auto& f : run_refused(sqlite_store(), place)) findings.push_back(std::move(f));
  }
  report(findings, places_of(places));
}

BOOST_AUTO_TEST_CASE(selectors_that_cannot_name_a_record_are_refused_with_one_escaped_line) {
  // Exit code 2 when the value cannot be a name; 1 is allowed where a '/'
  // turns it into a selector that parses and names nothing, and for record
  // ids, which have no syntax (docs/history.md).
  using Args = std::optional<std::vector<std::string>>;
  auto place = [](std::string label, std::vector<std::string> names,
                  std::function<Args(const Store&, const Hostile&)> command) {
    return RefusedPlace{
        std::move(label), Refusal{std::move(names)},
        [command](const Store& s, const Hostile& v, std::size_t) { return command(s, v); }};
  };
  auto opt = [](const char* command, const char* option) {
    return [command, option](const Store& s, const Hostile& v) -> Args {
      auto a = arg(v, std::string(option) + "=");
      if (!a) return std::nullopt;
      return with_config(s, {command, *a});
    };
  };
  // `command` -- PREFIX+value+SUFFIX [the seed], PREFIX starting with the
  // seed's id when `seed_first`.
  auto positional = [](std::string command, std::string prefix, std::string suffix,
                       bool seed_first = false, bool seed_after = false) {
    return [=](const Store& s, const Hostile& v) -> Args {
      auto a = arg(v);
      if (!a) return std::nullopt;
      std::vector<std::string> args = {command, "--",
                                       (seed_first ? s.seed() : "") + prefix + *a + suffix};
      if (seed_after) args.push_back(s.seed());
      return with_config(s, args);
    };
  };
  std::vector<RefusedPlace> places = {
      place("ls --process", {"--process", "process id"}, opt("ls", "--process")),
      place("ls --stage", {"--stage", "stage name"}, opt("ls", "--stage")),
      place("ls --entity", {"--entity", "entity name"}, opt("ls", "--entity")),
      place("show PROCESS/STAGE", {"record selector"}, positional("show", "", "/gen")),
      place("show SEED/STAGE", {"record selector"}, positional("show", "/", "", true)),
      place("show SEED/gen/ENTITY", {"record selector"}, positional("show", "/gen/", "", true)),
      place("show RECORD_ID", {"record", "selector"}, positional("show", "", "")),
      place("diff PROCESS_A", {"PROCESS_A", "process id", "process selector"},
            positional("diff", "", "", false, true)),
      place("diff --stage", {"--stage", "stage"},
            [](const Store& s, const Hostile& v) -> Args {
              auto a = arg(v, "--stage=");
              if (!a) return std::nullopt;
              return with_config(s, {"diff", *a, s.seed(), s.seed()});
            }),
      place("export SELECTOR", {"SELECTOR", "process", "selector"},
            [](const Store& s, const Hostile& v) -> Args {
              auto a = arg(v);
              if (!a) return std::nullopt;
              return with_config(
                  s, {"export", "--out", (s.root() / "outside" / "export").string(), "--", *a});
            }),
      place("cleanup --process", {"--process"}, opt("cleanup", "--process")),
      place("import --as", {"--as"},
            [](const Store& s, const Hostile& v) -> Args {
              auto a = arg(v, "--as=");
              if (!a) return std::nullopt;
              return with_config(s, {"import", s.archive().string(), *a});
            }),
      place("run --resume-from", {"--resume-from", "process id"},
            [](const Store& s, const Hostile& v) -> Args {
              auto a = arg(v, "--resume-from=");
              if (!a) return std::nullopt;
              return Args({"run", s.project().string(), "--from-stage", "gen", *a});
            }),
      place("run --from-stage", {"--from-stage"},
            [](const Store& s, const Hostile& v) -> Args {
              auto a = arg(v, "--from-stage=");
              if (!a) return std::nullopt;
              return Args({"run", s.project().string(), "--resume-from", s.seed(), *a});
            }),
  };
  for (auto& p : places) {
    // These reach the same name check as ls --process (or --stage).
    if (p.place == "cleanup --process" || p.place == "import --as" ||
        p.place == "run --resume-from") {
      p.only = kSample;
    }
    if (p.place == "show RECORD_ID") {
      p.how.lookup = Refusal::Lookup::yes;
    } else if (p.place.rfind("show", 0) == 0 || p.place.rfind("export", 0) == 0) {
      p.how.lookup = Refusal::Lookup::with_slash;
    }
  }
  std::vector<Finding> findings;
  for (Store* store : stores()) {
    for (const auto& p : places) {
      // Names are checked before a backend sees them; the other stores get
      // the place whose value reaches a backend's query unchecked.
      if (store->kind() != Kind::sqlite && p.place != "diff --stage") continue;
      for (auto& f : run_refused(*store, p)) findings.push_back(std::move(f));
    }
  }
  report(findings, places_of(places));
}

BOOST_AUTO_TEST_CASE(config_paths_are_refused_escaped_or_used_as_given) {
  Store& store = sqlite_store();
  // A --config that names no file (or a folder) is refused.
  std::vector<RefusedPlace> places = {
      {"--config FILE (missing)", Refusal{{"file", "folder"}},
       [](const Store&, const Hostile& v, std::size_t) -> std::optional<std::vector<std::string>> {
         if (!v.fits_argv() || v.text.empty()) return std::nullopt;  // "" below
         return std::vector<std::string>{"--config", v.text, "ps"};
       }},
      // A project file named after the value, with a mistake in it: the error names the file.
      {"config show FILE (with a mistake)", Refusal{{"stages"}},
       [](const Store& s, const Hostile& v,
          std::size_t) -> std::optional<std::vector<std::string>> {
         if (!v.fits_file_name()) return std::nullopt;
         return std::vector<std::string>{"config", "show", (s.work() / "bad" / v.text).string()};
       },
       [](const Store& s, const Hostile& v, std::size_t) {
         if (v.fits_file_name())
           bdp::test::write_file(s.work() / "bad" / v.text, R"({"stages": 5})");
       },
       [](const Store& s, std::size_t) { fs::remove_all(s.work() / "bad"); }},
  };
  std::vector<Finding> findings;
  for (const auto& place : places) {
    for (auto& f : run_refused(store, place)) findings.push_back(std::move(f));
  }
  report(findings, places_of(places));

  // An empty --config is no --config (./bdp.json, else the installed defaults).
  auto empty = store.bdp({"--config", "", "ps", "--json"});
  auto none = store.bdp({"ps", "--json"});
  BOOST_TEST(empty.exit_code == none.exit_code, describe(empty) << describe(none));
  BOOST_TEST(empty.out == none.out);

  // A project file named after the value works like any other.
  std::vector<const Hostile*> named;
  for (const auto& v : store.values()) {
    if (!v.fits_file_name()) continue;
    bdp::test::write_file(store.work() / v.text, bdp::test::read_file(store.project()));
    named.push_back(&v);
  }
  const Tree before = store.tree();
  auto results = parallel_map(named.size(), [&](std::size_t i) {
    return store.bdp({"--config", (store.work() / named[i]->text).string(), "ps", "--json"});
  });
  const Tree after = store.tree();
  BOOST_TEST((after == before), tree_change(before, after));
  for (std::size_t i = 0; i < named.size(); ++i) {
    BOOST_TEST(results[i].exit_code == 0, named[i]->label << ": " << describe(results[i]));
    BOOST_TEST(bdp::test::contains(results[i].out, store.seed()), named[i]->label);
    fs::remove(store.work() / named[i]->text);
  }
}

BOOST_AUTO_TEST_CASE(metadata_filter_keys_and_name_filters_match_nothing_and_build_no_sql) {
  // A filter is a query: any key or name is taken as it is and matches
  // nothing here (or is refused); no SQL is built from it.
  struct Filter {
    std::string place;
    bool every_store;  // else the SQLite store only
    std::function<std::optional<std::vector<std::string>>(const Store&, const Hostile&)> command;
  };
  std::vector<Filter> filters = {
      {"ls --where KEY=v", true,
       [](const Store& s, const Hostile& v) -> std::optional<std::vector<std::string>> {
         auto a = arg(v, "--where=");
         if (!a) return std::nullopt;
         return with_config(s, {"ls", "--json", *a + "=1"});
       }},
      // A value, not a name: a sample of the values is enough.
      {"ls --where processor=VALUE", true,
       [](const Store& s, const Hostile& v) -> std::optional<std::vector<std::string>> {
         if (!kSample.count(v.label)) return std::nullopt;
         auto a = arg(v, "--where=processor=");
         if (!a) return std::nullopt;
         return with_config(s, {"ls", "--json", *a});
       }},
      {"ps --name", false,
       [](const Store& s, const Hostile& v) -> std::optional<std::vector<std::string>> {
         auto a = arg(v, "--name=");
         if (!a) return std::nullopt;
         return with_config(s, {"ps", "--json", *a});
       }},
  };
  std::vector<Finding> findings;
  std::set<std::string> places;
  for (Store* store : stores()) {
    for (const auto& filter : filters) {
      if (!filter.every_store && store->kind() != Kind::sqlite) continue;
      places.insert(filter.place);
      const auto& values = store->values();
      const Tree before = store->tree();
      const auto sql_before = store->sql_objects();
      auto results = parallel_map(values.size(), [&](std::size_t i) {
        auto args = filter.command(*store, values[i]);
        return args ? std::optional<CommandResult>(store->bdp(*args)) : std::nullopt;
      });
      std::vector<const Hostile*> ran;
      std::vector<Finding> batch;
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (!results[i]) continue;
        const CommandResult& r = *results[i];
        Finding f{filter.place, store->name(), values[i].label, {}};
        if (r.exit_code == 0) {
          // Only what has exactly that name or value (this suite's other
          // cases may have stored processes by these names).
          boost::system::error_code ec;
          auto list = json::parse(r.out, ec);
          const bool exact =
              !ec && list.is_array() &&
              std::all_of(list.as_array().begin(), list.as_array().end(), [&](const auto& x) {
                return filter.place == "ps --name" &&
                       x.at("name") == json::string_view(values[i].text);
              });
          if (!exact) {
            f.problems.push_back({Check::round_trip, "matched more: " + printable(r.out)});
          }
          if (auto raw = raw_control(r.err)) {
            f.problems.push_back({Check::raw_bytes, *raw + " in stderr: " + printable(r.err)});
          }
        } else {
          // The whole filter, quoted, shows the value too.
          Hostile shown = values[i];
          shown.shown.push_back("'" + values[i].text + "=1'");
          shown.shown.push_back("'processor=" + values[i].text + "'");
          f.problems = refusal_problems(r, shown, Refusal{{"--where", "--name", "filter"}});
        }
        batch.push_back(std::move(f));
        ran.push_back(&values[i]);
      }
      add_tree_problems(*store, before, store->tree(), ran, batch, filter.place);
      auto problems = batch_sql_problems(sql_before, store->sql_objects());
      for (auto& p : store->check_store()) problems.push_back(std::move(p));
      if (!problems.empty()) batch.push_back({filter.place, store->name(), "*", problems});
      for (auto& f : batch) findings.push_back(std::move(f));
    }
  }
  report(findings, places);
}

BOOST_AUTO_TEST_CASE(metadata_keys_stored_through_the_api_round_trip_through_ls_where) {
  // Metadata is free JSON: a stored record's hostile keys come back exactly
  // through `ls --json`, and `ls --where KEY=v` finds exactly that record.
  std::vector<Finding> findings;
  bdp::TableBuilder builder({{"id", bdp::ColumnType::int64}});
  builder.append_row({std::int64_t{1}});
  const bdp::TablePtr table = builder.finish();
  for (Store* store : stores()) {
    const auto& values = store->values();
    bdp::ConfigResolver resolver;
    resolver.set_project_file(store->project());
    const bdp::Config config = resolver.resolve();
    const std::string process = store->seed() + "-meta";
    // Stores one record per value in `batch` (stage m<index>, metadata
    // {value: "mark-<index>"}), then reads them back.
    auto attempt = [&](const std::vector<std::size_t>& batch) {
      std::vector<Finding> out;
      std::vector<const Hostile*> tried;
      std::vector<bool> stored;
      store->backup();
      const Tree before = store->tree();
      const auto sql_before = store->sql_objects();
      {
        bdp::PluginHost host(config.plugin_paths);
        auto container = bdp::DataContainer::open(config, host);
        container->set_process(process);
        for (std::size_t i : batch) {
          const Hostile& v = values[i];
          out.push_back({"metadata key (API)", store->name(), v.label, {}});
          tried.push_back(&v);
          try {
            container->store_stage_data(
                "m" + std::to_string(i), bdp::StageOutput(table),
                json::object{{json::string_view(v.text), "mark-" + std::to_string(i)}});
            container->flush();
            stored.push_back(true);
          } catch (const bdp::Error& e) {
            // Refused is fine, if it says so clearly.
            out.back().problems = refusal_problems(
                CommandResult{2, "", std::string(e.what()) + "\n"}, v, Refusal{{"metadata"}});
            stored.push_back(false);
          }
        }
      }
      const auto ls = store->cli({"ls", "--json"});
      boost::system::error_code ec;
      const auto all = ls.exit_code == 0 ? json::parse(ls.out, ec) : json::value();
      auto wheres = parallel_map(batch.size(), [&](std::size_t k) -> std::optional<CommandResult> {
        const Hostile& v = values[batch[k]];
        if (!stored[k] || !v.fits_argv() || v.text.empty()) return std::nullopt;
        return store->cli(
            {"ls", "--json", "--where=" + v.text + "=mark-" + std::to_string(batch[k])});
      });
      for (std::size_t k = 0; k < batch.size(); ++k) {
        if (!stored[k]) continue;
        const Hostile& v = values[batch[k]];
        const std::string stage = "m" + std::to_string(batch[k]);
        const std::string mark = "mark-" + std::to_string(batch[k]);
        // The key comes back exactly...
        bool back = false;
        if (!ec && all.is_array()) {
          for (const auto& r : all.as_array()) {
            if (r.at("process_id") != process.c_str() || r.at("stage_name") != stage.c_str()) {
              continue;
            }
            const auto* m = r.at("metadata").as_object().if_contains(json::string_view(v.text));
            back = m != nullptr && *m == mark.c_str();
          }
        }
        if (!back) {
          out[k].problems.push_back({Check::round_trip, "ls --json does not give the key back: " +
                                                            printable(describe(ls), 400)});
        }
        // ... and ls --where finds exactly its record.
        if (!wheres[k]) continue;
        boost::system::error_code wec;
        auto found = wheres[k]->exit_code == 0 ? json::parse(wheres[k]->out, wec) : json::value();
        const bool exact = !wec && found.is_array() && found.as_array().size() == 1 &&
                           found.as_array()[0].at("stage_name") == stage.c_str();
        if (!exact) {
          out[k].problems.push_back({Check::round_trip, "ls --where KEY=v does not find it: " +
                                                            printable(describe(*wheres[k]), 400)});
        }
      }
      add_tree_problems(*store, before, store->tree(), tried, out, "metadata key (API)");
      Finding rest{"metadata key (API)", store->name(), "*", {}};
      for (auto& [i, p] : sql_problems(sql_before, store->sql_objects(), tried)) {
        (i == kBatch ? rest : out[i]).problems.push_back(std::move(p));
      }
      auto broken = store->check_store(std::nullopt, ls);
      if (!broken.empty()) {
        // Whose fault: the batch's one value, or the batch's.
        for (auto& p : broken) (batch.size() == 1 ? out[0] : rest).problems.push_back(p);
        store->restore();  // so that the next attempt finds a working store
      }
      store->drop_backup();
      if (!rest.problems.empty()) out.push_back(std::move(rest));
      for (auto& f : out) findings.push_back(std::move(f));
    };
    // Every UTF-8 value in one batch, then each other value on its own.
    std::vector<std::size_t> utf8;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (valid_utf8(values[i].text)) utf8.push_back(i);
    }
    attempt(utf8);
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!valid_utf8(values[i].text)) attempt({i});
    }
  }
  report(findings, {"metadata key (API)"});
}

// Whether a terminal must not get `v` raw: it holds a control character
// ('\n' and '\t' included), an invisible code point or invalid UTF-8.
bool unsafe(const Hostile& v) {
  return raw_control(v.text).has_value() || v.text.find('\n') != std::string::npos;
}

// A table-output problem for `v` when `out` (what `command` printed for
// people) carries the value raw.
std::optional<Problem> table_problem(const std::string& command, const CommandResult& r,
                                     const Hostile& v) {
  if (!unsafe(v) || !bdp::test::contains(r.out, v.text)) return std::nullopt;
  return Problem{Check::table, command + " prints the value raw: " + printable(r.out, 400)};
}

BOOST_AUTO_TEST_CASE(process_names_and_project_file_paths_are_stored_inertly) {
  // The project name, `bdp run --name` and the project file's path are free
  // text, kept with every run (in the process record, and in each record's
  // metadata as process_name and config_file). A value is stored inertly —
  // `--json` gives it back exactly, nothing outside the store changes, ps
  // and ls still work — or refused with one clear line.
  using Args = std::optional<std::vector<std::string>>;
  struct Written {
    std::string place;
    Refusal how;
    std::function<Args(const Store&, const Hostile&)> command;  // may write the files it runs
    bool file_path = false;  // the value is the project file's name, not the process name
  };
  const std::vector<Written> places = {
      {"project", Refusal{{"project"}, Refusal::Lookup::no, true},
       [](const Store& s, const Hostile& v) -> Args {
         bdp::test::write_file(s.work() / "attempt.json", s.project_text(json_literal(v.text)));
         return std::vector<std::string>{"run", (s.work() / "attempt.json").string(), "--json"};
       }},
      {"run --name", Refusal{{"--name"}},
       [](const Store& s, const Hostile& v) -> Args {
         auto a = arg(v, "--name=");
         if (!a) return std::nullopt;
         return std::vector<std::string>{"run", s.project().string(), *a};
       }},
      {"run CONFIG", Refusal{{}},
       [](const Store& s, const Hostile& v) -> Args {
         if (!v.fits_file_name()) return std::nullopt;
         bdp::test::write_file(s.work() / v.text, s.project_text("\"copy\""));
         return std::vector<std::string>{"run", (s.work() / v.text).string(), "--json"};
       },
       true},
  };
  // The records of process `id` in `ls` (ls --json output), each of whose
  // metadata must carry `key`: `expected`.
  auto metadata_problems = [](const CommandResult& ls, const std::string& id, const char* key,
                              const std::string& expected) {
    std::vector<Problem> out;
    boost::system::error_code ec;
    auto records = ls.exit_code == 0 ? json::parse(ls.out, ec) : json::value();
    std::size_t found = 0;
    if (!ec && records.is_array()) {
      for (const auto& rec : records.as_array()) {
        if (rec.at("process_id") != id.c_str()) continue;
        ++found;
        const auto& m = rec.at("metadata").as_object();
        if (!m.contains(key) || m.at(key) != json::string_view(expected)) {
          out.push_back(
              {Check::round_trip, std::string("bdp ls --json gives ") + key + " as " +
                                      printable(json::serialize(rec.at("metadata")), 400)});
        }
      }
    }
    if (found == 0) {
      out.push_back({Check::round_trip,
                     "bdp ls --json lists no record of the run: " + printable(describe(ls), 400)});
    }
    return out;
  };
  const auto all = stores();
  auto per_store = parallel_map(all.size(), [&](std::size_t n) {
    const Store& store = *all[n];
    std::vector<Finding> findings;
    try {
      std::set<std::string> known_ids = {store.seed()};
      for (const auto& place : places) {
        std::vector<std::pair<const Hostile*, std::string>> stored;  // value, its process id
        std::vector<const Hostile*> tried;                           // parallel to `batch`
        std::vector<Finding> batch;
        const auto sql_before = store.sql_objects();
        for (const auto& v : store.values()) {
          auto args = place.command(store, v);
          if (!args) continue;
          Finding f{place.place, store.name(), v.label, {}};
          store.backup();
          const Tree before = store.tree();
          const CommandResult r = store.bdp(*args);
          const auto ps = store.cli({"ps", "--json"});
          const auto ls = place.file_path
                              ? std::optional<CommandResult>(store.cli({"ls", "--json"}))
                              : std::nullopt;
          const std::string expected =
              place.file_path ? (store.work() / v.text).lexically_normal().string() : v.text;
          boost::system::error_code ec;
          auto processes = json::parse(ps.out, ec);
          if (ec || !processes.is_array()) processes = json::array();
          if (r.exit_code == 0) {
            // The run's own output...
            if (place.place == "project") {
              auto run = json::parse(r.out, ec);
              if (ec || !run.is_object() || run.at("name") != json::string_view(expected)) {
                f.problems.push_back({Check::round_trip,
                                      "bdp run --json does not give the name "
                                      "back: " +
                                          printable(r.out, 200)});
              }
            } else if (auto p = table_problem("bdp run", r, v)) {
              f.problems.push_back(*p);
            }
            // ... then the stored process: the newest one not seen before.
            std::string id;
            for (const auto& p : processes.as_array()) {
              if (!id.empty() || known_ids.count(std::string(p.at("id").as_string()))) continue;
              id = p.at("id").as_string();
              if (!place.file_path && p.at("name") != json::string_view(expected)) {
                f.problems.push_back(
                    {Check::round_trip, "bdp ps --json gives the name as " +
                                            printable(json::serialize(p.at("name")))});
              }
            }
            if (id.empty()) {
              f.problems.push_back(
                  {Check::round_trip, "bdp ps --json does not list the run: " + printable(ps.err)});
            } else {
              stored.emplace_back(&v, id);
              if (ls) {
                for (auto& p : metadata_problems(*ls, id, "config_file", expected)) {
                  f.problems.push_back(std::move(p));
                }
              }
            }
          } else {
            Hostile shown = v;
            Refusal how = place.how;
            if (how.json_file && !valid_utf8(v.text)) {
              how.names = {"malformed JSON"};
              shown.shown = {"\\xff", "\\xFF"};
            }
            f.problems = refusal_problems(r, shown, how);
          }
          for (const auto& p : processes.as_array()) {
            known_ids.insert(std::string(p.at("id").as_string()));
          }
          for (auto& [index, p] : tree_problems(store, before, store.tree(), {&v})) {
            f.problems.push_back(std::move(p));
          }
          auto broken = store.check_store(ps, ls, /*with_ls=*/ls.has_value());
          if (!broken.empty()) {
            for (auto& p : broken) f.problems.push_back(std::move(p));
            store.restore();  // so that the next value finds a working store
          }
          store.drop_backup();
          if (place.file_path) fs::remove(store.work() / v.text);
          batch.push_back(std::move(f));
          tried.push_back(&v);
        }
        Finding rest{place.place, store.name(), "*", {}};
        auto finding_of = [&](const Hostile* v) -> Finding& {
          auto at = std::find(tried.begin(), tried.end(), v);
          return batch[static_cast<std::size_t>(at - tried.begin())];
        };
        // The process names in the records' metadata, and the store as a whole.
        const auto ls = store.cli({"ls", "--json"});
        if (!place.file_path) {
          for (const auto& [v, id] : stored) {
            for (auto& p : metadata_problems(ls, id, "process_name", v->text)) {
              finding_of(v).problems.push_back(std::move(p));
            }
          }
        }
        for (auto& p : store.check_store(std::nullopt, ls)) rest.problems.push_back(std::move(p));
        // The database's tables and schemas, for the whole place.
        for (auto& [i, p] : sql_problems(sql_before, store.sql_objects(), tried)) {
          (i == kBatch ? rest : batch[i]).problems.push_back(std::move(p));
        }
        // What people see: ps, ls and stats after the first place (whose
        // values are the only names they show so far), and show of a record
        // of two values' runs.
        const bool first = &place == &places.front();
        const auto ps = first ? store.cli({"ps"}) : CommandResult{};
        const auto ls_table = first ? store.cli({"ls"}) : CommandResult{};
        const auto stats = first ? store.cli({"stats"}) : CommandResult{};
        for (const auto& [v, id] : stored) {
          Finding& f = finding_of(v);
          if (auto p = table_problem("bdp ps", ps, *v)) f.problems.push_back(*p);
          if (auto p = table_problem("bdp ls", ls_table, *v)) f.problems.push_back(*p);
          if (auto p = table_problem("bdp stats", stats, *v)) f.problems.push_back(*p);
          if (v->label == "esc-clear" || v->label == "rtl-override") {
            if (auto p = table_problem("bdp show", store.cli({"show", id + "/gen"}), *v)) {
              f.problems.push_back(*p);
            }
          }
        }
        if (!rest.problems.empty()) batch.push_back(std::move(rest));
        for (auto& f : batch) findings.push_back(std::move(f));
        fs::remove(store.work() / "attempt.json");
      }
    } catch (const std::exception& e) {
      findings.push_back({"(setup)", store.name(), "*", {{Check::store, e.what()}}});
    }
    return findings;
  });
  std::vector<Finding> findings;
  for (auto& batch : per_store) {
    for (auto& f : batch) findings.push_back(std::move(f));
  }
  std::set<std::string> names;
  for (const auto& p : places) names.insert(p.place);
  report(findings, names);
}

BOOST_AUTO_TEST_CASE(export_folders_are_created_only_where_asked) {
  // --out is a path: the export lands exactly there (relative to the working
  // folder) and nowhere else, or it is refused with one clear line.
  Store& store = sqlite_store();
  const auto& values = store.values();
  const Tree before = store.tree();
  auto results = parallel_map(values.size(), [&](std::size_t i) -> std::optional<CommandResult> {
    if (!values[i].fits_argv()) return std::nullopt;
    return store.cli({"export", store.seed(), "--out=" + values[i].text});
  });
  const Tree after = store.tree();
  std::vector<Finding> findings;
  std::vector<const Hostile*> ran;
  std::vector<std::string> allowed;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!results[i]) continue;
    const Hostile& v = values[i];
    const CommandResult& r = *results[i];
    Finding f{"export --out", store.name(), v.label, {}};
    const fs::path target = (store.work() / v.text).lexically_normal();
    if (r.exit_code == 0) {
      if (!fs::exists(target / "manifest.json")) {
        f.problems.push_back(
            {Check::round_trip, "no manifest.json in " + printable(target.string())});
      }
      allowed.push_back(fs::relative(target, store.root()).lexically_normal().string());
      if (auto p = table_problem("bdp export", r, v)) f.problems.push_back(*p);
    } else {
      Refusal how{{"--out", "folder"}, Refusal::Lookup::yes};
      f.problems = refusal_problems(r, v, how);
    }
    findings.push_back(std::move(f));
    ran.push_back(&v);
  }
  add_tree_problems(store, before, after, ran, findings, "export --out", allowed);
  auto problems = store.check_store();
  if (!problems.empty()) findings.push_back({"export --out", store.name(), "*", problems});
  report(findings, {"export --out"});
  // Only what the exports created goes.
  for (const auto& rel : allowed) {
    if (!before.count(rel) && rel.rfind("..", 0) != 0) fs::remove_all(store.root() / rel);
  }
}

BOOST_AUTO_TEST_CASE(stage_and_entity_names_are_refused_by_the_embedding_api) {
  // No built-in processor returns several entities: the embedding API is
  // where entity names come from. Every hostile stage or entity name is
  // refused with bdp::Error(invalid_argument) before anything is stored.
  std::vector<Finding> findings;
  bdp::TableBuilder builder({{"id", bdp::ColumnType::int64}});
  builder.append_row({std::int64_t{1}});
  const bdp::TablePtr table = builder.finish();
  for (Store* store : stores()) {
    bdp::ConfigResolver resolver;
    resolver.set_project_file(store->project());
    const bdp::Config config = resolver.resolve();
    const Tree before = store->tree();
    const auto sql_before = store->sql_objects();
    std::vector<const Hostile*> ran;
    {
      bdp::PluginHost host(config.plugin_paths);
      auto container = bdp::DataContainer::open(config, host);
      container->set_process(store->seed() + "-api");
      const auto listed = container->list_available_data().size();
      for (const auto& v : store->values()) {
        auto refused = [&](const std::string& place, const std::string& what, auto&& body) {
          Finding f{place, store->name(), v.label, {}};
          try {
            body();
            f.problems.push_back({Check::exit_code, "accepted"});
          } catch (const bdp::Error& e) {
            if (e.code() != bdp::ErrorCode::invalid_argument) {
              f.problems.push_back(
                  {Check::exit_code, "error code " + std::string(bdp::to_string(e.code()))});
            }
            for (auto& p : refusal_problems(CommandResult{2, "", std::string(e.what()) + "\n"}, v,
                                            Refusal{{what}})) {
              f.problems.push_back(std::move(p));
            }
          }
          findings.push_back(std::move(f));
        };
        refused("StageOutput entity", "entity name", [&] {
          bdp::StageOutput output;
          output.set(v.text, bdp::Payload(table));
        });
        refused("store_stage_data stage", "stage name",
                [&] { container->store_stage_data(v.text, bdp::StageOutput(table)); });
        ran.push_back(&v);
      }
      container->flush();
      BOOST_TEST(container->list_available_data().size() == listed, store->name());
    }
    std::vector<Finding> batch;
    for (auto& [i, p] : tree_problems(*store, before, store->tree(), ran)) {
      batch.push_back({"store_stage_data stage",
                       store->name(),
                       i == kBatch ? "*" : ran[i]->label,
                       {std::move(p)}});
    }
    auto problems = batch_sql_problems(sql_before, store->sql_objects());
    for (auto& p : store->check_store()) problems.push_back(std::move(p));
    if (!problems.empty())
      batch.push_back({"store_stage_data stage", store->name(), "*", problems});
    for (auto& f : batch) findings.push_back(std::move(f));
  }
  report(findings, {"StageOutput entity", "store_stage_data stage"});
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The defects this suite found that are not fixed yet (see the file's
// comment): each names the place, the values, the check that fails and why.
const std::vector<KnownDefect>& known_defects() {
  // Values a message shows raw when it does not escape them.
  const std::vector<std::string> raw = {"esc-clear",   "osc-title",    "carriage-return",
                                        "tab",         "rtl-override", "zero-width-joiner",
                                        "invalid-utf8"};
  const std::vector<std::string> non_ascii = {"rtl-override", "zero-width-joiner", "invalid-utf8"};
  const std::vector<std::string> nl = {"newline"};
  const std::vector<std::string> bad_utf8 = {"invalid-utf8"};
  const std::vector<std::string> unquoted = {"single-quote", "double-quote", "whitespace"};
  const std::vector<std::string> files = {"sqlite", "csv"};
  const std::vector<std::string> format_chars = {"rtl-override", "zero-width-joiner"};
  const std::vector<std::string> pg = {"postgresql"};

  const std::string key_path =
      "config.cpp builds the key path of a message from the raw key (Validator::child, the --set "
      "prefix in ConfigResolver::resolve), and in_quotes() escapes only C0 controls";
  const std::string in_quotes =
      "config.cpp in_quotes() copies non-ASCII bytes as they are: format characters and invalid "
      "UTF-8 reach the terminal";
  const std::string json_byte =
      "config.cpp parse_json_file shows the byte it cannot parse with in_quotes(), raw when it is "
      "not ASCII";
  const std::string file_path =
      "the project file's path is put in messages with path.string(), neither quoted nor escaped "
      "(config.cpp parse_json_file, Validator sources)";
  const std::string selector =
      "selectors.cpp parse_record_selector and History::resolve repeat the whole selector raw "
      "(\"record selector '...'\")";
  const std::string record_id = "history.cpp History::find_record shows the record id raw";
  const std::string from_stage = "service.cpp resolve_resume shows --from-stage raw";
  const std::string diff_stage =
      "diff --stage is not checked as a stage name: compare looks it up, reports it raw and exits "
      "1";
  const std::string cli11_empty =
      "CLI11 takes --stage= as a missing value and then consumes the positionals: the error names "
      "PROCESS_B";
  const std::string export_out =
      "export_selection names the --out folder unquoted (\".: folder is not empty\")";
  const std::string table =
      "table output (run, ps, stats, show, export) escapes control bytes and invalid UTF-8 but "
      "prints invisible and bidirectional format characters (U+202E, U+200D) raw";
  const std::string utf8_names =
      "process names and project file paths are not checked for UTF-8 (or NUL): SQLite and CSV "
      "store them, then cannot parse their own JSON (ps/ls fail for the whole store: \"summary is "
      "not JSON\", \"malformed sidecar\"); PostgreSQL refuses them when saving, after the "
      "stages ran (exit 1, with its own message)";
  const std::string sqlite_where =
      "the soci backend narrows --where with json_extract(metadata, '$.\"KEY\"'): SQLite's JSON "
      "path does not match a key holding a control character, so the record is never found";
  const std::string utf8_metadata =
      "metadata keys are not checked for UTF-8: SQLite and CSV store the bytes and then cannot "
      "parse the record, and ls fails for the whole store";
  const std::string pg_text =
      "PostgreSQL refuses NUL and invalid UTF-8 in text and jsonb; bdp passes its message on, "
      "which names neither the place nor the value";

  static const std::vector<KnownDefect> known = {
      // Project files.
      {"stages[].name", bad_utf8, Check::raw_bytes, json_byte},
      {"stages[].name", bad_utf8, Check::value, json_byte},
      {"stages[].inputs", non_ascii, Check::raw_bytes, in_quotes},
      {"stages[].inputs", non_ascii, Check::value, in_quotes},
      {"backends key", non_ascii, Check::raw_bytes, key_path},
      {"backends key", bad_utf8, Check::value, key_path},
      {"backends.*.plugin", bad_utf8, Check::raw_bytes, json_byte},
      {"backends.*.plugin", bad_utf8, Check::value, json_byte},
      {"stages[].storage.backend", non_ascii, Check::raw_bytes, in_quotes},
      {"stages[].storage.backend", non_ascii, Check::value, in_quotes},
      // --set.
      {"--set KEY=", non_ascii, Check::raw_bytes, key_path},
      {"--set KEY=", non_ascii + unquoted, Check::value, key_path},
      {"--set stages.KEY.", non_ascii, Check::raw_bytes, key_path},
      {"--set stages.KEY.", non_ascii, Check::value, key_path},
      {"--set storage_strategy.KEY=", non_ascii, Check::raw_bytes, key_path},
      {"--set storage_strategy.KEY=", non_ascii + unquoted, Check::value, key_path},
      {"--set backends.KEY.plugin=", non_ascii, Check::raw_bytes, key_path},
      // Project file paths.
      {"--config FILE (missing)", nl, Check::one_line, file_path},
      {"--config FILE (missing)", raw, Check::raw_bytes, file_path},
      {"--config FILE (missing)", raw + nl + unquoted + std::vector<std::string>{"dot"},
       Check::value, file_path},
      {"config show FILE (with a mistake)", nl, Check::one_line, file_path},
      {"config show FILE (with a mistake)", raw, Check::raw_bytes, file_path},
      {"config show FILE (with a mistake)", raw + nl + unquoted, Check::value, file_path},
      // Selectors.
      {"show PROCESS/STAGE", nl, Check::one_line, selector},
      {"show PROCESS/STAGE", raw, Check::raw_bytes, selector},
      {"show SEED/STAGE", nl, Check::one_line, selector},
      {"show SEED/STAGE", raw, Check::raw_bytes, selector},
      {"show SEED/gen/ENTITY", nl, Check::one_line, selector},
      {"show SEED/gen/ENTITY", raw, Check::raw_bytes, selector},
      {"show RECORD_ID", nl, Check::one_line, record_id},
      {"show RECORD_ID", raw, Check::raw_bytes, record_id},
      {"show RECORD_ID", raw + nl + std::vector<std::string>{"single-quote"}, Check::value,
       record_id},
      {"run --from-stage", nl, Check::one_line, from_stage},
      {"run --from-stage", raw, Check::raw_bytes, from_stage},
      {"run --from-stage", raw + nl + std::vector<std::string>{"single-quote"}, Check::value,
       from_stage},
      {"diff --stage",
       {"dot-dot",
        "dot",
        "slash",
        "traversal",
        "absolute",
        "backslash",
        "leading-dash",
        "single-quote",
        "double-quote",
        "sql",
        "format",
        "esc-clear",
        "osc-title",
        "newline",
        "carriage-return",
        "tab",
        "long-300",
        "e-acute",
        "cjk",
        "emoji",
        "rtl-override",
        "zero-width-joiner",
        "invalid-utf8",
        "whitespace"},
       Check::exit_code,
       diff_stage},
      {"diff --stage", nl, Check::one_line, diff_stage},
      {"diff --stage",
       {"esc-clear", "osc-title", "carriage-return", "tab", "rtl-override", "zero-width-joiner"},
       Check::raw_bytes,
       diff_stage},
      {"diff --stage", bad_utf8, Check::raw_bytes, diff_stage, files},
      {"diff --stage", raw + nl + std::vector<std::string>{"single-quote"}, Check::value,
       diff_stage},
      {"diff --stage", {"empty"}, Check::place, cli11_empty},
      {"diff --stage", bad_utf8, Check::place, pg_text, pg},
      // Export folders.
      {"export --out", format_chars, Check::table, table},
      {"export --out", {"dot"}, Check::value, export_out},
      // Metadata.
      {"ls --where KEY=v", bad_utf8, Check::exit_code, pg_text, pg},
      {"ls --where KEY=v", bad_utf8, Check::place, pg_text, pg},
      {"ls --where KEY=v", bad_utf8, Check::value, pg_text, pg},
      {"ls --where processor=VALUE", bad_utf8, Check::exit_code, pg_text, pg},
      {"ls --where processor=VALUE", bad_utf8, Check::place, pg_text, pg},
      {"ls --where processor=VALUE", bad_utf8, Check::value, pg_text, pg},
      {"metadata key (API)",
       {"esc-clear", "osc-title", "carriage-return", "tab", "newline"},
       Check::round_trip,
       sqlite_where,
       {"sqlite"}},
      {"metadata key (API)", bad_utf8, Check::round_trip, utf8_metadata, files},
      {"metadata key (API)", {"invalid-utf8", "nul"}, Check::place, pg_text, pg},
      {"metadata key (API)", {"invalid-utf8", "nul"}, Check::value, pg_text, pg},
      // Process names and project file paths.
      {"project", bad_utf8, Check::raw_bytes, json_byte},
      {"project", bad_utf8, Check::value, json_byte},
      {"project", format_chars, Check::table, table},
      {"project", {"nul"}, Check::exit_code, utf8_names, pg},
      {"project", {"nul"}, Check::value, utf8_names, pg},
      {"run --name", format_chars, Check::table, table},
      {"run --name", bad_utf8, Check::round_trip, utf8_names, files},
      {"run --name", bad_utf8, Check::store, utf8_names, {"sqlite"}},
      {"run --name", bad_utf8, Check::exit_code, utf8_names, pg},
      {"run --name", bad_utf8, Check::place, utf8_names, pg},
      {"run --name", bad_utf8, Check::value, utf8_names, pg},
      {"run --name", bad_utf8, Check::stdout_text, utf8_names, pg},
      {"project", {"nul"}, Check::stdout_text, utf8_names, pg},
      {"run CONFIG", bad_utf8, Check::stdout_text, utf8_names, pg},
      {"run CONFIG", {"rtl-override"}, Check::table, table},
      {"run CONFIG", bad_utf8, Check::round_trip, utf8_names, files},
      {"run CONFIG", bad_utf8, Check::exit_code, utf8_names, pg},
      {"run CONFIG", bad_utf8, Check::value, utf8_names, pg},
  };
  return known;
}

}  // namespace
