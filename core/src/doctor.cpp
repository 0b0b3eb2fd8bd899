#include <bdp/doctor.hpp>

#include <bdp/container.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>

#include <boost/json/array.hpp>

#include <map>
#include <optional>
#include <set>

namespace bdp {

namespace json = boost::json;

namespace {

std::string_view kind_name(DoctorFinding::Kind kind) {
  switch (kind) {
    case DoctorFinding::Kind::process:
      return "process";
    case DoctorFinding::Kind::record:
      return "record";
    case DoctorFinding::Kind::orphans:
      return "orphans";
  }
  return "unknown";
}

std::string record_name(const RecordInfo& r) {
  return r.process_id + "/" + r.stage_name + "/" + r.entity_name + "@v" + std::to_string(r.version);
}

std::string schema_text(const Schema& schema) {
  std::string out;
  for (const auto& f : schema) {
    out += (out.empty() ? "" : ", ") + f.name + " " + std::string(to_string(f.type));
  }
  return "(" + out + ")";
}

// What is wrong with the data of a sound-looking record, or empty: it is
// retrieved (the backend checks its checksum) and compared with what its
// listing says.
std::string check_data(Backend& backend, const RecordInfo& record) {
  std::optional<Payload> read;
  try {
    read = backend.retrieve(record);
  } catch (const Error& e) {
    // Damage, or a record whose data is gone; anything else (io) is the
    // store failing, not this record.
    if (e.code() != ErrorCode::corrupt && e.code() != ErrorCode::not_found) throw;
    return e.what();
  }
  const Payload& payload = *read;
  if (payload.kind() != record.kind) {
    return "its data is " + std::string(to_string(payload.kind())) + ", its record says " +
           std::string(to_string(record.kind));
  }
  if (!payload.is_table()) return {};
  const Table& table = *payload.table();
  if (static_cast<std::int64_t>(table.num_rows()) != record.row_count) {
    return "its data has " + std::to_string(table.num_rows()) + " rows, its record says " +
           std::to_string(record.row_count);
  }
  if (table.schema() != record.schema) {
    return "its data has columns " + schema_text(table.schema()) + ", its record says " +
           schema_text(record.schema);
  }
  return {};
}

}  // namespace

json::object DoctorFinding::to_json() const {
  return json::object{{"kind", kind_name(kind)}, {"backend", backend},   {"id", id}, {"name", name},
                      {"problem", problem},      {"damage", is_damage()}};
}

std::size_t DoctorReport::damaged() const noexcept {
  std::size_t n = 0;
  for (const auto& f : findings) n += f.is_damage() ? 1 : 0;
  return n;
}

bool DoctorReport::clean() const noexcept {
  if (damaged() == 0) return true;
  return quarantine && failures.empty() && moved.size() == damaged();
}

json::object DoctorReport::to_json() const {
  json::array b(backends.begin(), backends.end());
  json::array f;
  for (const auto& x : findings) f.push_back(x.to_json());
  json::object out{{"clean", clean()},   {"backends", std::move(b)}, {"processes", processes},
                   {"records", records}, {"damaged", damaged()},     {"findings", std::move(f)}};
  if (quarantine) {
    out["moved"] = json::array(moved.begin(), moved.end());
    out["locations"] = json::array(locations.begin(), locations.end());
    out["failures"] = json::array(failures.begin(), failures.end());
  }
  return out;
}

DoctorReport check_stores(DataContainer& container, const DoctorOptions& options) {
  DoctorReport report;
  report.quarantine = options.quarantine;
  // Process records anywhere: records of a process saved in another store
  // are no orphans.
  std::set<std::string> recorded;
  for (const auto& p : container.list_processes()) recorded.insert(p.id);
  for (const auto& [name, backend] : container.backends()) {
    if (!backend->persistent()) continue;
    report.backends.push_back(name);
    QuarantineRequest damaged;
    for (const auto& p : backend->list_processes()) {
      ++report.processes;
      if (p.damage.empty()) continue;
      report.findings.push_back(
          {DoctorFinding::Kind::process, name, p.id, "process " + p.id, p.damage});
      damaged.processes.push_back(p);
    }
    std::map<std::string, std::int64_t> orphans;  // process id -> records
    for (auto& r : backend->list(Query{})) {
      ++report.records;
      r.backend = name;
      if (!recorded.count(r.process_id)) ++orphans[r.process_id];
      std::string problem = r.damage.empty() ? check_data(*backend, r) : r.damage;
      if (problem.empty()) continue;
      report.findings.push_back({DoctorFinding::Kind::record, name, r.id, record_name(r), problem});
      r.damage = std::move(problem);
      damaged.records.push_back(std::move(r));
    }
    for (const auto& [process, count] : orphans) {
      report.findings.push_back({DoctorFinding::Kind::orphans, name, process, "process " + process,
                                 std::to_string(count) + " records have no process record"});
    }
    if (!options.quarantine || (damaged.records.empty() && damaged.processes.empty())) continue;
    try {
      QuarantineReport moved = backend->quarantine(damaged);
      report.locations.push_back(name + ": " + moved.location);
      for (auto& line : moved.moved) report.moved.push_back(name + ": " + line);
    } catch (const Error& e) {
      // This store keeps its damage; the others are still quarantined.
      if (e.code() != ErrorCode::unsupported && e.code() != ErrorCode::io) throw;
      report.failures.push_back(name + ": " + e.what());
    }
  }
  return report;
}

}  // namespace bdp
