// The storage strategy engine (issue #5): DataContainer, ProcessStageHandler
// and Service over the real memory, csv and soci (SQLite) plugins loaded from
// the build tree, on real CSV folders and SQLite files in temp folders:
// modes x stage selection x stage plans, write-behind and its failures, the
// memory budget (refusal, eviction, spill, release), retrieval across
// processes, lifecycle without orphans, and the legacy configuration keys.
#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/process.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>
#include <bdp/sdk/time.hpp>
#include <bdp/service.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

// Printing for BOOST_TEST.
namespace bdp {
inline std::ostream& operator<<(std::ostream& out, StorageMode mode) {
  return out << to_string(mode);
}
inline std::ostream& operator<<(std::ostream& out, CleanupPolicy policy) {
  return out << to_string(policy);
}
inline std::ostream& operator<<(std::ostream& out, ProcessStatus status) {
  return out << to_string(status);
}
inline std::ostream& operator<<(std::ostream& out, StageStatus status) {
  return out << to_string(status);
}
}  // namespace bdp

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::CleanupPolicy;
using bdp::ErrorCode;
using bdp::StorageMode;
using bdp::test::expect_error;
using bdp::test::TempDir;

bdp::PluginHost& host() {
  static bdp::PluginHost h;
  return h;
}

fs::path source_defaults() {
  return bdp::test::source_dir() / "config" / "defaults.json";
}

bdp::TablePtr make_table(std::int64_t rows, std::int64_t seed = 0) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64},
                       {"name", bdp::ColumnType::string},
                       {"price", bdp::ColumnType::float64}});
  for (std::int64_t i = 0; i < rows; ++i) {
    b.append_row({seed * 1'000'000 + i,
                  std::string("row-") + std::to_string(seed) + "-" + std::to_string(i),
                  static_cast<double>(i % 1000) / 8.0});
  }
  return b.finish();
}

std::shared_ptr<bdp::Backend> open_memory() {
  return host().create_backend("memory", "memory", json::object{}, {});
}

std::shared_ptr<bdp::Backend> open_csv(const fs::path& root) {
  return host().create_backend("csv", "csv", {{"plugin", "csv"}, {"root", root.string()}},
                               root.parent_path());
}

// `inline_threshold`: tables whose encoding is larger go to their own
// bdp_data_<id> table (the plugin's default is 1 MiB).
std::shared_ptr<bdp::Backend> open_sqlite(const fs::path& file,
                                          std::int64_t inline_threshold = -1) {
  json::object settings{{"plugin", "soci"},
                        {"connection", "sqlite3://db=" + file.string()},
                        {"synchronous", "normal"}};
  if (inline_threshold >= 0) settings["inline_threshold_bytes"] = inline_threshold;
  return host().create_backend("soci", "db", settings, file.parent_path());
}

bdp::Query query(const std::string& process = {}, const std::string& stage = {}) {
  bdp::Query q;
  if (!process.empty()) q.process_id = process;
  if (!stage.empty()) q.stage_name = stage;
  return q;
}

std::size_t count(bdp::Backend& backend, const std::string& process, const std::string& stage) {
  return backend.list(query(process, stage)).size();
}

// A memory backend, a CSV folder and an SQLite file in one temp folder,
// under the names "memory", "csv" and "db".
struct Stores {
  TempDir dir;
  std::shared_ptr<bdp::Backend> memory = open_memory();
  std::shared_ptr<bdp::Backend> csv;
  std::shared_ptr<bdp::Backend> db;

  explicit Stores(std::int64_t inline_threshold = -1)
      : csv(open_csv(csv_root())), db(open_sqlite(db_file(), inline_threshold)) {}
  fs::path csv_root() const { return dir / "csv"; }
  fs::path db_file() const { return dir / "db.sqlite"; }

  std::unique_ptr<bdp::DataContainer> container(const bdp::StorageStrategy& strategy) {
    return std::make_unique<bdp::DataContainer>(
        strategy, memory,
        std::map<std::string, std::shared_ptr<bdp::Backend>, std::less<>>{
            {"memory", memory}, {"csv", csv}, {"db", db}});
  }
};

bdp::StorageStrategy strategy_of(StorageMode mode, std::vector<std::string> selected = {},
                                 std::string backend = "db") {
  bdp::StorageStrategy s;
  s.mode = mode;
  s.stages_to_persist = std::move(selected);
  s.backend = std::move(backend);
  return s;
}

bdp::StagePlan plan(bool persist, std::string backend) {
  bdp::StagePlan p;
  p.persist = persist;
  p.backend = std::move(backend);
  return p;
}

bdp::test::CommandResult sqlite3(const fs::path& db, const std::string& sql) {
  return bdp::test::run_command({"/usr/bin/sqlite3", db.string(), sql});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Waits (polling, up to 20 s) until `done` holds; false if it never did.
template <class Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// ---------------------------------------------------------------- orphans

// The CSV store under `root` has no orphans: the records a fresh backend
// lists are exactly those the index (replayed) holds; each has its data
// file and its sidecar and retrieves; every file under the root belongs to
// a listed record, a listed process, or is the index or the lock.
void expect_no_csv_orphans(const fs::path& root) {
  BOOST_TEST_CONTEXT("CSV store " << root) {
    auto backend = open_csv(root);
    auto records = backend->list(bdp::Query{});
    std::set<std::string> indexed;
    for (const auto& line : lines_of(bdp::test::read_file(root / ".bdp" / "index.jsonl"))) {
      json::value v = json::parse(line);
      const auto* op = v.as_object().if_contains("op");
      if (!op) continue;  // the header
      if (op->as_string() == "add") {
        indexed.insert(std::string(v.at("record").at("id").as_string()));
      } else if (op->as_string() == "remove") {
        indexed.erase(std::string(v.at("id").as_string()));
      }
    }
    std::set<std::string> listed;
    std::set<std::string> expected_files = {".bdp/index.jsonl", ".bdp/lock"};
    for (const auto& r : records) {
      listed.insert(r.id);
      BOOST_CHECK_NO_THROW(backend->retrieve(r));
      const fs::path data = r.data_reference;
      const fs::path sidecar =
          data.parent_path() / ("v" + std::to_string(r.version) + ".meta.json");
      BOOST_TEST(fs::is_regular_file(data), "data file missing: " << data);
      BOOST_TEST(fs::is_regular_file(sidecar), "sidecar missing: " << sidecar);
      expected_files.insert(fs::relative(data, root).string());
      expected_files.insert(fs::relative(sidecar, root).string());
    }
    BOOST_TEST(listed == indexed, "listed records and index entries differ");
    for (const auto& p : backend->list_processes()) {
      expected_files.insert(".bdp/processes/" + p.id + ".json");
    }
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      const std::string rel = fs::relative(e.path(), root).string();
      BOOST_TEST(expected_files.count(rel) == 1u, "orphaned file in the CSV store: " << rel);
    }
  }
}

// The SQLite store has no orphans: every bdp_data_% table is the data of a
// listed record and vice versa, every intermediate_data row is listed and
// its data reads back.
void expect_no_sqlite_orphans(const fs::path& file) {
  BOOST_TEST_CONTEXT("SQLite store " << file) {
    auto backend = open_sqlite(file);
    auto records = backend->list(bdp::Query{});
    std::set<std::string> references;
    for (const auto& r : records) {
      BOOST_CHECK_NO_THROW(backend->retrieve(r));
      if (r.storage_type == bdp::StorageType::reference) references.insert(r.data_reference);
    }
    auto tables = sqlite3(file,
                          "select name from sqlite_master where type = 'table' and name like "
                          "'bdp\\_data\\_%' escape '\\' order by name");
    BOOST_TEST_REQUIRE(tables.exit_code == 0, tables.err);
    std::set<std::string> found;
    for (const auto& t : lines_of(tables.out)) found.insert(t);
    BOOST_TEST(found == references, "bdp_data_ tables and referencing records differ");
    auto rows = sqlite3(file, "select count(*) from intermediate_data");
    BOOST_TEST_REQUIRE(rows.exit_code == 0, rows.err);
    BOOST_TEST(rows.out == std::to_string(records.size()) + "\n");
  }
}

std::set<std::string> process_ids(bdp::Backend& backend) {
  std::set<std::string> out;
  for (const auto& p : backend.list_processes()) out.insert(p.id);
  return out;
}

std::set<std::string> record_processes(bdp::Backend& backend) {
  std::set<std::string> out;
  for (const auto& r : backend.list(bdp::Query{})) out.insert(r.process_id);
  return out;
}

bdp::ProcessInfo process_info(const std::string& id, const std::string& name,
                              std::int64_t started_at) {
  bdp::ProcessInfo p;
  p.id = id;
  p.name = name;
  p.started_at = started_at;
  p.finished_at = started_at + 1;
  p.status = bdp::ProcessStatus::completed;
  return p;
}

// Process `id` called `name`, started at `started_at`, through `c`: stage
// "a" (10 rows) and stage "b" (500 rows) stored.
void store_process(bdp::DataContainer& c, const std::string& id, const std::string& name,
                   std::int64_t started_at) {
  c.set_process(id);
  c.save_process(process_info(id, name, started_at));
  c.store_stage_data("a", make_table(10));
  c.store_stage_data("b", make_table(500));
}

// Exactly the processes `ids` are left in the CSV folder and the SQLite
// file of `st`, in the process records and in the data records, and
// neither store has orphans.
void expect_processes_left(const Stores& st, const std::set<std::string>& ids) {
  for (auto* backend : {st.csv.get(), st.db.get()}) {
    BOOST_TEST(process_ids(*backend) == ids);
    BOOST_TEST(record_processes(*backend) == ids);
  }
  expect_no_csv_orphans(st.csv_root());
  expect_no_sqlite_orphans(st.db_file());
}

// ----------------------------------------------------------- config helpers

bdp::ConfigResolver resolver_for(const json::object& project, const TempDir& dir) {
  bdp::test::write_file(dir / "proj.json", json::serialize(project));
  bdp::ConfigResolver resolver;
  resolver.set_defaults_file(source_defaults());
  resolver.set_project_file(dir / "proj.json");
  return resolver;
}

json::object parse_object(const std::string& text) {
  return json::parse(text).as_object();
}

// A 3-stage project over generate/select, with the csv backend at "csv" and
// an SQLite one at "db.sqlite"; `strategy` is the storage_strategy block.
json::object three_stage_project(const std::string& strategy) {
  return parse_object(R"({"project": "strategy", "storage_strategy": )" + strategy + R"(,
    "backends": {
      "csv": {"plugin": "csv", "root": "csv"},
      "db": {"plugin": "soci", "connection": "sqlite3://db=db.sqlite", "synchronous": "normal"}},
    "stages": [
      {"name": "a", "processor": "generate", "params": {"rows": 30, "seed": 3}},
      {"name": "b", "processor": "select", "inputs": ["a"], "params": {"columns": ["id", "qty"]}},
      {"name": "c", "processor": "select", "inputs": ["b"], "params": {"columns": ["id"]}}]})");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(strategy)

// ------------------------------------------- mode x selection x stage plan

BOOST_AUTO_TEST_CASE(every_mode_selection_and_stage_plan_puts_each_stage_where_it_belongs) {
  const std::vector<std::string> stages = {"a", "b", "c"};
  for (StorageMode mode : {StorageMode::memory, StorageMode::persist, StorageMode::hybrid}) {
    for (const std::vector<std::string>& selection :
         {std::vector<std::string>{}, std::vector<std::string>{"b"}}) {
      for (int override_kind = 0; override_kind < 3; ++override_kind) {
        const char* override_name[] = {"none", "a: persist=true to csv", "b: persist=false"};
        BOOST_TEST_CONTEXT("mode " << mode << ", stages_to_persist "
                                   << (selection.empty() ? "[] (all)" : "[b]") << ", plan "
                                   << override_name[override_kind]) {
          Stores st;
          auto c = st.container(strategy_of(mode, selection));
          if (override_kind == 1) c->set_stage_plan("a", plan(true, "csv"));
          if (override_kind == 2) c->set_stage_plan("b", plan(false, "db"));
          c->set_process("p1");

          // The backend each stage's durable copy belongs in; "" for none.
          auto target = [&](const std::string& stage) -> std::string {
            if (override_kind == 1 && stage == "a") return "csv";
            if (override_kind == 2 && stage == "b") return "";
            const bool selected =
                mode != StorageMode::memory &&
                (selection.empty() ||
                 std::find(selection.begin(), selection.end(), stage) != selection.end());
            return selected ? "db" : "";
          };
          auto in_memory = [&](const std::string& stage) {
            return target(stage).empty() || mode == StorageMode::hybrid;
          };

          std::map<std::string, bdp::TablePtr> data;
          for (std::size_t i = 0; i < stages.size(); ++i) {
            data[stages[i]] = make_table(40 + static_cast<std::int64_t>(i), 10 + i);
            auto records = c->store_stage_data(stages[i], data[stages[i]]);
            BOOST_TEST_REQUIRE(records.size() == 1u);
            BOOST_TEST(records[0].row_count == 40 + static_cast<std::int64_t>(i));
          }
          for (const auto& stage : stages) {
            BOOST_TEST_CONTEXT("stage " << stage << " before flush") {
              BOOST_TEST(c->plan_for(stage).persist == !target(stage).empty());
              BOOST_TEST(count(*st.memory, "p1", stage) == (in_memory(stage) ? 1u : 0u));
              if (mode != StorageMode::hybrid) {  // written synchronously
                BOOST_TEST(count(*st.csv, "p1", stage) == (target(stage) == "csv" ? 1u : 0u));
                BOOST_TEST(count(*st.db, "p1", stage) == (target(stage) == "db" ? 1u : 0u));
              }
              auto out = c->retrieve_stage_data(stage);
              BOOST_TEST(out.table()->equals(*data[stage]));
              if (in_memory(stage)) BOOST_TEST(out.table().get() == data[stage].get());
            }
          }
          c->flush();
          for (const auto& stage : stages) {
            BOOST_TEST_CONTEXT("stage " << stage << " after flush") {
              const std::string where = target(stage).empty() ? "memory" : target(stage);
              BOOST_TEST(count(*st.memory, "p1", stage) == (in_memory(stage) ? 1u : 0u));
              BOOST_TEST(count(*st.csv, "p1", stage) == (target(stage) == "csv" ? 1u : 0u));
              BOOST_TEST(count(*st.db, "p1", stage) == (target(stage) == "db" ? 1u : 0u));
              // One record per version, however many copies.
              auto listed = c->list_available_data(query("p1", stage));
              BOOST_TEST_REQUIRE(listed.size() == 1u);
              BOOST_TEST(listed[0].backend == where);
              auto newest = c->stage_records(stage);
              BOOST_TEST_REQUIRE(newest.size() == 1u);
              BOOST_TEST(newest[0].backend == where);
              BOOST_TEST(c->stage_storage(stage).backend == where);
              BOOST_TEST(c->stage_storage(stage).pending == 0u);
              BOOST_TEST(c->retrieve_stage_data(stage).table()->equals(*data[stage]));
            }
          }
          // The durable copies are readable by anyone opening the same stores.
          for (const auto& stage : stages) {
            if (target(stage).empty()) continue;
            auto fresh =
                target(stage) == "csv" ? open_csv(st.csv_root()) : open_sqlite(st.db_file());
            auto records = fresh->list(query("p1", stage));
            BOOST_TEST_REQUIRE(records.size() == 1u);
            BOOST_TEST(fresh->retrieve(records[0]).table()->equals(*data[stage]));
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(config_stage_blocks_and_runtime_overrides_decide_each_stage_plan) {
  TempDir dir;
  auto project = three_stage_project(R"({"mode": "hybrid", "backend": "db",
                                         "stages_to_persist": ["b"]})");
  auto& stages = project["stages"].as_array();
  stages[0].as_object()["storage"] = json::object{{"persist", true}, {"backend", "csv"}};
  stages[2].as_object()["storage"] = json::object{{"persist", true}};
  auto resolver = resolver_for(project, dir);
  resolver.add_override("stages.c.storage.persist=false");
  const bdp::Config config = resolver.resolve();

  const auto* a = config.find_stage("a");
  const auto* b = config.find_stage("b");
  const auto* c = config.find_stage("c");
  BOOST_TEST_REQUIRE((a && b && c));
  BOOST_TEST(a->plan.persist);
  BOOST_TEST(a->plan.backend == "csv");
  BOOST_TEST(b->plan.persist);  // selected by stages_to_persist
  BOOST_TEST(b->plan.backend == "db");
  BOOST_TEST(!c->plan.persist);  // the runtime override beats the stage block
  const auto* where = config.provenance("stages.c.storage.persist");
  BOOST_TEST_REQUIRE(where);
  BOOST_TEST((where->layer == bdp::ConfigLayer::runtime));

  // Two stages of one process in two backends, the third in memory only.
  auto container = bdp::DataContainer::open(config, host());
  container->set_process("p1");
  std::map<std::string, bdp::TablePtr> data;
  for (const std::string stage : {"a", "b", "c"}) {
    data[stage] = make_table(25, stage[0]);
    container->store_stage_data(stage, data[stage]);
  }
  container->flush();
  BOOST_TEST(container->stage_storage("a").backend == "csv");
  BOOST_TEST(container->stage_storage("b").backend == "db");
  BOOST_TEST(container->stage_storage("c").backend == "memory");
  container.reset();

  auto csv = open_csv(dir / "csv");
  auto db = open_sqlite(dir / "db.sqlite");
  BOOST_TEST(count(*csv, "p1", "a") == 1u);
  BOOST_TEST(count(*csv, "p1", "b") == 0u);
  BOOST_TEST(count(*csv, "p1", "c") == 0u);
  BOOST_TEST(count(*db, "p1", "a") == 0u);
  BOOST_TEST(count(*db, "p1", "b") == 1u);
  BOOST_TEST(count(*db, "p1", "c") == 0u);
  BOOST_TEST(csv->retrieve(csv->list(query("p1", "a")).at(0)).table()->equals(*data["a"]));
  BOOST_TEST(db->retrieve(db->list(query("p1", "b")).at(0)).table()->equals(*data["b"]));
}

BOOST_AUTO_TEST_CASE(memory_mode_keeps_every_stage_in_memory_whatever_the_stage_blocks_say) {
  TempDir dir;
  auto project = three_stage_project(R"({"mode": "persist", "backend": "db"})");
  project["stages"].as_array()[0].as_object()["storage"] =
      json::object{{"persist", true}, {"backend", "csv"}};
  auto resolver = resolver_for(project, dir);
  resolver.add_override("storage_strategy.mode=memory");
  const bdp::Config config = resolver.resolve();
  BOOST_TEST(config.strategy.mode == StorageMode::memory);
  for (const auto& stage : config.stages) {
    BOOST_TEST(!stage.plan.persist, "stage " << stage.name);
  }
  auto container = bdp::DataContainer::open(config, host());
  container->set_process("p1");
  container->store_stage_data("a", make_table(5));
  container->flush();
  BOOST_TEST(container->stage_storage("a").backend == "memory");
  container.reset();
  // Nothing left the process: no store was even created.
  BOOST_TEST(!fs::exists(dir / "csv"));
  BOOST_TEST(!fs::exists(dir / "db.sqlite"));
}

BOOST_AUTO_TEST_CASE(runtime_strategy_overrides_beat_stage_blocks_for_persist_as_for_backend) {
  // "Stage blocks override per stage; runtime overrides beat both": a
  // --set of the strategy's stage selection or backend wins over what a
  // stage block of the project file says.
  TempDir dir;
  auto project = three_stage_project(R"({"mode": "persist", "backend": "db"})");
  project["stages"].as_array()[0].as_object()["storage"] =
      json::object{{"persist", true}, {"backend", "db"}};
  auto resolver = resolver_for(project, dir);
  resolver.add_override(R"(storage_strategy.stages_to_persist=["c"])");
  resolver.add_override("storage_strategy.backend=csv");
  const bdp::Config config = resolver.resolve();
  const auto* a = config.find_stage("a");
  BOOST_TEST_REQUIRE(a);
  BOOST_TEST(a->plan.backend == "csv");  // the runtime backend beats the block's "db"
  BOOST_TEST(!a->plan.persist,
             "the runtime stages_to_persist [\"c\"] should beat stage a's block persist=true");
  BOOST_TEST(config.find_stage("c")->plan.persist);
  BOOST_TEST(!config.find_stage("b")->plan.persist);
}

// ----------------------------------------------------------- write-behind

BOOST_AUTO_TEST_CASE(hybrid_serves_from_memory_and_writes_every_record_behind) {
  Stores st;
  auto c = st.container(strategy_of(StorageMode::hybrid));
  c->set_process("wb");
  std::vector<bdp::TablePtr> tables;
  constexpr int kStages = 40;
  for (int i = 0; i < kStages; ++i) {
    tables.push_back(make_table(300, i));
    const std::string stage = "s" + std::to_string(i);
    auto records = c->store_stage_data(stage, tables.back());
    BOOST_TEST(records.at(0).backend == "memory");
    // Before any flush, whether or not its write is done: the very table.
    BOOST_TEST(c->retrieve_stage_data(stage).table().get() == tables.back().get());
  }
  c->flush();
  auto stats = c->stats();
  BOOST_TEST(stats.background_writes == static_cast<std::uint64_t>(kStages));
  BOOST_TEST(stats.background_failures == 0u);
  BOOST_TEST(stats.queue_bytes == 0u);
  BOOST_TEST(stats.queue_peak_bytes > 0u);
  for (int i = 0; i < kStages; ++i) {
    BOOST_TEST(c->stage_storage("s" + std::to_string(i)).backend == "db");
  }

  // Another backend on the same file sees every record, intact.
  auto second = open_sqlite(st.db_file());
  auto records = second->list(query("wb"));
  BOOST_TEST_REQUIRE(records.size() == static_cast<std::size_t>(kStages));
  for (const auto& r : records) {
    const int i = std::stoi(r.stage_name.substr(1));
    BOOST_TEST(second->retrieve(r).table()->equals(*tables.at(i)), r.stage_name);
  }
  // And another container, as a later process would.
  bdp::DataContainer later(strategy_of(StorageMode::persist), open_memory(), {{"db", second}});
  later.set_process("later");
  BOOST_TEST(later.retrieve_stage_data("s7", "wb").table()->equals(*tables[7]));
}

BOOST_AUTO_TEST_CASE(write_queue_stays_within_its_byte_bound) {
  std::vector<bdp::TablePtr> tables;
  std::uint64_t bytes = 0;  // the biggest job
  for (int i = 0; i < 30; ++i) {
    tables.push_back(make_table(300, i));
    bytes = std::max<std::uint64_t>(bytes, tables.back()->byte_size());
  }
  for (std::uint64_t bound : {std::uint64_t{1}, bytes + bytes / 2, 4 * bytes}) {
    BOOST_TEST_CONTEXT("write_queue_bytes " << bound << ", biggest job " << bytes) {
      Stores st;
      auto strategy = strategy_of(StorageMode::hybrid);
      strategy.write_queue_bytes = bound;
      auto c = st.container(strategy);
      c->set_process("q");
      for (int i = 0; i < 30; ++i) c->store_stage_data("s" + std::to_string(i), tables[i]);
      c->flush();
      auto stats = c->stats();
      BOOST_TEST(stats.queue_peak_bytes <= std::max<std::uint64_t>(bound, bytes));
      BOOST_TEST(stats.queue_peak_bytes >= tables[0]->byte_size());
      BOOST_TEST(stats.background_writes == 30u);
      BOOST_TEST(count(*st.db, "q", "") == 30u);
    }
  }
}

// Makes the CSV store at `root` unwritable for real: read-only for an
// ordinary user; replaced by a regular file when running as root (whom
// permissions do not stop). undo() puts it back.
struct BrokenCsvRoot {
  fs::path root;
  fs::path away;
  bool as_root = ::geteuid() == 0;
  explicit BrokenCsvRoot(fs::path r) : root(std::move(r)), away(root.string() + ".away") {
    if (as_root) {
      fs::rename(root, away);
      bdp::test::write_file(root, "not a folder\n");
    } else {
      BOOST_REQUIRE(::chmod(root.c_str(), 0500) == 0);
    }
  }
  void undo() {
    if (root.empty()) return;
    if (as_root) {
      fs::remove(root);
      fs::rename(away, root);
    } else {
      ::chmod(root.c_str(), 0700);
    }
    root.clear();
  }
  ~BrokenCsvRoot() { undo(); }
};

BOOST_AUTO_TEST_CASE(a_failed_background_write_is_reported_by_the_next_store_and_flush) {
  Stores st;
  auto c = st.container(strategy_of(StorageMode::hybrid, {}, "csv"));
  c->set_process("p1");
  auto table = make_table(50, 1);
  BrokenCsvRoot broken(st.csv_root());

  // The store itself succeeds: the data is in memory, the write is queued.
  auto records = c->store_stage_data("b", table);
  BOOST_TEST(records.at(0).backend == "memory");
  BOOST_TEST_REQUIRE(eventually([&] { return !c->stage_storage("b").error.empty(); }),
                     "the background write to a broken CSV root never failed");

  // The next store refuses, naming the record and the backend; nothing of it is kept.
  expect_error([&] { c->store_stage_data("c", make_table(5)); }, ErrorCode::io,
               {"p1/b/default@v1", "'csv'"});
  BOOST_TEST(count(*st.memory, "p1", "c") == 0u);
  // Every flush reports it.
  expect_error([&] { c->flush(); }, ErrorCode::io, {"p1/b/default@v1", "'csv'"});
  expect_error([&] { c->flush(); }, ErrorCode::io, {"p1/b/default@v1"});
  const auto storage = c->stage_storage("b");
  BOOST_TEST(storage.error.find("p1/b/default@v1") != std::string::npos, storage.error);
  BOOST_TEST(storage.pending == 0u);
  BOOST_TEST(storage.in_memory == 1u);
  // The data is not lost: still served from memory.
  BOOST_TEST(c->retrieve_stage_data("b").table().get() == table.get());

  // take_failures() hands them over once; then stores and flush go on.
  auto failures = c->take_failures();
  BOOST_TEST_REQUIRE(failures.size() == 1u);
  BOOST_TEST(failures[0].find("p1/b/default@v1") != std::string::npos, failures[0]);
  BOOST_TEST(c->take_failures().empty());
  BOOST_CHECK_NO_THROW(c->flush());
  broken.undo();
  BOOST_TEST(c->stats().background_failures == 0u);
  BOOST_CHECK_NO_THROW(c->store_stage_data("c", make_table(5)));
  BOOST_CHECK_NO_THROW(c->flush());
  auto csv = open_csv(st.csv_root());
  BOOST_TEST(count(*csv, "p1", "c") == 1u);
  BOOST_TEST(count(*csv, "p1", "b") == 0u);
}

// A real database fault that stops root too: a trigger that aborts every
// insert of `stage`'s records into intermediate_data.
void fail_inserts_of(const fs::path& db, const std::string& stage) {
  open_sqlite(db);  // creates the schema
  auto r = sqlite3(db, "create trigger fail_" + stage +
                           " before insert on intermediate_data when new.stage_name = '" + stage +
                           "' begin select raise(abort, 'disk full (test fault)'); end;");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
}

bdp::Config hybrid_sqlite_config(const TempDir& dir, const std::string& stages) {
  auto project = parse_object(R"({"project": "faulty",
    "storage_strategy": {"mode": "hybrid", "backend": "db"},
    "backends": {"db": {"plugin": "soci", "connection": "sqlite3://db=db.sqlite",
                        "synchronous": "normal"}},
    "stages": )" + stages + "}");
  return resolver_for(project, dir).resolve();
}

const bdp::StageInfo& stage_named(const bdp::ProcessInfo& process, const std::string& name) {
  for (const auto& s : process.stages) {
    if (s.name == name) return s;
  }
  BOOST_FAIL("no stage " << name << " in process " << process.id);
  throw std::logic_error("unreachable");
}

BOOST_AUTO_TEST_CASE(service_run_fails_the_stage_and_the_process_on_a_failed_background_write) {
  TempDir dir;
  fail_inserts_of(dir / "db.sqlite", "b");
  bdp::Service service(hybrid_sqlite_config(dir, R"([
      {"name": "a", "processor": "generate", "params": {"rows": 20}},
      {"name": "b", "processor": "select", "inputs": ["a"], "params": {"columns": ["id"]}}])"));
  const std::string message = bdp::test::error_of([&] { service.run(); }, ErrorCode::io);
  BOOST_TEST(message.find("/b/default@v1") != std::string::npos, message);
  BOOST_TEST(message.find("'db'") != std::string::npos, message);
  BOOST_TEST(message.find('\n') == std::string::npos, message);

  auto processes = open_sqlite(dir / "db.sqlite")->list_processes();
  BOOST_TEST_REQUIRE(processes.size() == 1u);
  const auto& process = processes[0];
  BOOST_TEST(process.status == bdp::ProcessStatus::failed);
  BOOST_TEST(stage_named(process, "a").status == bdp::StageStatus::completed);
  BOOST_TEST(stage_named(process, "b").status == bdp::StageStatus::failed);
  BOOST_TEST(stage_named(process, "b").message.find("disk full (test fault)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failed_background_write_mid_pipeline_fails_the_stage_it_belongs_to) {
  // Stage b's write fails while stage c (slow) is computed: the process
  // record must say that b failed, not only the stage that noticed.
  TempDir dir;
  fail_inserts_of(dir / "db.sqlite", "b");
  bdp::Service service(hybrid_sqlite_config(dir, R"([
      {"name": "a", "processor": "generate", "params": {"rows": 20}},
      {"name": "b", "processor": "select", "inputs": ["a"], "params": {"columns": ["id"]}},
      {"name": "c", "processor": "generate", "inputs": ["b"], "params": {"rows": 400000}}])"));
  const std::string message = bdp::test::error_of([&] { service.run(); }, ErrorCode::io);
  BOOST_TEST(message.find("/b/default@v1") != std::string::npos, message);

  auto processes = open_sqlite(dir / "db.sqlite")->list_processes();
  BOOST_TEST_REQUIRE(processes.size() == 1u);
  BOOST_TEST(processes[0].status == bdp::ProcessStatus::failed);
  const auto& b = stage_named(processes[0], "b");
  BOOST_TEST(b.status == bdp::StageStatus::failed, "stage b, whose write failed, is recorded as "
                                                       << bdp::to_string(b.status) << ": "
                                                       << b.message);
  BOOST_TEST(b.message.find("disk full (test fault)") != std::string::npos, b.message);
}

// ----------------------------------------------------------------- budget

BOOST_AUTO_TEST_CASE(memory_mode_refuses_a_store_over_budget_and_stores_nothing_of_it) {
  Stores st;
  auto table = make_table(1000);
  const std::uint64_t budget = table->byte_size() + table->byte_size() / 2;
  auto strategy = strategy_of(StorageMode::memory);
  strategy.max_memory_bytes = budget;
  auto c = st.container(strategy);
  c->set_process("p1");
  c->store_stage_data("first", table);
  bdp::StageOutput two;
  two.set("x", make_table(400, 1));
  two.set("y", make_table(400, 2));
  expect_error([&] { c->store_stage_data("second", two); }, ErrorCode::budget_exceeded,
               {"'second'", "'p1'", "max_memory_bytes = " + std::to_string(budget)});
  BOOST_TEST(count(*st.memory, "p1", "second") == 0u);
  BOOST_TEST(count(*st.db, "", "") == 0u);
  BOOST_TEST(count(*st.csv, "", "") == 0u);
  BOOST_TEST(c->stats().memory_bytes == table->byte_size());
  BOOST_TEST(c->stats().spills == 0u);
  BOOST_TEST(c->retrieve_stage_data("first").table().get() == table.get());
}

BOOST_AUTO_TEST_CASE(hybrid_evicts_durable_copies_under_budget_and_reloads_them) {
  Stores st;
  std::vector<bdp::TablePtr> tables;
  for (int i = 0; i < 4; ++i) tables.push_back(make_table(2000, i));
  const std::uint64_t each = tables[0]->byte_size();
  const std::uint64_t budget = 2 * each + each / 4;  // two fit, three do not
  auto strategy = strategy_of(StorageMode::hybrid);
  strategy.max_memory_bytes = budget;
  auto c = st.container(strategy);
  c->set_process("p1");
  for (int i = 0; i < 4; ++i) {
    c->store_stage_data("s" + std::to_string(i), tables[i]);
    BOOST_TEST(c->stats().memory_bytes <= budget, "after storing s" << i);
  }
  auto stats = c->stats();
  BOOST_TEST(stats.evictions >= 2u);
  BOOST_TEST(stats.spills == 0u);
  BOOST_TEST(stats.memory_bytes <= budget);
  BOOST_TEST(c->stage_storage("s0").in_memory == 0u);
  // The evicted stage comes back from SQLite, equal.
  auto back = c->retrieve_stage_data("s0");
  BOOST_TEST(back.table()->equals(*tables[0]));
  BOOST_TEST(back.table().get() != tables[0].get());
  BOOST_TEST(c->stats().reloads > 0u);
  BOOST_TEST(c->stats().memory_bytes <= budget);
  // The newest is still the very table in memory.
  BOOST_TEST(c->retrieve_stage_data("s3").table().get() == tables[3].get());
  c->flush();
  BOOST_TEST(count(*st.db, "p1", "") == 4u);
}

BOOST_AUTO_TEST_CASE(hybrid_spills_unpersisted_data_under_budget_and_close_removes_it) {
  Stores st;
  std::vector<bdp::TablePtr> tables;
  for (int i = 0; i < 4; ++i) tables.push_back(make_table(2000, i));
  const std::uint64_t each = tables[0]->byte_size();
  const std::uint64_t budget = 2 * each + each / 4;
  auto strategy = strategy_of(StorageMode::hybrid, {"none-of-these"});
  strategy.max_memory_bytes = budget;
  auto c = st.container(strategy);
  c->set_process("p1");
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST(!c->plan_for("s" + std::to_string(i)).persist);
    c->store_stage_data("s" + std::to_string(i), tables[i]);
    BOOST_TEST(c->stats().memory_bytes <= budget, "after storing s" << i);
  }
  BOOST_TEST(c->stats().spills >= 2u);
  auto spilled = st.db->list(query("p1"));
  BOOST_TEST(spilled.size() == c->stats().spills);
  for (const auto& r : spilled) {
    const auto* flag = r.metadata.if_contains("spilled");
    BOOST_TEST((flag && flag->is_bool() && flag->get_bool()), r.id);
  }
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST(c->retrieve_stage_data("s" + std::to_string(i)).table()->equals(*tables[i]));
  }
  BOOST_TEST(c->stats().reloads > 0u);
  c->close();
  BOOST_TEST(st.db->list(query("p1")).empty(), "spilled copies must go with close()");
  // What stayed in memory is still there.
  BOOST_TEST(c->retrieve_stage_data("s3").table().get() == tables[3].get());
}

BOOST_AUTO_TEST_CASE(data_bigger_than_the_whole_budget_goes_straight_to_its_backend) {
  Stores st;
  auto big = make_table(3000);
  auto strategy = strategy_of(StorageMode::hybrid);
  strategy.max_memory_bytes = big->byte_size() / 2;
  auto c = st.container(strategy);
  c->set_process("p1");
  c->store_stage_data("big", big);
  BOOST_TEST(c->stats().memory_bytes == 0u);
  BOOST_TEST(count(*st.db, "p1", "big") == 1u);  // synchronous, already there
  BOOST_TEST(c->retrieve_stage_data("big").table()->equals(*big));
}

BOOST_AUTO_TEST_CASE(release_frees_memory_and_a_persisted_stage_is_reread) {
  Stores st;
  auto c = st.container(strategy_of(StorageMode::hybrid, {"kept"}));
  c->set_process("p1");
  auto kept = make_table(500, 1);
  auto scratch = make_table(500, 2);
  c->store_stage_data("kept", kept);
  c->store_stage_data("scratch", scratch);
  const auto before = c->stats().memory_bytes;
  BOOST_TEST(before == kept->byte_size() + scratch->byte_size());
  BOOST_TEST(c->release("kept") == kept->byte_size());
  BOOST_TEST(c->stats().memory_bytes == scratch->byte_size());
  BOOST_TEST(count(*st.memory, "p1", "kept") == 0u);
  BOOST_TEST(c->retrieve_stage_data("kept").table()->equals(*kept));  // from SQLite
  BOOST_TEST(c->release("scratch") == scratch->byte_size());
  BOOST_TEST(c->stats().memory_bytes == 0u);
  expect_error([&] { c->retrieve_stage_data("scratch"); }, ErrorCode::not_found, {"scratch"});
}

// --------------------------------------------------- across processes

BOOST_AUTO_TEST_CASE(an_earlier_process_is_read_back_by_a_new_container_on_the_same_file) {
  Stores st;
  auto strategy = strategy_of(StorageMode::persist, {"s"});
  auto table = make_table(123, 4);
  {
    auto first = st.container(strategy);
    first->set_process("p1");
    first->store_stage_data("s", table);
    first->store_stage_data("m", make_table(3));
  }
  bdp::DataContainer later(strategy, open_memory(), {{"db", open_sqlite(st.db_file())}});
  later.set_process("p2");
  BOOST_TEST(later.retrieve_stage_data("s", "p1").table()->equals(*table));
  auto records = later.stage_records("s", "p1");
  BOOST_TEST_REQUIRE(records.size() == 1u);
  BOOST_TEST(records[0].backend == "db");
  expect_error([&] { later.retrieve_stage_data("m", "p1"); }, ErrorCode::not_found,
               {"'m'", "'p1'", "memory only", "stages_to_persist", "\"persist\": true"});
  expect_error([&] { later.retrieve_stage_data("s", "p0"); }, ErrorCode::not_found,
               {"'s'", "'p0'"});
}

BOOST_AUTO_TEST_CASE(service_resume_reuses_stored_stages_and_refuses_unpersisted_ones) {
  TempDir dir;
  auto project = three_stage_project(
      R"({"mode": "hybrid", "backend": "db", "stages_to_persist": ["a", "b"]})");
  auto first_run = [&] {
    bdp::Service service(resolver_for(project, dir).resolve());
    return service.run();
  }();
  BOOST_TEST_REQUIRE(first_run.status == bdp::ProcessStatus::completed);

  bdp::Service service(resolver_for(project, dir).resolve());
  bdp::RunOptions options;
  options.resume_from = first_run.id;
  options.from_stage = "c";
  auto resumed = service.run(options);
  BOOST_TEST(resumed.status == bdp::ProcessStatus::completed);
  BOOST_TEST(resumed.decisions.at("resumed_from").as_string() == first_run.id);
  const auto& b = stage_named(resumed, "b");
  BOOST_TEST(b.decisions.at("reused_from").as_string() == first_run.id);
  BOOST_TEST(b.rows == stage_named(first_run, "b").rows);
  BOOST_TEST(stage_named(resumed, "c").rows == stage_named(first_run, "c").rows);
  BOOST_TEST(!stage_named(resumed, "c").decisions.contains("reused_from"));
  // a is needed by no computed stage: listed as reused all the same.
  const auto& a = stage_named(resumed, "a");
  BOOST_TEST(a.decisions.at("reused_from").as_string() == first_run.id);
  BOOST_TEST(a.record_ids.size() == 1u);
  BOOST_TEST(a.rows == stage_named(first_run, "a").rows);
  BOOST_TEST(resumed.stages.size() == 3u);

  // c was kept in memory only: resuming at a stage after it cannot work.
  project["stages"].as_array().push_back(parse_object(
      R"({"name": "d", "processor": "select", "inputs": ["c"], "params": {"columns": ["id"]}})"));
  bdp::Service more(resolver_for(project, dir).resolve());
  options.from_stage = "d";
  expect_error([&] { more.run(options); }, ErrorCode::not_found, {first_run.id, "'c'", "persist"});
}

// -------------------------------------------------------------- lifecycle

BOOST_AUTO_TEST_CASE(each_cleanup_policy_leaves_no_orphans_in_csv_and_sqlite) {
  for (CleanupPolicy policy :
       {CleanupPolicy::keep_all, CleanupPolicy::keep_latest, CleanupPolicy::keep_none}) {
    BOOST_TEST_CONTEXT("policy " << policy) {
      Stores st(/*inline_threshold=*/2000);  // big tables by reference, small ones inline
      auto c = st.container(strategy_of(StorageMode::hybrid, {}, "db"));
      c->set_stage_plan("a", plan(true, "csv"));
      auto store_all = [&](int round) {
        c->store_stage_data("a", make_table(20, round));
        bdp::StageOutput b;
        b.set("table", make_table(500, round));  // by reference
        b.set("small", make_table(2, round));    // inline
        b.set("summary", bdp::Payload(json::value{{"round", round}}));
        c->store_stage_data("b", b);
      };
      c->set_process("other");
      c->save_process(process_info("other", "n", bdp::now_micros()));
      store_all(0);
      c->set_process("p1");
      c->save_process(process_info("p1", "n", bdp::now_micros()));
      for (int round = 1; round <= 3; ++round) store_all(round);
      c->flush();

      auto report = c->cleanup(policy);
      // Removed versions, once each whatever the number of copies.
      std::set<std::tuple<std::string, std::string, std::int64_t>> removed;
      for (const auto& r : report.removed) {
        BOOST_TEST(r.process_id == "p1");
        removed.emplace(r.stage_name, r.entity_name, r.version);
      }
      const std::size_t per_version = 4;  // a/default, b/table, b/small, b/summary
      const std::size_t expected_removed = policy == CleanupPolicy::keep_all      ? 0
                                           : policy == CleanupPolicy::keep_latest ? 2 * per_version
                                                                                  : 3 * per_version;
      BOOST_TEST(removed.size() == expected_removed);

      const std::size_t left = 3 * per_version - expected_removed;
      auto csv = open_csv(st.csv_root());
      auto db = open_sqlite(st.db_file());
      BOOST_TEST(count(*csv, "p1", "") + count(*db, "p1", "") == left);
      BOOST_TEST(count(*csv, "other", "") == 1u);  // another process is untouched
      BOOST_TEST(count(*db, "other", "") == 3u);
      if (policy == CleanupPolicy::keep_latest) {
        for (const auto& r : db->list(query("p1"))) BOOST_TEST(r.version == 3);
        for (const auto& r : csv->list(query("p1"))) BOOST_TEST(r.version == 3);
        BOOST_TEST(c->retrieve_stage_data("b").table("table")->equals(*make_table(500, 3)));
      }
      if (policy == CleanupPolicy::keep_none) {
        BOOST_TEST(count(*st.memory, "p1", "") == 0u);
        expect_error([&] { c->retrieve_stage_data("a"); }, ErrorCode::not_found, {"'a'"});
      }
      expect_no_csv_orphans(st.csv_root());
      expect_no_sqlite_orphans(st.db_file());
    }
  }
}

BOOST_AUTO_TEST_CASE(keep_last_processes_retires_older_processes_of_that_name_only) {
  Stores st(/*inline_threshold=*/2000);
  auto c = st.container(strategy_of(StorageMode::persist, {}, "db"));
  c->set_stage_plan("a", plan(true, "csv"));
  const std::int64_t base = bdp::now_micros() - 100'000'000;
  store_process(*c, "o1", "other", base);  // the oldest of all, another name
  for (int i = 1; i <= 4; ++i) {
    store_process(*c, "n" + std::to_string(i), "nightly", base + i * 1'000'000);
  }

  bdp::RetentionRule rule;
  rule.process_name = "nightly";
  rule.keep_last_processes = 2;
  auto dry = c->retain(rule, /*dry_run=*/true);
  BOOST_TEST(dry.removed.size() == 4u);
  BOOST_TEST(count(*st.db, "n1", "") == 1u);  // a dry run removes nothing

  auto report = c->retain(rule);
  BOOST_TEST((report.removed_processes == std::vector<std::string>{"n1", "n2"}));
  const std::set<std::string> left = {"n3", "n4", "o1"};
  std::set<std::string> listed;
  for (const auto& p : c->list_processes()) listed.insert(p.id);
  BOOST_TEST(listed == left);
  expect_processes_left(st, left);
}

BOOST_AUTO_TEST_CASE(max_age_removes_records_and_processes_older_than_the_cutoff) {
  Stores st(/*inline_threshold=*/2000);
  auto c = st.container(strategy_of(StorageMode::persist, {}, "db"));
  c->set_stage_plan("a", plan(true, "csv"));
  store_process(*c, "old", "aging", bdp::now_micros());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  store_process(*c, "new", "aging", bdp::now_micros());
  bdp::RetentionRule rule;
  rule.max_age_seconds = bdp::parse_duration("1s", "test");
  auto report = c->retain(rule);
  BOOST_TEST((report.removed_processes == std::vector<std::string>{"old"}));
  for (const auto& r : report.removed) BOOST_TEST(r.process_id == "old");
  expect_processes_left(st, {"new"});
}

BOOST_AUTO_TEST_CASE(service_applies_keep_last_processes_of_the_strategy_and_of_a_stage) {
  TempDir dir;
  auto project =
      three_stage_project(R"({"mode": "hybrid", "backend": "db", "keep_last_processes": 1})");
  project["stages"].as_array()[0].as_object()["storage"] = json::object{{"keep_last_processes", 2}};
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    bdp::Service service(resolver_for(project, dir).resolve());
    ids.push_back(service.run().id);
  }
  auto db = open_sqlite(dir / "db.sqlite");
  // Stage a keeps the two newest processes' data, the others the newest only;
  // a process record goes when none of its data is left.
  std::set<std::string> a_processes;
  for (const auto& r : db->list(query("", "a"))) a_processes.insert(r.process_id);
  BOOST_TEST(a_processes == (std::set<std::string>{ids[1], ids[2]}));
  for (const std::string stage : {"b", "c"}) {
    std::set<std::string> processes;
    for (const auto& r : db->list(query("", stage))) processes.insert(r.process_id);
    BOOST_TEST(processes == std::set<std::string>{ids[2]}, "stage " << stage);
  }
  BOOST_TEST(process_ids(*db) == (std::set<std::string>{ids[1], ids[2]}));
  expect_no_sqlite_orphans(dir / "db.sqlite");
}

// ------------------------------------------------------------ process record

BOOST_AUTO_TEST_CASE(stage_records_carry_lineage_params_and_the_redacted_config) {
  TempDir dir;
  auto project = three_stage_project(R"({"mode": "persist", "backend": "db"})");
  project["backends"].as_object()["pg"] =
      json::object{{"plugin", "soci"},
                   {"connection", "postgresql://u:s3cr3t@localhost/db"},
                   {"password", "hunter2"}};
  bdp::Service service(resolver_for(project, dir).resolve());
  auto process = service.run();
  auto db = open_sqlite(dir / "db.sqlite");
  auto a = db->list(query(process.id, "a"));
  auto b = db->list(query(process.id, "b"));
  BOOST_TEST_REQUIRE(a.size() == 1u);
  BOOST_TEST_REQUIRE(b.size() == 1u);
  const auto& meta = b[0].metadata;
  BOOST_TEST(meta.at("processor").as_string() == "select");
  BOOST_TEST(meta.at("params").at("columns").as_array().size() == 2u);
  BOOST_TEST(meta.contains("decisions"));
  BOOST_TEST(meta.contains("run_ms"));
  BOOST_TEST(meta.at("config_file").as_string() == (dir / "proj.json").string());
  const auto& inputs = meta.at("inputs").as_array();
  BOOST_TEST_REQUIRE(inputs.size() == 1u);
  BOOST_TEST(inputs[0].at("process_id").as_string() == process.id);
  BOOST_TEST(inputs[0].at("stage").as_string() == "a");
  BOOST_TEST(inputs[0].at("entity").as_string() == "default");
  BOOST_TEST(inputs[0].at("version").as_int64() == a[0].version);
  BOOST_TEST(inputs[0].at("record_id").as_string() == a[0].id);
  BOOST_TEST(inputs[0].at("backend").as_string() == "db");
  BOOST_TEST(a[0].metadata.at("inputs").as_array().empty());

  // The snapshot of the configuration keeps no secret.
  auto stored = db->list_processes();
  BOOST_TEST_REQUIRE(stored.size() == 1u);
  const std::string snapshot = json::serialize(stored[0].config);
  BOOST_TEST(snapshot.find("s3cr3t") == std::string::npos, snapshot);
  BOOST_TEST(snapshot.find("hunter2") == std::string::npos, snapshot);
  BOOST_TEST(snapshot.find("localhost") != std::string::npos, snapshot);
  BOOST_TEST(stored[0].config.at("storage_strategy").at("mode").as_string() == "persist");
}

BOOST_AUTO_TEST_CASE(lineage_of_a_hybrid_run_names_the_durable_records_of_the_inputs) {
  // Under hybrid the input may still be on its way to the backend when the
  // next stage runs; its lineage should still name the record that lasts.
  TempDir dir;
  auto project = three_stage_project(R"({"mode": "hybrid", "backend": "db"})");
  project["stages"].as_array()[0].as_object()["params"] =
      json::object{{"rows", 200000}, {"seed", 3}};
  bdp::Service service(resolver_for(project, dir).resolve());
  auto process = service.run();
  auto db = open_sqlite(dir / "db.sqlite");
  auto a = db->list(query(process.id, "a"));
  auto b = db->list(query(process.id, "b"));
  BOOST_TEST_REQUIRE(a.size() == 1u);
  BOOST_TEST_REQUIRE(b.size() == 1u);
  const auto& inputs = b[0].metadata.at("inputs").as_array();
  BOOST_TEST_REQUIRE(inputs.size() == 1u);
  const auto& input = inputs[0].as_object();
  BOOST_TEST(input.at("backend").as_string() == "db", json::serialize(inputs));
  // Written already: named by its id. Still on its way: named by process,
  // stage, entity and version, which identify the same durable record.
  if (const auto* id = input.if_contains("record_id")) {
    BOOST_TEST(id->as_string() == a[0].id, json::serialize(inputs));
  } else {
    BOOST_TEST(input.at("pending").as_bool());
  }
  BOOST_TEST(input.at("process_id").as_string() == a[0].process_id);
  BOOST_TEST(input.at("stage").as_string() == a[0].stage_name);
  BOOST_TEST(input.at("entity").as_string() == a[0].entity_name);
  BOOST_TEST(input.at("version").as_int64() == a[0].version);
}

// ----------------------------------------------------------------- config

BOOST_AUTO_TEST_CASE(legacy_persist_intermediate_results_maps_to_persist_with_one_warning) {
  TempDir dir;
  auto config =
      resolver_for(parse_object(R"({"storage_strategy": {"persist_intermediate_results": true}})"),
                   dir)
          .resolve();
  BOOST_TEST(config.strategy.mode == StorageMode::persist);
  BOOST_TEST_REQUIRE(config.warnings.size() == 1u);
  BOOST_TEST(config.warnings[0].find("persist_intermediate_results") != std::string::npos);
  BOOST_TEST(config.warnings[0].find("deprecated") != std::string::npos);
  BOOST_TEST(config.warnings[0].find("proj.json") != std::string::npos);

  // A runtime mode beats the legacy switch.
  auto resolver = resolver_for(
      parse_object(R"({"storage_strategy": {"persist_intermediate_results": true}})"), dir);
  resolver.add_override("storage_strategy.mode=memory");
  auto overridden = resolver.resolve();
  BOOST_TEST(overridden.strategy.mode == StorageMode::memory);
  BOOST_TEST(overridden.warnings.size() == 1u);

  // false keeps the default mode.
  auto off =
      resolver_for(parse_object(R"({"storage_strategy": {"persist_intermediate_results": false}})"),
                   dir)
          .resolve();
  BOOST_TEST(off.strategy.mode == StorageMode::memory);
  BOOST_TEST(off.warnings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(legacy_persist_format_and_storage_dir_map_to_a_csv_backend) {
  TempDir dir;
  auto config = resolver_for(parse_object(R"({"storage_strategy": {
      "persist_intermediate_results": true, "persist_format": "csv", "storage_dir": "out"}})"),
                             dir)
                    .resolve();
  BOOST_TEST(config.strategy.mode == StorageMode::persist);
  BOOST_TEST(config.strategy.backend == "csv");
  auto it = config.backends.find("csv");
  BOOST_TEST_REQUIRE((it != config.backends.end()));
  BOOST_TEST(it->second.plugin == "csv");
  BOOST_TEST(it->second.settings.at("root").as_string() == "out");
  BOOST_TEST_REQUIRE(config.warnings.size() == 3u);
  for (const std::string key : {"persist_intermediate_results", "persist_format", "storage_dir"}) {
    BOOST_TEST(std::count_if(config.warnings.begin(), config.warnings.end(),
                             [&](const std::string& w) {
                               return w.find("storage_strategy." + key + ":") != std::string::npos;
                             }) == 1,
               "one warning for " << key);
  }
  for (const auto& w : config.warnings) {
    BOOST_TEST(w.find('\n') == std::string::npos);
    BOOST_TEST(w.find("deprecated") != std::string::npos, w);
  }
}

BOOST_AUTO_TEST_CASE(legacy_db_url_maps_to_a_soci_connection_and_hides_passwords) {
  TempDir dir;
  auto sqlite = resolver_for(parse_object(R"({"storage_strategy": {
      "persist_intermediate_results": true, "db_url": "sqlite:///x.db"}})"),
                             dir)
                    .resolve();
  BOOST_TEST(sqlite.strategy.backend == "db");
  BOOST_TEST_REQUIRE(sqlite.backends.count("db") == 1u);
  BOOST_TEST(sqlite.backends.at("db").plugin == "soci");
  BOOST_TEST(sqlite.backends.at("db").settings.at("connection").as_string() == "sqlite3://db=x.db");
  BOOST_TEST(sqlite.warnings.size() == 2u);

  auto pg = resolver_for(parse_object(R"({"storage_strategy": {
      "db_url": "postgresql://u:pw1234@h/db"}})"),
                         dir)
                .resolve();
  BOOST_TEST(pg.backends.at("db").settings.at("connection").as_string() ==
             "postgresql://u:pw1234@h/db");
  BOOST_TEST_REQUIRE(pg.warnings.size() == 1u);
  BOOST_TEST(pg.warnings[0].find("db_url") != std::string::npos);
  BOOST_TEST(pg.warnings[0].find("pw1234") == std::string::npos, pg.warnings[0]);
  BOOST_TEST(pg.warnings[0].find("h/db") != std::string::npos, pg.warnings[0]);

  expect_error(
      [&] {
        resolver_for(parse_object(R"({"storage_strategy": {"db_url": "mysql://u@h/db"}})"), dir)
            .resolve();
      },
      ErrorCode::config, {"proj.json", "storage_strategy.db_url", "mysql"});
}

BOOST_AUTO_TEST_CASE(parse_duration_reads_whole_units_and_rejects_the_rest) {
  BOOST_TEST(bdp::parse_duration("45s", "") == 45);
  BOOST_TEST(bdp::parse_duration("90m", "") == 90 * 60);
  BOOST_TEST(bdp::parse_duration("12h", "") == 12 * 3600);
  BOOST_TEST(bdp::parse_duration("30d", "") == 30 * 86400);
  BOOST_TEST(bdp::parse_duration("2w", "") == 14 * 86400);
  for (const std::string bad :
       {"", "d", "3x", "30", "-1d", "0d", "1.5h", " 1d", "1d ", "1D", "99999999999999999w"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      expect_error([&] { bdp::parse_duration(bad, "--max-age"); }, ErrorCode::config,
                   {"--max-age", "30d"});
    }
  }
}

BOOST_AUTO_TEST_CASE(redact_secrets_hides_password_keys_and_connection_passwords) {
  auto document = parse_object(R"({
    "project": "p",
    "backends": {
      "pg": {"plugin": "soci", "connection": "postgresql://user:hunter2@db.example/prod"},
      "kv": {"plugin": "soci", "connection": "postgresql://host=h user=u password=swordfish dbname=d"},
      "x": {"plugin": "x", "password": "letmein", "api_token": "tok-123", "DB_PASSWORD": 7}
    },
    "stages": [{"name": "s", "params": {"secret": "classified", "rows": 5}}]})");
  auto redacted = bdp::redact_secrets(document);
  const std::string text = json::serialize(redacted);
  for (const std::string secret : {"hunter2", "swordfish", "letmein", "tok-123", "classified"}) {
    BOOST_TEST(text.find(secret) == std::string::npos, secret << " left in " << text);
  }
  BOOST_TEST(redacted.at("backends").at("x").at("password").as_string() == "***");
  BOOST_TEST(!redacted.at("backends").at("x").at("DB_PASSWORD").is_number());
  // Everything else is as it was.
  BOOST_TEST(text.find("db.example/prod") != std::string::npos, text);
  BOOST_TEST(text.find("user") != std::string::npos, text);
  BOOST_TEST(redacted.at("stages").at(0).at("params").at("rows").as_int64() == 5);
  BOOST_TEST(redacted.at("project").as_string() == "p");
  // The original is untouched.
  BOOST_TEST(json::serialize(document).find("hunter2") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
