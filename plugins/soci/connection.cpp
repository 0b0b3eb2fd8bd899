#include "connection.hpp"

#include <bdp/sdk/error.hpp>

#include <cstdlib>

namespace bdp::socidb {

namespace {

constexpr std::string_view kSqliteScheme = "sqlite3://";
constexpr std::string_view kPostgresScheme = "postgresql://";

[[noreturn]] void config_error(std::string_view instance, std::string_view key,
                               const std::string& what) {
  throw Error(ErrorCode::config,
              "backends." + std::string(instance) + "." + std::string(key) + ": " + what);
}

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      if (!out.empty() && out.back() != ' ' && i + 1 < text.size()) out += "; ";
      continue;
    }
    out.push_back(c == '\t' ? ' ' : c);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

Settings parse_settings(std::string_view instance, const boost::json::object& config,
                        const std::filesystem::path& base_dir) {
  Settings settings;
  std::string connection;
  bool have_connection = false;
  bool have_synchronous = false;
  for (const auto& kv : config) {
    const std::string_view key = kv.key();
    if (key == "plugin") continue;
    if (key == "connection") {
      if (!kv.value().is_string()) config_error(instance, key, "must be a string");
      connection = std::string(kv.value().get_string());
      have_connection = true;
    } else if (key == "connection_env") {
      if (!kv.value().is_string()) config_error(instance, key, "must be a string");
      const std::string var(kv.value().get_string());
      const char* value = var.empty() ? nullptr : std::getenv(var.c_str());
      if (value == nullptr || *value == '\0') {
        config_error(instance, key,
                     "environment variable " + (var.empty() ? std::string("''") : var) +
                         " is not set; export it with the connection string");
      }
      if (have_connection) {
        config_error(instance, key, "give either \"connection\" or \"connection_env\", not both");
      }
      connection = value;
      have_connection = true;
    } else if (key == "inline_threshold_bytes") {
      const auto& v = kv.value();
      if (v.is_int64() && v.get_int64() >= 0) {
        settings.inline_threshold_bytes = static_cast<std::uint64_t>(v.get_int64());
      } else if (v.is_uint64()) {
        settings.inline_threshold_bytes = v.get_uint64();
      } else {
        config_error(instance, key, "must be a non-negative integer (bytes)");
      }
    } else if (key == "synchronous") {
      const auto* v = kv.value().if_string();
      if (v == nullptr || (*v != "normal" && *v != "full")) {
        config_error(instance, key, "must be \"normal\" or \"full\" (SQLite durability)");
      }
      settings.sqlite_synchronous = std::string(*v);
      have_synchronous = true;
    } else {
      config_error(instance, key,
                   "unknown key for the soci backend (known: plugin, connection, connection_env, "
                   "inline_threshold_bytes, synchronous)");
    }
  }
  if (!have_connection) {
    config_error(instance, "connection",
                 "missing: give \"connection\" (e.g. \"sqlite3://db=bdp-data/bdp.sqlite\") or "
                 "\"connection_env\" naming an environment variable that holds it");
  }
  settings.display = redact_connection(connection);
  const std::string_view text = connection;
  if (text.starts_with(kSqliteScheme)) {
    settings.dialect = Dialect::sqlite;
    std::string_view rest = text.substr(kSqliteScheme.size());
    if (rest.starts_with("db=")) rest.remove_prefix(3);
    if (rest.empty()) {
      config_error(instance, "connection", "'" + settings.display + "' names no database file");
    }
    if (rest.find_first_of(" \t'\"") != std::string_view::npos) {
      config_error(instance, "connection",
                   "'" + settings.display +
                       "': the SQLite path may not contain blanks or quotes, and other options "
                       "are not supported");
    }
    std::filesystem::path file(rest);
    if (file.is_relative()) file = base_dir / file;
    settings.sqlite_file = file.lexically_normal();
    settings.connect = "db=" + settings.sqlite_file.string();
  } else if (text.starts_with(kPostgresScheme)) {
    settings.dialect = Dialect::postgresql;
    if (have_synchronous) {
      config_error(instance, "synchronous",
                   "applies to SQLite only; PostgreSQL durability is the server's "
                   "synchronous_commit");
    }
    std::string_view rest = text.substr(kPostgresScheme.size());
    // "postgresql://host=... dbname=..." carries a conninfo string; anything
    // else ("postgresql://user@host/db") is a libpq URI as it stands.
    const auto eq = rest.find('=');
    const bool conninfo = eq != std::string_view::npos && eq != 0 &&
                          rest.substr(0, eq).find_first_not_of("abcdefghijklmnopqrstuvwxyz_ ") ==
                              std::string_view::npos;
    settings.connect = conninfo ? std::string(rest) : std::string(text);
  } else {
    config_error(instance, "connection",
                 "'" + settings.display +
                     "' is not supported: use \"sqlite3://db=<file>\" or "
                     "\"postgresql://host=... dbname=... user=...\"");
  }
  return settings;
}

}  // namespace bdp::socidb
