// History at scale (issue #6): 100,000 small records stored through the real
// csv and soci (SQLite) plugins, spread over 100 processes x 10 stages x 100
// entities (and so over the seconds the stores take), then listed through
// bdp::History the way `bdp ls` does:
//   (a) filtered by stage + time range (the middle tenth of the stores);
//   (b) filtered by process "latest" + stage (resolves the selector first);
//   (c) filtered by stage + a metadata key = value.
// Each figure is the median of several runs on a container opened once over
// the stored files (as a CLI run does), with the time to open it beside it.
// Target: filtered list <= 20 ms on SQLite and CSV.
//
// Run: ./build/bench/bench_history [runs] [dir]
// Without `dir` the stores go to a temp folder, removed at the end; with it
// to dir/bdp-bench-history, kept and reused by the next run. /dev/shm keeps
// the setup short (the CSV store syncs every file it writes).
// Setting up stores 200,000 records; it takes a while on slow disks.
#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/history.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>
#include <bdp/sdk/time.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kProcesses = 100;
constexpr int kStages = 10;
constexpr int kEntities = 100;  // per stage: 100 x 10 x 100 = 100,000 records
constexpr double kTargetMs = 20.0;

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string process_id(int p) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "20260101T%06d-bench%02d", p, p % 100);
  return buf;
}

// Stores every record (one tiny table each) and a process record per
// process; returns the created_at range [first, last] in µs.
std::pair<std::int64_t, std::int64_t> fill(bdp::Backend& backend) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64}, {"v", bdp::ColumnType::float64}});
  for (std::int64_t i = 0; i < 3; ++i) b.append_row({i, static_cast<double>(i) / 2});
  const bdp::Payload payload(b.finish());
  const auto t0 = Clock::now();
  std::int64_t first = 0, last = 0;
  for (int p = 0; p < kProcesses; ++p) {
    const std::string pid = process_id(p);
    bdp::ProcessInfo info;
    info.id = pid;
    info.name = "bench";
    info.status = bdp::ProcessStatus::completed;
    info.started_at = bdp::now_micros();
    for (int s = 0; s < kStages; ++s) {
      const std::string stage = "stage" + std::to_string(s);
      for (int e = 0; e < kEntities; ++e) {
        const std::string entity = "entity" + std::to_string(e);
        const json::object metadata{{"process_name", "bench"}, {"shard", e % 7}};
        const auto record = backend.store({pid, stage, entity, metadata}, payload);
        if (first == 0) first = record.created_at;
        last = record.created_at;
      }
    }
    info.finished_at = bdp::now_micros();
    backend.save_process(info);
    if ((p + 1) % 10 == 0) {
      std::fprintf(stderr, "  %s: %d records stored (%.0f s)\n", backend.location().c_str(),
                   (p + 1) * kStages * kEntities, ms_since(t0) / 1000.0);
    }
  }
  return {first, last};
}

bdp::Config config_for(const json::object& backend, const fs::path& dir) {
  json::object doc{{"project", "bench-history"},
                   {"storage_strategy", {{"mode", "persist"}, {"backend", "store"}}},
                   {"backends", {{"store", backend}}},
                   {"stages", json::array{}}};
  bdp::ConfigResolver resolver;
  resolver.set_project(std::move(doc), "bench", dir);
  return resolver.resolve();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median time of `runs` calls of `list`, which returns the records found.
double time_list(int runs, const std::function<std::size_t()>& list, std::size_t& found) {
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    found = list();
    times.push_back(ms_since(t0));
  }
  return median(times);
}

void measure(const char* label, const json::object& backend_settings, const fs::path& dir,
             std::pair<std::int64_t, std::int64_t> range, int runs, bdp::PluginHost& host) {
  const auto t_open = Clock::now();
  auto container = bdp::DataContainer::open(config_for(backend_settings, dir), host, true);
  const double open_ms = ms_since(t_open);
  bdp::History history(*container);

  const std::int64_t span = range.second - range.first;
  bdp::Query by_time;
  by_time.stage_name = "stage3";
  by_time.since = range.first + span * 45 / 100;
  by_time.until = range.first + span * 55 / 100;

  bdp::Query by_process;
  by_process.process_id = "latest";
  by_process.stage_name = "stage3";

  bdp::Query by_metadata;
  by_metadata.stage_name = "stage3";
  by_metadata.metadata_equals.emplace_back("shard", 3);

  std::size_t n_time = 0, n_process = 0, n_metadata = 0;
  const double t_time = time_list(
      runs, [&] { return history.records(by_time).size(); }, n_time);
  const double t_process = time_list(
      runs, [&] { return history.records(by_process).size(); }, n_process);
  const double t_metadata = time_list(
      runs, [&] { return history.records(by_metadata).size(); }, n_metadata);
  auto verdict = [](double ms) { return ms <= kTargetMs ? "ok" : "OVER TARGET"; };
  std::printf(
      "%-7s open %7.1f ms | stage+time %6.2f ms (%zu records) %s"
      " | latest+stage %6.2f ms (%zu) %s | stage+metadata %6.2f ms (%zu) %s\n",
      label, open_ms, t_time, n_time, verdict(t_time), t_process, n_process, verdict(t_process),
      t_metadata, n_metadata, verdict(t_metadata));
}

// The created_at range of the records in `settings`' store, from a listing.
std::pair<std::int64_t, std::int64_t> stored_range(const json::object& settings,
                                                   const fs::path& dir, bdp::PluginHost& host) {
  auto container = bdp::DataContainer::open(config_for(settings, dir), host, true);
  bdp::History history(*container);
  bdp::Query q;
  q.limit = 1;
  const auto newest = history.records(q);
  q.newest_first = false;
  const auto oldest = history.records(q);
  if (newest.empty() || oldest.empty()) throw bdp::Error(bdp::ErrorCode::not_found, "no records");
  return {oldest.front().created_at, newest.front().created_at};
}

}  // namespace

int main(int argc, char** argv) try {
  spdlog::set_level(spdlog::level::warn);
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  // A folder given is kept, and its stores reused by the next run.
  const bool keep = argc > 2;
  const fs::path dir =
      keep ? fs::path(argv[2]) / "bdp-bench-history"
           : fs::temp_directory_path() / ("bdp-bench-history-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path complete = dir / "complete";

  bdp::PluginHost host;
  const json::object sqlite{{"plugin", "soci"},
                            {"connection", "sqlite3://db=" + (dir / "history.sqlite").string()}};
  const json::object csv{{"plugin", "csv"}, {"root", (dir / "csv").string()}};

  std::printf(
      "bench_history: %d records (%d processes x %d stages x %d entities) per store, "
      "median of %d runs, target <= %.0f ms per filtered list\n",
      kProcesses * kStages * kEntities, kProcesses, kStages, kEntities, runs, kTargetMs);
  std::pair<std::int64_t, std::int64_t> sqlite_range, csv_range;
  if (fs::exists(complete)) {
    std::printf("setup   reusing the stores in %s\n", dir.c_str());
    sqlite_range = stored_range(sqlite, dir, host);
    csv_range = stored_range(csv, dir, host);
  } else {
    for (const char* f : {"history.sqlite", "history.sqlite-wal", "history.sqlite-shm", "csv"}) {
      fs::remove_all(dir / f);
    }
    {
      const auto t0 = Clock::now();
      auto backend = host.create_backend("soci", "store", sqlite, dir);
      sqlite_range = fill(*backend);
      std::printf("setup   sqlite: stored in %.1f s\n", ms_since(t0) / 1000.0);
    }
    {
      const auto t0 = Clock::now();
      auto backend = host.create_backend("csv", "store", csv, dir);
      csv_range = fill(*backend);
      std::printf("setup   csv:    stored in %.1f s\n", ms_since(t0) / 1000.0);
    }
    std::FILE* f = std::fopen(complete.c_str(), "w");
    if (f != nullptr) std::fclose(f);
  }
  measure("sqlite", sqlite, dir, sqlite_range, runs, host);
  measure("csv", csv, dir, csv_range, runs, host);
  if (!keep) fs::remove_all(dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_history: %s\n", e.what());
  return 1;
}
