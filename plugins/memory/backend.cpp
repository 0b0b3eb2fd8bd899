#include "backend.hpp"

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include <algorithm>
#include <charconv>

namespace bdp::memory {

namespace {
std::string version_key(std::string_view process, std::string_view stage, std::string_view entity) {
  std::string key;
  key.reserve(process.size() + stage.size() + entity.size() + 2);
  key.append(process).push_back('/');
  key.append(stage).push_back('/');
  key.append(entity);
  return key;
}
}  // namespace

MemoryBackend::MemoryBackend(std::string_view instance, const boost::json::object& settings,
                             bool read_only)
    : instance_(instance), read_only_(read_only) {
  for (const auto& kv : settings) {
    if (kv.key() != "plugin") {
      throw Error(ErrorCode::config, "backends." + std::string(instance) + "." +
                                         std::string(kv.key()) +
                                         ": unknown key for the memory backend (it takes none)");
    }
  }
}

std::string MemoryBackend::location() const {
  return "memory";
}

void MemoryBackend::check_writable(std::string_view doing) const {
  if (read_only_) {
    throw Error(
        ErrorCode::invalid_argument,
        "memory backend '" + instance_ + "' is open read-only: cannot " + std::string(doing));
  }
}

RecordInfo MemoryBackend::store(const StoreRequest& request, const Payload& payload) {
  check_writable("store " +
                 version_key(request.process_id, request.stage_name, request.entity_name));
  RecordInfo record;
  record.process_id = request.process_id;
  record.stage_name = request.stage_name;
  record.entity_name = request.entity_name;
  record.storage_type = StorageType::inline_data;
  record.metadata = request.metadata;
  record.size_bytes = static_cast<std::int64_t>(payload.byte_size());
  record.kind = payload.kind();
  if (payload.is_table()) {
    const Table& table = *payload.table();
    record.schema = table.schema();
    record.row_count = static_cast<std::int64_t>(table.num_rows());
  }
  auto key = version_key(request.process_id, request.stage_name, request.entity_name);

  record.created_at = now_micros();

  std::lock_guard lock(mutex_);
  const std::uint64_t number = next_number_++;
  record.id = "m" + std::to_string(number);
  record.version = ++last_version_[key];
  records_.emplace(number, Entry{record, payload});
  return record;
}

std::uint64_t MemoryBackend::number_of(std::string_view id) noexcept {
  std::uint64_t n = 0;
  if (id.size() < 2 || id[0] != 'm') return 0;
  auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
  return ec == std::errc() && end == id.data() + id.size() ? n : 0;
}

Payload MemoryBackend::retrieve(const RecordInfo& record) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(number_of(record.id));
  if (it == records_.end()) {
    throw Error(ErrorCode::not_found,
                "record " + record.id + " (" + record.process_id + "/" + record.stage_name + "/" +
                    record.entity_name + " v" + std::to_string(record.version) +
                    ") is no longer in memory: it was released or cleaned up");
  }
  return it->second.payload;
}

std::vector<RecordInfo> MemoryBackend::list(const Query& query) {
  std::vector<RecordInfo> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [number, entry] : records_) {
      if (query.matches(entry.record)) out.push_back(entry.record);
    }
  }
  query.order_and_limit(out);
  return out;
}

void MemoryBackend::remove(const RecordInfo& record) {
  check_writable("remove record " + record.id);
  std::lock_guard lock(mutex_);
  records_.erase(number_of(record.id));
}

void MemoryBackend::save_process(const ProcessInfo& process) {
  check_writable("save process " + process.id);
  std::lock_guard lock(mutex_);
  processes_[process.id] = process;
}

std::vector<ProcessInfo> MemoryBackend::list_processes() {
  std::vector<ProcessInfo> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, process] : processes_) out.push_back(process);
  }
  std::sort(out.begin(), out.end(), [](const ProcessInfo& a, const ProcessInfo& b) {
    return a.started_at != b.started_at ? a.started_at > b.started_at : a.id > b.id;
  });
  return out;
}

void MemoryBackend::remove_process(std::string_view process_id) {
  check_writable("remove process " + std::string(process_id));
  std::lock_guard lock(mutex_);
  if (auto it = processes_.find(process_id); it != processes_.end()) processes_.erase(it);
}

BackendStats MemoryBackend::stats() {
  UsageTally tally;
  std::lock_guard lock(mutex_);
  for (const auto& [number, entry] : records_) tally.add(entry.record);
  return tally.finish();
}

}  // namespace bdp::memory
