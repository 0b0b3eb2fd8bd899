// The binary payload codec: a compact, self-describing, little-endian
// encoding of a Payload (a Table or a JSON value), used where a backend keeps
// a payload as one opaque blob (the soci backend's inline column). The format
// is documented byte by byte in docs/storage-db.md; version 1 is:
//
//   magic "BDPB" | u8 format version (1) | u8 kind (0 table, 1 json)
//   json:  u64 length | UTF-8 JSON text
//   table: u32 columns | u64 rows | per column:
//            u32 name length | name | u8 type (ColumnType) | u8 has_nulls
//            [rows bytes of validity, 1 = present, when has_nulls]
//            int64/timestamp: rows x i64 | float64: rows x IEEE-754 binary64
//            bool: rows x u8 (0/1)   | string: (rows + 1) x u64 offsets, then
//            the bytes (offsets[rows] of them)
//
// Decoding checks every length against the input, so a truncated or damaged
// blob is reported, never read past. Integrity of the bytes themselves is the
// caller's business (a checksum next to the blob).
//
// Thread-safety: free functions without shared state.
#pragma once

#include <bdp/sdk/export.hpp>
#include <bdp/sdk/payload.hpp>

#include <string>
#include <string_view>

namespace bdp::binary {

inline constexpr unsigned kFormatVersion = 1;

// Appends the encoding of `payload` to `out`.
BDP_SDK_API void encode(const Payload& payload, std::string& out);

// The encoding of `payload`.
BDP_SDK_API std::string encode(const Payload& payload);

// The number of bytes encode() produces for `payload`, computed without
// encoding (a table is walked once; a JSON value is serialised).
BDP_SDK_API std::size_t encoded_size(const Payload& payload);

// The checksum of a table's content, in the text form of bdp/sdk/checksum.hpp
// ("xxh64:..."): of the bytes encode(Payload(table)) writes, except that
// every NaN counts as the quiet NaN 0x7ff8000000000000 and every null cell
// as zero (0, 0.0, false, ""), so that two tables Table::equals calls equal
// have the same checksum however they were built. Computed in one pass over
// the column buffers, without building the encoding. Backends that keep a
// table in a form other than one blob (the soci backend's reference tables)
// store it and compare it with the table they read back.
BDP_SDK_API std::string content_checksum(const Table& table);

// Decodes a whole blob. Throws bdp::Error(corrupt) with a message starting
// with `where` (a record id, a file name) when the bytes are not a valid
// encoding: bad magic, unknown version or type, lengths past the end,
// trailing bytes.
BDP_SDK_API Payload decode(std::string_view bytes, std::string_view where);

}  // namespace bdp::binary
