// RecordInfo, StageInfo and ProcessInfo in JSON; Query filtering and order.
//
// JSON form: every field is written. On reading, the identifying fields of
// each struct are required and the rest default when absent (so files
// written by an older version still read); a field of the wrong type is an
// error; unknown fields are ignored (so newer files still read).
// Timestamps are integer microseconds since the epoch.
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/records.hpp>

#include "internal.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <limits>
#include <string>

namespace bdp {

namespace json = boost::json;

std::string_view to_string(StorageType type) noexcept {
  switch (type) {
    case StorageType::inline_data:
      return "inline";
    case StorageType::reference:
      return "reference";
  }
  return "unknown";
}

std::string_view to_string(ProcessStatus status) noexcept {
  switch (status) {
    case ProcessStatus::running:
      return "running";
    case ProcessStatus::completed:
      return "completed";
    case ProcessStatus::failed:
      return "failed";
    case ProcessStatus::interrupted:
      return "interrupted";
  }
  return "unknown";
}

std::string_view to_string(StageStatus status) noexcept {
  switch (status) {
    case StageStatus::pending:
      return "pending";
    case StageStatus::running:
      return "running";
    case StageStatus::completed:
      return "completed";
    case StageStatus::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

std::string_view kind_name(json::kind k) noexcept {
  switch (k) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "unknown";
}

// Reads the fields of one JSON object; errors read
// "<where>: field '<prefix><key>': <problem>".
class Reader {
 public:
  Reader(const json::value& value, std::string_view where, std::string prefix,
         std::string_view what)
      : where_(where), prefix_(std::move(prefix)) {
    if (!value.is_object()) {
      std::string message(where_);
      message += ": ";
      if (!prefix_.empty()) {
        message += "field '";
        message += prefix_.substr(0, prefix_.size() - 1);  // without the trailing '.'
        message += "': ";
      }
      message += "expected ";
      message += what;
      message += " as a JSON object, found ";
      message += kind_name(value.kind());
      throw Error(ErrorCode::corrupt, message);
    }
    object_ = &value.get_object();
  }

  [[noreturn]] void fail(std::string_view key, std::string_view problem) const {
    std::string message(where_);
    message += ": field '";
    message += prefix_;
    message += key;
    message += "': ";
    message += problem;
    throw Error(ErrorCode::corrupt, message);
  }

  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected,
                               const json::value& found) const {
    std::string problem = "expected ";
    problem += expected;
    problem += ", found ";
    problem += kind_name(found.kind());
    fail(key, problem);
  }

  // The field, or nullptr when absent and optional; throws when absent
  // and required.
  const json::value* get(std::string_view key, bool required) const {
    const json::value* v = object_->if_contains(key);
    if (v == nullptr && required) fail(key, "missing");
    return v;
  }

  void string(std::string_view key, std::string& out, bool required) const {
    if (const json::value* v = get(key, required)) {
      if (!v->is_string()) wrong_type(key, "a string", *v);
      out.assign(v->get_string().data(), v->get_string().size());
    }
  }

  void name(std::string_view key, std::string& out, bool required) const {
    string(key, out, required);
    if ((required || !out.empty()) && !is_valid_name(out)) {
      fail(key, "'" + detail::escape_for_message(out) + "' is not a valid name");
    }
  }

  void int64(std::string_view key, std::int64_t& out, bool required) const {
    if (const json::value* v = get(key, required)) {
      if (v->is_int64()) {
        out = v->get_int64();
      } else if (v->is_uint64()) {
        if (v->get_uint64() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          fail(key, "integer out of range");
        }
        out = static_cast<std::int64_t>(v->get_uint64());
      } else {
        wrong_type(key, "an integer", *v);
      }
    }
  }

  void number(std::string_view key, double& out, bool required) const {
    if (const json::value* v = get(key, required)) {
      if (v->is_double()) {
        out = v->get_double();
      } else if (v->is_int64()) {
        out = static_cast<double>(v->get_int64());
      } else if (v->is_uint64()) {
        out = static_cast<double>(v->get_uint64());
      } else {
        wrong_type(key, "a number", *v);
      }
    }
  }

  void object(std::string_view key, json::object& out, bool required) const {
    if (const json::value* v = get(key, required)) {
      if (!v->is_object()) wrong_type(key, "an object", *v);
      out = v->get_object();
    }
  }

  const json::array* array(std::string_view key, bool required) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) wrong_type(key, "an array", *v);
    return &v->get_array();
  }

  // A field holding one of `names` (indexed by enum value).
  template <class Enum, std::size_t N>
  void enumeration(std::string_view key, Enum& out, const std::string_view (&names)[N],
                   bool required) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return;
    if (!v->is_string()) wrong_type(key, "a string", *v);
    std::string_view s(v->get_string().data(), v->get_string().size());
    std::string allowed;
    for (std::size_t i = 0; i < N; ++i) {
      if (s == names[i]) {
        out = static_cast<Enum>(i);
        return;
      }
      allowed += i == 0 ? "" : ", ";
      allowed += names[i];
    }
    fail(key, "'" + detail::escape_for_message(s, 64) + "' is not one of " + allowed);
  }

  std::string_view where() const noexcept { return where_; }
  const std::string& prefix() const noexcept { return prefix_; }

 private:
  std::string_view where_;
  std::string prefix_;
  const json::object* object_ = nullptr;
};

constexpr std::string_view kStorageTypeNames[] = {"inline", "reference"};
constexpr std::string_view kPayloadKindNames[] = {"table", "json"};
constexpr std::string_view kProcessStatusNames[] = {"running", "completed", "failed",
                                                    "interrupted"};
constexpr std::string_view kStageStatusNames[] = {"pending", "running", "completed", "failed"};

json::string to_json_string(std::string_view s) {
  return json::string(s);
}

json::array schema_to_json(const Schema& schema) {
  json::array out;
  out.reserve(schema.size());
  for (const auto& f : schema) {
    out.push_back(json::object{{"name", to_json_string(f.name)}, {"type", to_string(f.type)}});
  }
  return out;
}

Schema schema_from_json(const Reader& r, std::string_view key) {
  Schema schema;
  const json::array* a = r.array(key, false);
  if (a == nullptr) return schema;
  schema.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    std::string item_prefix = r.prefix() + std::string(key) + "[" + std::to_string(i) + "].";
    Reader item((*a)[i], r.where(), item_prefix, "a column");
    Field f{std::string(), ColumnType::int64};
    item.string("name", f.name, true);
    std::string type;
    item.string("type", type, true);
    auto parsed = parse_column_type(type);
    if (!parsed) {
      item.fail("type", "'" + detail::escape_for_message(type, 64) +
                            "' is not a column type (int64, float64, string, bool, timestamp)");
    }
    f.type = *parsed;
    schema.push_back(std::move(f));
  }
  return schema;
}

std::vector<std::string> strings_from_json(const Reader& r, std::string_view key) {
  std::vector<std::string> out;
  const json::array* a = r.array(key, false);
  if (a == nullptr) return out;
  out.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::value& v = (*a)[i];
    if (!v.is_string()) {
      r.wrong_type(std::string(key) + "[" + std::to_string(i) + "]", "a string", v);
    }
    out.emplace_back(v.get_string().data(), v.get_string().size());
  }
  return out;
}

StageInfo stage_from_reader(const Reader& r) {
  StageInfo s;
  r.name("name", s.name, true);
  r.enumeration("status", s.status, kStageStatusNames, true);
  r.int64("started_at", s.started_at, false);
  r.int64("finished_at", s.finished_at, false);
  r.object("decisions", s.decisions, false);
  r.number("progress", s.progress, false);
  r.string("message", s.message, false);
  s.record_ids = strings_from_json(r, "record_ids");
  r.int64("rows", s.rows, false);
  r.int64("columns", s.columns, false);
  r.int64("bytes", s.bytes, false);
  r.number("store_ms", s.store_ms, false);
  r.number("run_ms", s.run_ms, false);
  r.string("backend", s.backend, false);
  r.string("location", s.location, false);
  return s;
}

}  // namespace

// ------------------------------------------------------------ RecordInfo

json::object RecordInfo::to_json() const {
  json::object out{
      {"id", to_json_string(id)},
      {"process_id", to_json_string(process_id)},
      {"stage_name", to_json_string(stage_name)},
      {"entity_name", to_json_string(entity_name)},
      {"version", version},
      {"storage_type", to_string(storage_type)},
      {"data_reference", to_json_string(data_reference)},
      {"metadata", metadata},
      {"created_at", created_at},
      {"size_bytes", size_bytes},
      {"checksum", to_json_string(checksum)},
      {"backend", to_json_string(backend)},
      {"kind", to_string(kind)},
      {"schema", schema_to_json(schema)},
      {"row_count", row_count},
  };
  if (!damage.empty()) out["damage"] = to_json_string(damage);
  return out;
}

RecordInfo RecordInfo::from_json(const json::value& value, std::string_view where) {
  Reader r(value, where, "", "a record");
  RecordInfo rec;
  r.string("id", rec.id, true);
  if (rec.id.empty()) r.fail("id", "empty");
  r.name("process_id", rec.process_id, true);
  r.name("stage_name", rec.stage_name, true);
  r.name("entity_name", rec.entity_name, true);
  r.int64("version", rec.version, true);
  r.enumeration("storage_type", rec.storage_type, kStorageTypeNames, true);
  r.string("data_reference", rec.data_reference, false);
  r.object("metadata", rec.metadata, false);
  r.int64("created_at", rec.created_at, true);
  r.int64("size_bytes", rec.size_bytes, false);
  r.string("checksum", rec.checksum, false);
  r.string("backend", rec.backend, false);
  r.enumeration("kind", rec.kind, kPayloadKindNames, true);
  rec.schema = schema_from_json(r, "schema");
  r.int64("row_count", rec.row_count, false);
  r.string("damage", rec.damage, false);
  return rec;
}

// ------------------------------------------------------------- StageInfo

json::object StageInfo::to_json() const {
  json::array ids;
  ids.reserve(record_ids.size());
  for (const auto& id : record_ids) ids.push_back(to_json_string(id));
  return json::object{
      {"name", to_json_string(name)},
      {"status", to_string(status)},
      {"started_at", started_at},
      {"finished_at", finished_at},
      {"decisions", decisions},
      {"progress", progress},
      {"message", to_json_string(message)},
      {"record_ids", std::move(ids)},
      {"rows", rows},
      {"columns", columns},
      {"bytes", bytes},
      {"store_ms", store_ms},
      {"run_ms", run_ms},
      {"backend", to_json_string(backend)},
      {"location", to_json_string(location)},
  };
}

StageInfo StageInfo::from_json(const json::value& value, std::string_view where) {
  return stage_from_reader(Reader(value, where, "", "a stage"));
}

// ----------------------------------------------------------- ProcessInfo

json::object ProcessInfo::to_json() const {
  json::array stage_array;
  stage_array.reserve(stages.size());
  for (const auto& s : stages) stage_array.push_back(s.to_json());
  json::object out{
      {"id", to_json_string(id)},
      {"name", to_json_string(name)},
      {"description", to_json_string(description)},
      {"status", to_string(status)},
      {"started_at", started_at},
      {"finished_at", finished_at},
      {"config", config},
      {"decisions", decisions},
      {"stages", std::move(stage_array)},
  };
  if (!host.empty() || pid != 0 || heartbeat_at != 0) {
    out["runner"] = json::object{{"host", to_json_string(host)},
                                 {"pid", pid},
                                 {"pid_start", to_json_string(pid_start)},
                                 {"heartbeat_at", heartbeat_at}};
  }
  if (!damage.empty()) out["damage"] = to_json_string(damage);
  return out;
}

ProcessInfo ProcessInfo::from_json(const json::value& value, std::string_view where) {
  Reader r(value, where, "", "a process");
  ProcessInfo p;
  r.name("id", p.id, true);
  r.string("name", p.name, false);
  r.string("description", p.description, false);
  r.enumeration("status", p.status, kProcessStatusNames, true);
  r.int64("started_at", p.started_at, true);
  r.int64("finished_at", p.finished_at, false);
  r.object("config", p.config, false);
  r.object("decisions", p.decisions, false);
  if (const json::array* a = r.array("stages", false)) {
    p.stages.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      Reader item((*a)[i], where, "stages[" + std::to_string(i) + "].", "a stage");
      p.stages.push_back(stage_from_reader(item));
    }
  }
  if (const json::value* v = r.get("runner", false)) {
    Reader runner(*v, where, "runner.", "a runner");
    runner.string("host", p.host, false);
    runner.int64("pid", p.pid, false);
    runner.string("pid_start", p.pid_start, false);
    runner.int64("heartbeat_at", p.heartbeat_at, false);
  }
  r.string("damage", p.damage, false);
  return p;
}

// ----------------------------------------------------------------- Query

bool Query::matches(const RecordInfo& record) const {
  if (process_id && record.process_id != *process_id) return false;
  if (stage_name && record.stage_name != *stage_name) return false;
  if (entity_name && record.entity_name != *entity_name) return false;
  if (since && record.created_at < *since) return false;
  if (until && record.created_at >= *until) return false;
  for (const auto& [key, expected] : metadata_equals) {
    const json::value* actual = record.metadata.if_contains(key);
    if (actual == nullptr || *actual != expected) return false;
  }
  return true;
}

void Query::order_and_limit(std::vector<RecordInfo>& records) const {
  // Oldest first is (created_at, version) ascending; newest first is the
  // same descending. Ties go by id, ascending in both orders.
  auto before = [newest = newest_first](const RecordInfo& a, const RecordInfo& b) {
    if (a.created_at != b.created_at) {
      return newest ? a.created_at > b.created_at : a.created_at < b.created_at;
    }
    if (a.version != b.version) return newest ? a.version > b.version : a.version < b.version;
    return a.id < b.id;
  };
  if (limit && *limit < records.size()) {
    std::partial_sort(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(*limit),
                      records.end(), before);
    records.erase(records.begin() + static_cast<std::ptrdiff_t>(*limit), records.end());
  } else {
    std::sort(records.begin(), records.end(), before);
  }
}

void UsageTally::add(const RecordInfo& record) {
  auto& u = usage_[{record.process_id, record.stage_name}];
  if (u.records == 0) {
    u.process_id = record.process_id;
    u.stage_name = record.stage_name;
  }
  ++u.records;
  u.bytes += record.size_bytes;
}

BackendStats UsageTally::finish() const {
  BackendStats stats;
  for (const auto& [key, u] : usage_) {
    stats.records += u.records;
    stats.bytes += u.bytes;
    stats.by_stage.push_back(u);
  }
  return stats;
}

}  // namespace bdp
