// The memory backend: records live in this process only, as shared
// pointers to the payloads that were stored (no copy, O(1) store and
// retrieve by record). Thread-safe.
#pragma once

#include <bdp/sdk/backend.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bdp::memory {

class MemoryBackend final : public Backend {
 public:
  // `instance` is the name under "backends"; `settings` its block, which
  // takes no keys but "plugin".
  MemoryBackend(std::string_view instance, const boost::json::object& settings);

  std::string location() const override;
  bool persistent() const noexcept override { return false; }
  RecordInfo store(const StoreRequest& request, const Payload& payload) override;
  Payload retrieve(const RecordInfo& record) override;
  std::vector<RecordInfo> list(const Query& query) override;
  void remove(const RecordInfo& record) override;
  void save_process(const ProcessInfo& process) override;
  std::vector<ProcessInfo> list_processes() override;
  void remove_process(std::string_view process_id) override;
  BackendStats stats() override;

 private:
  struct Entry {
    RecordInfo record;
    Payload payload;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> records_;              // by record id
  std::unordered_map<std::string, std::int64_t> last_version_;  // by process/stage/entity key
  std::map<std::string, ProcessInfo, std::less<>> processes_;   // by process id
  std::uint64_t next_id_ = 1;
};

}  // namespace bdp::memory
