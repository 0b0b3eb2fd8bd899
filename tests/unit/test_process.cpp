// ProcessStageHandler and Service over the real memory and processor plugins.
#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/process.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/service.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

namespace {

using bdp::ErrorCode;
using bdp::test::expect_error;

bdp::TablePtr table_of(std::int64_t rows) {
  bdp::TableBuilder builder({{"id", bdp::ColumnType::int64}});
  for (std::int64_t i = 0; i < rows; ++i) builder.append_row({i});
  return builder.finish();
}

bdp::Config config_from(const std::string& json, std::vector<std::string> sets = {}) {
  bdp::ConfigResolver resolver;
  resolver.set_defaults_file(bdp::test::source_dir() / "config" / "defaults.json");
  resolver.set_project(boost::json::parse(json).as_object(), "test.json",
                       std::filesystem::current_path());
  for (const auto& s : sets) resolver.add_override(s);
  return resolver.resolve();
}

const char* kPipeline = R"({
  "project": "svc",
  "stages": [
    {"name": "gen", "processor": "generate", "params": {"rows": 1000, "seed": 7}},
    {"name": "big", "processor": "filter", "inputs": ["gen"],
     "params": {"column": "qty", "op": ">=", "value": 0}},
    {"name": "by_region", "processor": "aggregate", "inputs": ["big"],
     "params": {"group_by": ["region"], "sum": ["qty"], "count": true}},
    {"name": "ranked", "processor": "sort", "inputs": ["by_region"],
     "params": {"by": ["qty_sum"], "descending": true}}
  ]
})";

}  // namespace

BOOST_AUTO_TEST_SUITE(process_handler)

BOOST_AUTO_TEST_CASE(a_stage_lifecycle_is_recorded_with_its_decisions_and_storage) {
  bdp::PluginHost host;
  auto container = bdp::DataContainer::in_memory(host);
  bdp::ProcessStageHandler handler(*container);
  std::vector<double> seen;
  std::string last_message;
  handler.set_progress_listener([&](const std::string& stage, double f, std::string_view m) {
    BOOST_TEST(stage == "load");
    seen.push_back(f);
    last_message = std::string(m);
  });
  const std::string id = handler.initialize_process("legacy", "a test");
  BOOST_TEST(container->process_id() == id);
  handler.start_stage("load");
  handler.record_stage_decision("load", "source", "orders.csv");
  handler.track_progress("load", 0.5, "half");
  handler.track_progress("load", 7.0);  // clamped
  auto records = handler.complete_stage("load", table_of(5), {{"note", "x"}});
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].metadata.at("decisions").at("source").as_string() == "orders.csv");
  BOOST_TEST(records[0].metadata.at("note").as_string() == "x");
  // The last progress, from complete_stage, says where the data went.
  BOOST_TEST(seen == std::vector<double>({0.5, 1.0, 1.0}), boost::test_tools::per_element());
  BOOST_TEST(last_message ==
             "stored " + std::to_string(records[0].size_bytes) + " bytes in memory");

  handler.finish_process();
  auto summary = handler.get_process_summary();
  BOOST_TEST((summary.status == bdp::ProcessStatus::completed));
  BOOST_REQUIRE_EQUAL(summary.stages.size(), 1u);
  const auto& stage = summary.stages[0];
  BOOST_TEST((stage.status == bdp::StageStatus::completed));
  BOOST_TEST(stage.rows == 5);
  BOOST_TEST(stage.columns == 1);
  BOOST_TEST(stage.bytes == records[0].size_bytes);
  BOOST_TEST(stage.backend == "memory");
  BOOST_TEST(stage.record_ids.at(0) == records[0].id);
  // The process record is kept with the data.
  auto processes = container->list_processes();
  BOOST_REQUIRE_EQUAL(processes.size(), 1u);
  BOOST_TEST(processes[0].id == id);
  BOOST_TEST((processes[0].status == bdp::ProcessStatus::completed));
}

BOOST_AUTO_TEST_CASE(handler_refuses_calls_out_of_order) {
  bdp::PluginHost host;
  auto container = bdp::DataContainer::in_memory(host);
  bdp::ProcessStageHandler handler(*container);
  expect_error([&] { handler.start_stage("s"); }, ErrorCode::invalid_argument,
               {"initialize_process"});
  handler.initialize_process("p");
  expect_error([&] { handler.initialize_process("q"); }, ErrorCode::invalid_argument,
               {"still running"});
  handler.start_stage("s");
  expect_error([&] { handler.start_stage("s"); }, ErrorCode::invalid_argument,
               {"'s'", "already running"});
  expect_error([&] { handler.start_stage("bad/name"); }, ErrorCode::invalid_argument, {"bad/name"});
  expect_error([&] { handler.record_stage_decision("s", "", 1); }, ErrorCode::invalid_argument,
               {"'s'"});
}

BOOST_AUTO_TEST_CASE(a_failed_store_marks_the_stage_and_process_failed) {
  bdp::PluginHost host;
  auto container = bdp::DataContainer::in_memory(host, 16);  // too small for anything
  bdp::ProcessStageHandler handler(*container);
  handler.initialize_process("p");
  handler.start_stage("s");
  expect_error([&] { handler.complete_stage("s", table_of(100)); }, ErrorCode::budget_exceeded,
               {"'s'"});
  handler.finish_process();
  auto summary = handler.get_process_summary();
  BOOST_TEST((summary.status == bdp::ProcessStatus::failed));
  BOOST_TEST((summary.stages.at(0).status == bdp::StageStatus::failed));
  BOOST_TEST(summary.stages.at(0).message.find("budget") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(service_runs_a_pipeline_feeding_each_stage_its_inputs) {
  bdp::Service service(config_from(kPipeline));
  std::vector<std::string> started;
  bdp::RunOptions options;
  options.on_stage_start = [&](const bdp::StageConfig& s) { started.push_back(s.name); };
  auto process = service.run(options);
  BOOST_TEST((process.status == bdp::ProcessStatus::completed));
  BOOST_TEST(process.name == "svc");
  BOOST_TEST(started == std::vector<std::string>({"gen", "big", "by_region", "ranked"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(process.stages.size(), 4u);
  BOOST_TEST(process.stages[0].rows == 1000);
  BOOST_TEST(process.stages[3].rows == 4);  // four regions
  auto ranked = service.container().retrieve_stage_data("ranked").table();
  const auto& sums = ranked->column("qty_sum");
  for (std::size_t i = 1; i < ranked->num_rows(); ++i) {
    BOOST_TEST(sums.int64_at(i - 1) >= sums.int64_at(i));
  }
  auto counts = ranked->column("count");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < ranked->num_rows(); ++i) total += counts.int64_at(i);
  BOOST_TEST(total == 1000);
}

BOOST_AUTO_TEST_CASE(service_records_runtime_overrides_as_decisions) {
  bdp::Service service(config_from(kPipeline, {"stages.big.params.value=10"}));
  auto process = service.run();
  BOOST_TEST(process.decisions.at("stages.big.params.value").as_int64() == 10);
  BOOST_TEST(process.stages[1].decisions.at("params.value").as_int64() == 10);
  BOOST_TEST(process.stages[1].rows < 1000);
  bdp::Query query;
  query.stage_name = "big";
  auto records = service.container().list_available_data(query);
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].metadata.at("decisions").at("params.value").as_int64() == 10);
  BOOST_TEST(records[0].metadata.at("processor").as_string() == "filter");
}

BOOST_AUTO_TEST_CASE(service_reports_a_failing_stage_by_name_and_keeps_the_record) {
  bdp::Service service(config_from(R"({
    "project": "bad",
    "stages": [
      {"name": "gen", "processor": "generate", "params": {"rows": 5}},
      {"name": "oops", "processor": "filter", "inputs": ["gen"],
       "params": {"column": "no_such_column", "op": "==", "value": 1}}
    ]})"));
  expect_error([&] { service.run(); }, ErrorCode::not_found, {"stage 'oops'", "no_such_column"});
  auto processes = service.container().list_processes();
  BOOST_REQUIRE_EQUAL(processes.size(), 1u);
  BOOST_TEST((processes[0].status == bdp::ProcessStatus::failed));
  BOOST_TEST((processes[0].stages.at(0).status == bdp::StageStatus::completed));
  BOOST_TEST((processes[0].stages.at(1).status == bdp::StageStatus::failed));
}

BOOST_AUTO_TEST_CASE(service_checks_processors_and_params_before_running) {
  expect_error(
      [&] {
        bdp::Service service(config_from(R"({"stages": [{"name": "a", "processor": "pivot"}]})"));
      },
      ErrorCode::config, {"test.json", "stages.a.processor", "pivot", "generate"});
  expect_error(
      [&] {
        bdp::Service service(config_from(
            R"({"stages": [{"name": "a", "processor": "generate", "params": {"rows": "many"}}]})"));
      },
      ErrorCode::config, {"test.json", "stages.a.params.rows"});
}

BOOST_AUTO_TEST_CASE(keep_none_policy_removes_the_process_data_when_it_finishes) {
  bdp::Service service(config_from(kPipeline, {"storage_strategy.cleanup_policy=keep_none"}));
  auto process = service.run();
  BOOST_TEST((process.status == bdp::ProcessStatus::completed));
  BOOST_TEST(process.stages[0].rows == 1000);  // the figures stay in the record
  BOOST_TEST(service.container().list_available_data().empty());
  BOOST_TEST(service.container().stats().memory_bytes == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(container_open)

// A backend whose plugin does not exist fails if it is ever created, so a
// container that opens fine has not touched it.
const char* kUnusedBackend = R"({
  "project": "unused",
  "backends": {"elsewhere": {"plugin": "no_such_plugin_anywhere"}},
  "stages": [{"name": "gen", "processor": "generate", "params": {"rows": 3}}]
})";

BOOST_AUTO_TEST_CASE(an_unused_backend_is_never_opened) {
  bdp::PluginHost host;
  auto config = config_from(kUnusedBackend);
  auto container = bdp::DataContainer::open(config, host);
  container->set_process("p1");
  container->store_stage_data("gen", table_of(2));
  BOOST_TEST(container->retrieve_stage_data("gen").table()->num_rows() == 2u);
  // The default persistent backend (sqlite) is not opened either: no
  // bdp-data folder appears next to the project.
  BOOST_TEST(!std::filesystem::exists(config.base_dir / "bdp-data"));
}

BOOST_AUTO_TEST_CASE(a_backend_a_stage_persists_to_is_opened) {
  bdp::PluginHost host;
  auto config = config_from(
      kUnusedBackend, {"storage_strategy.mode=persist", "storage_strategy.backend=elsewhere"});
  expect_error([&] { bdp::DataContainer::open(config, host); }, ErrorCode::not_found,
               {"no_such_plugin_anywhere"});
}

BOOST_AUTO_TEST_SUITE_END()
