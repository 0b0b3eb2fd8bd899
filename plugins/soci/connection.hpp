// Connection settings of the soci backend: the backend block of the config
// ("connection" or "connection_env", "inline_threshold_bytes") parsed and
// checked, and the password redaction used in every message that names the
// connection. No SOCI here, so tests can use it directly.
#pragma once

#include <bdp/sdk/secrets.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace bdp::socidb {

enum class Dialect { sqlite, postgresql };

struct Settings {
  Dialect dialect = Dialect::sqlite;
  // What SOCI's backend gets: for SQLite "db=<absolute path>", for
  // PostgreSQL a libpq conninfo string or URI.
  std::string connect;
  // The connection string as configured, with any password redacted: the
  // only form that appears in messages and in location().
  std::string display;
  // SQLite only: the database file.
  std::filesystem::path sqlite_file;
  // Payloads whose binary encoding is at most this many bytes are stored
  // inline; larger tables go to a reference table. Default 1 MiB.
  std::uint64_t inline_threshold_bytes = 1u << 20;
  // SQLite only, key "synchronous": "normal" (default; in WAL mode a commit
  // survives a crash of the process, and the database stays consistent on
  // power loss, which may undo the last commits) or "full" (every commit is
  // fsynced: durable on power loss, a few ms per commit).
  std::string sqlite_synchronous = "normal";
};

// Parses the backend block `config` of instance `instance`. A relative
// SQLite path resolves against `base_dir`. Throws bdp::Error(config) naming
// "backends.<instance>.<key>" for an unknown key, a wrong type, a missing
// or unsupported connection string, or an unset environment variable.
Settings parse_settings(std::string_view instance, const boost::json::object& config,
                        const std::filesystem::path& base_dir);

// `text` on one line: line breaks become "; ", trailing blanks dropped.
std::string one_line(std::string_view text);

}  // namespace bdp::socidb
