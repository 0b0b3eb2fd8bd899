// Doctor: finds damaged entries in the stores a container reads, and moves
// them aside on request.
//
// check_stores() reads every persistent backend of the container: each
// process record and each record its listings return, and the data of
// every record (retrieved, so checked against its checksum, and compared
// with the record's row count and schema). A finding is one line naming
// the backend, the entry and what is wrong. Records whose process has no
// process record in any backend are reported as a note, not as damage.
// With `quarantine`, the damaged entries of each backend are handed to its
// Backend::quarantine(), which moves them out of the listings without
// destroying them.
//
// Errors: what the backends throw when a store cannot be read at all (io);
// damage is a finding, never an exception.
//
// Thread-safety: as safe as the container; a check holds no state besides.
#pragma once

#include <bdp/export.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bdp {

class DataContainer;

struct BDP_CORE_API DoctorFinding {
  enum class Kind : std::uint8_t {
    process,  // a damaged process record
    record,   // a damaged record, or one whose data fails its checks
    orphans,  // records of a process that has no process record (a note)
  };
  Kind kind = Kind::record;
  std::string backend;  // the configured backend instance
  std::string id;       // the process id or the record id
  std::string name;     // "process ID", "PROCESS/STAGE/ENTITY@vN"
  std::string problem;  // one line

  // True for damage (process, record); false for a note (orphans).
  bool is_damage() const noexcept { return kind != Kind::orphans; }
  boost::json::object to_json() const;
};

struct BDP_CORE_API DoctorReport {
  std::vector<std::string> backends;  // the persistent backends checked, by name
  std::int64_t processes = 0;         // process records read
  std::int64_t records = 0;           // records read, each retrieved
  std::vector<DoctorFinding> findings;
  bool quarantine = false;             // quarantine was asked for
  std::vector<std::string> moved;      // with quarantine: one line per entry moved
  std::vector<std::string> locations;  // with quarantine: where they went, per backend
  std::vector<std::string> failures;   // with quarantine: backends that could not (one line)

  // The number of findings that are damage.
  std::size_t damaged() const noexcept;
  // True when nothing damaged remains: none was found, or (with
  // quarantine) every damaged entry found was moved.
  bool clean() const noexcept;
  boost::json::object to_json() const;
};

struct DoctorOptions {
  bool quarantine = false;  // move what is damaged out of the listings
};

// Checks every persistent backend of `container` (see the top of the file).
BDP_CORE_API DoctorReport check_stores(DataContainer& container, const DoctorOptions& options = {});

}  // namespace bdp
