// Killed runs (issue #13): `bdp run` is SIGKILLed at random points of its
// run, in persist and hybrid mode, over a CSV folder, a SQLite file and a
// PostgreSQL database (when BDP_TEST_PG_URL names a server). After each kill:
//  (a) every record `bdp ls` lists retrieves, and equals what the same stage
//      stores in a complete run (rows and the checksum of its exported CSV);
//  (b) the records of the complete runs before it are all still listed,
//      unchanged, and their data is intact;
//  (c) the killed run is listed `interrupted` (or not at all, when it was
//      killed before its process record was saved; or `completed`, with all
//      its records, when the kill came after its last save);
//  (d) `bdp cleanup` with the project's rules, then a keep_none pass over the
//      killed run, leave no orphan record, no damage (`bdp doctor` when this
//      bdp has it, else every record retrieves), and nothing in the store
//      beyond what is listed (files, SQL rows and tables).
// The kill points are drawn from a seeded generator; the seed is printed
// and BDP_TEST_SEED repeats it.
#include "reliability_support.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::test::bdp_at;
using bdp::test::Child;
using bdp::test::CommandResult;
using bdp::test::describe;
using bdp::test::ExportedData;
using bdp::test::Listed;
using bdp::test::ListedRecord;
using bdp::test::StoreKind;
using bdp::test::TempDir;
using bdp::test::TestStore;

namespace {

// Kill points per backend and mode: 9 x 6 = 54 with PostgreSQL.
constexpr int kKillsPerCase = 9;
// Complete runs before the kills: their records must never be lost.
constexpr int kCommittedRuns = 2;

std::uint64_t suite_seed() {
  static const std::uint64_t seed = bdp::test::test_seed();
  return seed;
}

// Eight stages of deterministic tables, about 2 MiB in all: a large table
// first (so that kills often land in its store), then filters, sorts and
// aggregates of it, and two smaller tables.
std::string project_text(const TestStore& store, const std::string& mode) {
  json::object strategy{{"mode", mode},
                        {"backend", "store"},
                        {"cleanup_policy", "keep_latest"},
                        {"keep_last_processes", 0}};
  json::array stages{
      json::object{{"name", "big"},
                   {"processor", "generate"},
                   {"params", json::object{{"rows", 16000}, {"seed", 7}}}},
      json::object{{"name", "cheap"},
                   {"processor", "filter"},
                   {"inputs", json::array{"big"}},
                   {"params", json::object{{"column", "price"}, {"op", "<"}, {"value", 500}}}},
      json::object{{"name", "sorted"},
                   {"processor", "sort"},
                   {"inputs", json::array{"cheap"}},
                   {"params", json::object{{"by", json::array{"price", "id"}}}}},
      json::object{{"name", "small"},
                   {"processor", "generate"},
                   {"params", json::object{{"rows", 300}, {"seed", 3}}}},
      json::object{{"name", "by_region"},
                   {"processor", "aggregate"},
                   {"inputs", json::array{"sorted"}},
                   {"params", json::object{{"group_by", json::array{"region"}},
                                           {"sum", json::array{"qty"}},
                                           {"mean", json::array{"price"}},
                                           {"count", true}}}},
      json::object{{"name", "mid"},
                   {"processor", "generate"},
                   {"params", json::object{{"rows", 8000}, {"seed", 11}}}},
      json::object{{"name", "mid_sorted"},
                   {"processor", "sort"},
                   {"inputs", json::array{"mid"}},
                   {"params", json::object{{"by", json::array{"weight"}}, {"descending", true}}}},
      json::object{{"name", "cols"},
                   {"processor", "select"},
                   {"inputs", json::array{"mid_sorted"}},
                   {"params", json::object{{"columns", json::array{"id", "region", "weight"}},
                                           {"rename", json::object{{"weight", "kg"}}}}}},
  };
  json::object project{{"project", "killed"},
                       {"storage_strategy", std::move(strategy)},
                       {"backends", json::object{{"store", store.backend_block()}}},
                       {"stages", std::move(stages)}};
  return json::serialize(project);
}

constexpr std::size_t kStages = 8;

// One backend x mode: the project, its store and what the checks know.
class KillCase {
 public:
  KillCase(StoreKind kind, std::string mode, std::uint64_t case_index)
      : kind_(kind),
        mode_(std::move(mode)),
        store_(kind, dir_.path()),
        rng_(suite_seed() + case_index) {
    fs::create_directories(scratch_);
    bdp::test::write_file(project_, project_text(store_, mode_));
    BOOST_TEST_MESSAGE(bdp::test::to_string(kind_)
                       << "/" << mode_ << ": seed " << suite_seed()
                       << " (BDP_TEST_SEED=" << suite_seed() << " repeats the kill points)");
  }

  void run() {
    commit();
    const bool doctor = bdp::test::has_doctor();
    BOOST_TEST_MESSAGE("damage check after each cleanup: "
                       << (doctor ? "bdp doctor"
                                  : "no bdp doctor in this bdp: one complete run read back in "
                                    "full, in turn (all of them at the end)"));
    int kills = 0;
    int attempts = 0;
    std::ostringstream points;
    while (kills < kKillsPerCase && attempts < 4 * kKillsPerCase) {
      ++attempts;
      const auto delay = std::chrono::microseconds(
          std::uniform_int_distribution<std::int64_t>(0, run_time_.count())(rng_));
      Child child({bdp::test::cli_path().string(), "run", project_.string(), "--json"},
                  bdp::test::child_environment(), scratch_ / "run.out", scratch_ / "run.err");
      std::this_thread::sleep_for(delay);
      child.kill();
      const int code = child.wait();
      if (!child.signalled()) {
        // It finished first: a complete run, committed like the others.
        BOOST_TEST_REQUIRE(code == 0, "an unkilled run failed: exit "
                                          << code << "\n"
                                          << bdp::test::read_file(scratch_ / "run.err"));
        adopt_completed_run();
        points << " (finished before " << delay.count() / 1000 << " ms)";
        continue;
      }
      ++kills;
      const std::string where = check_after_kill(doctor);
      points << " " << delay.count() / 1000 << "ms:" << where;
    }
    BOOST_TEST(kills == kKillsPerCase, "only " << kills << " kill points in " << attempts
                                               << " attempts; run time " << run_time_.count()
                                               << " us");
    BOOST_TEST_MESSAGE(bdp::test::to_string(kind_)
                       << "/" << mode_ << ": " << kills << " kills (delay:state):" << points.str());
    // Every committed run's data, read back in full once more.
    for (const auto& id : committed_) expect_export_equals_reference(id, committed_records_[id]);
    if (doctor) expect_doctor_clean();
  }

 private:
  CommandResult bdp(std::vector<std::string> args) const {
    return bdp_at(project_, std::move(args), scratch_);
  }

  std::vector<Listed> processes() const {
    const CommandResult r = bdp({"ps", "--json"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    auto listed = bdp::test::parse_processes(r.out);
    BOOST_TEST_REQUIRE(listed.has_value(), "bdp ps --json is not a process list\n" << describe(r));
    return *listed;
  }

  std::vector<ListedRecord> records() const {
    const CommandResult r = bdp({"ls", "--json"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
    auto listed = bdp::test::parse_records(r.out);
    BOOST_TEST_REQUIRE(listed.has_value(), "bdp ls --json is not a record list\n" << describe(r));
    return *listed;
  }

  std::vector<ListedRecord> records_of(const std::string& process) const {
    std::vector<ListedRecord> out;
    for (auto& r : records()) {
      if (r.process_id == process) out.push_back(std::move(r));
    }
    return out;
  }

  ExportedData exported(const std::string& process) {
    const fs::path out = scratch_ / ("export-" + std::to_string(++exports_));
    const CommandResult r = bdp({"export", process, "--out", out.string()});
    BOOST_TEST_REQUIRE(r.exit_code == 0, "export of " << process << "\n" << describe(r));
    auto manifest = bdp::test::read_manifest(out);
    BOOST_TEST_REQUIRE(manifest.has_value(), "no readable manifest in " << out);
    fs::remove_all(out);
    return *manifest;
  }

  // (a) and (b): `process`'s records, read back in full through bdp export,
  // are exactly `listed` and each equals the complete run's data.
  void expect_export_equals_reference(const std::string& process,
                                      const std::vector<ListedRecord>& listed) {
    const ExportedData data = exported(process);
    BOOST_TEST(data.size() == listed.size(), process << ": " << listed.size() << " records listed, "
                                                     << data.size() << " exported");
    for (const auto& [key, value] : data) {
      auto ref = reference_.find(key);
      BOOST_TEST_REQUIRE((ref != reference_.end()), process << ": exported " << key.first << "/"
                                                            << key.second
                                                            << ", which no complete run stores");
      BOOST_TEST(value.first == ref->second.first,
                 process << "/" << key.first << ": " << value.first << " rows, a complete run has "
                         << ref->second.first);
      BOOST_TEST(value.second == ref->second.second,
                 process << "/" << key.first << ": data " << value.second
                         << " differs from a complete run's " << ref->second.second);
    }
  }

  // A run of the project that completed: its process record and records.
  void adopt(const std::string& id) {
    const auto listed = records_of(id);
    BOOST_TEST_REQUIRE(listed.size() == kStages,
                       "complete run " << id << " lists " << listed.size() << " records");
    committed_.push_back(id);
    committed_records_[id] = listed;
    known_.insert(id);
  }

  void commit() {
    for (int i = 0; i < kCommittedRuns; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const CommandResult r = bdp({"run", project_.string(), "--json"});
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - start);
      BOOST_TEST_REQUIRE(r.exit_code == 0, describe(r));
      run_time_ = i == 0 ? took : std::min(run_time_, took);
      const json::value process = bdp::test::parse_json(r.out);
      const std::string id(process.at("id").as_string());
      adopt(id);
      if (i == 0) {
        reference_ = exported(id);
        BOOST_TEST_REQUIRE(reference_.size() == kStages);
      } else {
        expect_export_equals_reference(id, committed_records_[id]);
      }
    }
  }

  void adopt_completed_run() {
    for (const auto& p : processes()) {
      if (known_.count(p.id)) continue;
      BOOST_TEST_REQUIRE(p.status == "completed", p.id << " is " << p.status);
      adopt(p.id);
      expect_export_equals_reference(p.id, committed_records_[p.id]);
    }
  }

  // (b): the complete runs' records are listed, unchanged.
  void expect_committed_listed(const std::vector<ListedRecord>& listed, const char* when) {
    for (const auto& id : committed_) {
      std::vector<ListedRecord> now;
      for (const auto& r : listed) {
        if (r.process_id == id) now.push_back(r);
      }
      auto by_key = [](const ListedRecord& a, const ListedRecord& b) { return a.key() < b.key(); };
      std::sort(now.begin(), now.end(), by_key);
      auto before = committed_records_[id];
      std::sort(before.begin(), before.end(), by_key);
      const bool same = now.size() == before.size() &&
                        std::equal(now.begin(), now.end(), before.begin(),
                                   [](const ListedRecord& a, const ListedRecord& b) {
                                     return a.key() == b.key();
                                   });
      BOOST_TEST(same, "complete run " << id << " " << when << ": " << now.size()
                                       << " records listed, " << before.size()
                                       << " stored by it, or they changed");
    }
  }

  // Every listed record is sound, unique and belongs to a listed process.
  void expect_sound_listing(const std::vector<Listed>& procs, const std::vector<ListedRecord>& recs,
                            const char* when) {
    std::set<std::string> ids;
    for (const auto& p : procs) {
      ids.insert(p.id);
      BOOST_TEST(p.damage.empty(), "process " << p.id << " " << when << ": " << p.damage);
      BOOST_TEST(p.status != "running",
                 "process " << p.id << " " << when << " is listed running, yet nothing runs");
    }
    std::set<std::tuple<std::string, std::string, std::string, std::int64_t>> versions;
    for (const auto& r : recs) {
      BOOST_TEST(r.damage.empty(), r.selector() << " " << when << ": " << r.damage);
      BOOST_TEST(ids.count(r.process_id) == 1u,
                 r.selector() << " " << when << ": an orphan (its process is not listed)");
      BOOST_TEST(versions.insert({r.process_id, r.stage, r.entity, r.version}).second,
                 r.selector() << " " << when << ": listed twice");
    }
  }

  // The store holds nothing beyond what bdp lists.
  void expect_raw_matches(const std::vector<Listed>& procs, const std::vector<ListedRecord>& recs) {
    const bdp::test::RawCounts raw = store_.raw();
    std::int64_t references = 0;
    for (const auto& r : recs) references += r.storage_type == "reference" ? 1 : 0;
    const bool csv = kind_ == StoreKind::csv;
    BOOST_TEST(raw.records == static_cast<std::int64_t>(recs.size()),
               (csv ? "sidecars" : "intermediate_data rows") << " vs listed records");
    BOOST_TEST(raw.data_objects == (csv ? static_cast<std::int64_t>(recs.size()) : references),
               (csv ? "data files" : "bdp_data_ tables") << " vs listed records");
    BOOST_TEST(raw.processes == static_cast<std::int64_t>(procs.size()),
               "stored process records vs listed processes");
    BOOST_TEST(raw.placeholders == 0, "placeholder process rows (records without a process)");
    std::string leftovers;
    for (const auto& l : raw.leftovers) leftovers += "\n  " + l;
    BOOST_TEST(raw.leftovers.empty(), "files left behind:" << leftovers);
  }

  void expect_doctor_clean() {
    const CommandResult r = bdp({"doctor"});
    BOOST_TEST(r.exit_code == 0, "bdp doctor after cleanup\n" << describe(r));
  }

  // One kill: the checks (a) to (d). Returns what the kill left, for the log.
  std::string check_after_kill(bool doctor) {
    auto procs = processes();
    auto recs = records();
    // (c) the killed run.
    std::vector<Listed> fresh;
    for (const auto& p : procs) {
      if (!known_.count(p.id)) fresh.push_back(p);
      if (killed_.count(p.id)) {
        BOOST_TEST(p.status == "interrupted",
                   "a run killed earlier, " << p.id << ", is now listed " << p.status);
      }
    }
    BOOST_TEST_REQUIRE(fresh.size() <= 1u, fresh.size() << " new processes after one kill");
    expect_sound_listing(procs, recs, "after a kill");
    expect_committed_listed(recs, "after a kill");
    std::optional<Listed> killed;
    std::size_t left = 0;  // records of the killed run
    std::string state = "no process record";
    if (!fresh.empty()) {
      killed = fresh.front();
      known_.insert(killed->id);
      std::vector<ListedRecord> own;
      for (const auto& r : recs) {
        if (r.process_id == killed->id) own.push_back(r);
      }
      left = own.size();
      state = std::to_string(own.size()) + " records";
      if (killed->status == "completed") {
        // Killed after its last save: a complete run.
        BOOST_TEST(own.size() == kStages, killed->id << " is completed with " << own.size()
                                                     << " of " << kStages << " records");
        state += ", completed";
      } else {
        BOOST_TEST(killed->status == "interrupted",
                   "the killed run " << killed->id << " is listed " << killed->status);
        killed_.insert(killed->id);
      }
      // (a) what the killed run left is whole.
      for (const auto& r : own) {
        BOOST_TEST(r.version == 1, r.selector() << ": one store per stage makes v1");
      }
      if (!own.empty()) expect_export_equals_reference(killed->id, own);
    }

    // (d) the project's rules, then the killed run's data removed.
    CommandResult cleanup = bdp({"cleanup"});
    BOOST_TEST_REQUIRE(cleanup.exit_code == 0, describe(cleanup));
    if (killed && left > 0) {
      cleanup = bdp({"cleanup", "--policy", "keep_none", "--process", killed->id});
      BOOST_TEST_REQUIRE(cleanup.exit_code == 0, describe(cleanup));
    }
    procs = processes();
    recs = records();
    expect_sound_listing(procs, recs, "after cleanup");
    expect_committed_listed(recs, "after cleanup");
    for (const auto& r : recs) {
      BOOST_TEST(committed_records_.count(r.process_id) == 1u,
                 r.selector() << " is not a complete run's, after cleanup");
    }
    expect_raw_matches(procs, recs);
    if (doctor) {
      expect_doctor_clean();
    } else {
      // Without bdp doctor: the committed runs' records are listed as they
      // were stored (above); read one of them back in full, in turn.
      const std::string& id = committed_[checked_++ % committed_.size()];
      expect_export_equals_reference(id, committed_records_[id]);
    }
    return state;
  }

  StoreKind kind_;
  std::string mode_;
  TempDir dir_;
  fs::path project_ = dir_ / "project.json";
  fs::path scratch_ = dir_ / "scratch";
  TestStore store_;
  std::mt19937_64 rng_;
  std::chrono::microseconds run_time_{0};
  ExportedData reference_;
  std::vector<std::string> committed_;
  std::map<std::string, std::vector<ListedRecord>> committed_records_;
  std::set<std::string> known_;   // every process seen so far
  std::set<std::string> killed_;  // killed runs listed interrupted
  int exports_ = 0;
  std::size_t checked_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(kill_cli)

BOOST_AUTO_TEST_CASE(csv_persist_run_killed_at_random_points_leaves_only_whole_records) {
  KillCase(StoreKind::csv, "persist", 1).run();
}

BOOST_AUTO_TEST_CASE(csv_hybrid_run_killed_at_random_points_leaves_only_whole_records) {
  KillCase(StoreKind::csv, "hybrid", 2).run();
}

BOOST_AUTO_TEST_CASE(sqlite_persist_run_killed_at_random_points_leaves_only_whole_records) {
  KillCase(StoreKind::sqlite, "persist", 3).run();
}

BOOST_AUTO_TEST_CASE(sqlite_hybrid_run_killed_at_random_points_leaves_only_whole_records) {
  KillCase(StoreKind::sqlite, "hybrid", 4).run();
}

BOOST_AUTO_TEST_CASE(postgresql_persist_run_killed_at_random_points_leaves_only_whole_records,
                     *boost::unit_test::precondition(bdp::test::postgres_available)) {
  KillCase(StoreKind::postgresql, "persist", 5).run();
}

BOOST_AUTO_TEST_CASE(postgresql_hybrid_run_killed_at_random_points_leaves_only_whole_records,
                     *boost::unit_test::precondition(bdp::test::postgres_available)) {
  KillCase(StoreKind::postgresql, "hybrid", 6).run();
}

BOOST_AUTO_TEST_SUITE_END()
