// The CSV codec shared by the read_csv processor and the CSV backend.
//
// Format: RFC 4180 with a header row, ',' separator, '\n' line ends on
// write ("\n", "\r\n" and a lone '\r' all end a line on read; a UTF-8 byte
// order mark is skipped). Cells are written so that they read back exactly:
// an empty unquoted cell is null, a quoted empty cell ("") is the empty
// string; floats use the shortest form that round-trips; timestamps are
// ISO 8601 UTC; booleans are true/false.
#pragma once

#include <bdp/sdk/export.hpp>
#include <bdp/sdk/table.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace bdp::csv {

// How the bytes of a CSV text are taken.
enum class Encoding : std::uint8_t {
  // As they are, unchecked: a string cell holds exactly the bytes of its
  // text. For texts bdp wrote itself, which hold whatever the table held.
  as_is,
  // UTF-8, checked: a byte that is not part of a valid UTF-8 sequence
  // (overlong forms and surrogates included), and a NUL byte, are errors.
  utf8,
  // ISO-8859-1: each byte is the character of the same code, converted to
  // UTF-8. A NUL byte is an error.
  latin1,
  // Windows-1252: as latin1, but bytes 0x80-0x9F are the Windows characters
  // (0x80 is U+20AC, the euro sign; the five codes Windows leaves unassigned
  // are the control characters U+0081, U+008D, U+008F, U+0090, U+009D).
  windows1252,
};

// The encoding called `name`: "utf-8" (or "utf8"), "latin1" (or
// "iso-8859-1"), "windows-1252" (or "cp1252"), in any letter case. nullopt
// for any other name; "as_is" has no name.
BDP_SDK_API std::optional<Encoding> parse_encoding(std::string_view name) noexcept;

struct ReadOptions {
  // Column types by name; a declared column reads every cell its type's
  // reader accepts (int64 "007" is 7). Columns not named here are inferred
  // from their cells: the first of int64, float64, bool and timestamp that
  // holds every non-null cell without changing its text, else string (an
  // all-null column is string). A cell fits a type when the table's CSV
  // form of its value is the cell's text, except where noted:
  //   int64      "-"? then "0" or digits without a leading zero, in range
  //              ("42", "-7"; not "007", "+5", "-0", "1.0", " 7", "0x1F")
  //   float64    a decimal whose every digit the double keeps, trailing
  //              zeros after the point allowed ("9.00", "0.0001", "-0",
  //              "1.5"; not "01.5", ".5", "1.", "+1.5",
  //              "12345678901234567890"); an exponent only in the written
  //              form ("1e+300", "1e-07"; not "1e3"); "nan", "inf", "-inf"
  //   bool       true or false, in any letter case
  //   timestamp  "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (fewer fraction digits
  //              allowed); not a date alone, a time without "Z", an offset
  // Quotes around a cell do not change its type.
  std::map<std::string, ColumnType, std::less<>> schema;
  // Name used in error messages (a file name); defaults to "<input>".
  std::string source_name;
  // How the text's bytes are taken (see Encoding); latin1 and windows1252
  // texts are converted, and their string cells hold UTF-8.
  Encoding encoding = Encoding::as_is;
};

// Parses CSV text into a table. Throws bdp::Error(invalid_argument) naming
// the source, line and column for malformed input, a cell that does not fit
// its declared type, or (with a checked encoding) a byte that the encoding
// does not allow; those messages also give the byte's place in its line
// ("byte 7 of the line": 1-based, in the text's own bytes). Encoding
// problems are found before any cell is read. An empty text (or only a byte
// order mark) is a table with no columns: what write() writes for one.
BDP_SDK_API TablePtr parse(std::string_view text, const ReadOptions& options = {});

// As parse(), which is parse(text, options, 0). When every column is
// declared in `options.schema`, a text of more than 8 MiB is read in pieces
// on up to `threads` threads (0: one per core, at most 8); the result,
// errors included, is that of one sequential read.
BDP_SDK_API TablePtr parse(std::string_view text, const ReadOptions& options, unsigned threads);

// Reads a file; errors name the file. Throws bdp::Error(not_found) for a
// missing file, bdp::Error(io) when it cannot be read, and
// bdp::Error(invalid_argument) for an empty file (0 bytes, or only a byte
// order mark): a CSV file has at least a header line.
BDP_SDK_API TablePtr read_file(const std::filesystem::path& path, ReadOptions options = {});

// Appends the table as CSV (header + rows) to `out`. Large tables are
// formatted on several threads (as write_chunked with threads = 0).
BDP_SDK_API void write(const Table& table, std::string& out);

// Writes the table as CSV in pieces of about 1 MiB: `sink` receives
// consecutive pieces, always on the calling thread and in order, whose
// concatenation is exactly what write() appends. Tables of more than about
// 256K cells are formatted by up to `threads` worker threads (0: one per
// core, at most 8) a few pieces ahead of the sink, so a sink that writes to
// a file overlaps the disk with the formatting. An exception thrown by
// `sink` (or std::bad_alloc) stops the workers and propagates.
BDP_SDK_API void write_chunked(const Table& table,
                               const std::function<void(std::string_view)>& sink,
                               unsigned threads = 0);

// One cell formatted as it is written to CSV (unquoted).
BDP_SDK_API std::string format_cell(const Column& column, std::size_t row);

}  // namespace bdp::csv
