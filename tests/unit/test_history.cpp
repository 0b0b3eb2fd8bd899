// History (issue #6): process and record selectors (latest, latest~N, id
// prefixes, PROCESS/STAGE[/ENTITY][@vN], close matches), and bdp::History
// over the real memory, csv and soci (SQLite) plugins on files in a temp
// folder: listing with every filter, resolving selectors, retrieving, and
// the space and throughput figures.
#include <bdp/container.hpp>
#include <bdp/history.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>
#include <bdp/sdk/time.hpp>
#include <bdp/selectors.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::ErrorCode;
using bdp::test::expect_error;
using bdp::test::TempDir;

bdp::PluginHost& host() {
  static bdp::PluginHost h;
  return h;
}

bdp::ProcessInfo process(std::string id, std::string name, std::int64_t started_at) {
  bdp::ProcessInfo p;
  p.id = std::move(id);
  p.name = std::move(name);
  p.status = bdp::ProcessStatus::completed;
  p.started_at = started_at;
  p.finished_at = started_at + 1000;
  return p;
}

// Newest first, as DataContainer::list_processes() returns them.
std::vector<bdp::ProcessInfo> three_processes() {
  return {process("20260103T100000-cccccc", "daily", 3000),
          process("20260102T100000-bbbbbb", "weekly", 2000),
          process("20260101T100000-aaaaaa", "daily", 1000)};
}

bdp::TablePtr table(std::int64_t rows, std::int64_t seed) {
  bdp::TableBuilder b({{"id", bdp::ColumnType::int64}, {"name", bdp::ColumnType::string}});
  for (std::int64_t i = 0; i < rows; ++i) {
    b.append_row({seed * 1000 + i, "row-" + std::to_string(seed) + "-" + std::to_string(i)});
  }
  return b.finish();
}

std::set<std::string> processes_of(const std::vector<bdp::RecordInfo>& records) {
  std::set<std::string> out;
  for (const auto& r : records) out.insert(r.process_id);
  return out;
}

// Three processes stored through a DataContainer in persist mode: stage
// "raw" goes to a CSV folder, every other stage to an SQLite file.
//   P1 (oldest, "daily"):  raw/{orders,customers}, clean/default, report (JSON)
//   P2 ("weekly"):         raw/orders, clean/default twice (v1, v2)
//   P3 (newest, "daily"):  raw/orders, clean/default; its process record also
//                          lists a stage "scratch" that kept no data
// `middle` lies between P1's stores and P2's, `late` between P2's and P3's.
struct Stored {
  TempDir dir;
  std::shared_ptr<bdp::Backend> memory = host().create_backend("memory", "memory", {}, {});
  std::shared_ptr<bdp::Backend> csv = host().create_backend(
      "csv", "csv", {{"plugin", "csv"}, {"root", (dir / "csv").string()}}, dir.path());
  std::shared_ptr<bdp::Backend> db = host().create_backend(
      "soci", "db",
      {{"plugin", "soci"}, {"connection", "sqlite3://db=" + (dir / "db.sqlite").string()}},
      dir.path());
  std::unique_ptr<bdp::DataContainer> container;
  std::string p1 = "20260101T100000-aaaaaa";
  std::string p2 = "20260102T100000-bbbbbb";
  std::string p3 = "20260103T100000-cccccc";
  std::int64_t middle = 0;
  std::int64_t late = 0;

  Stored() {
    bdp::StorageStrategy strategy;
    strategy.mode = bdp::StorageMode::persist;
    strategy.backend = "db";
    strategy.cleanup_policy = bdp::CleanupPolicy::keep_all;
    container = std::make_unique<bdp::DataContainer>(
        strategy, memory,
        std::map<std::string, std::shared_ptr<bdp::Backend>, std::less<>>{
            {"memory", memory}, {"csv", csv}, {"db", db}});
    bdp::StagePlan raw;
    raw.persist = true;
    raw.backend = "csv";
    raw.cleanup_policy = bdp::CleanupPolicy::keep_all;
    container->set_stage_plan("raw", raw);

    auto info = [](const std::string& id, const std::string& name, std::int64_t started,
                   std::vector<std::string> stages) {
      bdp::ProcessInfo p = process(id, name, started);
      for (auto& s : stages) {
        bdp::StageInfo stage;
        stage.name = std::move(s);
        stage.status = bdp::StageStatus::completed;
        p.stages.push_back(std::move(stage));
      }
      return p;
    };

    container->set_process(p1);
    bdp::StageOutput raw1;
    raw1.set("orders", table(5, 1));
    raw1.set("customers", table(3, 2));
    container->store_stage_data("raw", raw1, {{"source", "erp"}});
    container->store_stage_data("clean", table(4, 3), {{"source", "erp"}, {"rows_in", 5}});
    container->store_stage_data(
        "report", bdp::Payload(json::value{{"total", 42}, {"regions", json::array{"n", "s"}}}));
    auto p1_info = info(p1, "daily", 1'000'000, {"raw", "clean", "report"});
    p1_info.stages[0].bytes = 2'000'000;  // 2 MB in 1 s: 2 MB/s
    p1_info.stages[0].store_ms = 1000.0;
    container->save_process(p1_info);
    middle = pause();

    container->set_process(p2);
    container->store_stage_data("raw", table(6, 4), {{"source", "crm"}});
    container->store_stage_data("clean", table(2, 5), {{"source", "crm"}});
    container->store_stage_data("clean", table(7, 6), {{"source", "crm"}});
    auto p2_info = info(p2, "weekly", 2'000'000, {"raw", "clean"});
    p2_info.stages[0].bytes = 1'000'000;  // with P1's raw: 3 MB in 2 s
    p2_info.stages[0].store_ms = 1000.0;
    container->save_process(p2_info);
    late = pause();

    container->set_process(p3);
    container->store_stage_data("raw", table(8, 7), {{"source", "erp"}});
    container->store_stage_data("clean", table(8, 8), {{"source", "erp"}});
    container->save_process(info(p3, "daily", 3'000'000, {"raw", "clean", "scratch"}));
  }

  // A moment strictly between the stores before and after it.
  static std::int64_t pause() {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::int64_t t = bdp::now_micros();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return t;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(selectors)

BOOST_AUTO_TEST_CASE(latest_and_latest_n_name_the_newest_processes) {
  const auto all = three_processes();
  BOOST_TEST(bdp::resolve_process(all, "latest") == "20260103T100000-cccccc");
  BOOST_TEST(bdp::resolve_process(all, "latest~0") == "20260103T100000-cccccc");
  BOOST_TEST(bdp::resolve_process(all, "latest~1") == "20260102T100000-bbbbbb");
  BOOST_TEST(bdp::resolve_process(all, "latest~2") == "20260101T100000-aaaaaa");
  // Restricted to a name, latest~1 skips the other names.
  BOOST_TEST(bdp::resolve_process(all, "latest~1", "daily") == "20260101T100000-aaaaaa");
  expect_error([&] { bdp::resolve_process(all, "latest~3"); }, ErrorCode::not_found,
               {"latest~3", "only 3 stored processes"});
  expect_error([&] { bdp::resolve_process({}, "latest"); }, ErrorCode::not_found,
               {"only 0 stored processes"});
}

BOOST_AUTO_TEST_CASE(ids_and_unique_prefixes_resolve_ambiguous_and_unknown_do_not) {
  const auto all = three_processes();
  BOOST_TEST(bdp::resolve_process(all, "20260102T100000-bbbbbb") == "20260102T100000-bbbbbb");
  BOOST_TEST(bdp::resolve_process(all, "20260103") == "20260103T100000-cccccc");
  expect_error([&] { bdp::resolve_process(all, "2026010"); }, ErrorCode::not_found,
               {"'2026010'", "matches several processes"});
  // A near miss lists the closest ids.
  expect_error([&] { bdp::resolve_process(all, "20260102T100000-bbbbbx"); }, ErrorCode::not_found,
               {"no stored process '20260102T100000-bbbbbx'", "closest: 20260102T100000-bbbbbb"});
}

BOOST_AUTO_TEST_CASE(malformed_process_selectors_are_invalid_arguments) {
  const auto all = three_processes();
  for (const char* bad : {"latest~", "latest~x", "latest~-1", "latest~1x", ""}) {
    BOOST_TEST_CONTEXT(bad) {
      expect_error([&] { bdp::resolve_process(all, bad); }, ErrorCode::invalid_argument, {});
    }
  }
  expect_error([&] { bdp::resolve_process(all, "no such/id"); }, ErrorCode::invalid_argument,
               {"process id"});
}

BOOST_AUTO_TEST_CASE(record_selectors_parse_process_stage_entity_and_version) {
  auto s = bdp::parse_record_selector("latest/clean");
  BOOST_TEST(s.process == "latest");
  BOOST_TEST(s.stage == "clean");
  BOOST_TEST(!s.entity.has_value());
  BOOST_TEST(!s.version.has_value());

  s = bdp::parse_record_selector("latest~1/raw/orders@v12");
  BOOST_TEST(s.process == "latest~1");
  BOOST_TEST(s.stage == "raw");
  BOOST_TEST(s.entity.value_or("") == "orders");
  BOOST_TEST(s.version.value_or(0) == 12);

  s = bdp::parse_record_selector("2026/clean@v2");
  BOOST_TEST(!s.entity.has_value());
  BOOST_TEST(s.version.value_or(0) == 2);
}

BOOST_AUTO_TEST_CASE(malformed_record_selectors_name_the_selector_and_the_form) {
  for (const char* bad : {"latest", "latest/", "/clean", "a/b/c/d", "a//c", "a/b@2", "a/b@v",
                          "a/b@v0", "a/b@v-1", "a/b@v1x", "a/bad stage", "a/b/bad*entity"}) {
    BOOST_TEST_CONTEXT(bad) {
      expect_error([&] { bdp::parse_record_selector(bad); }, ErrorCode::invalid_argument,
                   {"record selector '" + std::string(bad) + "'", "PROCESS/STAGE[/ENTITY][@vN]"});
    }
  }
}

BOOST_AUTO_TEST_CASE(closest_names_put_prefixes_and_near_misses_first) {
  const std::vector<std::string> names = {"load", "recent", "columns", "by_region", "ranked"};
  auto close = bdp::closest_names("recnet", names, 2);
  BOOST_TEST_REQUIRE(close.size() == 2u);
  BOOST_TEST(close[0] == "recent");
  close = bdp::closest_names("by", names, 1);
  BOOST_TEST_REQUIRE(close.size() == 1u);
  BOOST_TEST(close[0] == "by_region");
  BOOST_TEST(bdp::closest_names("x", {}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(history)

BOOST_AUTO_TEST_CASE(lists_every_record_of_csv_and_sqlite_newest_first) {
  Stored s;
  bdp::History history(*s.container);
  const auto all = history.records({});
  // P1: 2 raw + clean + report; P2: raw + 2 clean versions; P3: raw + clean.
  BOOST_TEST_REQUIRE(all.size() == 9u);
  for (std::size_t i = 1; i < all.size(); ++i) {
    BOOST_TEST(all[i - 1].created_at >= all[i].created_at);
  }
  for (const auto& r : all) {
    BOOST_TEST_CONTEXT(r.process_id << "/" << r.stage_name << "/" << r.entity_name) {
      BOOST_TEST(r.backend == (r.stage_name == "raw" ? "csv" : "db"));
    }
  }
  bdp::Query oldest;
  oldest.newest_first = false;
  oldest.limit = 1;
  const auto first = history.records(oldest);
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST(first[0].process_id == s.p1);
}

BOOST_AUTO_TEST_CASE(filters_by_process_selector_stage_and_entity) {
  Stored s;
  bdp::History history(*s.container);
  bdp::Query q;
  q.process_id = "latest";
  BOOST_TEST(processes_of(history.records(q)) == std::set<std::string>{s.p3});
  q.process_id = "latest~1";
  BOOST_TEST(history.records(q).size() == 3u);
  BOOST_TEST(processes_of(history.records(q)) == std::set<std::string>{s.p2});
  q.process_id = "20260101";  // a unique prefix
  q.stage_name = "raw";
  const auto raw = history.records(q);
  BOOST_TEST(raw.size() == 2u);
  q.entity_name = "customers";
  const auto customers = history.records(q);
  BOOST_TEST_REQUIRE(customers.size() == 1u);
  BOOST_TEST(customers[0].row_count == 3);

  bdp::Query stage_only;
  stage_only.stage_name = "clean";
  BOOST_TEST(history.records(stage_only).size() == 4u);
  stage_only.stage_name = "bad stage";
  expect_error([&] { history.records(stage_only); }, ErrorCode::invalid_argument, {"stage name"});

  bdp::Query unknown;
  unknown.process_id = "20260101T100000-aaaaab";
  expect_error([&] { history.records(unknown); }, ErrorCode::not_found,
               {"20260101T100000-aaaaab", "closest: 20260101T100000-aaaaaa"});
}

BOOST_AUTO_TEST_CASE(filters_by_time_range) {
  Stored s;
  bdp::History history(*s.container);
  bdp::Query q;
  q.since = s.middle;
  BOOST_TEST((processes_of(history.records(q)) == std::set<std::string>{s.p2, s.p3}));
  q.until = s.late;
  BOOST_TEST(processes_of(history.records(q)) == std::set<std::string>{s.p2});
  q.stage_name = "clean";
  BOOST_TEST(history.records(q).size() == 2u);  // both versions of P2's clean
  bdp::Query before;
  before.until = s.middle;
  BOOST_TEST(processes_of(history.records(before)) == std::set<std::string>{s.p1});
}

BOOST_AUTO_TEST_CASE(filters_by_metadata_and_limit) {
  Stored s;
  bdp::History history(*s.container);
  bdp::Query q;
  q.metadata_equals.push_back(bdp::parse_metadata_filter("source=crm"));
  BOOST_TEST(processes_of(history.records(q)) == std::set<std::string>{s.p2});
  BOOST_TEST(history.records(q).size() == 3u);
  q.metadata_equals = {bdp::parse_metadata_filter("rows_in=5")};  // a JSON number
  const auto clean = history.records(q);
  BOOST_TEST_REQUIRE(clean.size() == 1u);
  BOOST_TEST(clean[0].stage_name == "clean");
  q.metadata_equals = {bdp::parse_metadata_filter("source=erp")};
  q.limit = 2;
  const auto newest = history.records(q);
  BOOST_TEST_REQUIRE(newest.size() == 2u);
  BOOST_TEST(processes_of(newest) == std::set<std::string>{s.p3});  // newest first
  q.metadata_equals = {bdp::parse_metadata_filter("source=nowhere")};
  BOOST_TEST(history.records(q).empty());
}

BOOST_AUTO_TEST_CASE(metadata_filters_parse_json_values_else_text) {
  auto [key, value] = bdp::parse_metadata_filter("n=3");
  BOOST_TEST(key == "n");
  BOOST_TEST(value == json::value(3));
  BOOST_TEST(bdp::parse_metadata_filter("b=true").second == json::value(true));
  BOOST_TEST(bdp::parse_metadata_filter("s=erp").second == json::value("erp"));
  BOOST_TEST(bdp::parse_metadata_filter("s=\"3\"").second == json::value("3"));
  BOOST_TEST(bdp::parse_metadata_filter("e=").second == json::value(""));
  expect_error([] { bdp::parse_metadata_filter("novalue"); }, ErrorCode::invalid_argument,
               {"'novalue'", "key=value"});
  expect_error([] { bdp::parse_metadata_filter("=3"); }, ErrorCode::invalid_argument, {"'=3'"});
}

BOOST_AUTO_TEST_CASE(time_bounds_are_timestamps_or_ages_before_now) {
  const std::int64_t now = 1'800'000'000'000'000;
  BOOST_TEST(bdp::parse_time_bound("2026-11-26T14:00:00Z", "--since", now) ==
             bdp::parse_timestamp("2026-11-26T14:00:00Z").value());
  BOOST_TEST(bdp::parse_time_bound("2h", "--since", now) == now - 7'200'000'000);
  BOOST_TEST(bdp::parse_time_bound("30d", "--until", now) == now - 30LL * 86'400'000'000);
  for (const char* bad : {"yesterday", "2h30m", "0h", "h", "2026-13-01"}) {
    BOOST_TEST_CONTEXT(bad) {
      expect_error([&] { bdp::parse_time_bound(bad, "--since", now); }, ErrorCode::invalid_argument,
                   {"--since", bad});
    }
  }
}

BOOST_AUTO_TEST_CASE(resolve_gives_the_newest_version_of_each_entity_unless_at_vn) {
  Stored s;
  bdp::History history(*s.container);
  const auto raw = history.resolve("latest~2/raw");
  BOOST_TEST_REQUIRE(raw.size() == 2u);
  BOOST_TEST(raw[0].entity_name == "customers");  // ordered by entity
  BOOST_TEST(raw[1].entity_name == "orders");
  const auto orders = history.resolve(s.p1 + "/raw/orders");
  BOOST_TEST_REQUIRE(orders.size() == 1u);
  BOOST_TEST(orders[0].row_count == 5);

  const auto newest = history.resolve("latest~1/clean");
  BOOST_TEST_REQUIRE(newest.size() == 1u);
  BOOST_TEST(newest[0].version == 2);
  BOOST_TEST(newest[0].row_count == 7);
  const auto first = history.resolve("latest~1/clean/default@v1");
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST(first[0].version == 1);
  BOOST_TEST(first[0].row_count == 2);
}

BOOST_AUTO_TEST_CASE(bad_record_selectors_list_close_matches) {
  Stored s;
  bdp::History history(*s.container);
  expect_error([&] { history.resolve("latest/clen"); }, ErrorCode::not_found,
               {"record selector 'latest/clen'", s.p3, "no stage 'clen'", "clean"});
  expect_error([&] { history.resolve("latest~2/raw/order"); }, ErrorCode::not_found,
               {"'latest~2/raw/order'", "no entity 'order'", "orders", "customers"});
  expect_error([&] { history.resolve("latest~1/clean@v9"); }, ErrorCode::not_found,
               {"'latest~1/clean@v9'", "no version v9", "v1", "v2"});
  expect_error([&] { history.resolve("20270101/clean"); }, ErrorCode::not_found,
               {"'20270101/clean'", "no stored process '20270101'"});
  expect_error([&] { history.resolve("latest~7/clean"); }, ErrorCode::not_found,
               {"'latest~7/clean'", "only 3 stored processes"});
  // A stage the process ran whose data was kept nowhere durable.
  expect_error([&] { history.resolve("latest/scratch"); }, ErrorCode::not_found,
               {"stage 'scratch'", "has no stored data"});
  expect_error([&] { history.resolve("latest/bad stage"); }, ErrorCode::invalid_argument,
               {"record selector"});
}

BOOST_AUTO_TEST_CASE(retrieve_reads_each_payload_from_its_backend) {
  Stored s;
  bdp::History history(*s.container);
  const auto orders = history.resolve("latest~2/raw/orders");
  BOOST_TEST_REQUIRE(orders.size() == 1u);
  BOOST_TEST(orders[0].backend == "csv");
  const bdp::Payload from_csv = history.retrieve(orders[0]);
  BOOST_TEST(from_csv.table()->equals(*table(5, 1)));
  const auto clean = history.resolve("latest/clean");
  BOOST_TEST_REQUIRE(clean.size() == 1u);
  BOOST_TEST(clean[0].backend == "db");
  BOOST_TEST(history.retrieve(clean[0]).table()->equals(*table(8, 8)));
  const auto report = history.resolve("latest~2/report");
  BOOST_TEST_REQUIRE(report.size() == 1u);
  BOOST_TEST(history.retrieve(report[0]).json().at("total") == json::value(42));
}

BOOST_AUTO_TEST_CASE(find_record_by_id_or_say_why_not) {
  Stored s;
  bdp::History history(*s.container);
  const auto report = history.resolve("latest~2/report");
  BOOST_TEST_REQUIRE(report.size() == 1u);
  // Ids are unique per backend; the SQLite report's id may also be a CSV id.
  std::size_t holders = 0;
  for (const auto& r : history.records({})) holders += r.id == report[0].id ? 1 : 0;
  if (holders == 1) {
    const bdp::RecordInfo found = history.find_record(report[0].id);
    BOOST_TEST(found.stage_name == "report");
    BOOST_TEST(found.backend == "db");
  } else {
    expect_error([&] { history.find_record(report[0].id); }, ErrorCode::invalid_argument,
                 {"several stores", "PROCESS/STAGE/ENTITY@vN"});
  }
  expect_error([&] { history.find_record("no-such-record"); }, ErrorCode::not_found,
               {"'no-such-record'", "PROCESS/STAGE"});
}

BOOST_AUTO_TEST_CASE(processes_are_newest_first_by_name_and_limit) {
  Stored s;
  bdp::History history(*s.container);
  const auto all = history.processes();
  BOOST_TEST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all[0].id == s.p3);
  BOOST_TEST(all[2].id == s.p1);
  const auto daily = history.processes("daily");
  BOOST_TEST_REQUIRE(daily.size() == 2u);
  BOOST_TEST(daily[1].id == s.p1);
  BOOST_TEST(history.processes({}, 1).size() == 1u);
  BOOST_TEST(history.processes("monthly").empty());
}

BOOST_AUTO_TEST_CASE(a_process_without_a_process_record_is_named_by_its_id) {
  Stored s;
  s.container->set_process("20260104T100000-dddddd");  // no save_process
  s.container->store_stage_data("clean", table(1, 9));
  bdp::History history(*s.container);
  bdp::Query q;
  q.process_id = "20260104T100000-dddddd";
  BOOST_TEST(history.records(q).size() == 1u);
  BOOST_TEST(history.resolve("20260104T100000-dddddd/clean").size() == 1u);
  // A prefix needs a process record.
  q.process_id = "20260104";
  expect_error([&] { history.records(q); }, ErrorCode::not_found, {"'20260104'"});
}

BOOST_AUTO_TEST_CASE(stats_add_up_bytes_and_records_per_backend_process_and_stage) {
  Stored s;
  bdp::History history(*s.container);
  const bdp::HistoryStats stats = history.stats();
  const auto all = history.records({});
  std::int64_t bytes = 0;
  std::map<std::string, std::int64_t> backend_bytes;
  std::map<std::string, std::int64_t> process_bytes;
  for (const auto& r : all) {
    bytes += r.size_bytes;
    backend_bytes[r.backend] += r.size_bytes;
    process_bytes[r.process_id] += r.size_bytes;
  }
  BOOST_TEST(stats.records == static_cast<std::int64_t>(all.size()));
  BOOST_TEST(stats.bytes == bytes);
  BOOST_TEST(stats.processes == 3);
  for (const auto& b : stats.backends) {
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_TEST(b.bytes == backend_bytes[b.name]);
    }
  }
  BOOST_TEST_REQUIRE(stats.by_process.size() == 3u);
  for (std::size_t i = 0; i < stats.by_process.size(); ++i) {
    const auto& p = stats.by_process[i];
    BOOST_TEST(p.bytes == process_bytes[p.id]);
    BOOST_TEST(p.name == (p.id == s.p2 ? "weekly" : "daily"));
    if (i > 0) BOOST_TEST(stats.by_process[i - 1].bytes >= p.bytes);  // largest first
  }
  // P2's clean holds two versions: one stage row with 2 records.
  const auto clean2 = std::find_if(stats.by_stage.begin(), stats.by_stage.end(), [&](auto& x) {
    return x.process_id == s.p2 && x.stage_name == "clean";
  });
  BOOST_TEST_REQUIRE((clean2 != stats.by_stage.end()));
  BOOST_TEST(clean2->records == 2);
  BOOST_TEST(clean2->backend == "db");
  for (std::size_t i = 1; i < stats.by_stage.size(); ++i) {
    BOOST_TEST(stats.by_stage[i - 1].bytes >= stats.by_stage[i].bytes);
  }
  // Throughput comes from the process records: raw stored 3 MB in 2 s.
  BOOST_TEST_REQUIRE(stats.throughput.size() == 1u);
  BOOST_TEST(stats.throughput[0].stage_name == "raw");
  BOOST_TEST(stats.throughput[0].runs == 2);
  BOOST_TEST(stats.throughput[0].mb_per_s() == 1.5, boost::test_tools::tolerance(1e-9));
  const json::object j = stats.to_json();
  BOOST_TEST(j.at("records").as_int64() == stats.records);
  BOOST_TEST(j.at("throughput").as_array().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
