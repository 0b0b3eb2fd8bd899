// The soci backend's database schema: creation, migrations (recorded in
// bdp_schema_version) and the DDL of reference tables.
//
// Tables (see docs/storage-db.md):
//   bdp_schema_version  one row: the schema version of this database
//   bdp_processes       one row per process (placeholders: recorded = 0)
//   intermediate_data   one row per stored entity version; inline payloads
//                       in its `payload` blob column
//   bdp_data_<id>       one typed table per record stored by reference
#pragma once

#include "connection.hpp"

#include <bdp/sdk/table.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace soci {
class session;
}

namespace bdp::socidb {

// The schema version this plugin writes and reads.
inline constexpr int kSchemaVersion = 1;

// Creates the schema in an empty database or migrates an older one to
// kSchemaVersion, each step in its own transaction and serialised against
// other processes doing the same. Throws bdp::Error(unsupported) naming
// `display` when the database's schema is newer than this plugin.
void ensure_schema(soci::session& sql, Dialect dialect, const std::string& display);

// For a database opened read-only: checks its schema without changing
// anything. Throws bdp::Error(not_found) "no store at `location`" when it
// holds no bdp schema, bdp::Error(unsupported) naming `display` when its
// schema is newer than this plugin, or older (a read-write open migrates it).
void check_schema(soci::session& sql, Dialect dialect, const std::string& display,
                  const std::string& location);

// "bdp_data_<id>": the name of the reference table of record `id`.
std::string data_table_name(long long id);
// True when `name` is a name data_table_name() makes.
bool is_data_table_name(std::string_view name);

// `name` as a quoted SQL identifier ("a""b").
std::string quote_identifier(std::string_view name);

// The SQL column identifiers (quoted) of a reference table for `schema`: the
// column names themselves when they are usable on `dialect` (non-empty, no
// NUL, at most 63 bytes, distinct ignoring case), else "c1".."cN".
std::vector<std::string> data_column_identifiers(const Schema& schema);

// CREATE TABLE of a reference table.
std::string create_data_table_sql(Dialect dialect, const std::string& table,
                                  const std::vector<std::string>& columns, const Schema& schema);

}  // namespace bdp::socidb
