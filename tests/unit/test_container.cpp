// DataContainer over the real memory backend plugin.
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/object.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <set>
#include <thread>

namespace {

using bdp::ErrorCode;
using bdp::test::expect_error;

bdp::TablePtr table_of(std::int64_t rows, std::int64_t start = 0) {
  bdp::TableBuilder builder({{"id", bdp::ColumnType::int64}, {"name", bdp::ColumnType::string}});
  for (std::int64_t i = 0; i < rows; ++i) {
    builder.append_row({start + i, std::string("row-") + std::to_string(start + i)});
  }
  return builder.finish();
}

struct Fixture {
  bdp::PluginHost host;
  std::unique_ptr<bdp::DataContainer> container;
  Fixture(std::uint64_t budget = 0) : container(bdp::DataContainer::in_memory(host, budget)) {
    container->set_process("p1");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(container)

BOOST_AUTO_TEST_CASE(retrieve_returns_the_very_table_that_was_stored) {
  Fixture f;
  auto table = table_of(3);
  auto records = f.container->store_stage_data("load", table);
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].entity_name == "default");
  BOOST_TEST(records[0].backend == "memory");
  BOOST_TEST(records[0].row_count == 3);
  auto out = f.container->retrieve_stage_data("load");
  BOOST_TEST(out.table().get() == table.get());
}

BOOST_AUTO_TEST_CASE(storing_a_stage_twice_makes_a_new_version_and_retrieve_gives_the_newest) {
  Fixture f;
  auto first = table_of(1);
  auto second = table_of(2);
  BOOST_TEST(f.container->store_stage_data("s", first)[0].version == 1);
  BOOST_TEST(f.container->store_stage_data("s", second)[0].version == 2);
  BOOST_TEST(f.container->retrieve_stage_data("s").table().get() == second.get());
  bdp::Query q;
  q.stage_name = "s";
  BOOST_TEST(f.container->list_available_data(q).size() == 2u);
}

BOOST_AUTO_TEST_CASE(metadata_and_several_entities_are_stored_together) {
  Fixture f;
  bdp::StageOutput output;
  output.set("orders", table_of(4));
  output.set("summary", bdp::Payload(boost::json::value{{"total", 4}}));
  boost::json::object metadata{{"decision", "threshold=3"}};
  auto records = f.container->store_stage_data("split", output, metadata);
  BOOST_REQUIRE_EQUAL(records.size(), 2u);
  for (const auto& r : records) BOOST_TEST(r.metadata.at("decision").as_string() == "threshold=3");
  auto back = f.container->retrieve_stage_data("split");
  BOOST_TEST(back.size() == 2u);
  BOOST_TEST(back.at("summary").json().at("total").as_int64() == 4);
  BOOST_TEST(back.table("orders")->num_rows() == 4u);
}

BOOST_AUTO_TEST_CASE(memory_budget_refuses_a_store_naming_stage_and_budget) {
  auto table = table_of(1000);
  const auto budget = table->byte_size() + table->byte_size() / 2;
  Fixture f(budget);
  f.container->store_stage_data("first", table);
  expect_error([&] { f.container->store_stage_data("second", table_of(1000, 5)); },
               ErrorCode::budget_exceeded,
               {"'second'", "'p1'", "max_memory_bytes = " + std::to_string(budget)});
  // Nothing of the refused store is kept, and what was stored is intact.
  bdp::Query q;
  q.stage_name = "second";
  BOOST_TEST(f.container->list_available_data(q).empty());
  BOOST_TEST(f.container->stats().memory_bytes == table->byte_size());
  BOOST_TEST(f.container->retrieve_stage_data("first").table().get() == table.get());
}

BOOST_AUTO_TEST_CASE(release_frees_memory_so_a_later_store_fits_the_budget) {
  auto table = table_of(1000);
  Fixture f(table->byte_size() + 10);
  f.container->store_stage_data("a", table);
  BOOST_TEST(f.container->release("a") == table->byte_size());
  BOOST_TEST(f.container->stats().memory_bytes == 0u);
  expect_error([&] { f.container->retrieve_stage_data("a"); }, ErrorCode::not_found, {"'a'"});
  BOOST_CHECK_NO_THROW(f.container->store_stage_data("b", table_of(1000)));
}

BOOST_AUTO_TEST_CASE(cleanup_policies_remove_what_they_say) {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.container->store_stage_data("s", table_of(i + 1));
  f.container->store_stage_data("t", table_of(1));

  auto dry = f.container->cleanup(bdp::CleanupPolicy::keep_latest, true);
  BOOST_TEST(dry.dry_run);
  BOOST_TEST(dry.removed.size() == 2u);
  BOOST_TEST(f.container->list_available_data().size() == 4u);

  BOOST_TEST(f.container->cleanup(bdp::CleanupPolicy::keep_all).removed.empty());
  auto latest = f.container->cleanup(bdp::CleanupPolicy::keep_latest);
  BOOST_TEST(latest.removed.size() == 2u);
  for (const auto& r : latest.removed) BOOST_TEST(r.version < 3);
  BOOST_TEST(f.container->retrieve_stage_data("s").table()->num_rows() == 3u);

  auto none = f.container->cleanup(bdp::CleanupPolicy::keep_none);
  BOOST_TEST(none.removed.size() == 2u);
  BOOST_TEST(f.container->list_available_data().empty());
  BOOST_TEST(f.container->stats().memory_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(names_that_could_escape_are_refused_before_storing) {
  Fixture f;
  expect_error([&] { f.container->store_stage_data("../etc", table_of(1)); },
               ErrorCode::invalid_argument, {"stage name", "../etc"});
  bdp::StageOutput bad;
  expect_error([&] { bad.set("a/b", table_of(1)); }, ErrorCode::invalid_argument,
               {"entity name", "a/b"});
  expect_error([&] { f.container->set_process("x\ny"); }, ErrorCode::invalid_argument,
               {"process id"});
  BOOST_TEST(f.container->list_available_data().empty());
}

BOOST_AUTO_TEST_CASE(storing_without_a_process_or_without_data_is_an_error) {
  bdp::PluginHost host;
  auto container = bdp::DataContainer::in_memory(host);
  expect_error([&] { container->store_stage_data("s", table_of(1)); }, ErrorCode::invalid_argument,
               {"no current process"});
  container->set_process("p");
  expect_error([&] { container->store_stage_data("s", bdp::StageOutput{}); },
               ErrorCode::invalid_argument, {"'s'", "no output"});
}

BOOST_AUTO_TEST_CASE(retrieving_a_missing_stage_names_stage_and_process_and_says_why) {
  Fixture f;
  expect_error([&] { f.container->retrieve_stage_data("nope"); }, ErrorCode::not_found,
               {"'nope'", "'p1'", "memory only"});
  expect_error([&] { f.container->retrieve_stage_data("nope", std::string_view("../x")); },
               ErrorCode::invalid_argument, {"../x"});
}

BOOST_AUTO_TEST_CASE(data_of_an_earlier_process_is_retrievable_by_process_id) {
  Fixture f;
  auto table = table_of(2);
  f.container->store_stage_data("load", table);
  f.container->set_process("p2");
  expect_error([&] { f.container->retrieve_stage_data("load"); }, ErrorCode::not_found, {"'p2'"});
  BOOST_TEST(f.container->retrieve_stage_data("load", std::string_view("p1")).table().get() ==
             table.get());
}

BOOST_AUTO_TEST_CASE(persist_mode_sends_selected_stages_to_their_backend) {
  bdp::PluginHost host;
  bdp::StorageStrategy strategy;
  strategy.mode = bdp::StorageMode::persist;
  strategy.backend = "archive";
  strategy.stages_to_persist = {"keep"};
  auto memory = host.create_backend("memory", "memory", {}, {});
  auto archive = host.create_backend("memory", "archive", {}, {});
  bdp::DataContainer container(strategy, memory, {{"memory", memory}, {"archive", archive}});
  container.set_process("p");
  BOOST_TEST(container.plan_for("keep").persist);
  BOOST_TEST(!container.plan_for("scratch").persist);
  BOOST_TEST(container.store_stage_data("keep", table_of(1))[0].backend == "archive");
  BOOST_TEST(container.store_stage_data("scratch", table_of(1))[0].backend == "memory");
  bdp::Query q;
  q.stage_name = "keep";
  BOOST_TEST(archive->list(q).size() == 1u);
  BOOST_TEST(memory->list(q).empty());
  // A stage plan overrides the strategy.
  container.set_stage_plan("scratch",
                           bdp::StagePlan{true, "archive", bdp::CleanupPolicy::keep_all});
  BOOST_TEST(container.store_stage_data("scratch", table_of(1))[0].backend == "archive");
  expect_error(
      [&] {
        container.set_stage_plan("x", bdp::StagePlan{true, "nowhere", {}});
      },
      ErrorCode::config, {"'nowhere'", "archive"});
}

BOOST_AUTO_TEST_CASE(list_filters_orders_and_limits) {
  Fixture f;
  f.container->store_stage_data("a", table_of(1));
  f.container->store_stage_data("b", table_of(1));
  f.container->store_stage_data("a", table_of(1));
  bdp::Query q;
  q.stage_name = "a";
  auto newest = f.container->list_available_data(q);
  BOOST_REQUIRE_EQUAL(newest.size(), 2u);
  BOOST_TEST(newest[0].version == 2);
  q.newest_first = false;
  q.limit = 1;
  auto oldest = f.container->list_available_data(q);
  BOOST_REQUIRE_EQUAL(oldest.size(), 1u);
  BOOST_TEST(oldest[0].version == 1);
}

BOOST_AUTO_TEST_CASE(stats_report_memory_and_backend_usage) {
  Fixture f;
  auto table = table_of(10);
  f.container->store_stage_data("a", table);
  f.container->retrieve_stage_data("a");
  auto stats = f.container->stats();
  BOOST_TEST(stats.memory_bytes == table->byte_size());
  BOOST_TEST(stats.memory_records == 1u);
  BOOST_TEST(stats.stores == 1u);
  BOOST_TEST(stats.retrieves == 1u);
  BOOST_REQUIRE_EQUAL(stats.backends.size(), 1u);
  BOOST_TEST(stats.backends[0].first == "memory");
  BOOST_TEST(stats.backends[0].second.records == 1);
  BOOST_TEST(stats.backends[0].second.by_stage.at(0).stage_name == "a");
}

BOOST_AUTO_TEST_CASE(concurrent_stores_get_unique_versions) {
  Fixture f;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) f.container->store_stage_data("s", table_of(1));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::int64_t> versions;
  for (const auto& r : f.container->list_available_data()) versions.insert(r.version);
  BOOST_TEST(versions.size() == 200u);
  BOOST_TEST(*versions.rbegin() == 200);
}

BOOST_AUTO_TEST_SUITE_END()
