// The backend conformance checks. Each check builds its own data, drives
// the backend only through the Backend interface and throws Failure naming
// what did not hold. No test framework is used, so plugin authors can run
// the checks from any of them.
#include <bdp/conformance/conformance.hpp>

#include <bdp/sdk/error.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

namespace bdp::conformance {

namespace {

namespace json = boost::json;

[[noreturn]] void fail(const std::string& message) {
  throw Failure(message);
}

void expect(bool condition, const std::string& message) {
  if (!condition) fail(message);
}

std::string key_of(const RecordInfo& r) {
  return r.process_id + "/" + r.stage_name + "/" + r.entity_name + " v" + std::to_string(r.version);
}

// Runs `body`, which must throw bdp::Error with `code`.
template <class Body>
void expect_error(ErrorCode code, const std::string& what, Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.code() != code) {
      fail(what + ": expected bdp::Error(" + std::string(to_string(code)) + "), got bdp::Error(" +
           std::string(to_string(e.code())) + "): " + e.what());
    }
    return;
  }
  fail(what + ": expected bdp::Error(" + std::string(to_string(code)) + "), nothing was thrown");
}

std::string cell_text(const Column& c, std::size_t row) {
  if (c.is_null(row)) return "null";
  std::ostringstream out;
  switch (c.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      out << c.int64_at(row);
      break;
    case ColumnType::float64:
      out.precision(17);
      out << c.float64_at(row);
      break;
    case ColumnType::boolean:
      out << (c.bool_at(row) ? "true" : "false");
      break;
    case ColumnType::string:
      out << '\'' << c.string_at(row) << '\'';
      break;
  }
  return out.str();
}

// The first difference between two tables, for a failure message.
std::string describe_difference(const Table& expected, const Table& actual) {
  std::ostringstream out;
  if (expected.num_columns() != actual.num_columns()) {
    out << "expected " << expected.num_columns() << " columns, got " << actual.num_columns();
    return out.str();
  }
  if (expected.num_rows() != actual.num_rows()) {
    out << "expected " << expected.num_rows() << " rows, got " << actual.num_rows();
    return out.str();
  }
  for (std::size_t c = 0; c < expected.num_columns(); ++c) {
    const Column& e = expected.column(c);
    const Column& a = actual.column(c);
    if (e.name() != a.name() || e.type() != a.type()) {
      out << "column " << c << ": expected '" << e.name() << "' " << to_string(e.type())
          << ", got '" << a.name() << "' " << to_string(a.type());
      return out.str();
    }
    if (e.equals(a)) continue;
    for (std::size_t r = 0; r < e.size(); ++r) {
      const std::string et = cell_text(e, r);
      const std::string at = cell_text(a, r);
      if (et != at || e.is_null(r) != a.is_null(r)) {
        out << "column '" << e.name() << "' row " << r << ": expected " << et << ", got " << at;
        return out.str();
      }
    }
    out << "column '" << e.name() << "' differs (bitwise)";
    return out.str();
  }
  return "tables differ";
}

void expect_table(const Payload& got, const Table& expected, const std::string& what) {
  expect(got.is_table(), what + ": expected a table payload, got JSON");
  const Table& actual = *got.table();
  if (!actual.equals(expected)) {
    fail(what + ": the retrieved table differs: " + describe_difference(expected, actual));
  }
}

void expect_json(const Payload& got, const json::value& expected, const std::string& what) {
  expect(got.is_json(), what + ": expected a JSON payload, got a table");
  if (got.json() != expected) {
    fail(what + ": the retrieved JSON differs: expected " + json::serialize(expected) + ", got " +
         json::serialize(got.json()));
  }
}

// The fields a backend assigns or keeps must agree between the record that
// store() returned and the one list() returns.
void expect_same_record(const RecordInfo& expected, const RecordInfo& actual,
                        const std::string& what) {
  const std::string prefix = what + " (" + key_of(expected) + "): ";
  expect(actual.id == expected.id,
         prefix + "id '" + actual.id + "', expected '" + expected.id + "'");
  expect(actual.process_id == expected.process_id && actual.stage_name == expected.stage_name &&
             actual.entity_name == expected.entity_name && actual.version == expected.version,
         prefix + "listed as " + key_of(actual));
  expect(actual.created_at == expected.created_at,
         prefix + "created_at " + std::to_string(actual.created_at) + ", expected " +
             std::to_string(expected.created_at));
  expect(actual.metadata == expected.metadata,
         prefix + "metadata " + json::serialize(actual.metadata) + ", expected " +
             json::serialize(expected.metadata));
  expect(actual.kind == expected.kind, prefix + "payload kind differs");
  expect(actual.schema == expected.schema, prefix + "schema differs");
  expect(actual.row_count == expected.row_count,
         prefix + "row_count " + std::to_string(actual.row_count) + ", expected " +
             std::to_string(expected.row_count));
  expect(actual.size_bytes == expected.size_bytes,
         prefix + "size_bytes " + std::to_string(actual.size_bytes) + ", expected " +
             std::to_string(expected.size_bytes));
  expect(actual.checksum == expected.checksum,
         prefix + "checksum '" + actual.checksum + "', expected '" + expected.checksum + "'");
}

RecordInfo store(Backend& backend, std::string_view process, std::string_view stage,
                 std::string_view entity, const Payload& payload,
                 const json::object& metadata = {}) {
  return backend.store(StoreRequest{process, stage, entity, metadata}, payload);
}

// ------------------------------------------------------------- tables

// Every column type, nulls in each, and the cells that break naive codecs.
TablePtr tricky_table() {
  TableBuilder b({{"i", ColumnType::int64},
                  {"f", ColumnType::float64},
                  {"s", ColumnType::string},
                  {"b", ColumnType::boolean},
                  {"t", ColumnType::timestamp},
                  {"all_null", ColumnType::float64},
                  {"name with, comma \"and\" quote", ColumnType::string}});
  const std::vector<std::string> strings = {
      "",           "plain",       "a,b",        "say \"hi\"",
      "two\nlines", "crlf\r\nend", " pad ",      "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80",
      "null",       "NULL",        "\"\"",       "=1+2",
      "trailing\r", ",",           "\"",         "123",
      "1e5",        "true",        "2024-01-01", "\t tab",
      "#comment",   "nan"};
  const std::vector<double> floats = {0.1,
                                      -0.0,
                                      0.0,
                                      1.0 / 3.0,
                                      1e308,
                                      5e-324,
                                      -2.2250738585072014e-308,
                                      123456789012345678.0,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN(),
                                      1e21,
                                      1e-7,
                                      -1.5,
                                      42.0,
                                      9007199254740993.0};
  const std::vector<std::int64_t> ints = {0,
                                          -1,
                                          1,
                                          std::numeric_limits<std::int64_t>::max(),
                                          std::numeric_limits<std::int64_t>::min(),
                                          1234567890123,
                                          -9};
  const std::vector<std::int64_t> times = {0,
                                           1,
                                           -1,
                                           1'700'000'000'123'456,
                                           -86'400'000'000,
                                           253'402'300'799'999'999,  // 9999-12-31T23:59:59.999999
                                           -62'135'596'800'000'000,  // 0001-01-01
                                           1'709'294'400'000'000};
  const std::size_t rows = strings.size() + 3;
  for (std::size_t r = 0; r < rows; ++r) {
    const bool null_row = r % 7 == 6;
    auto& i = b.column(0);
    auto& f = b.column(1);
    auto& s = b.column(2);
    auto& bo = b.column(3);
    auto& t = b.column(4);
    if (null_row) {
      i.append_null();
      f.append_null();
      s.append_null();
      bo.append_null();
      t.append_null();
    } else {
      i.append_int64(ints[r % ints.size()]);
      f.append_float64(floats[r % floats.size()]);
      s.append_string(r < strings.size() ? strings[r] : std::string("x"));
      bo.append_bool(r % 2 == 0);
      t.append_timestamp(times[r % times.size()]);
    }
    b.column(5).append_null();
    b.column(6).append_string(r % 3 == 0 ? std::string() : strings[(r * 5) % strings.size()]);
  }
  return b.finish();
}

TablePtr small_table(std::int64_t seed, std::size_t rows = 3) {
  TableBuilder b({{"id", ColumnType::int64}, {"label", ColumnType::string}});
  for (std::size_t r = 0; r < rows; ++r) {
    b.column(0).append_int64(seed * 1000 + static_cast<std::int64_t>(r));
    b.column(1).append_string("row " + std::to_string(r) + " of " + std::to_string(seed));
  }
  return b.finish();
}

TablePtr zero_row_table() {
  TableBuilder b({{"a", ColumnType::int64},
                  {"b", ColumnType::string},
                  {"c", ColumnType::timestamp},
                  {"d", ColumnType::boolean},
                  {"e", ColumnType::float64}});
  return b.finish();
}

json::value tricky_json() {
  return json::value{
      {"decision", "keep"},
      {"threshold", 2.5},
      {"count", 42},
      {"negative", -7},
      {"big", 9007199254740993LL},
      {"flag", true},
      {"nothing", nullptr},
      {"text", "comma, quote \" newline \n caf\xC3\xA9"},
      {"list", json::array{1, "two", 3.25, json::array{}, json::object{}}},
      {"nested", json::object{{"a", json::object{{"b", json::array{false, nullptr}}}}}},
  };
}

// ------------------------------------------------------------- checks

void store_then_retrieve_round_trips_every_type(const Factory& factory) {
  auto backend = factory();
  const TablePtr table = tricky_table();
  RecordInfo r = store(*backend, "proc-1", "load", "default", Payload(table));
  expect(!r.id.empty(), "store() returned a record without an id");
  expect(r.process_id == "proc-1" && r.stage_name == "load" && r.entity_name == "default",
         "store() returned the record under " + key_of(r));
  expect(r.version == 1, "the first version of a key is " + std::to_string(r.version) + ", not 1");
  expect(r.kind == PayloadKind::table, "store() of a table returned kind json");
  expect(r.schema == table->schema(), "store() returned a schema that differs from the table's");
  expect(r.row_count == static_cast<std::int64_t>(table->num_rows()),
         "store() returned row_count " + std::to_string(r.row_count) + ", expected " +
             std::to_string(table->num_rows()));
  expect(r.created_at > 0, "store() returned created_at " + std::to_string(r.created_at));
  expect(r.size_bytes > 0, "store() returned size_bytes " + std::to_string(r.size_bytes));
  expect_table(backend->retrieve(r), *table, "retrieve of " + key_of(r));

  const TablePtr empty = zero_row_table();
  RecordInfo e = store(*backend, "proc-1", "load", "empty", Payload(empty));
  expect(e.row_count == 0,
         "a zero-row table was stored with row_count " + std::to_string(e.row_count));
  expect_table(backend->retrieve(e), *empty, "retrieve of the zero-row table " + key_of(e));

  // Retrieving through the listed record works as well as through the
  // returned one.
  Query q;
  q.entity_name = "default";
  auto listed = backend->list(q);
  expect(listed.size() == 1,
         "list() by entity found " + std::to_string(listed.size()) + " records, expected 1");
  expect_same_record(r, listed[0], "list()");
  expect_table(backend->retrieve(listed[0]), *table, "retrieve of the listed " + key_of(r));
}

void store_then_retrieve_round_trips_json(const Factory& factory) {
  auto backend = factory();
  const json::value doc = tricky_json();
  RecordInfo r = store(*backend, "proc-1", "decide", "decisions", Payload(doc));
  expect(r.kind == PayloadKind::json, "store() of JSON returned kind table");
  expect(r.schema.empty() && r.row_count == 0, "store() of JSON returned a schema or a row count");
  expect_json(backend->retrieve(r), doc, "retrieve of " + key_of(r));

  const json::value list = json::array{1, 2, "three", nullptr};
  RecordInfo l = store(*backend, "proc-1", "decide", "list", Payload(list));
  expect_json(backend->retrieve(l), list, "retrieve of " + key_of(l));
  const json::value scalar = "just a string";
  RecordInfo s = store(*backend, "proc-1", "decide", "scalar", Payload(scalar));
  expect_json(backend->retrieve(s), scalar, "retrieve of " + key_of(s));
}

void versions_count_up_per_key_independently(const Factory& factory) {
  auto backend = factory();
  std::vector<RecordInfo> a;
  for (std::int64_t n = 1; n <= 3; ++n) {
    a.push_back(store(*backend, "p", "s", "e", Payload(small_table(n))));
    expect(a.back().version == n, "store " + std::to_string(n) + " of p/s/e got version " +
                                      std::to_string(a.back().version));
  }
  const std::pair<const char*, std::array<const char*, 3>> others[] = {
      {"another entity", {"p", "s", "e2"}},
      {"another stage", {"p", "s2", "e"}},
      {"another process", {"p2", "s", "e"}},
  };
  for (const auto& [what, key] : others) {
    RecordInfo r = store(*backend, key[0], key[1], key[2], Payload(small_table(9)));
    expect(r.version == 1, std::string(what) + " (" + key_of(r) + ") did not start at version 1");
  }
  std::set<std::string> ids;
  for (const auto& r : a) ids.insert(r.id);
  expect(ids.size() == a.size(), "versions of one key share an id");
  for (std::size_t i = 0; i < a.size(); ++i) {
    expect_table(backend->retrieve(a[i]), *small_table(static_cast<std::int64_t>(i) + 1),
                 "retrieve of " + key_of(a[i]));
  }
}

void metadata_round_trips(const Factory& factory) {
  auto backend = factory();
  const json::object metadata{
      {"decisions", json::object{{"threshold", 2.5}, {"keep", true}}},
      {"run", "nightly"},
      {"attempt", 3},
      {"tags", json::array{"a", "b,c", "d\"e"}},
      {"none", nullptr},
      {"unicode", "\xE2\x9C\x93"},
  };
  RecordInfo r = store(*backend, "p", "s", "e", Payload(small_table(1)), metadata);
  expect(r.metadata == metadata, "store() returned metadata " + json::serialize(r.metadata) +
                                     ", expected " + json::serialize(metadata));
  auto listed = backend->list(Query{});
  expect(listed.size() == 1,
         "list() found " + std::to_string(listed.size()) + " records, expected 1");
  expect(listed[0].metadata == metadata, "list() returned metadata " +
                                             json::serialize(listed[0].metadata) + ", expected " +
                                             json::serialize(metadata));
  RecordInfo plain = store(*backend, "p", "s", "no-metadata", Payload(small_table(2)));
  expect(plain.metadata.empty(),
         "a record stored without metadata has metadata " + json::serialize(plain.metadata));
}

std::string ids_of(const std::vector<RecordInfo>& records) {
  std::string out = "[";
  for (const auto& r : records) out += (out.size() > 1 ? ", " : "") + key_of(r);
  return out + "]";
}

// list(query) must equal `expected` filtered and ordered by the query.
void expect_listing(Backend& backend, const Query& query, std::vector<RecordInfo> all,
                    const std::string& what) {
  std::vector<RecordInfo> expected;
  for (auto& r : all) {
    if (query.matches(r)) expected.push_back(r);
  }
  query.order_and_limit(expected);
  auto actual = backend.list(query);
  if (actual.size() != expected.size()) {
    fail("list() " + what + " returned " + ids_of(actual) + ", expected " + ids_of(expected));
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i].id != expected[i].id) {
      fail("list() " + what + " returned " + ids_of(actual) + ", expected " + ids_of(expected));
    }
    expect_same_record(expected[i], actual[i], "list() " + what);
  }
}

// Eight records over two processes, two stages, two entities, with
// distinct creation times and metadata.
std::vector<RecordInfo> store_listing_fixture(Backend& backend) {
  std::vector<RecordInfo> all;
  int n = 0;
  for (const char* process : {"p1", "p2"}) {
    for (const char* stage : {"load", "clean"}) {
      for (const char* entity : {"default", "rejects"}) {
        json::object metadata{{"parity", n % 2 == 0 ? "even" : "odd"}, {"n", n}};
        if (n % 3 == 0) metadata["third"] = true;
        all.push_back(store(backend, process, stage, entity, Payload(small_table(n)), metadata));
        ++n;
        // Distinct created_at values (microseconds) make the order exact.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  }
  return all;
}

void list_filters_by_process_stage_and_entity(const Factory& factory) {
  auto backend = factory();
  auto all = store_listing_fixture(*backend);
  expect_listing(*backend, Query{}, all, "with no filter");
  Query q;
  q.process_id = "p2";
  expect_listing(*backend, q, all, "by process p2");
  q = Query{};
  q.stage_name = "clean";
  expect_listing(*backend, q, all, "by stage clean");
  q = Query{};
  q.entity_name = "rejects";
  expect_listing(*backend, q, all, "by entity rejects");
  q = Query{};
  q.process_id = "p1";
  q.stage_name = "load";
  q.entity_name = "default";
  expect_listing(*backend, q, all, "by p1/load/default");
  q = Query{};
  q.process_id = "no-such-process";
  expect_listing(*backend, q, all, "by an unknown process");
}

void list_filters_by_time_range(const Factory& factory) {
  auto backend = factory();
  auto all = store_listing_fixture(*backend);
  Query q;
  q.since = all[3].created_at;
  expect_listing(*backend, q, all, "since the 4th record's created_at");
  q = Query{};
  q.until = all[5].created_at;
  expect_listing(*backend, q, all, "until the 6th record's created_at");
  q = Query{};
  q.since = all[2].created_at;
  q.until = all[6].created_at;
  expect_listing(*backend, q, all, "between the 3rd and the 7th record");
  q = Query{};
  q.since = all.back().created_at + 1;
  expect_listing(*backend, q, all, "since after the last record");
}

void list_filters_by_metadata(const Factory& factory) {
  auto backend = factory();
  auto all = store_listing_fixture(*backend);
  Query q;
  q.metadata_equals.emplace_back("parity", "odd");
  expect_listing(*backend, q, all, "by metadata parity=odd");
  q.metadata_equals.emplace_back("third", true);
  expect_listing(*backend, q, all, "by metadata parity=odd and third=true");
  q = Query{};
  q.metadata_equals.emplace_back("n", 5);
  expect_listing(*backend, q, all, "by metadata n=5");
  q = Query{};
  q.metadata_equals.emplace_back("parity", 1);
  expect_listing(*backend, q, all, "by metadata parity=1 (a type that never matches)");
  q = Query{};
  q.metadata_equals.emplace_back("absent", "x");
  expect_listing(*backend, q, all, "by a metadata key no record has");
}

void list_orders_and_limits(const Factory& factory) {
  auto backend = factory();
  auto all = store_listing_fixture(*backend);
  Query q;
  q.newest_first = true;
  expect_listing(*backend, q, all, "newest first");
  auto newest = backend->list(q);
  expect(!newest.empty() && newest.front().id == all.back().id,
         "list() newest first does not start with the last record stored");
  q.newest_first = false;
  expect_listing(*backend, q, all, "oldest first");
  q.limit = 3;
  expect_listing(*backend, q, all, "oldest first, limit 3");
  q.newest_first = true;
  expect_listing(*backend, q, all, "newest first, limit 3");
  q.limit = 0;
  expect_listing(*backend, q, all, "limit 0");
  q = Query{};
  q.stage_name = "load";
  q.limit = 2;
  expect_listing(*backend, q, all, "by stage load, newest first, limit 2");
  // Versions of one key order by version when listed.
  for (int i = 0; i < 3; ++i) {
    all.push_back(store(*backend, "p3", "s", "e", Payload(small_table(i))));
  }
  q = Query{};
  q.process_id = "p3";
  expect_listing(*backend, q, all, "three versions of one key, newest first");
  q.newest_first = false;
  expect_listing(*backend, q, all, "three versions of one key, oldest first");
}

void remove_makes_a_record_not_found(const Factory& factory) {
  auto backend = factory();
  RecordInfo v1 = store(*backend, "p", "s", "e", Payload(small_table(1)));
  RecordInfo v2 = store(*backend, "p", "s", "e", Payload(small_table(2)));
  RecordInfo j = store(*backend, "p", "s", "j", Payload(tricky_json()));
  backend->remove(v1);
  expect_error(ErrorCode::not_found, "retrieve of the removed " + key_of(v1),
               [&] { (void)backend->retrieve(v1); });
  auto listed = backend->list(Query{});
  expect(std::none_of(listed.begin(), listed.end(),
                      [&](const RecordInfo& r) { return r.id == v1.id; }),
         "list() still returns the removed " + key_of(v1));
  expect(listed.size() == 2, "after one remove, list() returns " + ids_of(listed));
  backend->remove(v1);  // removing twice is fine
  expect_table(backend->retrieve(v2), *small_table(2),
               "retrieve of " + key_of(v2) + " after removing v1");
  backend->remove(j);
  expect_error(ErrorCode::not_found, "retrieve of the removed JSON record " + key_of(j),
               [&] { (void)backend->retrieve(j); });
  backend->remove(v2);
  expect(backend->list(Query{}).empty(), "list() is not empty after removing every record");
  BackendStats stats = backend->stats();
  expect(stats.records == 0 && stats.bytes == 0,
         "stats() after removing every record: " + std::to_string(stats.records) + " records, " +
             std::to_string(stats.bytes) + " bytes");
}

void retrieve_of_a_record_never_stored_is_not_found(const Factory& factory) {
  auto backend = factory();
  RecordInfo stored = store(*backend, "p", "s", "e", Payload(small_table(1)));
  RecordInfo ghost;
  ghost.id = "never-stored-42";
  ghost.process_id = "ghost";
  ghost.stage_name = "s";
  ghost.entity_name = "e";
  ghost.version = 7;
  ghost.created_at = stored.created_at;
  expect_error(ErrorCode::not_found, "retrieve of a record that was never stored",
               [&] { (void)backend->retrieve(ghost); });
  RecordInfo later = stored;
  later.id = "never-stored-43";
  later.version = 2;
  expect_error(ErrorCode::not_found, "retrieve of version 2 of a key that has only version 1",
               [&] { (void)backend->retrieve(later); });
  backend->remove(ghost);  // removing what is not there is fine
  expect(backend->list(Query{}).size() == 1, "removing a record never stored removed another");
}

ProcessInfo make_process(const std::string& id, std::int64_t started_at) {
  ProcessInfo p;
  p.id = id;
  p.name = "run " + id;
  p.description = "a process, with a comma";
  p.status = ProcessStatus::running;
  p.started_at = started_at;
  p.config = json::object{{"project", "demo"}, {"stages", json::array{"load", "clean"}}};
  p.decisions = json::object{{"threshold", 2}};
  StageInfo s;
  s.name = "load";
  s.status = StageStatus::completed;
  s.started_at = started_at;
  s.finished_at = started_at + 10;
  s.rows = 3;
  s.record_ids = {"r1", "r2"};
  s.message = "done";
  p.stages.push_back(s);
  return p;
}

std::string process_ids(const std::vector<ProcessInfo>& ps) {
  std::string out = "[";
  for (const auto& p : ps) out += (out.size() > 1 ? ", " : "") + p.id;
  return out + "]";
}

void process_records_save_replace_list_and_remove(const Factory& factory) {
  auto backend = factory();
  expect(backend->list_processes().empty(), "a new backend lists processes");
  backend->save_process(make_process("older", 1'700'000'000'000'000));
  backend->save_process(make_process("newest", 1'700'000'200'000'000));
  backend->save_process(make_process("middle", 1'700'000'100'000'000));
  auto ps = backend->list_processes();
  expect(ps.size() == 3 && ps[0].id == "newest" && ps[1].id == "middle" && ps[2].id == "older",
         "list_processes() returned " + process_ids(ps) + ", expected [newest, middle, older]");
  const ProcessInfo expected = make_process("middle", 1'700'000'100'000'000);
  expect(ps[1].to_json() == expected.to_json(),
         "list_processes() returned process 'middle' as " + json::serialize(ps[1].to_json()));

  ProcessInfo replaced = expected;
  replaced.status = ProcessStatus::completed;
  replaced.finished_at = replaced.started_at + 99;
  replaced.stages[0].message = "replaced";
  backend->save_process(replaced);
  ps = backend->list_processes();
  expect(ps.size() == 3, "saving a process again added a record: " + process_ids(ps));
  expect(ps[1].to_json() == replaced.to_json(),
         "the replaced process 'middle' reads back as " + json::serialize(ps[1].to_json()));

  backend->remove_process("newest");
  backend->remove_process("newest");  // twice is fine
  backend->remove_process("never-saved");
  ps = backend->list_processes();
  expect(ps.size() == 2 && ps[0].id == "middle" && ps[1].id == "older",
         "after remove_process, list_processes() returned " + process_ids(ps));
}

void stats_count_records_and_bytes_per_stage(const Factory& factory) {
  auto backend = factory();
  std::vector<RecordInfo> all;
  all.push_back(store(*backend, "p1", "s1", "a", Payload(small_table(1, 10))));
  all.push_back(store(*backend, "p1", "s1", "b", Payload(small_table(2, 20))));
  all.push_back(store(*backend, "p1", "s1", "a", Payload(small_table(3, 5))));
  all.push_back(store(*backend, "p1", "s2", "a", Payload(tricky_json())));
  all.push_back(store(*backend, "p2", "s1", "a", Payload(tricky_table())));
  std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::int64_t>> want;
  std::int64_t bytes = 0;
  for (const auto& r : all) {
    auto& w = want[{r.process_id, r.stage_name}];
    ++w.first;
    w.second += r.size_bytes;
    bytes += r.size_bytes;
  }
  BackendStats stats = backend->stats();
  expect(stats.records == 5,
         "stats().records is " + std::to_string(stats.records) + ", expected 5");
  expect(stats.bytes == bytes, "stats().bytes is " + std::to_string(stats.bytes) +
                                   ", expected the records' size_bytes sum " +
                                   std::to_string(bytes));
  expect(stats.by_stage.size() == want.size(),
         "stats().by_stage has " + std::to_string(stats.by_stage.size()) + " entries, expected " +
             std::to_string(want.size()));
  for (const auto& u : stats.by_stage) {
    auto it = want.find({u.process_id, u.stage_name});
    expect(it != want.end(), "stats().by_stage names " + u.process_id + "/" + u.stage_name +
                                 ", which holds no record");
    expect(u.records == it->second.first && u.bytes == it->second.second,
           "stats() for " + u.process_id + "/" + u.stage_name + ": " + std::to_string(u.records) +
               " records, " + std::to_string(u.bytes) + " bytes; expected " +
               std::to_string(it->second.first) + " records, " + std::to_string(it->second.second) +
               " bytes");
  }
}

void concurrent_stores_get_unique_versions(const Factory& factory) {
  auto backend = factory();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 12;
  std::mutex mutex;
  std::vector<RecordInfo> stored;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kPerThread; ++i) {
          // Half on one shared key, half on a key of the thread's own.
          const std::string entity = i % 2 == 0 ? "shared" : "own" + std::to_string(t);
          RecordInfo r = store(*backend, "p", "s", entity, Payload(small_table(t * 100 + i)));
          std::lock_guard lock(mutex);
          stored.push_back(std::move(r));
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        errors.emplace_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  expect(errors.empty(), "a concurrent store failed: " + (errors.empty() ? "" : errors[0]));
  std::map<std::string, std::set<std::int64_t>> versions;
  std::set<std::string> ids;
  for (const auto& r : stored) {
    expect(versions[r.entity_name].insert(r.version).second,
           "two concurrent stores got the same version: " + key_of(r));
    expect(ids.insert(r.id).second, "two concurrent stores got the same id " + r.id);
  }
  for (const auto& [entity, vs] : versions) {
    expect(*vs.begin() == 1 && *vs.rbegin() == static_cast<std::int64_t>(vs.size()),
           "versions of p/s/" + entity + " are not 1.." + std::to_string(vs.size()));
  }
  auto listed = backend->list(Query{});
  expect(listed.size() == stored.size(), "list() after concurrent stores returned " +
                                             std::to_string(listed.size()) + " records, expected " +
                                             std::to_string(stored.size()));
  for (const auto& r : stored) {
    Payload p = backend->retrieve(r);
    expect(p.is_table() && p.table()->num_rows() == 3,
           "retrieve of concurrently stored " + key_of(r) + " returned the wrong payload");
  }
}

void stored_data_survives_reopening(const Factory& factory) {
  std::vector<RecordInfo> all;
  const TablePtr table = tricky_table();
  const json::value doc = tricky_json();
  {
    auto backend = factory();
    all.push_back(
        store(*backend, "p", "load", "default", Payload(table), json::object{{"k", "v"}}));
    all.push_back(store(*backend, "p", "decide", "decisions", Payload(doc)));
    all.push_back(store(*backend, "p", "load", "default", Payload(small_table(2))));
    backend->save_process(make_process("p", 1'700'000'000'000'000));
    backend->remove(all.back());
    all.pop_back();
  }
  auto reopened = factory();
  expect_listing(*reopened, Query{}, all, "after reopening");
  expect_table(reopened->retrieve(all[0]), *table, "retrieve after reopening of " + key_of(all[0]));
  expect_json(reopened->retrieve(all[1]), doc, "retrieve after reopening of " + key_of(all[1]));
  auto ps = reopened->list_processes();
  expect(ps.size() == 1 && ps[0].to_json() == make_process("p", 1'700'000'000'000'000).to_json(),
         "after reopening, list_processes() returned " + process_ids(ps));
  BackendStats stats = reopened->stats();
  expect(stats.records == 2,
         "after reopening, stats().records is " + std::to_string(stats.records));
  // Version numbers continue past every version ever stored for a key that
  // still has records.
  RecordInfo next = store(*reopened, "p", "load", "default", Payload(small_table(3)));
  expect(next.version >= 2, "a store after reopening got version " + std::to_string(next.version) +
                                " for a key that already has version 1");
  expect(next.id != all[0].id, "a store after reopening reused id " + next.id);
}

}  // namespace

std::vector<Check> checks(const Options& options) {
  std::vector<Check> out = {
      {"store_then_retrieve_round_trips_every_type", store_then_retrieve_round_trips_every_type},
      {"store_then_retrieve_round_trips_json", store_then_retrieve_round_trips_json},
      {"versions_count_up_per_key_independently", versions_count_up_per_key_independently},
      {"metadata_round_trips", metadata_round_trips},
      {"list_filters_by_process_stage_and_entity", list_filters_by_process_stage_and_entity},
      {"list_filters_by_time_range", list_filters_by_time_range},
      {"list_filters_by_metadata", list_filters_by_metadata},
      {"list_orders_and_limits", list_orders_and_limits},
      {"remove_makes_a_record_not_found", remove_makes_a_record_not_found},
      {"retrieve_of_a_record_never_stored_is_not_found",
       retrieve_of_a_record_never_stored_is_not_found},
      {"process_records_save_replace_list_and_remove",
       process_records_save_replace_list_and_remove},
      {"stats_count_records_and_bytes_per_stage", stats_count_records_and_bytes_per_stage},
      {"concurrent_stores_get_unique_versions", concurrent_stores_get_unique_versions},
  };
  if (options.persistent) {
    out.push_back({"stored_data_survives_reopening", stored_data_survives_reopening});
  }
  return out;
}

}  // namespace bdp::conformance
