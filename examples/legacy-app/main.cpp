// A "legacy" application adopting bdp one step at a time.
//
// It keeps its own loop and its own functions: read_batch() and
// summarize() stand for code that exists already and stays as it is. bdp
// is added around them only: a ProcessStageHandler records each batch as a
// process with two stages, and stores what each stage produced in a data
// container (memory here), so that intermediate data can be looked at
// later - here, the first batch's summary is read back at the end.
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/process.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/value.hpp>

#include <exception>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

// ---- the existing application code, unchanged ---------------------------

struct Reading {
  std::string sensor;
  double celsius;
};

// Reads one batch of readings (here: made up, the same on every run).
std::vector<Reading> read_batch(int batch) {
  std::vector<Reading> readings;
  for (int i = 0; i < 12; ++i) {
    readings.push_back({"sensor-" + std::to_string(i % 3), 18.0 + batch + (i * 7 % 5) * 0.5});
  }
  return readings;
}

struct Summary {
  std::map<std::string, double> max_by_sensor;
  int above_limit = 0;
};

// Summarises a batch: the highest reading per sensor, and how many
// readings were above `limit`.
Summary summarize(const std::vector<Reading>& readings, double limit) {
  Summary summary;
  for (const auto& r : readings) {
    auto [it, inserted] = summary.max_by_sensor.emplace(r.sensor, r.celsius);
    if (!inserted && r.celsius > it->second) it->second = r.celsius;
    if (r.celsius > limit) ++summary.above_limit;
  }
  return summary;
}

// ---- the adapters bdp needs: its data as bdp tables --------------------

bdp::TablePtr to_table(const std::vector<Reading>& readings) {
  bdp::TableBuilder builder(
      {{"sensor", bdp::ColumnType::string}, {"celsius", bdp::ColumnType::float64}});
  for (const auto& r : readings) builder.append_row({r.sensor, r.celsius});
  return builder.finish();
}

bdp::TablePtr to_table(const Summary& summary) {
  bdp::TableBuilder builder(
      {{"sensor", bdp::ColumnType::string}, {"max_celsius", bdp::ColumnType::float64}});
  for (const auto& [sensor, max] : summary.max_by_sensor) builder.append_row({sensor, max});
  return builder.finish();
}

}  // namespace

int main() {
  try {
    bdp::PluginHost plugins;  // finds the plugins of the bdp installation
    // Everything in memory, at most 64 MiB: a budget, not a preallocation.
    auto container = bdp::DataContainer::in_memory(plugins, 64 << 20);
    bdp::ProcessStageHandler handler(*container);
    const double limit = 21.0;

    std::string first_batch;
    for (int batch = 1; batch <= 3; ++batch) {  // the application's own loop
      const std::string& id = handler.initialize_process("sensor-batch");
      if (batch == 1) first_batch = id;

      handler.start_stage("read");
      std::vector<Reading> readings = read_batch(batch);  // existing function 1
      handler.record_stage_decision("read", "batch", batch);
      handler.complete_stage("read", to_table(readings));

      handler.start_stage("summarize");
      Summary summary = summarize(readings, limit);  // existing function 2
      handler.record_stage_decision("summarize", "limit", limit);
      handler.record_stage_decision("summarize", "above_limit", summary.above_limit);
      handler.complete_stage("summarize", to_table(summary));

      handler.finish_process();
      const bdp::ProcessInfo info = handler.get_process_summary();
      std::cout << "batch " << batch << ": process " << info.id << " " << to_string(info.status)
                << ", " << summary.above_limit << " readings above " << limit << " C\n";
    }

    // Any stage of any past process can be read back, without a copy.
    const bdp::TablePtr first = container->retrieve_stage_data("summarize", first_batch).table();
    std::cout << "first batch's summary, read back from the container:\n";
    const bdp::Column& sensors = first->column("sensor");
    const bdp::Column& max = first->column("max_celsius");
    for (std::size_t row = 0; row < first->num_rows(); ++row) {
      std::cout << "  " << sensors.string_at(row) << "  max " << std::fixed << std::setprecision(1)
                << max.float64_at(row) << " C\n";
    }
    std::cout << "kept " << container->list_available_data().size() << " records of "
              << container->list_processes().size() << " processes\n";
    return 0;
  } catch (const std::exception& e) {  // bdp::Error included: one line, exit 1
    std::cerr << "legacy-app: " << e.what() << '\n';
    return 1;
  }
}
