#include "backend.hpp"

#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/json.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

namespace bdp::csv_backend {

namespace json = boost::json;

namespace {

void validate_key(std::string_view process, std::string_view stage, std::string_view entity) {
  validate_name("process id", process);
  validate_name("stage name", stage);
  validate_name("entity name", entity);
}

std::string describe(const RecordInfo& r) {
  return "record " + r.id + " (" + r.process_id + "/" + r.stage_name + "/" + r.entity_name + " v" +
         std::to_string(r.version) + ")";
}

// The process record in `file`, named `id` by its file name; when it
// cannot be read, a record of that id with `damage` saying why; nullopt
// when the file is gone.
std::optional<ProcessInfo> read_process(const fs::path& file, const std::string& id) {
  ProcessInfo damaged;
  damaged.id = id;
  std::string text;
  try {
    text = read_whole(file, "process record");
  } catch (const Error& e) {
    if (e.code() == ErrorCode::not_found) return std::nullopt;  // removed while listing
    damaged.damage = e.what();  // names the file and the system's reason
    return damaged;
  }
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    damaged.damage = "malformed process record '" + file.string() + "': " + ec.message();
    return damaged;
  }
  try {
    ProcessInfo p = ProcessInfo::from_json(v, file.string());
    if (p.id == id) return p;
    damaged.damage = "process record '" + file.string() + "' describes process '" + p.id +
                     "', expected '" + id + "' from its file name";
  } catch (const Error& e) {
    damaged.damage = e.what();  // names the file and the field
  }
  return damaged;
}

// "20261204T014130Z" for `micros`: a folder name that sorts by time.
std::string compact_time(std::int64_t micros) {
  std::string out;
  for (char c : format_timestamp(micros - micros % 1'000'000)) {
    if (c == '.') break;
    if (c != '-' && c != ':') out.push_back(c);
  }
  if (out.empty() || out.back() != 'Z') out.push_back('Z');
  return out;
}

// True when `name` can be a file name in a folder of the store (no path
// separator, not "." or "..").
bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

}  // namespace

CsvBackend::CsvBackend(std::string_view instance, const json::object& settings,
                       const std::filesystem::path& base_dir, bool read_only)
    : instance_(instance), read_only_(read_only), index_(Layout{}) {
  const std::string prefix = "backends." + std::string(instance) + ".";
  std::string root;
  for (const auto& kv : settings) {
    const std::string key(kv.key());
    if (key == "plugin") continue;
    if (key == "root") {
      if (!kv.value().is_string() || kv.value().get_string().empty()) {
        throw Error(ErrorCode::config,
                    prefix + "root: expected a folder name as a non-empty string");
      }
      root = std::string(kv.value().get_string());
      continue;
    }
    throw Error(ErrorCode::config,
                prefix + key + ": unknown key for the csv backend (it takes \"root\")");
  }
  if (root.empty()) {
    throw Error(ErrorCode::config,
                prefix + "root: missing; the csv backend needs the folder to keep its files in");
  }
  std::filesystem::path path(root);
  if (path.is_relative()) path = base_dir / path;
  layout_.root = path.lexically_normal();
  if (layout_.root.filename().empty()) layout_.root = layout_.root.parent_path();
  index_ = Index(layout_, read_only_);
  if (read_only_) {
    // An existing store only: its root holds the ".bdp" folder every
    // read-write open makes. Nothing is created; the index is read on use.
    struct stat st {};
    const bool there = ::stat(layout_.meta_dir().c_str(), &st) == 0;
    if (!there && errno != ENOENT && errno != ENOTDIR) {
      fail_os("cannot open store", layout_.root, errno);
    }
    if (!there || !S_ISDIR(st.st_mode)) {
      throw Error(ErrorCode::not_found, "no store at " + layout_.root.string());
    }
    lock_ = std::make_unique<FileLock>(layout_.lock_file(), FileLock::OpenExisting{});
    return;
  }
  make_dirs(layout_.root);
  make_dirs(layout_.processes_dir());
  lock_ = std::make_unique<FileLock>(layout_.lock_file());
  LockGuard guard(*lock_, true);
  index_.refresh(true);
  // A process record is written to a temp file and renamed under this lock,
  // held exclusively here: a temp file found now was left by a killed writer.
  std::error_code ec;
  const fs::path processes = layout_.processes_dir();
  for (fs::directory_iterator it(processes, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(".") && name.ends_with(".json.tmp")) remove_file(it->path());
  }
}

std::string CsvBackend::location() const {
  return layout_.root.string();
}

void CsvBackend::check_writable(std::string_view doing) const {
  if (read_only_) {
    throw Error(ErrorCode::invalid_argument,
                "csv backend '" + instance_ + "' (" + layout_.root.string() +
                    ") is open read-only: cannot " + std::string(doing));
  }
}

std::unique_ptr<LockGuard> CsvBackend::read_locked() {
  auto guard = std::make_unique<LockGuard>(*lock_, false);
  if (index_.refresh(false)) return guard;
  guard.reset();
  guard = std::make_unique<LockGuard>(*lock_, true);
  index_.refresh(true);
  return guard;
}

RecordInfo CsvBackend::store(const StoreRequest& request, const Payload& payload) {
  check_writable("store " + key_of(request.process_id, request.stage_name, request.entity_name));
  validate_key(request.process_id, request.stage_name, request.entity_name);
  RecordInfo record;
  record.process_id = request.process_id;
  record.stage_name = request.stage_name;
  record.entity_name = request.entity_name;
  record.storage_type = StorageType::reference;
  record.metadata = request.metadata;
  record.kind = payload.kind();
  // JSON is serialised outside the lock. A table is formatted under it,
  // straight into its temp file (see below): the formatting then overlaps
  // the disk writing the first part of the file.
  std::string json_text;
  const Table* table = nullptr;
  if (payload.is_table()) {
    table = payload.table().get();
    record.schema = table->schema();
    record.row_count = static_cast<std::int64_t>(table->num_rows());
  } else {
    json_text = json::serialize(payload.json());
  }

  const fs::path dir =
      layout_.entity_dir(request.process_id, request.stage_name, request.entity_name);
  std::lock_guard threads(mutex_);
  LockGuard guard(*lock_, true);
  index_.refresh(true);
  record.version =
      index_.next_version(key_of(record.process_id, record.stage_name, record.entity_name));
  record.id = id_of(record.process_id, record.stage_name, record.entity_name, record.version);
  record.created_at = now_micros();
  const fs::path data = dir / data_name(record.version, record.kind);
  const fs::path sidecar = dir / sidecar_name(record.version);
  record.data_reference = data.string();

  make_dirs(dir);
  index_.append(json::object{{"op", "begin"},
                             {"process_id", record.process_id},
                             {"stage_name", record.stage_name},
                             {"entity_name", record.entity_name},
                             {"version", record.version}},
                false);
  try {
    FileWriter data_file(temp_of(data));
    if (table != nullptr) {
      // The checksum is taken of each piece while it is in cache.
      Checksum sum;
      csv::write_chunked(*table, [&](std::string_view piece) {
        sum.update(piece);
        data_file.append(piece);
      });
      record.checksum = sum.text();
    } else {
      data_file.append(json_text);
      record.checksum = checksum_text(json_text);
    }
    record.size_bytes = static_cast<std::int64_t>(data_file.size());
    // Both files and the "begin" line durable before either file is
    // renamed, the sidecar last: a sidecar in place means a complete record
    // (see Index::settle), whose "begin" a crash cannot have lost. The data
    // file and the index are synced on their own threads while this one
    // creates, fills and syncs the sidecar: for a small record creating a
    // file costs about as much as syncing one.
    BackgroundJob data_synced(data_syncer_, [&] { data_file.sync(); });
    BackgroundJob index_synced(index_syncer_, [&] { index_.sync(); });
    json::object side = index_.record_json(record);
    side["format"] = "bdp-csv/1";
    FileWriter side_file(temp_of(sidecar));
    side_file.append(to_pretty_json(side) + "\n");
    side_file.sync();
    data_synced.wait();
    index_synced.wait();
    data_file.close();
    side_file.close();
    if (::rename(temp_of(data).c_str(), data.c_str()) != 0) {
      fail_os("cannot rename into", data, errno);
    }
    if (::rename(temp_of(sidecar).c_str(), sidecar.c_str()) != 0) {
      fail_os("cannot rename into", sidecar, errno);
    }
    sync_dir(dir);  // the store is durable from here: "begin" + sidecar in place
    // Not synced: a crash that loses it leaves the "begin" pending with the
    // sidecar in place, which the next refresh completes (Index::settle).
    index_.append(json::object{{"op", "add"}, {"record", index_.record_json(record)}}, false);
  } catch (const Error&) {
    // Undo what is on disk so earlier records and this key's next version
    // are unaffected. Failures here leave the "begin" pending, which the
    // next writer settles; the original error is what the caller needs.
    ::unlink(temp_of(data).c_str());
    ::unlink(temp_of(sidecar).c_str());
    ::unlink(sidecar.c_str());
    ::unlink(data.c_str());
    try {
      index_.append(json::object{{"op", "abort"}, {"id", record.id}}, true);
    } catch (const Error&) {
      // Settled by the next refresh under the lock (see Index::settle).
    }
    throw;
  }
  index_.added(record);
  return record;
}

Payload CsvBackend::retrieve(const RecordInfo& record) {
  // Listed as damaged: its sidecar cannot be read (the message names it).
  if (!record.damage.empty()) throw Error(ErrorCode::corrupt, record.damage);
  validate_key(record.process_id, record.stage_name, record.entity_name);
  const fs::path dir = layout_.entity_dir(record.process_id, record.stage_name, record.entity_name);
  const fs::path sidecar = dir / sidecar_name(record.version);
  std::string side_text;
  try {
    side_text = read_whole(sidecar, "sidecar");
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    throw Error(ErrorCode::not_found, describe(record) + " is not stored: its sidecar '" +
                                          sidecar.string() + "' does not exist");
  }
  json::error_code ec;
  json::value side_json = json::parse(side_text, ec);
  if (ec) {
    throw Error(ErrorCode::corrupt, "malformed sidecar '" + sidecar.string() +
                                        "': " + ec.message() + " (" + describe(record) + ")");
  }
  const RecordInfo stored = index_.record_from_json(side_json, sidecar.string());
  if (!record.id.empty() && stored.id != record.id) {
    throw Error(ErrorCode::not_found, describe(record) + " is not stored: '" + sidecar.string() +
                                          "' holds record " + stored.id);
  }
  const fs::path data = dir / data_name(stored.version, stored.kind);
  // Read in one buffer (no copy into a string), digested on the way.
  const FileBytes bytes = read_digested(data, "data file");
  const std::string_view text = bytes.view();
  if (static_cast<std::int64_t>(text.size()) != stored.size_bytes) {
    throw Error(ErrorCode::corrupt, "data file '" + data.string() + "' has " +
                                        std::to_string(text.size()) + " bytes, its sidecar says " +
                                        std::to_string(stored.size_bytes) +
                                        ": it was truncated or changed");
  }
  if (parse_checksum(stored.checksum) != bytes.digest) {
    throw Error(ErrorCode::corrupt, "data file '" + data.string() + "' has checksum " +
                                        format_checksum(bytes.digest) + ", its sidecar says " +
                                        stored.checksum + ": it was changed");
  }
  if (stored.kind == PayloadKind::json) {
    json::value value = json::parse(text, ec);
    if (ec) {
      throw Error(ErrorCode::corrupt,
                  "data file '" + data.string() + "' is not valid JSON: " + ec.message());
    }
    return Payload(std::move(value));
  }
  csv::ReadOptions options;
  options.source_name = data.string();
  for (const auto& f : stored.schema) options.schema.emplace(f.name, f.type);
  TablePtr table;
  try {
    table = csv::parse(text, options);
  } catch (const Error& e) {
    throw Error(ErrorCode::corrupt, e.what());
  }
  if (table->schema() != stored.schema ||
      static_cast<std::int64_t>(table->num_rows()) != stored.row_count) {
    throw Error(ErrorCode::corrupt,
                "data file '" + data.string() + "' holds " + std::to_string(table->num_rows()) +
                    " rows of " + std::to_string(table->num_columns()) +
                    " columns, its sidecar says " + std::to_string(stored.row_count) + " rows of " +
                    std::to_string(stored.schema.size()));
  }
  return Payload(std::move(table));
}

std::vector<RecordInfo> CsvBackend::list(const Query& query) {
  std::vector<RecordInfo> out;
  std::lock_guard threads(mutex_);
  auto guard = read_locked();
  for (const RecordInfo* record : index_.candidates(query)) {
    if (query.matches(*record)) out.push_back(*record);
  }
  query.order_and_limit(out);
  return out;
}

void CsvBackend::remove(const RecordInfo& record) {
  check_writable("remove " + describe(record));
  validate_key(record.process_id, record.stage_name, record.entity_name);
  std::lock_guard threads(mutex_);
  LockGuard guard(*lock_, true);
  index_.refresh(true);
  const RecordInfo* found = index_.find(record.id);
  if (found == nullptr) return;  // already gone
  const fs::path data = found->data_reference;
  const fs::path sidecar = data.parent_path() / sidecar_name(found->version);
  index_.append(json::object{{"op", "remove"}, {"id", record.id}}, true);
  index_.removed(record.id);
  // The sidecar first: without it the record cannot come back in a rebuild.
  remove_file(sidecar);
  remove_file(data);
  sync_dir(data.parent_path());
}

void CsvBackend::save_process(const ProcessInfo& process) {
  check_writable("save process " + process.id);
  validate_name("process id", process.id);
  const fs::path file = layout_.process_file(process.id);
  std::lock_guard threads(mutex_);
  LockGuard guard(*lock_, true);
  replace_file(temp_of(file), file, to_pretty_json(process.to_json()) + "\n");
}

std::vector<ProcessInfo> CsvBackend::list_processes() {
  std::vector<ProcessInfo> out;
  {
    std::lock_guard threads(mutex_);
    LockGuard guard(*lock_, false);
    std::error_code ec;
    const fs::path dir = layout_.processes_dir();
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path file = it->path();
      const std::string name = file.filename().string();
      if (name.starts_with(".") || !name.ends_with(".json")) continue;
      if (auto p = read_process(file, name.substr(0, name.size() - 5)))
        out.push_back(std::move(*p));
    }
    if (ec) fail_os("cannot list folder", dir, ec.value());
  }
  std::sort(out.begin(), out.end(), [](const ProcessInfo& a, const ProcessInfo& b) {
    return a.started_at != b.started_at ? a.started_at > b.started_at : a.id > b.id;
  });
  return out;
}

void CsvBackend::remove_process(std::string_view process_id) {
  check_writable("remove process " + std::string(process_id));
  validate_name("process id", process_id);
  const fs::path file = layout_.process_file(process_id);
  std::lock_guard threads(mutex_);
  LockGuard guard(*lock_, true);
  remove_file(file);
  sync_dir(file.parent_path());
}

BackendStats CsvBackend::stats() {
  UsageTally tally;
  std::lock_guard threads(mutex_);
  auto guard = read_locked();
  for (const auto& [id, r] : index_.records()) tally.add(r);
  return tally.finish();
}

QuarantineReport CsvBackend::quarantine(const QuarantineRequest& request) {
  QuarantineReport report;
  std::lock_guard threads(mutex_);
  LockGuard guard(*lock_, true);
  index_.refresh(true);
  const fs::path parent = layout_.meta_dir() / "quarantine";
  fs::path dest = parent / compact_time(now_micros());
  for (int n = 2; csv_backend::exists(dest); ++n) {
    dest = parent / (compact_time(now_micros()) + "-" + std::to_string(n));
  }
  report.location = dest.string();
  json::array log;  // what went where and why, kept next to the files
  auto write_log = [&] {
    std::string text;
    for (const auto& line : log) text += json::serialize(line) + "\n";
    make_dirs(dest);
    replace_file(dest / ".quarantine.jsonl.tmp", dest / "quarantine.jsonl", text);
  };
  // Moves `file` to the same path under `dest`; false when it is not there.
  auto move = [&](const fs::path& file) {
    if (!csv_backend::exists(file)) return false;
    const fs::path target = dest / file.lexically_relative(layout_.root);
    make_dirs(target.parent_path());
    if (::rename(file.c_str(), target.c_str()) != 0) fail_os("cannot move into", target, errno);
    sync_dir(target.parent_path());
    return true;
  };
  for (const auto& wanted : request.records) {
    const RecordInfo* found = index_.find(wanted.id);
    if (found == nullptr) continue;  // already gone
    const RecordInfo record = *found;
    const fs::path dir =
        layout_.entity_dir(record.process_id, record.stage_name, record.entity_name);
    json::array files;
    for (const fs::path& file :
         {dir / sidecar_name(record.version), dir / data_name(record.version, PayloadKind::table),
          dir / data_name(record.version, PayloadKind::json)}) {
      for (const fs::path& f : {file, temp_of(file)}) {
        if (move(f)) files.emplace_back(f.lexically_relative(layout_.root).generic_string());
      }
    }
    if (!files.empty()) sync_dir(dir);
    // The files first: a crash before this line leaves a listed record
    // whose files are gone, which the next quarantine drops.
    index_.append(json::object{{"op", "remove"}, {"id", record.id}}, true);
    index_.removed(record.id);
    log.push_back(json::object{{"record", record.id},
                               {"damage", wanted.damage},
                               {"files", files},
                               {"at", format_timestamp(now_micros())}});
    write_log();
    report.moved.push_back("record " + record.id + ": " + std::to_string(files.size()) +
                           " files moved to " + (dest / record.process_id).string() + "/...");
  }
  for (const auto& process : request.processes) {
    if (!is_plain_file_name(process.id)) continue;  // no such file can exist
    const fs::path file = layout_.process_file(process.id);
    if (!move(file)) continue;  // already gone
    sync_dir(file.parent_path());
    const std::string rel = file.lexically_relative(layout_.root).generic_string();
    log.push_back(json::object{{"process", process.id},
                               {"damage", process.damage},
                               {"files", json::array{json::value(rel)}},
                               {"at", format_timestamp(now_micros())}});
    write_log();
    report.moved.push_back("process record " + process.id + ": moved to " + (dest / rel).string());
  }
  return report;
}

void CsvBackend::rebuild_index() {
  check_writable("rebuild its index");
  std::lock_guard threads(mutex_);
  LockGuard guard(*lock_, true);
  index_.rebuild();
}

}  // namespace bdp::csv_backend
