// RecordInfo / StageInfo / ProcessInfo JSON forms, and Query.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/records.hpp>

#include <string>
#include <vector>

namespace {

namespace json = boost::json;
using bdp::ErrorCode;

using bdp::test::error_of;

bdp::RecordInfo sample_record() {
  bdp::RecordInfo r;
  r.id = "rec-1";
  r.process_id = "p-20240301";
  r.stage_name = "load";
  r.entity_name = "default";
  r.version = 3;
  r.storage_type = bdp::StorageType::reference;
  r.data_reference = "/data/p/load/default/v3.csv";
  r.metadata = json::object{{"decision", "keep"}, {"threshold", 0.5}, {"n", 7}};
  r.created_at = 1'700'000'000'123'456;
  r.size_bytes = 4096;
  r.checksum = "sha256:abc";
  r.backend = "csv";
  r.kind = bdp::PayloadKind::table;
  r.schema = {{"id", bdp::ColumnType::int64}, {"when", bdp::ColumnType::timestamp}};
  r.row_count = 12;
  return r;
}

void check_same(const bdp::RecordInfo& a, const bdp::RecordInfo& b) {
  BOOST_TEST(a.id == b.id);
  BOOST_TEST(a.process_id == b.process_id);
  BOOST_TEST(a.stage_name == b.stage_name);
  BOOST_TEST(a.entity_name == b.entity_name);
  BOOST_TEST(a.version == b.version);
  BOOST_TEST(static_cast<int>(a.storage_type) == static_cast<int>(b.storage_type));
  BOOST_TEST(a.data_reference == b.data_reference);
  BOOST_TEST(a.metadata == b.metadata);
  BOOST_TEST(a.created_at == b.created_at);
  BOOST_TEST(a.size_bytes == b.size_bytes);
  BOOST_TEST(a.checksum == b.checksum);
  BOOST_TEST(a.backend == b.backend);
  BOOST_TEST(static_cast<int>(a.kind) == static_cast<int>(b.kind));
  BOOST_TEST((a.schema == b.schema));
  BOOST_TEST(a.row_count == b.row_count);
}

bdp::RecordInfo at(const std::string& id, std::int64_t created, std::int64_t version,
                   const std::string& stage = "s") {
  bdp::RecordInfo r;
  r.id = id;
  r.process_id = "p";
  r.stage_name = stage;
  r.entity_name = "default";
  r.created_at = created;
  r.version = version;
  return r;
}

std::vector<std::string> ids(const std::vector<bdp::RecordInfo>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.id);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(records)

BOOST_AUTO_TEST_CASE(enum_names_are_stable) {
  BOOST_TEST(bdp::to_string(bdp::StorageType::inline_data) == "inline");
  BOOST_TEST(bdp::to_string(bdp::StorageType::reference) == "reference");
  BOOST_TEST(bdp::to_string(bdp::ProcessStatus::running) == "running");
  BOOST_TEST(bdp::to_string(bdp::ProcessStatus::completed) == "completed");
  BOOST_TEST(bdp::to_string(bdp::ProcessStatus::failed) == "failed");
  BOOST_TEST(bdp::to_string(bdp::StageStatus::pending) == "pending");
  BOOST_TEST(bdp::to_string(bdp::StageStatus::running) == "running");
  BOOST_TEST(bdp::to_string(bdp::StageStatus::completed) == "completed");
  BOOST_TEST(bdp::to_string(bdp::StageStatus::failed) == "failed");
}

BOOST_AUTO_TEST_CASE(record_json_round_trips_through_text) {
  auto r = sample_record();
  auto text = json::serialize(r.to_json());
  auto back = bdp::RecordInfo::from_json(json::parse(text), "test");
  check_same(r, back);
}

BOOST_AUTO_TEST_CASE(record_json_uses_plain_fields) {
  auto j = sample_record().to_json();
  BOOST_TEST(j.at("created_at").as_int64() == 1'700'000'000'123'456);
  BOOST_TEST(j.at("storage_type").as_string() == "reference");
  BOOST_TEST(j.at("kind").as_string() == "table");
  BOOST_TEST(j.at("version").as_int64() == 3);
  auto schema = json::parse(R"([{"name":"id","type":"int64"},{"name":"when","type":"timestamp"}])");
  BOOST_TEST(j.at("schema") == schema);
}

BOOST_AUTO_TEST_CASE(record_from_json_fills_optional_fields_with_defaults) {
  auto j = json::parse(R"({"id":"r","process_id":"p","stage_name":"s","entity_name":"e",
      "version":1,"storage_type":"inline","created_at":-5,"kind":"json","future_field":[1]})");
  auto r = bdp::RecordInfo::from_json(j, "test");
  BOOST_TEST(r.created_at == -5);
  BOOST_TEST(r.metadata.empty());
  BOOST_TEST(r.schema.empty());
  BOOST_TEST(r.row_count == 0);
  BOOST_TEST(r.data_reference.empty());
  BOOST_TEST(static_cast<int>(r.kind) == static_cast<int>(bdp::PayloadKind::json));
}

BOOST_AUTO_TEST_CASE(record_from_json_names_a_missing_field) {
  auto j = sample_record().to_json();
  j.erase("created_at");
  auto msg =
      error_of([&] { (void)bdp::RecordInfo::from_json(j, "v3.meta.json"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "v3.meta.json: field 'created_at': missing");
}

BOOST_AUTO_TEST_CASE(record_from_json_names_a_field_of_the_wrong_type) {
  auto j = sample_record().to_json();
  j["version"] = "3";
  auto msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "rec-1"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "rec-1: field 'version': expected an integer, found a string");

  j = sample_record().to_json();
  j["created_at"] = 1.5;
  error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);

  j = sample_record().to_json();
  j["metadata"] = json::array{1, 2};
  msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);
  BOOST_TEST(msg.find("field 'metadata'") != std::string::npos);

  j = sample_record().to_json();
  j["size_bytes"] = 18446744073709551615ull;
  msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);
  BOOST_TEST(msg.find("out of range") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(record_from_json_refuses_unknown_enum_values_and_bad_schema) {
  auto j = sample_record().to_json();
  j["storage_type"] = "blob";
  auto msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "w: field 'storage_type': 'blob' is not one of inline, reference");

  j = sample_record().to_json();
  j["schema"] = json::parse(R"([{"name":"id","type":"int64"},{"name":"x","type":"decimal"}])");
  msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);
  BOOST_TEST(msg.find("w: field 'schema[1].type': 'decimal'") == 0u, msg);

  j = sample_record().to_json();
  j["schema"] = json::parse(R"([{"type":"int64"}])");
  msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "w: field 'schema[0].name': missing");

  j = sample_record().to_json();
  j["schema"] = json::parse(R"(["id"])");
  msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "w"); }, ErrorCode::corrupt);
  BOOST_TEST(msg.find("'schema[0]'") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(record_from_json_refuses_unsafe_names) {
  auto j = sample_record().to_json();
  j["stage_name"] = "../../etc";
  auto msg = error_of([&] { (void)bdp::RecordInfo::from_json(j, "index"); }, ErrorCode::corrupt);
  BOOST_TEST(msg.find("index: field 'stage_name': '../../etc'") == 0u, msg);
}

BOOST_AUTO_TEST_CASE(record_from_json_refuses_a_non_object) {
  auto msg = error_of([] { (void)bdp::RecordInfo::from_json(json::value(5), "line 7"); },
                      ErrorCode::corrupt);
  BOOST_TEST(msg.find("line 7: ") == 0u);
  error_of([] { (void)bdp::RecordInfo::from_json(json::array{}, "x"); }, ErrorCode::corrupt);
}

BOOST_AUTO_TEST_CASE(process_json_round_trips_with_stages) {
  bdp::ProcessInfo p;
  p.id = "orders-20240301-1";
  p.name = "orders demo";
  p.description = "a run, with \"quotes\"";
  p.status = bdp::ProcessStatus::completed;
  p.started_at = 1'000;
  p.finished_at = 2'000;
  p.config = json::object{{"mode", "hybrid"}};
  p.decisions = json::object{{"stages.recent.params.value", 2025}};
  bdp::StageInfo s;
  s.name = "load";
  s.status = bdp::StageStatus::completed;
  s.started_at = 1'100;
  s.finished_at = 1'900;
  s.decisions = json::object{{"rows_dropped", 2}};
  s.progress = 1.0;
  s.message = "done";
  s.record_ids = {"r1", "r2"};
  s.rows = 10;
  s.columns = 3;
  s.bytes = 1234;
  s.store_ms = 1.25;
  s.run_ms = 7.5;
  s.backend = "sqlite";
  s.location = "bdp.sqlite";
  p.stages = {s, s};
  p.stages[1].name = "totals";
  p.stages[1].status = bdp::StageStatus::failed;

  auto back = bdp::ProcessInfo::from_json(json::parse(json::serialize(p.to_json())), "t");
  BOOST_TEST(back.id == p.id);
  BOOST_TEST(back.name == p.name);
  BOOST_TEST(back.description == p.description);
  BOOST_TEST(static_cast<int>(back.status) == static_cast<int>(p.status));
  BOOST_TEST(back.started_at == 1'000);
  BOOST_TEST(back.finished_at == 2'000);
  BOOST_TEST(back.config == p.config);
  BOOST_TEST(back.decisions == p.decisions);
  BOOST_REQUIRE(back.stages.size() == 2u);
  const auto& b = back.stages[0];
  BOOST_TEST(b.name == "load");
  BOOST_TEST(b.decisions == s.decisions);
  BOOST_TEST(b.progress == 1.0);
  BOOST_TEST(b.message == "done");
  BOOST_TEST((b.record_ids == std::vector<std::string>{"r1", "r2"}));
  BOOST_TEST(b.rows == 10);
  BOOST_TEST(b.columns == 3);
  BOOST_TEST(b.bytes == 1234);
  BOOST_TEST(b.store_ms == 1.25);
  BOOST_TEST(b.run_ms == 7.5);
  BOOST_TEST(b.backend == "sqlite");
  BOOST_TEST(b.location == "bdp.sqlite");
  BOOST_TEST(back.stages[1].name == "totals");
  BOOST_TEST(static_cast<int>(back.stages[1].status) == static_cast<int>(bdp::StageStatus::failed));
}

BOOST_AUTO_TEST_CASE(process_from_json_names_the_bad_field_inside_a_stage) {
  auto j = json::parse(R"({"id":"p1","status":"running","started_at":5,
      "stages":[{"name":"a","status":"pending"},{"name":"b","status":"sleeping"}]})");
  auto msg =
      error_of([&] { (void)bdp::ProcessInfo::from_json(j, "processes.json"); }, ErrorCode::corrupt);
  BOOST_TEST(msg.find("processes.json: field 'stages[1].status': 'sleeping'") == 0u, msg);

  j = json::parse(R"({"id":"p1","status":"running","started_at":5,"stages":[{"name":"a",
      "status":"pending","record_ids":["r1",2]}]})");
  msg = error_of([&] { (void)bdp::ProcessInfo::from_json(j, "f"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "f: field 'stages[0].record_ids[1]': expected a string, found an integer");

  j = json::parse(R"({"id":"p1","status":"running"})");
  msg = error_of([&] { (void)bdp::ProcessInfo::from_json(j, "f"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "f: field 'started_at': missing");

  j = json::parse(R"({"id":"p1","status":"running","started_at":5,"stages":{}})");
  msg = error_of([&] { (void)bdp::ProcessInfo::from_json(j, "f"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "f: field 'stages': expected an array, found an object");

  auto stage = json::parse(R"({"status":"pending"})");
  msg = error_of([&] { (void)bdp::StageInfo::from_json(stage, "s"); }, ErrorCode::corrupt);
  BOOST_TEST(msg == "s: field 'name': missing");
}

BOOST_AUTO_TEST_CASE(query_filters_by_key_time_range_and_metadata) {
  auto r = at("r1", 100, 1, "load");
  r.metadata = json::object{{"region", "eu"}, {"n", 5}};
  bdp::Query q;
  BOOST_TEST(q.matches(r));
  q.process_id = "p";
  q.stage_name = "load";
  q.entity_name = "default";
  BOOST_TEST(q.matches(r));
  q.stage_name = "other";
  BOOST_TEST(!q.matches(r));
  q.stage_name.reset();
  q.entity_name = "summary";
  BOOST_TEST(!q.matches(r));
  q.entity_name.reset();
  q.process_id = "q";
  BOOST_TEST(!q.matches(r));

  bdp::Query t;
  t.since = 100;  // inclusive
  BOOST_TEST(t.matches(r));
  t.since = 101;
  BOOST_TEST(!t.matches(r));
  t.since.reset();
  t.until = 100;  // exclusive
  BOOST_TEST(!t.matches(r));
  t.until = 101;
  BOOST_TEST(t.matches(r));

  bdp::Query m;
  m.metadata_equals = {{"region", json::value("eu")}, {"n", json::value(5)}};
  BOOST_TEST(m.matches(r));
  m.metadata_equals = {{"region", json::value("us")}};
  BOOST_TEST(!m.matches(r));
  m.metadata_equals = {{"missing", json::value(nullptr)}};
  BOOST_TEST(!m.matches(r));
}

BOOST_AUTO_TEST_CASE(query_orders_newest_first_by_time_then_version_then_id) {
  std::vector<bdp::RecordInfo> recs = {at("c", 200, 1), at("a", 100, 1), at("b", 200, 2),
                                       at("e", 300, 1), at("d", 200, 2)};
  bdp::Query q;
  q.order_and_limit(recs);
  BOOST_TEST((ids(recs) == std::vector<std::string>{"e", "b", "d", "c", "a"}));

  q.newest_first = false;
  q.order_and_limit(recs);
  BOOST_TEST((ids(recs) == std::vector<std::string>{"a", "c", "b", "d", "e"}));
}

BOOST_AUTO_TEST_CASE(query_limit_keeps_the_first_records_in_order) {
  std::vector<bdp::RecordInfo> recs;
  for (int i = 0; i < 50; ++i) recs.push_back(at("r" + std::to_string(i), (i * 37) % 50, 1));
  bdp::Query q;
  q.limit = 3;
  q.order_and_limit(recs);
  BOOST_REQUIRE(recs.size() == 3u);
  BOOST_TEST(recs[0].created_at == 49);
  BOOST_TEST(recs[1].created_at == 48);
  BOOST_TEST(recs[2].created_at == 47);

  std::vector<bdp::RecordInfo> few = {at("x", 1, 1)};
  q.limit = 10;
  q.order_and_limit(few);
  BOOST_TEST(few.size() == 1u);
  q.limit = 0;
  q.order_and_limit(few);
  BOOST_TEST(few.empty());
}

BOOST_AUTO_TEST_SUITE_END()
