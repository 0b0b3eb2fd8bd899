// The memory backend: records live in this process only, as shared
// pointers to the payloads that were stored (no copy). A record's id is
// "m<N>" with N a number never reused, so store and retrieve are O(1) with
// an integer key. Thread-safe.
#pragma once

#include <bdp/sdk/backend.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace bdp::memory {

class MemoryBackend final : public Backend {
 public:
  // `instance` is the name under "backends"; `settings` its block, which
  // takes no keys but "plugin". A `read_only` backend stays empty: store(),
  // remove(), save_process() and remove_process() throw
  // bdp::Error(invalid_argument).
  MemoryBackend(std::string_view instance, const boost::json::object& settings,
                bool read_only = false);

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
  // N of a record id "m<N>", or 0 (no record has it) for anything else.
  static std::uint64_t number_of(std::string_view id) noexcept;
  // Throws bdp::Error(invalid_argument) when this backend is read-only.
  void check_writable(std::string_view doing) const;

  std::string instance_;
  bool read_only_ = false;

  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Entry> records_;  // by the N of the record's id
  std::uint64_t next_number_ = 1;
  std::unordered_map<std::string, std::int64_t> last_version_;  // by process/stage/entity key
  std::map<std::string, ProcessInfo, std::less<>> processes_;   // by process id
};

}  // namespace bdp::memory
