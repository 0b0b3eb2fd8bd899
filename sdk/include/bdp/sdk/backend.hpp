// A Backend keeps stored records: it saves a payload under a
// (process, stage, entity) key and gives it back, lists what it has, and
// keeps process records. It knows nothing of strategies, routing, budgets or
// cleanup policies: the core decides *what* to store and *when*; a backend
// only stores.
//
// Thread-safety: the core may call one Backend from several threads at once
// (a stage thread and a background writer); implementations must be safe for
// that. Errors are thrown as bdp::Error; the plugin descriptor check ensures
// host and plugin share compiler ABI and standard library, so exceptions
// thrown by these methods reach the host intact.
#pragma once

#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/plugin_abi.hpp>
#include <bdp/sdk/records.hpp>

#include <boost/config.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bdp {

// What to store: the key of a new record and its metadata. The backend
// assigns id, version (previous highest for the key + 1) and created_at.
struct StoreRequest {
  std::string_view process_id;
  std::string_view stage_name;
  std::string_view entity_name;
  const boost::json::object& metadata;
};

// Damaged entries to take out of a store's listings (Backend::quarantine).
struct QuarantineRequest {
  // Records as list() returned them, `damage` saying why each goes (the
  // caller fills it in for a record whose data failed retrieve()).
  std::vector<RecordInfo> records;
  // Process records as list_processes() returned them, `damage` set.
  std::vector<ProcessInfo> processes;
};

// What Backend::quarantine did.
struct QuarantineReport {
  std::string location;            // where the entries went: a folder, a table
  std::vector<std::string> moved;  // one line per entry moved: what, and where it went
};

class BOOST_SYMBOL_VISIBLE Backend {
 public:
  virtual ~Backend();

  // The SDK ABI minor this object's plugin was built for. It is set where
  // the object is constructed, inside the plugin, so the host knows which
  // virtual functions the object's vtable has: one appended to this class
  // in minor N is called only on objects whose sdk_abi_minor() >= N (see
  // docs/sdk.md, "ABI policy").
  std::uint32_t sdk_abi_minor() const noexcept { return sdk_abi_minor_; }

  // Where this backend keeps data, for people: "memory", a directory, a
  // connection string with any password redacted.
  virtual std::string location() const = 0;

  // True when stored data outlives the process.
  virtual bool persistent() const noexcept = 0;

  // Stores `payload` as a new version of the request's key and returns the
  // complete record. On error nothing is stored and nothing stored before
  // is changed. Names in the request have been validated by the caller.
  virtual RecordInfo store(const StoreRequest& request, const Payload& payload) = 0;

  // The payload of a record returned by store() or list(). Throws
  // bdp::Error(not_found) if it is gone, bdp::Error(corrupt) if it fails its
  // checks.
  virtual Payload retrieve(const RecordInfo& record) = 0;

  // Records matching `query`, in its order, cut to its limit.
  virtual std::vector<RecordInfo> list(const Query& query) = 0;

  // Removes a record and its data. Removing a record that is already gone
  // is not an error.
  virtual void remove(const RecordInfo& record) = 0;

  // Creates or replaces the process record with the same id.
  virtual void save_process(const ProcessInfo& process) = 0;
  // All process records, newest started first.
  virtual std::vector<ProcessInfo> list_processes() = 0;
  // Removes a process record (not its data records).
  virtual void remove_process(std::string_view process_id) = 0;

  virtual BackendStats stats() = 0;

  // ABI 2.0: moves damaged entries out of this store's listings without
  // destroying them. Afterwards list() and list_processes() no longer
  // return them and retrieve() of such a record throws not_found, while
  // their bytes (and why they were moved) are kept where a person can look
  // at them or put them back: report.location. The records of a process
  // whose process record is moved stay where they are. Entries already
  // gone are skipped. Throws bdp::Error(io) when the store cannot be
  // changed; entries moved before the failure stay moved. The default
  // throws bdp::Error(unsupported) naming location(): a backend that
  // cannot be damaged (memory) or has no place to keep damaged entries.
  virtual QuarantineReport quarantine(const QuarantineRequest& request);

 private:
  std::uint32_t sdk_abi_minor_ = kSdkAbiMinor;
};

}  // namespace bdp
