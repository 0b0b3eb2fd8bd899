// Memory-mode store + retrieve of a 1,000,000-row table through the data
// container (real memory backend plugin), against a bare
// unordered_map<string, shared_ptr<const Table>> measured in the same run.
//
// Run: ./build/bench/bench_memory   (the ratio is printed at the end)
#include "bench_tables.hpp"

#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/table.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <unordered_map>

namespace {

constexpr std::int64_t kRows = 1'000'000;
constexpr std::int64_t kIterations = 200'000;

const bdp::TablePtr& big_table() {
  static const bdp::TablePtr table = bdp::bench::orders_table(kRows, true);
  return table;
}

std::map<std::string, double> g_ns_per_op;

// CPU time of this (single-threaded) process: unlike wall time, not
// inflated by whatever else the machine is running.
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void record(benchmark::State& state, const char* name, double seconds) {
  double ns = seconds * 1e9 / static_cast<double>(state.iterations());
  g_ns_per_op[name] = ns;
  state.counters["ns_per_store_retrieve"] = ns;
}

// Each benchmark runs in two variants. Without release, every store adds a
// version: records accumulate, as in a process that stores a stage
// repeatedly under keep_all. With release (steady state), the stage is
// released after each retrieve, so the figure is the bookkeeping alone; the
// map baseline erases its entry likewise.
template <bool kRelease>
void BM_Baseline_UnorderedMap(benchmark::State& state) {
  const auto& table = big_table();
  std::unordered_map<std::string, std::shared_ptr<const bdp::Table>> map;
  const std::string process = "bench", stage = "stage", entity = "default";
  const double start = cpu_seconds();
  for (auto _ : state) {
    std::string key = process + '/' + stage + '/' + entity;
    map[key] = table;
    auto found = map.find(key)->second;
    benchmark::DoNotOptimize(found.get());
    if constexpr (kRelease) map.erase(key);
  }
  record(state, kRelease ? "baseline_release" : "baseline", cpu_seconds() - start);
}

template <bool kRelease>
void BM_Container_StoreRetrieve(benchmark::State& state) {
  const auto& table = big_table();
  bdp::PluginHost host;
  auto container = bdp::DataContainer::in_memory(host);
  container->set_process("bench");
  const double start = cpu_seconds();
  for (auto _ : state) {
    container->store_stage_data("stage", table);
    auto out = container->retrieve_stage_data("stage");
    if (out.table().get() != table.get()) state.SkipWithError("retrieve copied the table");
    benchmark::DoNotOptimize(out);
    if constexpr (kRelease) container->release("stage");
  }
  record(state, kRelease ? "container_release" : "container", cpu_seconds() - start);
}

BENCHMARK_TEMPLATE(BM_Baseline_UnorderedMap, false)
    ->Iterations(kIterations)
    ->Unit(benchmark::kNanosecond);
BENCHMARK_TEMPLATE(BM_Container_StoreRetrieve, false)
    ->Iterations(kIterations)
    ->Unit(benchmark::kNanosecond);
BENCHMARK_TEMPLATE(BM_Baseline_UnorderedMap, true)
    ->Iterations(kIterations)
    ->Unit(benchmark::kNanosecond);
BENCHMARK_TEMPLATE(BM_Container_StoreRetrieve, true)
    ->Iterations(kIterations)
    ->Unit(benchmark::kNanosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  big_table();  // built once, outside the timings
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_ns_per_op.count("baseline") && g_ns_per_op.count("container")) {
    double base = g_ns_per_op["baseline"], cont = g_ns_per_op["container"];
    std::printf(
        "\nmemory store+retrieve of a %lld-row table: container %.0f ns, baseline %.0f ns, "
        "ratio %.2fx (targets: <= 2000 ns and <= 3x)\n",
        static_cast<long long>(kRows), cont, base, cont / base);
  }
  if (g_ns_per_op.count("baseline_release") && g_ns_per_op.count("container_release")) {
    double base = g_ns_per_op["baseline_release"], cont = g_ns_per_op["container_release"];
    std::printf(
        "memory store+retrieve+release (steady state): container %.0f ns, baseline %.0f ns, "
        "ratio %.2fx\n",
        cont, base, cont / base);
  }
  return 0;
}
