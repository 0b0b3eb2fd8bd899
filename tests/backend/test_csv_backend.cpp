// The CSV backend plugin (bdp_csv), loaded through the real PluginHost, on
// real files in temp folders: layout and sidecars, the index and its
// repair, damage detection, name checks, permissions, I/O failures, writer
// processes killed mid-store, several writer processes on one root, and a
// `bdp run` whose files another CSV reader (Python's csv module) reads back.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::ErrorCode;
using bdp::Payload;
using bdp::RecordInfo;
using bdp::test::TempDir;

bdp::PluginHost& host() {
  static bdp::PluginHost h;
  return h;
}

std::shared_ptr<bdp::Backend> open_csv(const fs::path& root, const fs::path& base = {}) {
  return host().create_backend("csv", "csv", {{"plugin", "csv"}, {"root", root.string()}},
                               base.empty() ? root.parent_path() : base);
}

bdp::TablePtr make_table(std::int64_t rows, std::int64_t seed = 0) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64},
                       {"qty", bdp::ColumnType::int64},
                       {"price", bdp::ColumnType::float64},
                       {"weight", bdp::ColumnType::float64},
                       {"region", bdp::ColumnType::string},
                       {"sku", bdp::ColumnType::string}});
  b.reserve(static_cast<std::size_t>(rows));
  const char* regions[] = {"north", "south, east", "we\"st", ""};
  for (std::int64_t i = 0; i < rows; ++i) {
    b.column(0).append_int64(seed * 1'000'000 + i);
    b.column(1).append_int64(i % 97);
    b.column(2).append_float64(static_cast<double>(i % 1000) / 7.0);
    b.column(3).append_float64(static_cast<double>(i % 333) * 0.25);
    b.column(4).append_string(regions[i % 4]);
    if (i % 11 == 0) {
      b.column(5).append_null();
    } else {
      b.column(5).append_string("SKU-" + std::to_string(i % 5000));
    }
  }
  return b.finish();
}

RecordInfo store(bdp::Backend& backend, const std::string& process, const std::string& stage,
                 const std::string& entity, const Payload& payload,
                 const json::object& metadata = {}) {
  return backend.store(bdp::StoreRequest{process, stage, entity, metadata}, payload);
}

// Every path under `dir`, relative, sorted.
std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.insert(fs::relative(e.path(), dir).string());
  }
  return out;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Every listed record retrieves, and every file in the store belongs to a
// listed record, the index, the lock or a process record: no temp or
// partial file is left.
void expect_consistent(const fs::path& root) {
  auto backend = open_csv(root);
  auto records = backend->list(bdp::Query{});
  std::set<std::string> expected_files = {".bdp/index.jsonl", ".bdp/lock"};
  for (const auto& r : records) {
    BOOST_CHECK_NO_THROW(backend->retrieve(r));
    const fs::path data = r.data_reference;
    expected_files.insert(fs::relative(data, root).string());
    expected_files.insert(
        fs::relative(data.parent_path() / ("v" + std::to_string(r.version) + ".meta.json"), root)
            .string());
  }
  for (const auto& p : backend->list_processes()) {
    expected_files.insert(".bdp/processes/" + p.id + ".json");
  }
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), root).string();
    BOOST_TEST(expected_files.count(rel) == 1, "unexpected file left in the store: " << rel);
  }
  std::set<std::string> ids;
  for (const auto& r : records) BOOST_TEST(ids.insert(r.id).second, "listed twice: " << r.id);
}

// Runs `body` in a forked child; returns its exit status (as waitpid's).
template <class Body>
int in_child(Body&& body) {
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = 99;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(csv_backend)

BOOST_AUTO_TEST_CASE(csv_config_takes_root_relative_to_base_dir_and_refuses_unknown_keys) {
  TempDir dir;
  auto backend =
      host().create_backend("csv", "files", {{"plugin", "csv"}, {"root", "data/csv"}}, dir.path());
  BOOST_TEST(backend->persistent());
  BOOST_TEST(backend->location() == (dir.path() / "data" / "csv").string());
  BOOST_TEST(fs::is_directory(dir.path() / "data" / "csv" / ".bdp"));

  bdp::test::expect_error(
      [&] {
        host().create_backend("csv", "files", {{"plugin", "csv"}, {"root", "x"}, {"colour", 1}},
                              dir.path());
      },
      ErrorCode::config, {"backends.files.colour", "unknown key"});
  bdp::test::expect_error(
      [&] {
        host().create_backend("csv", "files", {{"plugin", "csv"}}, dir.path());
      },
      ErrorCode::config, {"backends.files.root", "missing"});
  bdp::test::expect_error(
      [&] {
        host().create_backend("csv", "files", {{"plugin", "csv"}, {"root", 5}}, dir.path());
      },
      ErrorCode::config, {"backends.files.root"});
}

BOOST_AUTO_TEST_CASE(csv_store_writes_plain_csv_with_a_complete_sidecar) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  auto table = make_table(50);
  json::object metadata{{"decisions", json::object{{"threshold", 2}}}, {"note", "x"}};
  RecordInfo r = store(*backend, "proc", "load", "default", Payload(table), metadata);
  const fs::path folder = root / "proc" / "load" / "default";
  BOOST_TEST(r.id == "proc/load/default/v1");
  BOOST_TEST(r.data_reference == (folder / "v1.csv").string());
  BOOST_TEST(bdp::to_string(r.storage_type) == "reference");

  const std::string text = bdp::test::read_file(folder / "v1.csv");
  BOOST_TEST(text.starts_with("id,qty,price,weight,region,sku\n0,0,0,0,north,\n"));
  BOOST_TEST(r.checksum == bdp::checksum_text(text));
  BOOST_TEST(r.size_bytes == static_cast<std::int64_t>(text.size()));

  json::value side = json::parse(bdp::test::read_file(folder / "v1.meta.json"));
  const json::object& o = side.as_object();
  BOOST_TEST(o.at("checksum").as_string() == r.checksum);
  BOOST_TEST(o.at("size_bytes").as_int64() == r.size_bytes);
  BOOST_TEST(o.at("row_count").as_int64() == 50);
  BOOST_TEST(o.at("created_at").as_int64() == r.created_at);
  BOOST_TEST(o.at("metadata").as_object() == metadata);
  BOOST_TEST(o.at("schema").as_array().size() == 6u);
  BOOST_TEST(o.at("schema").as_array()[2].as_object().at("type").as_string() == "float64");
  BOOST_TEST(o.at("data_reference").as_string() == "proc/load/default/v1.csv");

  RecordInfo j = store(*backend, "proc", "decide", "default", Payload(json::value{{"a", 1}}));
  BOOST_TEST(fs::exists(root / "proc" / "decide" / "default" / "v1.json"));
  BOOST_TEST(fs::exists(root / "proc" / "decide" / "default" / "v1.meta.json"));
  BOOST_TEST(bdp::test::read_file(j.data_reference) == R"({"a":1})");

  bdp::ProcessInfo p;
  p.id = "proc";
  p.started_at = 1;
  backend->save_process(p);
  BOOST_TEST(fs::exists(root / ".bdp" / "processes" / "proc.json"));
}

BOOST_AUTO_TEST_CASE(csv_files_are_owner_only) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  store(*backend, "p", "s", "e", Payload(make_table(3)));
  bdp::ProcessInfo p;
  p.id = "p";
  backend->save_process(p);
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const unsigned expected = e.is_directory() ? 0700u : 0600u;
    BOOST_TEST(mode_of(e.path()) == expected, e.path()
                                                  << " has mode " << std::oct << mode_of(e.path()));
  }
  BOOST_TEST(mode_of(root) == 0700u);
}

BOOST_AUTO_TEST_CASE(csv_names_that_would_escape_the_root_are_refused_before_touching_disk) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  const auto before = tree(dir.path());
  const std::vector<std::array<std::string, 3>> bad = {
      {"..", "s", "e"},      {"p", "..", "e"},         {"p", "s", ".."},
      {"a/b", "s", "e"},     {"p", "../../x", "e"},    {"p", "s", "line\nbreak"},
      {"p", "s", "nul\x01"}, {"/abs", "s", "e"},       {".bdp", "s", "e"},
      {"", "s", "e"},        {"p", "s", "back\\slash"}};
  for (const auto& [p, s, e] : bad) {
    bdp::test::expect_error([&] { store(*backend, p, s, e, Payload(make_table(1))); },
                            ErrorCode::invalid_argument, {"is not valid"});
    RecordInfo r;
    r.id = "x";
    r.process_id = p;
    r.stage_name = s;
    r.entity_name = e;
    r.version = 1;
    bdp::test::expect_error([&] { backend->retrieve(r); }, ErrorCode::invalid_argument,
                            {"is not valid"});
    bdp::test::expect_error([&] { backend->remove(r); }, ErrorCode::invalid_argument,
                            {"is not valid"});
  }
  bdp::ProcessInfo proc;
  proc.id = "../escape";
  bdp::test::expect_error([&] { backend->save_process(proc); }, ErrorCode::invalid_argument,
                          {"process id"});
  bdp::test::expect_error([&] { backend->remove_process("a/b"); }, ErrorCode::invalid_argument,
                          {"process id"});
  BOOST_TEST(tree(dir.path()) == before, "a refused name created something on disk");
}

BOOST_AUTO_TEST_CASE(csv_list_answers_from_the_index_without_opening_data_files) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  std::vector<RecordInfo> stored;
  for (int i = 0; i < 6; ++i) {
    stored.push_back(
        store(*backend, i % 2 ? "p1" : "p2", "s", "e", Payload(make_table(5, i)), {{"i", i}}));
  }
  // With every data file and sidecar unreadable, listing still works.
  for (const auto& r : stored) fs::remove(r.data_reference);
  auto reopened = open_csv(root);
  bdp::Query q;
  q.process_id = "p1";
  q.metadata_equals.emplace_back("i", 3);
  auto found = reopened->list(q);
  BOOST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].id == stored[3].id);
  bdp::test::expect_error([&] { reopened->retrieve(found[0]); }, ErrorCode::not_found,
                          {stored[3].data_reference});
}

BOOST_AUTO_TEST_CASE(csv_index_is_append_only) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  store(*backend, "p", "s", "e", Payload(make_table(2)));
  const std::string before = bdp::test::read_file(root / ".bdp" / "index.jsonl");
  store(*backend, "p", "s", "e", Payload(make_table(2)));
  const std::string after = bdp::test::read_file(root / ".bdp" / "index.jsonl");
  BOOST_TEST(after.starts_with(before));
  BOOST_TEST(after.size() > before.size());
  // Each store appends a bounded amount: a begin and an add line.
  BOOST_TEST(std::count(after.begin() + static_cast<std::ptrdiff_t>(before.size()), after.end(),
                        '\n') == 2);
}

BOOST_AUTO_TEST_CASE(csv_missing_or_damaged_index_is_rebuilt_from_the_sidecars) {
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path index = root / ".bdp" / "index.jsonl";
  std::vector<RecordInfo> stored;
  {
    auto backend = open_csv(root);
    for (int i = 0; i < 4; ++i) {
      stored.push_back(
          store(*backend, "p", i < 2 ? "a" : "b", "e", Payload(make_table(3, i)), {{"i", i}}));
    }
    backend->remove(stored[1]);
    stored.erase(stored.begin() + 1);
  }
  auto ids = [](const std::vector<RecordInfo>& rs) {
    std::set<std::string> out;
    for (const auto& r : rs) out.insert(r.id);
    return out;
  };
  const auto want = ids(stored);

  // Missing: the documented way to force a rebuild.
  fs::remove(index);
  BOOST_TEST(ids(open_csv(root)->list(bdp::Query{})) == want);
  BOOST_TEST(fs::exists(index));

  // Damaged in the middle.
  std::string text = bdp::test::read_file(index);
  text.insert(text.find('\n') + 1, "{not json at all\n");
  bdp::test::write_file(index, text);
  auto backend = open_csv(root);
  BOOST_TEST(ids(backend->list(bdp::Query{})) == want);
  BOOST_TEST(bdp::test::read_file(index).find("not json") == std::string::npos);

  // A partial last line (a writer died while appending) is cut.
  std::ofstream(index, std::ios::app) << R"({"op":"add","record":{"id":)";
  auto again = open_csv(root);
  BOOST_TEST(ids(again->list(bdp::Query{})) == want);
  const std::string repaired = bdp::test::read_file(index);
  BOOST_TEST(repaired.back() == '\n');

  // Garbage instead of the header.
  bdp::test::write_file(index, "garbage\n");
  BOOST_TEST(ids(open_csv(root)->list(bdp::Query{})) == want);
  // The index never lists more than the sidecars: versions continue.
  RecordInfo next = store(*open_csv(root), "p", "b", "e", Payload(make_table(1)));
  BOOST_TEST(next.version == 3);
}

BOOST_AUTO_TEST_CASE(csv_crash_between_sidecar_and_index_is_settled_on_open) {
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path index = root / ".bdp" / "index.jsonl";
  RecordInfo r;
  {
    auto backend = open_csv(root);
    r = store(*backend, "p", "s", "e", Payload(make_table(4)));
  }
  // The state a writer killed after renaming the sidecar leaves: the
  // "begin" line, both files, no "add" line.
  std::string text = bdp::test::read_file(index);
  text.erase(text.rfind("{\"op\":\"add\""));
  bdp::test::write_file(index, text);
  auto backend = open_csv(root);
  auto listed = backend->list(bdp::Query{});
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].id == r.id);
  BOOST_TEST(listed[0].checksum == r.checksum);
  BOOST_TEST(backend->retrieve(listed[0]).table()->equals(*make_table(4)));

  // Killed before the sidecar: the data file is removed, nothing listed.
  text = bdp::test::read_file(index);
  text += R"({"op":"begin","process_id":"p","stage_name":"s","entity_name":"e","version":2})"
          "\n";
  bdp::test::write_file(index, text);
  bdp::test::write_file(root / "p" / "s" / "e" / "v2.csv", "id\n1\n");
  bdp::test::write_file(root / "p" / "s" / "e" / ".v2.meta.json.tmp", "{");
  auto reopened = open_csv(root);
  BOOST_TEST(reopened->list(bdp::Query{}).size() == 1u);
  BOOST_TEST(!fs::exists(root / "p" / "s" / "e" / "v2.csv"));
  BOOST_TEST(!fs::exists(root / "p" / "s" / "e" / ".v2.meta.json.tmp"));
  BOOST_TEST(store(*reopened, "p", "s", "e", Payload(make_table(1))).version == 2);
}

BOOST_AUTO_TEST_CASE(csv_store_whose_add_line_a_crash_lost_is_listed_by_an_open_reader) {
  // A store is durable once its "begin" line, its files and their renames
  // are; its "add" line is not synced. A reader that is already open meets
  // the "begin" without "add" on its next list (no writer is running while
  // it holds the lock shared, so the writer crashed) and completes it.
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path index = root / ".bdp" / "index.jsonl";
  auto reader = open_csv(root);
  BOOST_TEST(reader->list(bdp::Query{}).empty());
  RecordInfo r = store(*open_csv(root), "p", "s", "e", Payload(make_table(3)));
  std::string text = bdp::test::read_file(index);
  text.erase(text.rfind("{\"op\":\"add\""));
  bdp::test::write_file(index, text);
  auto listed = reader->list(bdp::Query{});
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].id == r.id);
  BOOST_TEST(reader->retrieve(listed[0]).table()->equals(*make_table(3)));
  // The "add" is back in the index, once.
  text = bdp::test::read_file(index);
  BOOST_TEST(text.find("{\"op\":\"add\"") != std::string::npos);
  BOOST_TEST(text.find("{\"op\":\"add\"") == text.rfind("{\"op\":\"add\""));
  BOOST_TEST(open_csv(root)->list(bdp::Query{}).size() == 1u);
  expect_consistent(root);
}

BOOST_AUTO_TEST_CASE(csv_crash_between_the_two_renames_is_settled_on_open) {
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path index = root / ".bdp" / "index.jsonl";
  const fs::path folder = root / "p" / "s" / "e";
  RecordInfo r;
  {
    auto backend = open_csv(root);
    r = store(*backend, "p", "s", "e", Payload(make_table(40)));
  }
  auto drop_add_line = [&] {
    std::string text = bdp::test::read_file(index);
    text.erase(text.rfind("{\"op\":\"add\""));
    bdp::test::write_file(index, text);
  };
  // Only the sidecar's rename reached the disk: the synced data file is
  // still under its temp name, and is renamed into place.
  drop_add_line();
  fs::rename(folder / "v1.csv", folder / ".v1.csv.tmp");
  {
    auto backend = open_csv(root);
    auto listed = backend->list(bdp::Query{});
    BOOST_REQUIRE(listed.size() == 1u);
    BOOST_TEST(listed[0].id == r.id);
    BOOST_TEST(backend->retrieve(listed[0]).table()->equals(*make_table(40)));
    BOOST_TEST(!fs::exists(folder / ".v1.csv.tmp"));
  }
  expect_consistent(root);
  // The data file is gone altogether: the store is undone, not listed.
  drop_add_line();
  fs::remove(folder / "v1.csv");
  auto backend = open_csv(root);
  BOOST_TEST(backend->list(bdp::Query{}).empty());
  BOOST_TEST(!fs::exists(folder / "v1.meta.json"));
  expect_consistent(root);
}

BOOST_AUTO_TEST_CASE(csv_process_record_temp_file_of_a_killed_writer_is_removed_on_open) {
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path processes = root / ".bdp" / "processes";
  bdp::ProcessInfo process;
  process.id = "p1";
  process.name = "n";
  process.started_at = 1;
  open_csv(root)->save_process(process);
  // A writer killed while it saved a process record leaves its temp file.
  bdp::test::write_file(processes / ".p1.json.tmp", "{\"id\": \"p1\", \"na");
  bdp::test::write_file(processes / ".p2.json.tmp", "");
  auto backend = open_csv(root);
  BOOST_TEST(!fs::exists(processes / ".p1.json.tmp"));
  BOOST_TEST(!fs::exists(processes / ".p2.json.tmp"));
  const auto listed = backend->list_processes();
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].id == "p1");
  BOOST_TEST(fs::exists(processes / "p1.json"));
}

BOOST_AUTO_TEST_CASE(csv_large_table_streams_to_disk_and_reads_back_exactly) {
  // Some 17 MB of CSV: written in pieces with the disk started early, read
  // back in parallel parts.
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  auto table = make_table(400'000, 3);
  RecordInfo r = store(*backend, "p", "s", "big", Payload(table));
  const std::string text = bdp::test::read_file(r.data_reference);
  BOOST_TEST(text.size() > 16u << 20);
  BOOST_TEST(r.size_bytes == static_cast<std::int64_t>(text.size()));
  BOOST_TEST(r.checksum == bdp::checksum_text(text));
  std::string direct;
  bdp::csv::write(*table, direct);
  BOOST_TEST((text == direct));
  BOOST_TEST(backend->retrieve(r).table()->equals(*table));
  expect_consistent(root);
}

BOOST_AUTO_TEST_CASE(csv_retrieve_detects_edited_truncated_and_deleted_data_files) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  RecordInfo edited = store(*backend, "p", "s", "edited", Payload(make_table(20)));
  RecordInfo truncated = store(*backend, "p", "s", "truncated", Payload(make_table(20)));
  RecordInfo deleted = store(*backend, "p", "s", "deleted", Payload(make_table(20)));
  RecordInfo json_rec = store(*backend, "p", "s", "json", Payload(json::value{{"k", "v"}}));
  RecordInfo bad_side = store(*backend, "p", "s", "sidecar", Payload(make_table(2)));

  std::string text = bdp::test::read_file(edited.data_reference);
  text[text.size() / 2] = text[text.size() / 2] == '1' ? '2' : '1';  // same size, other value
  bdp::test::write_file(edited.data_reference, text);
  bdp::test::expect_error([&] { backend->retrieve(edited); }, ErrorCode::corrupt,
                          {edited.data_reference, "checksum"});

  text = bdp::test::read_file(truncated.data_reference);
  bdp::test::write_file(truncated.data_reference, text.substr(0, text.size() - 7));
  bdp::test::expect_error([&] { backend->retrieve(truncated); }, ErrorCode::corrupt,
                          {truncated.data_reference, "truncated"});

  fs::remove(deleted.data_reference);
  bdp::test::expect_error([&] { backend->retrieve(deleted); }, ErrorCode::not_found,
                          {deleted.data_reference});

  bdp::test::write_file(json_rec.data_reference, R"({"k":"w"})");
  bdp::test::expect_error([&] { backend->retrieve(json_rec); }, ErrorCode::corrupt,
                          {json_rec.data_reference});

  const fs::path sidecar = fs::path(bad_side.data_reference).parent_path() / "v1.meta.json";
  bdp::test::write_file(sidecar, "{\"id\": \"p/s/sidecar/v1\", ");
  bdp::test::expect_error([&] { backend->retrieve(bad_side); }, ErrorCode::corrupt,
                          {sidecar.string(), "malformed sidecar"});
  bdp::test::write_file(sidecar, R"({"id": "p/s/sidecar/v1", "version": "one"})");
  bdp::test::expect_error([&] { backend->retrieve(bad_side); }, ErrorCode::corrupt,
                          {sidecar.string()});
  // A rebuild lists it marked, naming the sidecar, and the others as they were.
  fs::remove(root / ".bdp" / "index.jsonl");
  auto rebuilt = open_csv(root);
  bool seen = false;
  for (const auto& r : rebuilt->list(bdp::Query{})) {
    if (r.id != bad_side.id) {
      BOOST_TEST(r.damage.empty(), r.id << ": " << r.damage);
      continue;
    }
    seen = true;
    BOOST_TEST(r.damage.find(sidecar.string()) != std::string::npos, r.damage);
  }
  BOOST_TEST(seen);
}

// `text` with bit `bit` of byte `at` flipped.
std::string flip_bit(std::string text, std::size_t at, int bit) {
  text[at] = static_cast<char>(text[at] ^ (1 << bit));
  return text;
}

bdp::ProcessInfo process_record(const std::string& id, std::int64_t started) {
  bdp::ProcessInfo p;
  p.id = id;
  p.name = "run-" + id;
  p.status = bdp::ProcessStatus::completed;
  p.started_at = started;
  p.finished_at = started + 5;
  return p;
}

BOOST_AUTO_TEST_CASE(csv_damaged_process_records_are_listed_marked_by_their_file_names) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  for (int i = 1; i <= 5; ++i) backend->save_process(process_record("p" + std::to_string(i), i));
  const fs::path processes = root / ".bdp" / "processes";
  const std::string text = bdp::test::read_file(processes / "p1.json");
  bdp::test::write_file(processes / "p1.json", text.substr(0, text.size() / 2));  // truncated
  bdp::test::write_file(processes / "p2.json", "\x01\x02 garbage");
  // One bit of the opening quote of the first key: '"' becomes '#'.
  const std::size_t quote = bdp::test::read_file(processes / "p3.json").find('"');
  bdp::test::write_file(processes / "p3.json",
                        flip_bit(bdp::test::read_file(processes / "p3.json"), quote, 0));
  // Valid JSON that describes another process.
  bdp::test::write_file(processes / "p4.json", bdp::test::read_file(processes / "p5.json"));

  const auto listed = backend->list_processes();
  BOOST_REQUIRE(listed.size() == 5u);
  // The sound one first (newest started), the damaged ones after it.
  BOOST_TEST(listed[0].id == "p5");
  BOOST_TEST(listed[0].damage.empty());
  BOOST_TEST(listed[0].name == "run-p5");
  std::map<std::string, std::string> damage;
  for (std::size_t i = 1; i < listed.size(); ++i) damage[listed[i].id] = listed[i].damage;
  BOOST_REQUIRE(damage.size() == 4u);
  for (const auto& [id, why] : damage) {
    BOOST_TEST(why.find((processes / (id + ".json")).string()) != std::string::npos, why);
    BOOST_TEST(why.find('\n') == std::string::npos);
  }
  BOOST_TEST(damage["p1"].find("malformed") != std::string::npos, damage["p1"]);
  BOOST_TEST(damage["p4"].find("describes process 'p5'") != std::string::npos, damage["p4"]);
  // Saving a process record replaces a damaged one.
  backend->save_process(process_record("p2", 2));
  for (const auto& p : backend->list_processes()) {
    if (p.id == "p2") BOOST_TEST(p.damage.empty());
  }
}

BOOST_AUTO_TEST_CASE(csv_rebuild_lists_damaged_sidecars_marked_and_keeps_their_files) {
  TempDir dir;
  const fs::path root = dir / "store";
  std::vector<RecordInfo> stored;
  {
    auto backend = open_csv(root);
    for (const char* entity : {"a", "b", "c"}) {
      stored.push_back(store(*backend, "p", "s", entity, Payload(make_table(5))));
    }
  }
  const fs::path folder = root / "p" / "s";
  bdp::test::write_file(folder / "a" / "v1.meta.json", "{\"id\": ");
  // A sidecar copied over another: valid, but another record's.
  fs::copy_file(folder / "c" / "v1.meta.json", folder / "b" / "v1.meta.json",
                fs::copy_options::overwrite_existing);
  fs::remove(root / ".bdp" / "index.jsonl");

  auto backend = open_csv(root);
  const auto listed = backend->list(bdp::Query{});
  BOOST_REQUIRE(listed.size() == 3u);
  std::map<std::string, RecordInfo> by_entity;
  for (const auto& r : listed) by_entity[r.entity_name] = r;
  const RecordInfo& a = by_entity["a"];
  BOOST_TEST(a.id == stored[0].id);
  BOOST_TEST(a.version == 1);
  BOOST_TEST(a.damage.find("malformed sidecar '" + (folder / "a" / "v1.meta.json").string()) !=
                 std::string::npos,
             a.damage);
  BOOST_TEST(a.data_reference == stored[0].data_reference);
  BOOST_TEST(a.size_bytes == stored[0].size_bytes);
  BOOST_TEST(by_entity["b"].damage.find("describes record 'p/s/c/v1'") != std::string::npos,
             by_entity["b"].damage);
  BOOST_TEST(by_entity["c"].damage.empty());
  // The data files of damaged sidecars stay; retrieve says why it cannot.
  BOOST_TEST(fs::exists(stored[0].data_reference));
  BOOST_TEST(fs::exists(stored[1].data_reference));
  bdp::test::expect_error([&] { backend->retrieve(a); }, ErrorCode::corrupt,
                          {"malformed sidecar", "a/v1.meta.json"});
  BOOST_TEST(backend->retrieve(by_entity["c"]).table()->equals(*make_table(5)));
  // Filters see the readable fields; versions of a damaged key go on.
  bdp::Query only_a;
  only_a.entity_name = "a";
  BOOST_TEST(backend->list(only_a).size() == 1u);
  BOOST_TEST(store(*backend, "p", "s", "a", Payload(make_table(1))).version == 2);
  // Another process reading the rebuilt index sees the same.
  std::size_t damaged = 0;
  for (const auto& r : open_csv(root)->list(bdp::Query{})) damaged += r.damage.empty() ? 0 : 1;
  BOOST_TEST(damaged == 2u);
}

BOOST_AUTO_TEST_CASE(csv_index_line_with_a_flipped_bit_is_rebuilt_from_the_sidecars) {
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path index = root / ".bdp" / "index.jsonl";
  RecordInfo r;
  {
    auto backend = open_csv(root);
    r = store(*backend, "p", "s", "e", Payload(make_table(3)));
  }
  // "row_count":3 becomes "row_count":2 - still valid JSON, a wrong value.
  std::string text = bdp::test::read_file(index);
  const std::size_t at = text.find("\"row_count\":3");
  BOOST_REQUIRE(at != std::string::npos);
  bdp::test::write_file(index, flip_bit(text, at + 12, 0));
  auto backend = open_csv(root);
  const auto listed = backend->list(bdp::Query{});
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].row_count == 3);
  BOOST_TEST(listed[0].damage.empty());
  BOOST_TEST(bdp::test::read_file(index).find("\"row_count\":2") == std::string::npos);
  // Every line the index writes carries its checksum.
  for (std::size_t pos = text.find('\n') + 1; pos < text.size(); pos = text.find('\n', pos) + 1) {
    BOOST_TEST(text.find(",\"sum\":\"xxh64:", pos) < text.find('\n', pos));
  }
}

BOOST_AUTO_TEST_CASE(csv_crashed_store_whose_sidecar_was_damaged_since_is_kept_marked) {
  TempDir dir;
  const fs::path root = dir / "store";
  const fs::path index = root / ".bdp" / "index.jsonl";
  RecordInfo r;
  {
    auto backend = open_csv(root);
    r = store(*backend, "p", "s", "e", Payload(make_table(4)));
  }
  std::string text = bdp::test::read_file(index);
  text.erase(text.rfind("{\"op\":\"add\""));
  bdp::test::write_file(index, text);
  const fs::path sidecar = fs::path(r.data_reference).parent_path() / "v1.meta.json";
  bdp::test::write_file(sidecar, "garbage");
  auto backend = open_csv(root);
  const auto listed = backend->list(bdp::Query{});
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].damage.find(sidecar.string()) != std::string::npos, listed[0].damage);
  BOOST_TEST(fs::exists(r.data_reference));
}

BOOST_AUTO_TEST_CASE(csv_quarantine_moves_damaged_files_aside_and_keeps_the_rest) {
  TempDir dir;
  const fs::path root = dir / "store";
  auto backend = open_csv(root);
  RecordInfo side = store(*backend, "p", "s", "side", Payload(make_table(3)));
  RecordInfo data = store(*backend, "p", "s", "data", Payload(make_table(3)));
  RecordInfo sound = store(*backend, "p", "s", "sound", Payload(make_table(3)));
  RecordInfo gone = store(*backend, "p", "s", "gone", Payload(make_table(3)));
  backend->save_process(process_record("p", 1));
  backend->save_process(process_record("q", 2));
  const fs::path folder = root / "p" / "s";
  bdp::test::write_file(folder / "side" / "v1.meta.json", "not json");
  std::string csv_text = bdp::test::read_file(data.data_reference);
  bdp::test::write_file(data.data_reference, flip_bit(csv_text, csv_text.size() - 3, 1));
  bdp::test::write_file(root / ".bdp" / "processes" / "p.json", "{");
  fs::remove_all(folder / "gone");  // its whole folder: the index still lists it

  bdp::QuarantineRequest request;
  for (auto r : backend->list(bdp::Query{})) {
    if (r.id == sound.id) continue;
    r.damage = r.id == side.id ? "its sidecar is malformed" : "its data file was changed";
    request.records.push_back(r);
  }
  BOOST_REQUIRE(request.records.size() == 3u);
  for (const auto& p : backend->list_processes()) {
    if (!p.damage.empty()) request.processes.push_back(p);
  }
  BOOST_REQUIRE(request.processes.size() == 1u);
  const auto report = backend->quarantine(request);
  BOOST_TEST(report.moved.size() == 4u);
  const fs::path dest = report.location;
  BOOST_TEST(dest.parent_path() == root / ".bdp" / "quarantine");
  // The files, under their paths relative to the root, with the reasons.
  BOOST_TEST(bdp::test::read_file(dest / "p" / "s" / "side" / "v1.meta.json") == "not json");
  BOOST_TEST(fs::exists(dest / "p" / "s" / "side" / "v1.csv"));
  BOOST_TEST(fs::exists(dest / "p" / "s" / "data" / "v1.meta.json"));
  BOOST_TEST(bdp::test::read_file(dest / "p" / "s" / "data" / "v1.csv").size() == csv_text.size());
  BOOST_TEST(bdp::test::read_file(dest / ".bdp" / "processes" / "p.json") == "{");
  const std::string log = bdp::test::read_file(dest / "quarantine.jsonl");
  BOOST_TEST(std::count(log.begin(), log.end(), '\n') == 4);
  BOOST_TEST(log.find("its data file was changed") != std::string::npos);
  BOOST_TEST(!fs::exists(folder / "side" / "v1.csv"));
  BOOST_TEST(!fs::exists(root / ".bdp" / "processes" / "p.json"));

  // Out of the listings, here and in a new reader, also after a rebuild.
  auto ids = [](bdp::Backend& b) {
    std::set<std::string> out;
    for (const auto& r : b.list(bdp::Query{})) out.insert(r.id);
    return out;
  };
  BOOST_TEST((ids(*backend) == std::set<std::string>{sound.id}));
  BOOST_TEST((ids(*open_csv(root)) == std::set<std::string>{sound.id}));
  fs::remove(root / ".bdp" / "index.jsonl");
  BOOST_TEST((ids(*open_csv(root)) == std::set<std::string>{sound.id}));
  const auto processes = backend->list_processes();
  BOOST_REQUIRE(processes.size() == 1u);
  BOOST_TEST(processes[0].id == "q");
  BOOST_TEST(backend->retrieve(sound).table()->equals(*make_table(3)));
  bdp::test::expect_error([&] { backend->retrieve(data); }, ErrorCode::not_found, {data.id});
  bdp::test::expect_error([&] { backend->retrieve(gone); }, ErrorCode::not_found, {gone.id});
  // Nothing left to move the second time; the store takes new records.
  BOOST_TEST(backend->quarantine(request).moved.empty());
  store(*backend, "p", "s", "side", Payload(make_table(1)));
}

BOOST_AUTO_TEST_CASE(csv_io_failure_leaves_earlier_records_intact) {
  TempDir dir;
  const fs::path root = dir / "store";
  RecordInfo first;
  {
    auto backend = open_csv(root);
    first = store(*backend, "p", "s", "e", Payload(make_table(10)));
  }
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const int status = in_child([&] {
    ::close(fds[0]);
    auto backend = open_csv(root);
    // A real write failure: files may not grow past 64 KiB (EFBIG), even
    // for root, for whom permission bits stop nothing.
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    int code = 1;
    try {
      store(*backend, "p", "s", "e", Payload(make_table(20'000)));
    } catch (const bdp::Error& e) {
      message = e.what();
      code = e.code() == ErrorCode::io ? 0 : 2;
    }
    (void)!::write(fds[1], message.data(), message.size());
    return code;
  });
  ::close(fds[1]);
  std::string message(4096, '\0');
  message.resize(
      static_cast<std::size_t>(std::max<ssize_t>(0, ::read(fds[0], message.data(), 4096))));
  ::close(fds[0]);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "child: " << message);
  BOOST_TEST(message.find("File too large") != std::string::npos, message);
  BOOST_TEST(message.find((root / "p" / "s" / "e").string()) != std::string::npos, message);

  auto backend = open_csv(root);
  auto listed = backend->list(bdp::Query{});
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].id == first.id);
  BOOST_TEST(backend->retrieve(first).table()->equals(*make_table(10)));
  expect_consistent(root);
  BOOST_TEST(store(*backend, "p", "s", "e", Payload(make_table(1))).version == 2);
}

BOOST_AUTO_TEST_CASE(csv_store_survives_kill_during_write) {
  TempDir dir;
  const fs::path root = dir / "store";
  open_csv(root);  // created before the children race to create it
  std::mt19937 rng(std::random_device{}());
  std::size_t before = 0;
  for (int round = 0; round < 4; ++round) {
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      auto backend = open_csv(root);
      auto big = make_table(150'000, round);
      for (int i = 0;; ++i) {
        store(*backend, "p" + std::to_string(round), "s", "e",
              Payload(i % 3 ? big : make_table(5)));
      }
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution(30, 250)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST(WIFSIGNALED(status));
    expect_consistent(root);
    const std::size_t now = open_csv(root)->list(bdp::Query{}).size();
    BOOST_TEST(now >= before);
    before = now;
  }
}

BOOST_AUTO_TEST_CASE(csv_several_writer_processes_share_one_root) {
  TempDir dir;
  const fs::path root = dir / "store";
  open_csv(root);
  constexpr int kWriters = 4;
  constexpr int kStores = 12;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        auto backend = open_csv(root);
        for (int i = 0; i < kStores; ++i) {
          const std::string entity = i % 2 ? "shared" : "own" + std::to_string(w);
          store(*backend, "p", "s", entity, Payload(make_table(3, w * 100 + i)),
                {{"writer", w}, {"i", i}});
          if (i == kStores / 2) backend->list(bdp::Query{});
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  auto backend = open_csv(root);
  auto records = backend->list(bdp::Query{});
  BOOST_TEST(records.size() == static_cast<std::size_t>(kWriters * kStores));
  std::map<std::string, std::set<std::int64_t>> versions;
  std::set<std::pair<std::int64_t, std::int64_t>> writes;
  for (const auto& r : records) {
    BOOST_TEST(versions[r.entity_name].insert(r.version).second, "version reused: " << r.id);
    writes.insert({r.metadata.at("writer").as_int64(), r.metadata.at("i").as_int64()});
    const auto table = backend->retrieve(r).table();
    BOOST_TEST(table->column(0).int64_at(0) ==
               (r.metadata.at("writer").as_int64() * 100 + r.metadata.at("i").as_int64()) *
                   1'000'000);
  }
  BOOST_TEST(writes.size() == static_cast<std::size_t>(kWriters * kStores), "a store was lost");
  BOOST_TEST(versions["shared"].size() == static_cast<std::size_t>(kWriters * kStores / 2));
  BOOST_TEST(*versions["shared"].rbegin() == kWriters * kStores / 2);
  expect_consistent(root);
}

BOOST_AUTO_TEST_CASE(csv_bdp_run_writes_files_another_csv_reader_reads) {
  TempDir dir;
  const fs::path examples = bdp::test::source_dir() / "config" / "examples";
  fs::copy_file(examples / "csv.json", dir / "csv.json");
  fs::create_directories(dir / "data");
  fs::copy_file(examples / "data" / "orders.csv", dir / "data" / "orders.csv");
  auto run =
      bdp::test::run_command({bdp::test::cli_path().string(), "run", (dir / "csv.json").string()},
                             {"BDP_PLUGIN_PATH=", "BDP_DEFAULTS="});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err << run.out);

  const fs::path root = dir / "bdp-data" / "csv";
  auto backend = open_csv(root);
  bdp::Query q;
  q.stage_name = "recent";
  auto records = backend->list(q);
  BOOST_REQUIRE(records.size() == 1u);
  const auto table = backend->retrieve(records[0]).table();

  // Python's csv module, not this codec, reads the stored file.
  const std::string script =
      "import csv, json, sys\n"
      "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
      "print(json.dumps({'header': rows[0], 'rows': rows[1:]}))\n";
  auto py = bdp::test::run_command({"/usr/bin/python3", "-c", script, records[0].data_reference});
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
  json::value read = json::parse(py.out);
  const auto& header = read.at("header").as_array();
  const auto& rows = read.at("rows").as_array();
  BOOST_REQUIRE(header.size() == table->num_columns());
  for (std::size_t c = 0; c < header.size(); ++c) {
    BOOST_TEST(header[c].as_string() == table->column(c).name());
  }
  BOOST_REQUIRE(rows.size() == table->num_rows());
  BOOST_TEST(rows.size() == 100u);
  const auto& year = table->column("year");
  const auto& region = table->column("region");
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r].as_array();
    BOOST_TEST(row[table->num_columns() - 1].as_string().size() > 0u);
    BOOST_TEST(std::string(row[1].as_string()) == std::to_string(year.int64_at(r)));
    BOOST_TEST(std::string(row[2].as_string()) == std::string(region.string_at(r)));
  }
  // The source rows from 2024 on, in order, are what was stored.
  const std::string orders = bdp::test::read_file(dir / "data" / "orders.csv");
  BOOST_TEST(orders.find(std::string(rows[0].as_array()[0].as_string()) + ",2024,") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
