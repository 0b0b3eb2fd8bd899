// Exporting stored data to a folder for external analysis, and importing
// such a folder into a backend.
//
// An export folder holds one file per exported entity and a manifest:
//
//   DIR/manifest.json            the process record, the exported records
//                                (stage, entity, version, schema, metadata
//                                with decisions), and per file its rows,
//                                bytes and checksum (xxh64, checksum.hpp);
//                                "failed": the selected records that could
//                                not be read, with the reason
//   DIR/<stage>/<entity>.csv     a table, as CSV (csv.hpp: types round-trip
//                                with the manifest's schema)
//   DIR/<stage>/<entity>.jsonl   a table, as JSON Lines: one object per row,
//                                keys in column order; null as null,
//                                timestamps as ISO 8601 text, non-finite
//                                floats as "NaN", "Infinity", "-Infinity";
//                                floats in their shortest round-trip form
//   DIR/<stage>/<entity>.json    a JSON payload (either format)
//
// Stage and entity names are validated (names.hpp) before any path is
// built from them, on export and on import. import_archive() verifies every
// file against the manifest's checksum and row count before it stores
// anything, and removes what it stored when a later store fails.
//
// Thread-safety: the functions may run concurrently on different folders;
// the container and backend they use must allow it (ours do).
#pragma once

#include <bdp/container.hpp>
#include <bdp/export.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/records.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdp {

enum class ExportFormat : std::uint8_t { csv, jsonl };

// "csv", "jsonl".
BDP_CORE_API std::string_view to_string(ExportFormat format) noexcept;
// Inverse of to_string; throws bdp::Error(invalid_argument) naming `what`
// and the allowed values for anything else.
BDP_CORE_API ExportFormat parse_export_format(std::string_view text, std::string_view what);

// The manifest's "format" value and version.
inline constexpr std::string_view kExportManifestFormat = "bdp-export";
inline constexpr std::int64_t kExportManifestVersion = 1;

struct ExportedFile {
  std::string stage;
  std::string entity;
  std::string file;  // relative to the folder: "<stage>/<entity>.<ext>"
  std::int64_t rows = 0;
  std::uint64_t bytes = 0;
  std::string checksum;
};

// A selected record that could not be read back from its backend (a
// damaged or missing data file, a row that fails its checksum, ...): not
// exported, and listed under "failed" in the manifest.
struct ExportFailure {
  std::string stage;
  std::string entity;
  std::int64_t version = 0;
  std::string record_id;
  std::string backend;
  ErrorCode code = ErrorCode::internal;  // of the backend's error
  std::string reason;                    // the backend's error message
};

struct ExportReport {
  std::string process_id;
  std::filesystem::path dir;
  std::vector<ExportedFile> files;
  std::vector<ExportFailure> failed;  // empty when every selected record was exported
  std::uint64_t bytes = 0;            // of the data files
};

// Exports what `selector` names from the stores of `container` into `out`:
// a process selector ("latest", an id; every stage, the newest version of
// each entity) or a record selector PROCESS/STAGE[/ENTITY][@vN] (selectors.hpp).
// `out` must not exist or be an empty folder.
//
// The export is atomic: it is written into a hidden folder next to `out`
// (".<name>.export-<pid>") and renamed into place once the manifest is
// written, so `out` never holds a partial export. A leftover of an export
// that was killed is removed by the next export to the same `out`.
//
// A record that cannot be read does not stop the export: the others are
// exported, and the record is listed in the report's `failed` and in the
// manifest's "failed" with the reason. When no selected record can be read,
// nothing is left behind and bdp::Error is thrown naming every record and
// its reason. Throws bdp::Error(invalid_argument) for a selector that does
// not parse or an `out` that is not new or empty, bdp::Error(not_found) for
// a selector that names nothing (with the closest names), bdp::Error(io)
// when a file cannot be written (nothing is left behind then either).
BDP_CORE_API ExportReport export_selection(DataContainer& container, std::string_view selector,
                                           ExportFormat format, const std::filesystem::path& out);

struct ImportOptions {
  // Store under this process id instead of the exported one.
  std::optional<std::string> as_process;
};

struct ImportReport {
  std::string process_id;
  std::string backend;              // the target's name
  std::vector<RecordInfo> records;  // as stored
  std::uint64_t bytes = 0;          // of the files read
};

// Stores the export in `dir` into `target` (known by `target_name`, which
// becomes the records' and stages' backend): the process record (with
// stage record ids replaced by the new ones) and each entity with its
// stage, entity name and metadata; the metadata gains "imported_from"
// ({"record", "backend", "version"} of the exported record). Versions start
// again at 1 in the target. Throws bdp::Error(invalid_argument) when the
// process id (or `as_process`) is already stored in `target` or is not a
// valid name; bdp::Error(not_found) for a missing manifest or file;
// bdp::Error(corrupt) naming the file for a manifest that does not parse, a
// checksum or row-count mismatch, or a file that does not fit its schema.
// Nothing is stored unless every file passed its checks.
BDP_CORE_API ImportReport import_archive(const std::filesystem::path& dir, Backend& target,
                                         std::string_view target_name,
                                         const ImportOptions& options = {});

}  // namespace bdp
