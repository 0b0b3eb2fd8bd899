// Concurrency (issue #13): 8 writer processes store 200 records each into
// one store, per backend (a CSV folder, a SQLite file, a PostgreSQL database
// when BDP_TEST_PG_URL names a server), with cleanup policies on
// (keep_last_processes: 2 and cleanup_policy: keep_latest), while 2 reader
// processes list and show what is stored, the whole time.
//
// Each writer stores 50 records through 5 `bdp run`s of a ten-stage project
// (all writers share the project's name, so each finishing run retires the
// others' older runs; odd writers run hybrid, even ones persist) and 150
// through bdp_test_store_writer, in 2 batches between the runs, as versions
// of one entity of one process that all eight share, so that they contend
// for its versions. (A `bdp run` saves its process record, synced, at every
// stage's start and end: on the CSV backend a record stored by a run costs
// about three times the syncs of a bare store, so runs carry a quarter of
// the load, to keep the suite within its time.) Then:
//  - 0 failed runs: every writer command exits 0;
//  - 0 failed reads: `bdp ps`, `bdp ls` and `bdp show` exit 0, except a show
//    of a record that a cleanup removed after `ls` listed it: that must fail
//    with exit 1 and one line saying it is not there, and a later `ls` must
//    not list it;
//  - 0 lost: the newest 2 runs are listed with all their records, and the
//    shared entity has each of its 1200 stores exactly once;
//  - 0 duplicate versions: versions are unique per (process, stage, entity)
//    and the shared entity's are exactly 1..1200;
//  - no orphans: every record's process is listed, and the store holds
//    nothing beyond what is listed (sidecars and data files, or SQL rows
//    and tables);
//  - `bdp cleanup --dry-run` then selects exactly the older runs and every
//    version of the shared entity but the newest (keep_latest), and
//    `bdp cleanup` leaves exactly the newest 2 runs.
#include "reliability_support.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
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
using bdp::test::Listed;
using bdp::test::ListedRecord;
using bdp::test::StoreKind;
using bdp::test::TempDir;
using bdp::test::TestStore;

namespace {

constexpr int kWriters = 8;
constexpr int kReaders = 2;
constexpr int kRunsPerWriter = 5;
constexpr std::size_t kStages = 10;  // records per run
// Stores into the shared entity, per writer: kBatches batches of kBatch,
// before the runs batch_round(0), batch_round(1), ...
constexpr int kBatches = 2;
constexpr int kBatch = 75;
constexpr std::int64_t kShared = kWriters * kBatches * kBatch;
constexpr std::int64_t kKeepLast = 2;
const std::string kRunName = "conc";
const std::string kSharedName = "shared";
const std::string kSharedStage = "contended";

int batch_round(int batch) {
  return batch * kRunsPerWriter / kBatches;
}

std::string batch_tag(int writer, int batch) {
  return "w" + std::to_string(writer) + "-b" + std::to_string(batch);
}

std::uint64_t suite_seed() {
  static const std::uint64_t seed = bdp::test::test_seed();
  return seed;
}

std::string writer_program() {
  return BDP_TEST_STORE_WRITER;
}

// Ten small stages: five generated tables and an aggregate, filter, sort
// or select of each.
std::string project_text(const TestStore& store) {
  json::array stages;
  for (int i = 0; i < 5; ++i) {
    const std::string gen = "gen" + std::to_string(i);
    stages.push_back(
        json::object{{"name", gen},
                     {"processor", "generate"},
                     {"params", json::object{{"rows", 100 + 150 * i}, {"seed", i + 1}}}});
    json::object next{{"inputs", json::array{json::string(gen)}}};
    switch (i % 4) {
      case 0:
        next["name"] = "by_region" + std::to_string(i);
        next["processor"] = "aggregate";
        next["params"] = json::object{
            {"group_by", json::array{"region"}}, {"sum", json::array{"qty"}}, {"count", true}};
        break;
      case 1:
        next["name"] = "cheap" + std::to_string(i);
        next["processor"] = "filter";
        next["params"] = json::object{{"column", "price"}, {"op", "<"}, {"value", 300}};
        break;
      case 2:
        next["name"] = "sorted" + std::to_string(i);
        next["processor"] = "sort";
        next["params"] = json::object{{"by", json::array{"weight"}}, {"descending", true}};
        break;
      default:
        next["name"] = "cols" + std::to_string(i);
        next["processor"] = "select";
        next["params"] = json::object{{"columns", json::array{"id", "sku"}}};
        break;
    }
    stages.push_back(std::move(next));
  }
  json::object project{{"project", kRunName},
                       {"storage_strategy", json::object{{"mode", "persist"},
                                                         {"backend", "store"},
                                                         {"cleanup_policy", "keep_latest"},
                                                         {"keep_last_processes", kKeepLast}}},
                       {"backends", json::object{{"store", store.backend_block()}}},
                       {"stages", std::move(stages)}};
  return json::serialize(project);
}

// A command a writer ran that did not succeed.
struct Failure {
  std::string what;
  CommandResult result;
};

// A run a writer completed.
struct Run {
  std::string id;
  std::int64_t started_at = 0;
  std::size_t records = 0;
};

struct WriterLog {
  std::vector<Run> runs;
  std::vector<Failure> failures;
  std::int64_t stores = 0;
};

struct ReaderLog {
  int rounds = 0;
  int shows = 0;
  int gone = 0;  // shows of a record that was removed after it was listed
  std::vector<Failure> failures;
};

// Whether `err` is how bdp says a record (or its process) is not stored:
// the not_found messages of the selectors, of the soci backend ("is not
// there: it was removed") and of the CSV backend (a sidecar or data file
// that a remove took away between listing and reading: "is not stored", or
// the system's ENOENT text).
bool says_not_stored(const std::string& err) {
  for (const char* phrase :
       {"is not stored", "is not there", "no stored", "has no stage", "has no entity", "no version",
        "stored no stage", "No such file or directory"}) {
    if (err.find(phrase) != std::string::npos) return true;
  }
  return false;
}

class ConcurrencyCase {
 public:
  explicit ConcurrencyCase(StoreKind kind, std::uint64_t case_index)
      : kind_(kind), store_(kind, dir_.path()), seed_(suite_seed() + case_index) {
    bdp::test::write_file(project_, project_text(store_));
    shared_id_ = "contended-" + bdp::test::to_string(kind_);
    BOOST_TEST_MESSAGE(bdp::test::to_string(kind_)
                       << ": seed " << suite_seed()
                       << " (BDP_TEST_SEED repeats the readers' picks)");
  }

  void run() {
    const fs::path scratch = dir_ / "scratch-main";
    fs::create_directories(scratch);
    const CommandResult created = bdp::test::run_spawned(
        {writer_program(), project_.string(), shared_id_, "--create", kSharedName},
        bdp::test::child_environment(), scratch);
    BOOST_TEST_REQUIRE(created.exit_code == 0, describe(created));

    const auto start = std::chrono::steady_clock::now();
    std::atomic<bool> stop{false};
    std::vector<WriterLog> writers(kWriters);
    std::vector<ReaderLog> readers(kReaders);
    std::vector<std::thread> threads;
    for (int j = 0; j < kReaders; ++j) {
      threads.emplace_back([&, j] { read_loop(j, stop, readers[j]); });
    }
    std::vector<std::thread> writing;
    for (int i = 0; i < kWriters; ++i) {
      writing.emplace_back([&, i] { write_loop(i, writers[i]); });
    }
    for (auto& t : writing) t.join();
    stop = true;
    for (auto& t : threads) t.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // 0 failed runs.
    std::vector<Run> runs;
    for (int i = 0; i < kWriters; ++i) {
      for (const auto& f : writers[i].failures) {
        BOOST_ERROR("writer " << i << ": " << f.what << " failed\n" << describe(f.result));
      }
      BOOST_TEST(writers[i].stores ==
                     kRunsPerWriter * static_cast<std::int64_t>(kStages) + kBatches * kBatch,
                 "writer " << i << " stored " << writers[i].stores << " records");
      runs.insert(runs.end(), writers[i].runs.begin(), writers[i].runs.end());
    }
    // 0 failed reads.
    std::ostringstream reads;
    for (int j = 0; j < kReaders; ++j) {
      for (const auto& f : readers[j].failures) {
        BOOST_ERROR("reader " << j << ": " << f.what << "\n" << describe(f.result));
      }
      BOOST_TEST(readers[j].rounds >= 3, "reader " << j << " read only " << readers[j].rounds
                                                   << " times while the writers ran");
      reads << " reader " << j << ": " << readers[j].rounds << " rounds, " << readers[j].shows
            << " shows, " << readers[j].gone << " of records removed meanwhile;";
    }
    BOOST_TEST_MESSAGE(bdp::test::to_string(kind_)
                       << ": " << runs.size() << " runs and " << kShared
                       << " stores into one entity by " << kWriters << " writers in " << seconds
                       << " s;" << reads.str());
    if (runs.size() != static_cast<std::size_t>(kWriters * kRunsPerWriter)) return;

    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
      return std::tie(a.started_at, a.id) > std::tie(b.started_at, b.id);
    });
    std::set<std::string> newest;
    for (std::int64_t k = 0; k < kKeepLast; ++k) newest.insert(runs[k].id);
    std::set<std::string> all_runs;
    for (const auto& r : runs) all_runs.insert(r.id);

    // What the policies left while the runs ended: at least the newest 2.
    check_store(all_runs, newest, Phase::written);
    expect_cleanup_selects(newest);
    // `bdp cleanup` of the runs' name: the project's keep_latest and
    // keep_last_processes. On the CSV backend keep_latest's removal of the
    // 1199 older shared versions (three syncs each) is left to the dry run
    // above: the runs' retention removes records the same way.
    const bool csv = kind_ == StoreKind::csv;
    std::vector<std::string> args = {"cleanup", "--name", kRunName};
    if (csv) args.insert(args.end(), {"--policy", "keep_all"});
    const CommandResult cleanup = bdp(args, scratch);
    BOOST_TEST_REQUIRE(cleanup.exit_code == 0, describe(cleanup));
    check_store(all_runs, newest, csv ? Phase::retained : Phase::cleaned);
    // The data of the two kept runs reads back, and is the same.
    std::vector<bdp::test::ExportedData> data;
    for (const auto& id : newest) {
      const fs::path out = dir_ / ("export-" + id);
      const CommandResult r = bdp({"export", id, "--out", out.string()}, scratch);
      BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
      auto manifest = bdp::test::read_manifest(out);
      BOOST_TEST_REQUIRE(manifest.has_value());
      BOOST_TEST(manifest->size() == kStages);
      data.push_back(*manifest);
    }
    BOOST_TEST((data.front() == data.back()), "the two kept runs' data differ");
  }

 private:
  CommandResult bdp(std::vector<std::string> args, const fs::path& scratch) const {
    return bdp::test::bdp_at(project_, std::move(args), scratch);
  }

  void write_loop(int i, WriterLog& log) const {
    const fs::path scratch = dir_ / ("scratch-w" + std::to_string(i));
    fs::create_directories(scratch);
    const auto env = bdp::test::child_environment();
    for (int round = 0; round < kRunsPerWriter; ++round) {
      // The shared stores come in batches spread over the runs.
      for (int batch = 0; batch < kBatches; ++batch) {
        if (batch_round(batch) != round) continue;
        const std::string tag = batch_tag(i, batch);
        CommandResult r =
            bdp::test::run_spawned({writer_program(), project_.string(), shared_id_, "--store",
                                    kSharedStage, std::to_string(kBatch), tag},
                                   env, scratch);
        if (r.exit_code == 0) {
          log.stores += kBatch;
        } else {
          log.failures.push_back({"shared store " + tag, std::move(r)});
        }
      }
      std::vector<std::string> args = {"run", project_.string(), "--json"};
      if (i % 2 == 1) args.insert(args.end(), {"--set", "storage_strategy.mode=hybrid"});
      CommandResult r = bdp(args, scratch);
      if (r.exit_code != 0) {
        log.failures.push_back({"bdp run #" + std::to_string(round), std::move(r)});
        continue;
      }
      boost::system::error_code ec;
      const json::value process = json::parse(r.out, ec);
      if (ec || !process.is_object() || !process.get_object().contains("id")) {
        log.failures.push_back({"bdp run #" + std::to_string(round) + " output", std::move(r)});
        continue;
      }
      Run run;
      run.id = std::string(process.at("id").as_string());
      run.started_at = process.at("started_at").to_number<std::int64_t>();
      for (const auto& stage : process.at("stages").as_array()) {
        run.records += stage.at("record_ids").as_array().size();
      }
      if (process.at("status").as_string() != "completed" || run.records != kStages) {
        log.failures.push_back({"bdp run #" + std::to_string(round) + " record", std::move(r)});
        continue;
      }
      log.stores += static_cast<std::int64_t>(run.records);
      log.runs.push_back(std::move(run));
    }
  }

  void read_loop(int j, const std::atomic<bool>& stop, ReaderLog& log) const {
    const fs::path scratch = dir_ / ("scratch-r" + std::to_string(j));
    fs::create_directories(scratch);
    std::mt19937_64 rng(seed_ * 31 + static_cast<std::uint64_t>(j));
    while (!stop) {
      ++log.rounds;
      CommandResult ps = bdp({"ps", "--json"}, scratch);
      auto processes = bdp::test::parse_processes(ps.out);
      if (ps.exit_code != 0 || !processes) {
        log.failures.push_back({"bdp ps --json", std::move(ps)});
      } else {
        for (const auto& p : *processes) {
          if (!p.damage.empty() || p.status == "failed" || p.status == "interrupted") {
            log.failures.push_back({"bdp ps --json lists " + p.id + " " + p.status, ps});
          }
        }
      }
      CommandResult ls = bdp({"ls", "--json"}, scratch);
      auto records = bdp::test::parse_records(ls.out);
      if (ls.exit_code != 0 || !records) {
        log.failures.push_back({"bdp ls --json", std::move(ls)});
        continue;
      }
      if (records->empty()) continue;
      // Mostly a run's record (runs are what cleanup removes meanwhile),
      // sometimes one of the shared entity's.
      std::vector<const ListedRecord*> runs;
      for (const auto& r : *records) {
        if (r.process_id != shared_id_) runs.push_back(&r);
      }
      const bool run_record = !runs.empty() && log.rounds % 4 != 0;
      const auto& pool_size = run_record ? runs.size() : records->size();
      const std::size_t k = std::uniform_int_distribution<std::size_t>(0, pool_size - 1)(rng);
      const ListedRecord picked = run_record ? *runs[k] : (*records)[k];
      ++log.shows;
      CommandResult show = bdp({"show", picked.selector(), "--json", "--head", "5"}, scratch);
      if (show.exit_code == 0) {
        if (!bdp::test::parse_json_quietly(show.out)) {
          log.failures.push_back({"bdp show " + picked.selector() + " output", std::move(show)});
        }
        continue;
      }
      // Legitimate only when the record was removed meanwhile and the error
      // says so.
      bool listed_still = true;
      CommandResult again = bdp({"ls", "--json", "--process", picked.process_id}, scratch);
      if (auto now = bdp::test::parse_records(again.out); again.exit_code == 0 && now) {
        listed_still = std::any_of(now->begin(), now->end(),
                                   [&](const ListedRecord& r) { return r.id == picked.id; });
      } else if (again.exit_code == 1 && says_not_stored(again.err)) {
        listed_still = false;  // its whole process is gone
      }
      if (show.exit_code == 1 && bdp::test::is_one_line(show.err) && says_not_stored(show.err) &&
          !listed_still) {
        ++log.gone;
      } else {
        log.failures.push_back({"bdp show " + picked.selector() +
                                    (listed_still ? " (still listed)" : " (removed meanwhile)"),
                                std::move(show)});
      }
    }
  }

  // `bdp cleanup --dry-run --json` of the runs' name selects exactly what
  // the project's rules remove: every record of the runs older than the
  // newest 2 (and their process records) and every version of the shared
  // entity but the newest; no orphan.
  void expect_cleanup_selects(const std::set<std::string>& newest) {
    const fs::path scratch = dir_ / "scratch-main";
    const CommandResult ls = bdp({"ls", "--json"}, scratch);
    BOOST_TEST_REQUIRE(ls.exit_code == 0, describe(ls));
    const auto records = bdp::test::parse_records(ls.out);
    BOOST_TEST_REQUIRE(records.has_value());
    std::set<std::string> expected;
    std::set<std::string> expected_processes;
    for (const auto& r : *records) {
      const bool shared = r.process_id == shared_id_;
      if (shared ? r.version != kShared : newest.count(r.process_id) == 0) {
        expected.insert(r.selector());
      }
      if (!shared && newest.count(r.process_id) == 0) expected_processes.insert(r.process_id);
    }
    const CommandResult dry = bdp({"cleanup", "--name", kRunName, "--dry-run", "--json"}, scratch);
    BOOST_TEST_REQUIRE(dry.exit_code == 0, describe(dry));
    const json::value report = bdp::test::parse_json(dry.out);
    std::set<std::string> selected;
    std::size_t count = 0;
    for (const auto& item : report.at("removed").as_array()) {
      const json::object& o = item.as_object();
      selected.insert(std::string(o.at("process_id").as_string()) + "/" +
                      std::string(o.at("stage_name").as_string()) + "/" +
                      std::string(o.at("entity_name").as_string()) + "@v" +
                      std::to_string(o.at("version").to_number<std::int64_t>()));
      ++count;
    }
    std::set<std::string> processes;
    for (const auto& id : report.at("removed_processes").as_array()) {
      processes.emplace(id.as_string());
    }
    BOOST_TEST(count == selected.size(), "the dry run names a record twice");
    BOOST_TEST((selected == expected), "the dry run selects " << selected.size() << " records, "
                                                              << expected.size()
                                                              << " expected by the rules");
    BOOST_TEST((processes == expected_processes), "the dry run retires "
                                                      << processes.size() << " processes, "
                                                      << expected_processes.size() << " expected");
  }

  // After the writers (written), after `bdp cleanup` with keep_all
  // (retained) or with the project's keep_latest (cleaned): no process is
  // listed but our runs and the shared process; the newest 2 runs, with all
  // their records (after cleanup exactly them); the shared entity's 1200
  // versions, each store once (cleaned: only the newest); nothing in the
  // store beyond the listing.
  enum class Phase { written, retained, cleaned };
  void check_store(const std::set<std::string>& all_runs, const std::set<std::string>& newest,
                   Phase phase) {
    const char* when = phase == Phase::written ? "after the writers" : "after bdp cleanup";
    const fs::path scratch = dir_ / "scratch-main";
    const CommandResult ps = bdp({"ps", "--json"}, scratch);
    BOOST_TEST_REQUIRE(ps.exit_code == 0, describe(ps));
    const auto processes = bdp::test::parse_processes(ps.out);
    BOOST_TEST_REQUIRE(processes.has_value());
    const CommandResult ls = bdp({"ls", "--json"}, scratch);
    BOOST_TEST_REQUIRE(ls.exit_code == 0, describe(ls));
    const auto records = bdp::test::parse_records(ls.out);
    BOOST_TEST_REQUIRE(records.has_value());

    std::set<std::string> listed;
    std::size_t runs_listed = 0;
    for (const auto& p : *processes) {
      listed.insert(p.id);
      BOOST_TEST(p.status == "completed", p.id << " " << when << " is " << p.status);
      BOOST_TEST(p.damage.empty(), p.id << ": " << p.damage);
      if (p.id == shared_id_) continue;
      BOOST_TEST(all_runs.count(p.id) == 1u, p.id << " " << when << " is no writer's run");
      ++runs_listed;
    }
    BOOST_TEST(listed.count(shared_id_) == 1u, "the shared process is gone " << when);
    for (const auto& id : newest) {
      BOOST_TEST(listed.count(id) == 1u, "one of the newest runs, " << id << ", is lost " << when);
    }
    if (phase != Phase::written) {
      BOOST_TEST(runs_listed == newest.size(), runs_listed << " runs listed " << when);
    }

    std::map<std::string, std::size_t> per_process;
    std::set<std::tuple<std::string, std::string, std::string, std::int64_t>> versions;
    std::vector<std::int64_t> shared_versions;
    std::set<std::pair<std::string, std::int64_t>> shared_stores;  // (writer tag, n)
    std::vector<std::string> tags_by_version(static_cast<std::size_t>(kShared) + 1);
    std::int64_t references = 0;
    for (const auto& r : *records) {
      ++per_process[r.process_id];
      references += r.storage_type == "reference" ? 1 : 0;
      BOOST_TEST(r.damage.empty(), r.selector() << ": " << r.damage);
      BOOST_TEST(listed.count(r.process_id) == 1u, r.selector() << " " << when << " is an orphan");
      BOOST_TEST(versions.insert({r.process_id, r.stage, r.entity, r.version}).second,
                 r.selector() << " " << when << " is listed twice");
      if (r.process_id != shared_id_) {
        BOOST_TEST(r.version == 1, r.selector() << ": one store per stage and run makes v1");
        continue;
      }
      const json::value* writer = r.metadata.if_contains("writer");
      const json::value* n = r.metadata.if_contains("n");
      if (r.stage != kSharedStage || r.entity != "default" || !writer || !writer->is_string() ||
          !n || !n->is_number()) {
        BOOST_ERROR(r.selector() << ": no writer stores this");
        continue;
      }
      shared_versions.push_back(r.version);
      const std::string tag(writer->get_string());
      BOOST_TEST(shared_stores.insert({tag, n->to_number<std::int64_t>()}).second,
                 r.selector() << ": store " << tag << " #" << n->to_number<std::int64_t>()
                              << " listed twice");
      if (r.version >= 1 && r.version <= kShared) {
        tags_by_version[static_cast<std::size_t>(r.version)] = tag;
      }
    }
    for (const auto& p : *processes) {
      if (p.id == shared_id_) continue;
      BOOST_TEST(per_process[p.id] == kStages,
                 "run " << p.id << " " << when << " has " << per_process[p.id] << " records");
    }
    std::sort(shared_versions.begin(), shared_versions.end());
    if (phase == Phase::cleaned) {
      BOOST_TEST((shared_versions == std::vector<std::int64_t>{kShared}),
                 "keep_latest leaves only the newest version of the shared entity");
    } else {
      std::vector<std::int64_t> expected;
      for (std::int64_t v = 1; v <= kShared; ++v) expected.push_back(v);
      BOOST_TEST((shared_versions == expected), "the shared entity has "
                                                    << shared_versions.size()
                                                    << " versions, not exactly 1.." << kShared);
      std::set<std::pair<std::string, std::int64_t>> stored;
      for (int i = 0; i < kWriters; ++i) {
        for (int batch = 0; batch < kBatches; ++batch) {
          for (int n = 0; n < kBatch; ++n) stored.insert({batch_tag(i, batch), n});
        }
      }
      BOOST_TEST((shared_stores == stored),
                 shared_stores.size() << " of the " << kShared << " shared stores listed " << when);
      if (phase == Phase::written) {
        // How interleaved the writers were: consecutive versions by
        // different writers (a measure of the contention, not a verdict).
        int switches = 0;
        for (std::size_t v = 2; v < tags_by_version.size(); ++v) {
          switches += tags_by_version[v] != tags_by_version[v - 1] ? 1 : 0;
        }
        BOOST_TEST_MESSAGE(bdp::test::to_string(kind_)
                           << ": the shared entity's versions change writer " << switches
                           << " times in " << kShared);
      }
    }

    // Nothing in the store beyond what is listed.
    const bdp::test::RawCounts raw = store_.raw();
    const bool csv = kind_ == StoreKind::csv;
    BOOST_TEST(raw.records == static_cast<std::int64_t>(records->size()),
               (csv ? "sidecars" : "intermediate_data rows") << " vs listed records " << when);
    BOOST_TEST(raw.data_objects == (csv ? static_cast<std::int64_t>(records->size()) : references),
               (csv ? "data files" : "bdp_data_ tables") << " vs listed records " << when);
    BOOST_TEST(raw.processes == static_cast<std::int64_t>(processes->size()),
               "stored process records vs listed processes " << when);
    BOOST_TEST(raw.placeholders == 0, "placeholder process rows " << when);
    std::string leftovers;
    for (const auto& l : raw.leftovers) leftovers += "\n  " + l;
    BOOST_TEST(raw.leftovers.empty(), "files left behind " << when << ":" << leftovers);
  }

  StoreKind kind_;
  TempDir dir_;
  fs::path project_ = dir_ / "project.json";
  TestStore store_;
  std::uint64_t seed_;
  std::string shared_id_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(concurrency_cli)

BOOST_AUTO_TEST_CASE(eight_writers_and_two_readers_on_one_csv_store_lose_and_duplicate_nothing) {
  ConcurrencyCase(StoreKind::csv, 1).run();
}

BOOST_AUTO_TEST_CASE(eight_writers_and_two_readers_on_one_sqlite_store_lose_and_duplicate_nothing) {
  ConcurrencyCase(StoreKind::sqlite, 2).run();
}

BOOST_AUTO_TEST_CASE(
    eight_writers_and_two_readers_on_one_postgresql_store_lose_and_duplicate_nothing,
    *boost::unit_test::precondition(bdp::test::postgres_available)) {
  ConcurrencyCase(StoreKind::postgresql, 3).run();
}

BOOST_AUTO_TEST_SUITE_END()
