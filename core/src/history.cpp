#include <bdp/history.hpp>

#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace bdp {

namespace json = boost::json;

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string selector_text(const RecordSelector& s) {
  std::string out = s.process + "/" + s.stage;
  if (s.entity) out += "/" + *s.entity;
  if (s.version) out += "@v" + std::to_string(*s.version);
  return out;
}

// " (closest: a, b)" or " (stored: a, b, c)": the names nearest `wanted`.
std::string suggestions(std::string_view label, std::string_view wanted,
                        const std::vector<std::string>& names) {
  if (names.empty()) return {};
  return " (" + std::string(label) + ": " + joined(closest_names(wanted, names, 5)) + ")";
}

}  // namespace

namespace {
double mb_per_s(std::int64_t bytes, double ms) {
  return ms > 0.0 ? static_cast<double>(bytes) / 1e6 / (ms / 1e3) : 0.0;
}
}  // namespace

double HistoryStats::Throughput::mb_per_s() const {
  return bdp::mb_per_s(bytes, store_ms);
}

double HistoryStats::Throughput::read_mb_per_s() const {
  return bdp::mb_per_s(read_bytes, read_ms);
}

json::object HistoryStats::to_json() const {
  json::object out;
  out["records"] = records;
  out["bytes"] = bytes;
  out["processes"] = processes;
  json::array b;
  for (const auto& x : backends) {
    b.push_back(json::object{{"name", x.name}, {"records", x.records}, {"bytes", x.bytes}});
  }
  out["backends"] = std::move(b);
  json::array p;
  for (const auto& x : by_process) {
    json::object o{{"process", x.id}, {"name", x.name}, {"records", x.records}, {"bytes", x.bytes}};
    o["started_at"] = x.started_at ? json::value(format_timestamp(x.started_at)) : nullptr;
    p.push_back(std::move(o));
  }
  out["by_process"] = std::move(p);
  json::array s;
  for (const auto& x : by_stage) {
    s.push_back(json::object{{"process", x.process_id},
                             {"stage", x.stage_name},
                             {"backend", x.backend},
                             {"records", x.records},
                             {"bytes", x.bytes}});
  }
  out["by_stage"] = std::move(s);
  json::array t;
  for (const auto& x : throughput) {
    t.push_back(json::object{{"stage", x.stage_name},
                             {"runs", x.runs},
                             {"bytes", x.bytes},
                             {"store_ms", x.store_ms},
                             {"write_mb_per_s", x.mb_per_s()},
                             {"read_runs", x.read_runs},
                             {"read_bytes", x.read_bytes},
                             {"read_ms", x.read_ms},
                             {"read_mb_per_s", x.read_mb_per_s()}});
  }
  out["throughput"] = std::move(t);
  json::array d;
  for (const auto& x : damaged) {
    json::object o{{"backend", x.backend}, {"process", x.process_id}, {"name", x.name}};
    o["record"] = x.record_id.empty() ? json::value(nullptr) : json::value(x.record_id);
    o["damage"] = x.damage;
    d.push_back(std::move(o));
  }
  out["damaged"] = std::move(d);
  return out;
}

std::vector<ProcessInfo> History::processes(std::string_view name,
                                            std::optional<std::size_t> limit) {
  std::vector<ProcessInfo> out = container_.list_processes();
  if (!name.empty()) std::erase_if(out, [&](const ProcessInfo& p) { return p.name != name; });
  if (limit && *limit < out.size()) out.resize(*limit);
  return out;
}

std::string History::resolve_process(std::string_view selector) {
  const std::vector<ProcessInfo> all = container_.list_processes();
  try {
    return bdp::resolve_process(all, selector);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found || selector.starts_with("latest")) throw;
    // Data stored without a process record (embedded use) is still named
    // by its exact id.
    Query exact;
    exact.process_id = std::string(selector);
    exact.limit = 1;
    if (container_.list_available_data(exact).empty()) throw;
    return std::string(selector);
  }
}

std::vector<RecordInfo> History::records(Query query) {
  if (query.stage_name) validate_name("stage name", *query.stage_name);
  if (query.entity_name) validate_name("entity name", *query.entity_name);
  if (query.process_id) query.process_id = resolve_process(*query.process_id);
  return container_.list_available_data(query);
}

std::vector<RecordInfo> History::resolve(std::string_view text) {
  return resolve(parse_record_selector(text));
}

std::vector<RecordInfo> History::resolve(const RecordSelector& selector) {
  const std::string text = selector_text(selector);
  std::string process;
  try {
    process = resolve_process(selector.process);
  } catch (const Error& e) {
    throw Error(e.code(), "record selector '" + text + "': " + e.what());
  }
  Query in_stage;
  in_stage.process_id = process;
  in_stage.stage_name = selector.stage;
  std::vector<RecordInfo> found = container_.list_available_data(in_stage);

  if (found.empty()) {
    Query in_process;
    in_process.process_id = process;
    std::set<std::string> stored;
    for (const auto& r : container_.list_available_data(in_process)) stored.insert(r.stage_name);
    // A stage the process ran but kept nowhere durable says so.
    for (const auto& p : container_.list_processes()) {
      if (p.id != process) continue;
      for (const auto& s : p.stages) {
        if (s.name == selector.stage) {
          throw Error(
              ErrorCode::not_found,
              "record selector '" + text + "': stage '" + selector.stage + "' of process '" +
                  process + "' has no stored data (it was kept in " +
                  (s.backend.empty() ? std::string("memory") : s.backend) + ")" +
                  suggestions("stored stages", selector.stage, {stored.begin(), stored.end()}));
        }
      }
    }
    throw Error(ErrorCode::not_found,
                "record selector '" + text + "': process '" + process + "' has no stage '" +
                    selector.stage + "'" +
                    (stored.empty() ? std::string(" (it stored no data)")
                                    : suggestions("closest stages", selector.stage,
                                                  {stored.begin(), stored.end()})));
  }

  if (selector.entity) {
    std::set<std::string> entities;
    for (const auto& r : found) entities.insert(r.entity_name);
    std::erase_if(found, [&](const RecordInfo& r) { return r.entity_name != *selector.entity; });
    if (found.empty()) {
      throw Error(ErrorCode::not_found, "record selector '" + text + "': stage '" + selector.stage +
                                            "' of process '" + process + "' has no entity '" +
                                            *selector.entity + "'" +
                                            suggestions("closest entities", *selector.entity,
                                                        {entities.begin(), entities.end()}));
    }
  }

  // Per entity: the asked-for version, else the newest.
  std::map<std::string, std::vector<RecordInfo>> by_entity;
  for (auto& r : found) by_entity[r.entity_name].push_back(std::move(r));
  std::vector<RecordInfo> out;
  std::vector<std::string> versions_seen;
  for (auto& [entity, versions] : by_entity) {
    auto chosen = versions.end();
    for (auto it = versions.begin(); it != versions.end(); ++it) {
      if (selector.version ? it->version == *selector.version
                           : chosen == versions.end() || it->version > chosen->version) {
        chosen = it;
      }
      if (selector.version) versions_seen.push_back("v" + std::to_string(it->version));
    }
    if (chosen != versions.end()) out.push_back(std::move(*chosen));
  }
  if (out.empty()) {
    std::sort(versions_seen.begin(), versions_seen.end());
    versions_seen.erase(std::unique(versions_seen.begin(), versions_seen.end()),
                        versions_seen.end());
    throw Error(ErrorCode::not_found,
                "record selector '" + text + "': no version v" + std::to_string(*selector.version) +
                    " stored" +
                    suggestions("closest versions", "v" + std::to_string(*selector.version),
                                versions_seen));
  }
  return out;
}

RecordInfo History::find_record(std::string_view id) {
  if (id.empty()) throw Error(ErrorCode::invalid_argument, "empty record id");
  std::vector<RecordInfo> hits;
  for (auto& r : container_.list_available_data(Query{})) {
    if (r.id == id) hits.push_back(std::move(r));
  }
  if (hits.empty()) {
    throw Error(ErrorCode::not_found,
                "no stored record with id '" + std::string(id) +
                    "' (name a record as PROCESS/STAGE[/ENTITY][@vN], see bdp ls)");
  }
  if (hits.size() > 1) {
    std::vector<std::string> where;
    for (const auto& r : hits) {
      where.push_back(r.backend + ": " + r.process_id + "/" + r.stage_name + "/" + r.entity_name +
                      "@v" + std::to_string(r.version));
    }
    throw Error(ErrorCode::invalid_argument, "record id '" + std::string(id) +
                                                 "' is in several stores (" + joined(where) +
                                                 "); name it as PROCESS/STAGE/ENTITY@vN");
  }
  return std::move(hits.front());
}

Payload History::retrieve(const RecordInfo& record) {
  return container_.retrieve_record(record);
}

HistoryStats History::stats() {
  HistoryStats out;
  const ContainerStats container_stats = container_.stats();
  std::map<std::string, HistoryStats::Process> by_process;
  for (const auto& [name, backend] : container_stats.backends) {
    out.backends.push_back({name, backend.records, backend.bytes});
    out.records += backend.records;
    out.bytes += backend.bytes;
    for (const auto& usage : backend.by_stage) {
      out.by_stage.push_back(
          {usage.process_id, usage.stage_name, name, usage.records, usage.bytes});
      auto& p = by_process[usage.process_id];
      p.id = usage.process_id;
      p.records += usage.records;
      p.bytes += usage.bytes;
    }
  }
  std::sort(out.backends.begin(), out.backends.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });

  std::map<std::string, HistoryStats::Throughput> throughput;
  const std::vector<ProcessInfo> processes = container_.list_processes();
  out.processes = static_cast<std::int64_t>(processes.size());
  for (const auto& p : processes) {
    if (!p.damage.empty()) out.damaged.push_back({"", p.id, "", "process " + p.id, p.damage});
    if (auto it = by_process.find(p.id); it != by_process.end()) {
      it->second.name = p.name;
      it->second.started_at = p.started_at;
    }
    for (const auto& s : p.stages) {
      if (s.status != StageStatus::completed || s.store_ms <= 0.0 || s.bytes <= 0) continue;
      auto& t = throughput[s.name];
      t.stage_name = s.name;
      ++t.runs;
      t.bytes += s.bytes;
      t.store_ms += s.store_ms;
    }
  }
  for (auto& [id, p] : by_process) out.by_process.push_back(std::move(p));
  std::sort(out.by_process.begin(), out.by_process.end(), [](const auto& a, const auto& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.id < b.id;
  });
  std::sort(out.by_stage.begin(), out.by_stage.end(), [](const auto& a, const auto& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return std::tie(a.process_id, a.stage_name, a.backend) <
           std::tie(b.process_id, b.stage_name, b.backend);
  });
  // Read figures: once per (process, stage), from any of its records.
  std::set<std::pair<std::string, std::string>> timed;
  for (const auto& r : container_.list_available_data(Query{})) {
    if (!r.damage.empty()) {
      out.damaged.push_back({r.backend, r.process_id, r.id,
                             r.process_id + "/" + r.stage_name + "/" + r.entity_name + "@v" +
                                 std::to_string(r.version),
                             r.damage});
      continue;
    }
    const auto* bytes = r.metadata.if_contains("read_bytes");
    const auto* ms = r.metadata.if_contains("read_ms");
    if (!bytes || !ms || !bytes->is_number() || !ms->is_number()) continue;
    if (!timed.emplace(r.process_id, r.stage_name).second) continue;
    auto& t = throughput[r.stage_name];
    t.stage_name = r.stage_name;
    ++t.read_runs;
    t.read_bytes += bytes->to_number<std::int64_t>();
    t.read_ms += ms->to_number<double>();
  }
  for (auto& [name, t] : throughput) out.throughput.push_back(std::move(t));
  return out;
}

std::pair<std::string, json::value> parse_metadata_filter(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw Error(ErrorCode::invalid_argument, "metadata filter '" + std::string(text) +
                                                 "': expected key=value (e.g. processor=filter)");
  }
  std::string key(text.substr(0, eq));
  const std::string_view value = text.substr(eq + 1);
  boost::system::error_code ec;
  json::value parsed = json::parse(value, ec);
  if (ec || value.empty()) return {std::move(key), json::value(json::string(value))};
  return {std::move(key), std::move(parsed)};
}

std::int64_t parse_time_bound(std::string_view text, std::string_view where, std::int64_t now) {
  if (auto t = parse_timestamp(text)) return *t;
  const bool looks_like_age =
      text.size() >= 2 &&
      std::all_of(text.begin(), text.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
  if (looks_like_age) {
    try {
      return now - parse_duration(text, where) * 1'000'000;
    } catch (const Error& e) {
      throw Error(ErrorCode::invalid_argument, e.what());
    }
  }
  throw Error(ErrorCode::invalid_argument,
              std::string(where) + ": invalid time '" + std::string(text) +
                  "' (expected an ISO 8601 time such as 2026-11-26T14:00:00Z, or an age such as "
                  "2h or 30d)");
}

}  // namespace bdp
