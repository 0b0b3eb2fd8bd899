// The parts of the soci backend that go past SOCI to the database's own
// client library, on the connection handle SOCI exposes: binary blobs (SOCI
// 4.0.3 maps PostgreSQL blobs onto large objects, not bytea, and binds a
// std::string to SQLite as text), and bulk loading and reading of reference
// tables (SOCI 4.0.3 sends bulk inserts row by row). Handles are passed as
// void* so that neither sqlite3.h nor libpq-fe.h leaks beyond the file that
// uses it. (PostgreSQL inline blobs are written as hex text in the record's
// insert, see backend.cpp, and read here in binary format.)
//
// Every function runs inside the caller's transaction and throws
// bdp::Error naming `where` (the record, the connection) on failure.
#pragma once

#include <bdp/sdk/table.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdp::socidb {

// ---- SQLite (sqlite3_bulk.cpp): `db` is a sqlite3*.

// Sets intermediate_data.payload of row `id` to `bytes`.
void sqlite_write_blob(void* db, long long id, std::string_view bytes, const std::string& where);
// The payload blob of row `id`; nullopt when the row is gone or has none.
std::optional<std::string> sqlite_read_blob(void* db, long long id, const std::string& where);
// Inserts every row of `table` into `sql_table` (columns in table order)
// with one prepared statement.
void sqlite_load_table(void* db, const std::string& sql_table, const Table& table,
                       const std::string& where);
// Every row of `sql_table`, in insertion order, as a table of `schema`.
TablePtr sqlite_read_table(void* db, const std::string& sql_table, const Schema& schema,
                           std::int64_t expected_rows, const std::string& where);

// ---- PostgreSQL (postgresql_bulk.cpp): `conn` is a PGconn*.

std::optional<std::string> pg_read_blob(void* conn, long long id, const std::string& where);
// COPY ... FROM STDIN of every row, in text format.
void pg_copy_table(void* conn, const std::string& sql_table,
                   const std::vector<std::string>& columns, const Table& table,
                   const std::string& where);
// COPY (SELECT ...) TO STDOUT, parsed back into a table of `schema`.
TablePtr pg_read_table(void* conn, const std::string& sql_table,
                       const std::vector<std::string>& columns, const Schema& schema,
                       std::int64_t expected_rows, const std::string& where);

}  // namespace bdp::socidb
