// The CSV codec shared by the read_csv processor and the CSV backend.
//
// Format: RFC 4180 with a header row, ',' separator, '\n' line ends on
// write ('\r\n' accepted on read). Cells are written so that they read back
// exactly: an empty unquoted cell is null, a quoted empty cell ("") is the
// empty string; floats use the shortest form that round-trips; timestamps are
// ISO 8601 UTC; booleans are true/false.
#pragma once

#include <bdp/sdk/export.hpp>
#include <bdp/sdk/table.hpp>

#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace bdp::csv {

struct ReadOptions {
  // Column types by name. Columns not named here are inferred from their
  // cells: int64, then float64, then bool, then timestamp, else string (an
  // all-null column is string).
  std::map<std::string, ColumnType, std::less<>> schema;
  // Name used in error messages (a file name); defaults to "<input>".
  std::string source_name;
};

// Parses CSV text into a table. Throws bdp::Error(invalid_argument) naming
// the source, line and column for malformed input or a cell that does not
// fit its declared type.
BDP_SDK_API TablePtr parse(std::string_view text, const ReadOptions& options = {});

// Reads a file; errors name the file. Throws bdp::Error(not_found) for a
// missing file, bdp::Error(io) when it cannot be read.
BDP_SDK_API TablePtr read_file(const std::filesystem::path& path, ReadOptions options = {});

// Appends the table as CSV (header + rows) to `out`.
BDP_SDK_API void write(const Table& table, std::string& out);

// One cell formatted as it is written to CSV (unquoted).
BDP_SDK_API std::string format_cell(const Column& column, std::size_t row);

}  // namespace bdp::csv
