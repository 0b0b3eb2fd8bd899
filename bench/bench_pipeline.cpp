// The storage strategy engine, end to end, on a 6-stage pipeline over
// 1,000,000 generated rows (generate, filter, select, sort, aggregate, sort;
// the built-in processors):
//   (a) Service::run in mode "memory" against the same six processors
//       chained by hand, measured in the same run: the container's overhead;
//   (b) mode "hybrid" with every stage persisted to a SQLite file (write
//       behind, flushed before the run ends) against mode "memory"; once
//       with tables as typed SQL tables (the default), once inline as
//       binary blobs;
//   (c) peak resident memory of a hybrid run whose stage data totals 4x its
//       memory budget, in a child process of its own (so the figure is that
//       run's alone), beside the same child's RSS before running.
// Each timing is the best of several alternating rounds (wall time).
//
// Run: ./build/bench/bench_pipeline [rounds]
#include <bdp/config.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/processor.hpp>
#include <bdp/service.hpp>

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::int64_t kRows = 1'000'000;

// The pipeline, as a project document.
json::object pipeline(std::string_view mode, std::uint64_t budget, std::int64_t rows,
                      bool inline_blobs = false) {
  json::object doc = json::parse(R"({
    "project": "bench-pipeline",
    "storage_strategy": {"mode": "memory", "stages_to_persist": [], "cleanup_policy": "keep_all",
                         "backend": "sqlite", "max_memory_bytes": 0},
    "backends": {"sqlite": {"plugin": "soci", "connection": "sqlite3://db=bench.sqlite"}},
    "stages": [
      {"name": "gen", "processor": "generate", "params": {"rows": 1, "seed": 7}},
      {"name": "big", "processor": "filter", "inputs": ["gen"],
       "params": {"column": "qty", "op": ">=", "value": 2}},
      {"name": "cols", "processor": "select", "inputs": ["big"],
       "params": {"columns": ["id", "qty", "price", "region", "sku"]}},
      {"name": "by_price", "processor": "sort", "inputs": ["cols"], "params": {"by": ["price"]}},
      {"name": "per_region", "processor": "aggregate", "inputs": ["by_price"],
       "params": {"group_by": ["region"], "sum": ["qty", "price"], "mean": ["price"],
                  "count": true}},
      {"name": "ranked", "processor": "sort", "inputs": ["per_region"],
       "params": {"by": ["price_sum"], "descending": true}}
    ]
  })")
                         .as_object();
  auto& strategy = doc["storage_strategy"].as_object();
  strategy["mode"] = mode;
  strategy["max_memory_bytes"] = budget;
  doc["stages"].as_array()[0].as_object()["params"].as_object()["rows"] = rows;
  // Inline: every table as one binary blob row instead of a typed SQL table.
  if (inline_blobs)
    doc["backends"].as_object()["sqlite"].as_object()["inline_threshold_bytes"] = 1ull << 40;
  return doc;
}

bdp::Config resolve(const json::object& doc, const fs::path& dir) {
  bdp::ConfigResolver resolver;
  resolver.set_project(doc, "bench", dir);
  return resolver.resolve();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A context for running processors by hand.
class DirectContext final : public bdp::ProcessorContext {
 public:
  DirectContext(const bdp::StageConfig& stage,
                const std::map<std::string, bdp::StageOutput, std::less<>>& outputs)
      : stage_(stage), outputs_(outputs) {}
  const std::string& stage_name() const noexcept override { return stage_.name; }
  const json::object& params() const noexcept override { return stage_.params; }
  const std::vector<std::string>& input_names() const noexcept override { return stage_.inputs; }
  const bdp::StageOutput& input(std::string_view stage) const override {
    return outputs_.find(stage)->second;
  }
  fs::path resolve_path(std::string_view path) const override { return path; }
  void progress(double, std::string_view) override {}
  void record_decision(std::string_view, const json::value&) override {}

 private:
  const bdp::StageConfig& stage_;
  const std::map<std::string, bdp::StageOutput, std::less<>>& outputs_;
};

// The six processors chained directly: no container, no process record.
double run_direct(const bdp::Config& config, bdp::PluginHost& host) {
  std::vector<std::shared_ptr<bdp::Processor>> processors;
  for (const auto& stage : config.stages)
    processors.push_back(host.create_processor(stage.processor));
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, bdp::StageOutput, std::less<>> outputs;
  for (std::size_t i = 0; i < config.stages.size(); ++i) {
    DirectContext context(config.stages[i], outputs);
    outputs[config.stages[i].name] = processors[i]->run(context);
  }
  return seconds_since(start);
}

// One run through the Service (container, process record, flush, cleanup).
double run_service(const bdp::Config& config) {
  bdp::Service service(config);
  const auto start = std::chrono::steady_clock::now();
  auto process = service.run();
  const double seconds = seconds_since(start);
  if (process.status != bdp::ProcessStatus::completed) {
    std::fprintf(stderr, "bench_pipeline: the run did not complete\n");
    std::exit(1);
  }
  return seconds;
}

std::int64_t rss_kib_now() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages_total = 0, pages_resident = 0;
  if (!f || std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) return -1;
  std::fclose(f);
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Child mode: one hybrid run at a budget of a quarter of its stage data;
// prints "<rss before KiB> <peak rss KiB> <stage bytes> <budget>".
int rss_child(const fs::path& dir, std::uint64_t budget) {
  bdp::Config config = resolve(pipeline("hybrid", budget, kRows), dir);
  bdp::Service service(config);
  const std::int64_t before = rss_kib_now();
  auto process = service.run();
  std::int64_t stage_bytes = 0;
  for (const auto& s : process.stages) stage_bytes += s.bytes;
  const auto stats = service.container().stats();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  std::printf("%lld %ld %lld %llu %llu %llu\n", static_cast<long long>(before), usage.ru_maxrss,
              static_cast<long long>(stage_bytes), static_cast<unsigned long long>(budget),
              static_cast<unsigned long long>(stats.evictions),
              static_cast<unsigned long long>(stats.spills));
  return process.status == bdp::ProcessStatus::completed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
  spdlog::set_level(spdlog::level::warn);
  if (argc == 4 && std::string_view(argv[1]) == "--rss-child") {
    return rss_child(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const fs::path dir =
      fs::temp_directory_path() / ("bdp-bench-pipeline-" + std::to_string(getpid()));
  fs::create_directories(dir);

  bdp::PluginHost host;
  const bdp::Config memory = resolve(pipeline("memory", 0, kRows), dir);
  const bdp::Config hybrid = resolve(pipeline("hybrid", 0, kRows), dir);
  const bdp::Config hybrid_inline = resolve(pipeline("hybrid", 0, kRows, true), dir);
  auto fresh_database = [&] {
    for (const char* f : {"bench.sqlite", "bench.sqlite-wal", "bench.sqlite-shm"})
      fs::remove(dir / f);
  };

  double direct = 1e9, in_memory = 1e9, persisted = 1e9, persisted_inline = 1e9;
  run_direct(memory, host);  // warm up: plugin loading, page faults
  for (int r = 0; r < rounds; ++r) {
    // Alternate the order, so neither side always runs first.
    if (r % 2 == 0) {
      direct = std::min(direct, run_direct(memory, host));
      in_memory = std::min(in_memory, run_service(memory));
    } else {
      in_memory = std::min(in_memory, run_service(memory));
      direct = std::min(direct, run_direct(memory, host));
    }
    fresh_database();
    persisted = std::min(persisted, run_service(hybrid));
    fresh_database();
    persisted_inline = std::min(persisted_inline, run_service(hybrid_inline));
  }

  // (c): the stage data of a run, then a budget of a quarter of it.
  std::int64_t stage_bytes = 0;
  {
    bdp::Service service(memory);
    for (const auto& s : service.run().stages) stage_bytes += s.bytes;
  }
  const std::uint64_t budget = static_cast<std::uint64_t>(stage_bytes) / 4;
  fs::remove(dir / "bench.sqlite");
  const std::string command = "'" + fs::read_symlink("/proc/self/exe").string() +
                              "' --rss-child '" + dir.string() + "' " + std::to_string(budget);
  FILE* child = ::popen(command.c_str(), "r");
  long long before = 0, peak = 0, child_bytes = 0;
  unsigned long long child_budget = 0, evictions = 0, spills = 0;
  const int fields = child ? std::fscanf(child, "%lld %lld %lld %llu %llu %llu", &before, &peak,
                                         &child_bytes, &child_budget, &evictions, &spills)
                           : 0;
  const int status = child ? ::pclose(child) : -1;
  fs::remove_all(dir);
  if (fields != 6 || status != 0) {
    std::fprintf(stderr, "bench_pipeline: the RSS child run failed (%s: status %d, %d fields)\n",
                 command.c_str(), status, fields);
    return 1;
  }

  std::printf("\n6-stage pipeline over %lld rows, best of %d rounds (wall time)\n",
              static_cast<long long>(kRows), rounds);
  std::printf("(a) memory mode via the container: %8.1f ms\n", in_memory * 1e3);
  std::printf("    same processors chained by hand: %7.1f ms\n", direct * 1e3);
  std::printf("    overhead: %+.2f %% (target <= 1 %%)\n", (in_memory / direct - 1.0) * 100.0);
  std::printf("(b) hybrid, every stage to SQLite:  %8.1f ms\n", persisted * 1e3);
  std::printf("    ratio to memory mode: %.2fx (target <= 1.25x)\n", persisted / in_memory);
  std::printf("    the same with tables stored inline as binary blobs: %.1f ms, %.2fx\n",
              persisted_inline * 1e3, persisted_inline / in_memory);
  std::printf("(c) hybrid run with stage data %.1f MiB and a budget of %.1f MiB (4x over):\n",
              static_cast<double>(child_bytes) / 1048576.0,
              static_cast<double>(child_budget) / 1048576.0);
  std::printf(
      "    RSS before the run %.1f MiB, peak RSS %.1f MiB; peak - before = %.1f MiB = "
      "budget + %.1f MiB (evictions %llu, spills %llu)\n",
      static_cast<double>(before) / 1024.0, static_cast<double>(peak) / 1024.0,
      static_cast<double>(peak - before) / 1024.0,
      static_cast<double>(peak - before) / 1024.0 - static_cast<double>(child_budget) / 1048576.0,
      evictions, spills);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_pipeline: %s\n", e.what());
  return 1;
}
