// A writer process for the concurrency suite (test_concurrency_cli.cpp):
// stores into one process that several such writers share, through the C++
// API, so that they contend for the versions of one (process, stage,
// entity) — something `bdp run` never does, as each run is its own process.
//
//   bdp_test_store_writer PROJECT PROCESS --create NAME
//       saves a completed process record PROCESS called NAME
//   bdp_test_store_writer PROJECT PROCESS --store STAGE COUNT TAG
//       stores COUNT small tables as PROCESS/STAGE/default, one store each,
//       with metadata {"writer": TAG, "n": 0..COUNT-1}
//
// The storage is the one PROJECT names (its storage_strategy.backend).
// Exit 0 when done; 1 with one line on stderr when anything failed.
#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json/object.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const bool create = args.size() == 4 && args[2] == "--create";
  const bool store = args.size() == 6 && args[2] == "--store";
  if (!create && !store) {
    std::cerr << "usage: bdp_test_store_writer PROJECT PROCESS --create NAME | "
                 "--store STAGE COUNT TAG\n";
    return 2;
  }
  try {
    bdp::ConfigResolver resolver;
    resolver.set_project_file(args[0]);
    const bdp::Config config = resolver.resolve();
    bdp::PluginHost host(config.plugin_paths);
    auto container = bdp::DataContainer::open(config, host);
    if (create) {
      bdp::ProcessInfo process;
      process.id = args[1];
      process.name = args[3];
      process.status = bdp::ProcessStatus::completed;
      process.started_at = bdp::now_micros();
      process.finished_at = process.started_at;
      container->save_process(process);
      return 0;
    }
    container->set_process(args[1]);
    const int count = std::stoi(args[4]);
    const std::string& tag = args[5];
    for (int n = 0; n < count; ++n) {
      bdp::TableBuilder builder(
          {{"writer", bdp::ColumnType::string}, {"n", bdp::ColumnType::int64}});
      builder.append_row({tag, static_cast<std::int64_t>(n)});
      const boost::json::object metadata{{"writer", tag}, {"n", n}};
      container->store_stage_data(args[3], bdp::StageOutput(builder.finish()), metadata);
    }
    container->flush();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bdp_test_store_writer: " << e.what() << '\n';
    return 1;
  }
}
