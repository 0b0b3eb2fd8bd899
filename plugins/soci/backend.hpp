// The soci backend: records in a SQL database reached through SOCI — a
// SQLite file (the embedded default) or a PostgreSQL server (shared by many
// workers). Small payloads are kept inline in intermediate_data.payload in
// the SDK's binary encoding with a checksum; larger tables go to a typed
// table bdp_data_<id> that analysts can query with plain SQL.
//
// Thread-safe: one connection per backend object, used under a mutex. Safe
// across processes: every store is one transaction, versions are assigned
// under a write lock (SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock)
// and guarded by a unique constraint. See docs/storage-db.md.
//
// Opened read-only, it creates, migrates and writes nothing: SQLite through
// a read-only (or query-only) connection, PostgreSQL with every transaction
// read-only.
#pragma once

#include "connection.hpp"

#include <bdp/sdk/backend.hpp>

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace soci {
class session;
}

namespace bdp::socidb {

class SociBackend final : public Backend {
 public:
  // Opens (and creates or migrates) the database of the backend block
  // `config` of instance `instance`. Throws bdp::Error(config) for a bad
  // block, bdp::Error(io) naming the redacted connection when the database
  // cannot be reached or opened, bdp::Error(unsupported) when its schema is
  // newer than this plugin.
  // With `read_only`, opens an existing store only: a SQLite file that does
  // not exist, or a database without the bdp schema, is bdp::Error(not_found)
  // "no store at LOCATION"; a schema older than this plugin is
  // bdp::Error(unsupported) too; store(), remove(), save_process() and
  // remove_process() throw bdp::Error(invalid_argument).
  SociBackend(std::string_view instance, const boost::json::object& config,
              const std::filesystem::path& base_dir, bool read_only = false);
  ~SociBackend() override;

  std::string location() const override { return settings_.display; }
  bool persistent() const noexcept override { return true; }
  RecordInfo store(const StoreRequest& request, const Payload& payload) override;
  Payload retrieve(const RecordInfo& record) override;
  std::vector<RecordInfo> list(const Query& query) override;
  void remove(const RecordInfo& record) override;
  void save_process(const ProcessInfo& process) override;
  std::vector<ProcessInfo> list_processes() override;
  void remove_process(std::string_view process_id) override;
  BackendStats stats() override;
  // Moves damaged rows into the table bdp_quarantine (created when first
  // needed), all in one transaction; a reference table is renamed
  // bdp_quarantine_data_<id>. See docs/storage-db.md.
  QuarantineReport quarantine(const QuarantineRequest& request) override;

 private:
  // The sqlite3* or PGconn* under the SOCI session.
  void* native_handle() const;
  // SQL for a JSON parameter: ":name" on SQLite, "cast(:name as jsonb)" on
  // PostgreSQL.
  std::string json_param(std::string_view name) const;
  std::string json_column(std::string_view column) const;
  std::string where() const;
  bool table_exists(const std::string& name);
  [[noreturn]] void database_error(const std::exception& e, const std::string& doing) const;
  // Opens the SQLite file read-only (see the constructor).
  void open_sqlite_read_only();
  // Throws bdp::Error(invalid_argument) when the backend is read-only.
  void check_writable(std::string_view doing) const;

  std::string instance_;
  bool read_only_ = false;
  Settings settings_;
  std::mutex mutex_;
  std::unique_ptr<soci::session> sql_;
};

}  // namespace bdp::socidb
