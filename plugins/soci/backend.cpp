#include "backend.hpp"

#include "native.hpp"
#include "schema.hpp"

#include <bdp/sdk/binary.hpp>
#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <system_error>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

namespace bdp::socidb {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// One transaction, rolled back unless committed. A write transaction is
// BEGIN IMMEDIATE on SQLite (the write lock is taken up front, so two
// writers never deadlock on a lock upgrade) and BEGIN on PostgreSQL. A read
// transaction sees one snapshot: a plain BEGIN on SQLite (WAL lets writers
// go on meanwhile), REPEATABLE READ on PostgreSQL.
class Transaction {
 public:
  enum class Access { write, read };
  Transaction(soci::session& sql, Dialect dialect, Access access = Access::write) : sql_(sql) {
    if (dialect == Dialect::sqlite) {
      sql_ << (access == Access::write ? "begin immediate" : "begin");
    } else {
      sql_ << (access == Access::write ? "begin" : "begin isolation level repeatable read");
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Never throws: it runs while another error unwinds. A rollback that
  // fails (an unusable connection, no memory for the statement) leaves the
  // transaction open; the database discards it when the connection goes,
  // and the error being unwound is the one worth reporting.
  ~Transaction() noexcept {
    if (done_) return;
    try {
      sql_ << "rollback";
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): see above
    }
  }
  void commit() {
    sql_ << "commit";
    done_ = true;
  }
  void rollback() {
    done_ = true;
    sql_ << "rollback";
  }

 private:
  soci::session& sql_;
  bool done_ = false;
};

std::optional<long long> number_of(std::string_view id) {
  long long n = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size() || n <= 0) return std::nullopt;
  return n;
}

std::string describe_record(const RecordInfo& r) {
  return "record " + r.id + " (" + r.process_id + "/" + r.stage_name + "/" + r.entity_name + " v" +
         std::to_string(r.version) + ")";
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

bool has_nan(const Table& table) {
  for (const auto& column : table.columns()) {
    if (column.type() != ColumnType::float64) continue;
    for (std::size_t r = 0; r < column.size(); ++r) {
      if (!column.is_null(r) && std::isnan(column.float64_at(r))) return true;
    }
  }
  return false;
}

std::string schema_json(const Schema& schema) {
  json::array out;
  for (const auto& f : schema) {
    out.push_back(json::object{{"name", f.name}, {"type", to_string(f.type)}});
  }
  return json::serialize(out);
}

// The schema in a schema column, or nullopt with `problem` saying why not.
std::optional<Schema> read_schema(const std::string& text, std::string& problem) {
  Schema schema;
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_array()) {
    problem = "its schema column is not a JSON array";
    return std::nullopt;
  }
  for (const auto& item : value.get_array()) {
    const auto* obj = item.if_object();
    const auto* name = obj ? obj->if_contains("name") : nullptr;
    const auto* type = obj ? obj->if_contains("type") : nullptr;
    std::optional<ColumnType> parsed;
    if (type && type->is_string()) parsed = parse_column_type(type->get_string());
    if (!name || !name->is_string() || !parsed) {
      problem = "its schema column has a bad field";
      return std::nullopt;
    }
    schema.push_back(Field{std::string(name->get_string()), *parsed});
  }
  return schema;
}

// The object in a JSON column, or nullopt with `problem` saying why not.
std::optional<json::object> read_object(const std::string& text, const char* column,
                                        std::string& problem) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    problem = "its " + std::string(column) + " column is not a JSON object";
    return std::nullopt;
  }
  return std::move(value.get_object());
}

// What is wrong with the columns of an intermediate_data row that list()
// and retrieve() read, or empty; fills in `r` from them as far as they go.
std::string read_record_columns(RecordInfo& r, const std::string& storage_type,
                                const std::string& metadata, const std::string& kind,
                                const std::string& schema) {
  std::string problem;
  r.storage_type = storage_type == "reference" ? StorageType::reference : StorageType::inline_data;
  if (kind == "table" || kind == "json") {
    r.kind = kind == "json" ? PayloadKind::json : PayloadKind::table;
  } else {
    problem = "its kind column is '" + kind + "', neither table nor json";
  }
  if (auto object = read_object(metadata, "metadata", problem)) r.metadata = std::move(*object);
  if (auto parsed = read_schema(schema, problem)) r.schema = std::move(*parsed);
  if (storage_type == "reference" && !is_data_table_name(r.data_reference)) {
    problem = "its data_reference '" + r.data_reference + "' is not a bdp table";
  }
  if (!r.checksum.empty() && !parse_checksum(r.checksum)) {
    problem = "its checksum column '" + r.checksum + "' is not a checksum";
  }
  return problem;
}

// ProcessStatus of a status column; nullopt for anything else.
std::optional<ProcessStatus> status_of(std::string_view text) {
  for (auto s : {ProcessStatus::running, ProcessStatus::completed, ProcessStatus::failed,
                 ProcessStatus::interrupted}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

// Test hook, compiled only into the copy of this plugin that the test suite
// builds (BDP_SOCI_TEST_HOOKS; see tests/CMakeLists.txt), never into the one
// that is installed: when BDP_SOCI_TEST_PAUSE_BEFORE_COMMIT names a file,
// store() creates it and waits a minute before committing, so a test can
// kill the writer at exactly that point.
void pause_before_commit_for_tests() {
#if defined(BDP_SOCI_TEST_HOOKS)
  const char* marker = std::getenv("BDP_SOCI_TEST_PAUSE_BEFORE_COMMIT");
  if (marker == nullptr || *marker == '\0') return;
  std::ofstream(marker) << "paused\n";
  std::this_thread::sleep_for(std::chrono::seconds(60));
#endif
}

}  // namespace

SociBackend::SociBackend(std::string_view instance, const boost::json::object& config,
                         const fs::path& base_dir, bool read_only)
    : instance_(instance),
      read_only_(read_only),
      settings_(parse_settings(instance, config, base_dir)) {
  if (read_only_) {
    if (settings_.dialect == Dialect::sqlite) {
      open_sqlite_read_only();
    } else {
      try {
        sql_ = std::make_unique<soci::session>();
        sql_->open(*soci::factory_postgresql(), settings_.connect);
        *sql_ << "set client_min_messages = warning";
        // Every transaction of this session is read-only, the implicit ones too.
        *sql_ << "set default_transaction_read_only = on";
      } catch (const soci::soci_error& e) {
        throw Error(ErrorCode::io, where() + ": cannot connect: " +
                                       redact_connection(one_line(e.get_error_message())));
      }
    }
    try {
      check_schema(*sql_, settings_.dialect, settings_.display,
                   settings_.dialect == Dialect::sqlite ? settings_.sqlite_file.string()
                                                        : settings_.display);
    } catch (const soci::soci_error& e) {
      database_error(e, "cannot read the bdp schema version");
    }
    return;
  }
  if (settings_.dialect == Dialect::sqlite) {
    std::error_code ec;
    fs::create_directories(settings_.sqlite_file.parent_path(), ec);
    if (ec) {
      throw Error(ErrorCode::io, where() + ": cannot create the folder " +
                                     settings_.sqlite_file.parent_path().string() + ": " +
                                     ec.message());
    }
  }
  try {
    sql_ = std::make_unique<soci::session>();
    if (settings_.dialect == Dialect::sqlite) {
      sql_->open(*soci::factory_sqlite3(), settings_.connect);
      *sql_ << "pragma busy_timeout = 30000";
      std::string mode;
      *sql_ << "pragma journal_mode = wal", soci::into(mode);
      *sql_ << "pragma synchronous = " + settings_.sqlite_synchronous;
      *sql_ << "pragma foreign_keys = on";
    } else {
      sql_->open(*soci::factory_postgresql(), settings_.connect);
      *sql_ << "set client_min_messages = warning";
    }
  } catch (const soci::soci_error& e) {
    throw Error(ErrorCode::io, where() + ": cannot connect: " +
                                   redact_connection(one_line(e.get_error_message())));
  }
  try {
    ensure_schema(*sql_, settings_.dialect, settings_.display);
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot create or migrate the bdp schema");
  }
}

SociBackend::~SociBackend() = default;

namespace {

// `file` as an SQLite URI file name with `query`: "file:/a/b.sqlite?mode=ro".
// A path with '?', '#' or '%' has them percent-escaped.
std::string sqlite_uri(const fs::path& file, std::string_view query) {
  std::string out = "file:";
  for (char c : file.string()) {
    if (c == '?' || c == '#' || c == '%') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
  return out + "?" + std::string(query);
}

bool file_exists(const fs::path& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0;
}

}  // namespace

void SociBackend::open_sqlite_read_only() {
  const fs::path& file = settings_.sqlite_file;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      throw Error(ErrorCode::not_found, "no store at " + file.string());
    }
    throw Error(ErrorCode::io, where() + ": cannot open " + file.string() + ": " +
                                   std::error_code(errno, std::generic_category()).message());
  }
  // SQLite in WAL mode (every bdp database) coordinates readers and writers
  // through FILE-wal and FILE-shm, which a reader creates when they are not
  // there. A read-only connection then leaves them behind, so:
  //  - a file and folder this user may write, with no -wal or an empty one
  //    (nobody writes, at most other readers have it open): a read-write
  //    connection that may not create the file and runs query-only; the
  //    last such connection to close removes both files (a read-only one
  //    could not, and concurrent readers would leave them behind);
  //  - a folder this user cannot write, without -shm (a read-only copy,
  //    another user's store nobody has open): SQLite cannot coordinate, so
  //    the file is opened immutable, read as it is without locking; refused
  //    when a -wal holds changes not yet in the file, which it would miss;
  //  - otherwise: a read-only connection over the existing -wal and -shm.
  // Choosing a mode needs SQLite URI file names (SOCI passes the name on;
  // SQLite takes a URI when built with SQLITE_USE_URI, as Debian's is).
  const fs::path folder = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const fs::path wal = file.string() + "-wal";
  const fs::path shm = file.string() + "-shm";
  // (The SQLite API comes with SOCI's header, in namespace sqlite_api.)
  const bool uri = sqlite_api::sqlite3_compileoption_used("USE_URI") != 0;
  const bool folder_writable = ::access(folder.c_str(), W_OK) == 0;
  std::string connect;
  struct stat wal_st {};
  const bool wal_holds_changes = ::stat(wal.c_str(), &wal_st) == 0 && wal_st.st_size > 0;
  if (uri && folder_writable && ::access(file.c_str(), W_OK) == 0 && !wal_holds_changes) {
    connect = "db=" + sqlite_uri(file, "mode=rw");
  } else if (!folder_writable && !file_exists(shm)) {
    if (wal_holds_changes) {
      throw Error(ErrorCode::io,
                  where() + ": cannot read " + file.string() + " read-only: its write-ahead log " +
                      wal.string() + " holds changes not yet in the file, and SQLite needs to " +
                      "create " + shm.string() +
                      " to read them, in a folder this user cannot write; open it read-write "
                      "once (bdp run), or copy it with its -wal file into a writable folder");
    }
    if (!uri) {
      throw Error(ErrorCode::io,
                  where() + ": cannot read " + file.string() +
                      " read-only in a folder this user cannot write: the SQLite library was "
                      "built without URI file names (SQLITE_USE_URI), needed to open it immutable");
    }
    connect = "db=" + sqlite_uri(file, "mode=ro&immutable=1") + " readonly=1";
  } else {
    connect = "db=" + (uri ? sqlite_uri(file, "mode=ro") : file.string()) + " readonly=1";
  }
  try {
    sql_ = std::make_unique<soci::session>();
    sql_->open(*soci::factory_sqlite3(), connect);
    *sql_ << "pragma busy_timeout = 30000";
    *sql_ << "pragma query_only = 1";
  } catch (const soci::soci_error& e) {
    throw Error(ErrorCode::io, where() + ": cannot open " + file.string() + " read-only: " +
                                   redact_connection(one_line(e.get_error_message())));
  }
}

void SociBackend::check_writable(std::string_view doing) const {
  if (read_only_) {
    throw Error(ErrorCode::invalid_argument,
                where() + " is open read-only: cannot " + std::string(doing));
  }
}

std::string SociBackend::where() const {
  return "soci backend '" + instance_ + "' (" + settings_.display + ")";
}

void SociBackend::database_error(const std::exception& e, const std::string& doing) const {
  const auto* soci_error = dynamic_cast<const soci::soci_error*>(&e);
  std::string message = soci_error ? soci_error->get_error_message() : std::string(e.what());
  throw Error(ErrorCode::io, where() + ": " + doing + ": " + redact_connection(one_line(message)));
}

void* SociBackend::native_handle() const {
  if (settings_.dialect == Dialect::sqlite) {
    return static_cast<soci::sqlite3_session_backend*>(sql_->get_backend())->conn_;
  }
  return static_cast<soci::postgresql_session_backend*>(sql_->get_backend())->conn_;
}

std::string SociBackend::json_param(std::string_view name) const {
  return settings_.dialect == Dialect::sqlite ? ":" + std::string(name)
                                              : "cast(:" + std::string(name) + " as jsonb)";
}

std::string SociBackend::json_column(std::string_view column) const {
  return settings_.dialect == Dialect::sqlite ? std::string(column)
                                              : "cast(" + std::string(column) + " as text)";
}

RecordInfo SociBackend::store(const StoreRequest& request, const Payload& payload) {
  check_writable("store " + std::string(request.process_id) + "/" +
                 std::string(request.stage_name) + "/" + std::string(request.entity_name));
  RecordInfo record;
  record.process_id = request.process_id;
  record.stage_name = request.stage_name;
  record.entity_name = request.entity_name;
  record.metadata = request.metadata;
  record.kind = payload.kind();
  if (payload.is_table()) {
    record.schema = payload.table()->schema();
    record.row_count = static_cast<std::int64_t>(payload.table()->num_rows());
  }
  // JSON and column-less tables have no typed-table form: always inline.
  // So is a table with a NaN on SQLite, which stores NaN as NULL.
  const bool by_reference = payload.is_table() && payload.table()->num_columns() != 0 &&
                            binary::encoded_size(payload) > settings_.inline_threshold_bytes &&
                            !(settings_.dialect == Dialect::sqlite && has_nan(*payload.table()));
  std::string blob;
  if (by_reference) {
    record.storage_type = StorageType::reference;
    record.size_bytes = static_cast<std::int64_t>(payload.byte_size());
    // Of the table's content, so that a changed value in its SQL table is
    // found on retrieve (one pass over the column buffers).
    record.checksum = binary::content_checksum(*payload.table());
  } else {
    record.storage_type = StorageType::inline_data;
    blob = binary::encode(payload);
    record.checksum = checksum_text(blob);
    record.size_bytes = static_cast<std::int64_t>(blob.size());
  }
  const std::string metadata = json::serialize(record.metadata);
  const std::string schema = schema_json(record.schema);
  const std::string storage_type(to_string(record.storage_type));
  const std::string kind(to_string(record.kind));
  const bool pg = settings_.dialect == Dialect::postgresql;

  std::lock_guard lock(mutex_);
  try {
    Transaction tx(*sql_, settings_.dialect);
    // intermediate_data.process_id is a foreign key: make sure the process
    // has a row; save_process() later fills it in.
    ProcessInfo placeholder;
    placeholder.id = record.process_id;
    placeholder.name = record.process_id;
    placeholder.started_at = now_micros();
    const std::string summary = json::serialize(placeholder.to_json());
    const std::string status(to_string(placeholder.status));
    const long long started = placeholder.started_at;
    const std::string no_config = "{}";
    if (pg) {
      // Writers of the same key queue on an advisory lock (the unique
      // constraint backs it), taken in the same round trip as the insert.
      const std::string key =
          record.process_id + '\x1f' + record.stage_name + '\x1f' + record.entity_name;
      *sql_ << "insert into bdp_processes (id, name, description, status, started_at,"
               " finished_at, config, summary, recorded) select :id, :name, '', :status,"
               " :started, 0, cast(:config as jsonb), cast(:summary as jsonb), false from"
               " (select pg_advisory_xact_lock(hashtextextended(:k, 0))) as key_lock"
               " on conflict (id) do nothing",
          soci::use(record.process_id, "id"), soci::use(record.process_id, "name"),
          soci::use(status, "status"), soci::use(started, "started"),
          soci::use(no_config, "config"), soci::use(summary, "summary"), soci::use(key, "k");
    } else {
      // BEGIN IMMEDIATE already holds the database's write lock.
      *sql_ << "insert into bdp_processes (id, name, description, status, started_at,"
               " finished_at, config, summary, recorded) values (:id, :name, '', :status,"
               " :started, 0, :config, :summary, 0) on conflict (id) do nothing",
          soci::use(record.process_id, "id"), soci::use(record.process_id, "name"),
          soci::use(status, "status"), soci::use(started, "started"),
          soci::use(no_config, "config"), soci::use(summary, "summary");
    }
    // The next version is computed in the insert itself (one round trip).
    record.created_at = now_micros();
    const long long created = record.created_at;
    const long long size = record.size_bytes;
    const long long rows = record.row_count;
    // PostgreSQL gets an inline blob in the insert, as hex text (SOCI 4.0.3
    // has no bytea binding); SQLite gets it through its C API below.
    const std::string blob_param = pg && !by_reference ? to_hex(blob) : std::string();
    long long id = 0;
    long long version = 0;
    *sql_ << "insert into intermediate_data (process_id, stage_name, entity_name, version,"
             " storage_type, data_reference, metadata, created_at, size_bytes, checksum, kind,"
             " schema, row_count, payload) select :p, :s, :e, coalesce(max(version), 0) + 1, :t,"
             " '', " +
                 json_param("m") + ", :c, :b, :x, :k, " + json_param("sc") + ", :r, " +
                 (pg ? "nullif(decode(:blob, 'hex'), '')" : "nullif(:blob, '')") +
                 " from intermediate_data where process_id = :p2 and stage_name = :s2 and"
                 " entity_name = :e2 returning id, version",
        soci::use(record.process_id, "p"), soci::use(record.stage_name, "s"),
        soci::use(record.entity_name, "e"), soci::use(storage_type, "t"), soci::use(metadata, "m"),
        soci::use(created, "c"), soci::use(size, "b"), soci::use(record.checksum, "x"),
        soci::use(kind, "k"), soci::use(schema, "sc"), soci::use(rows, "r"),
        soci::use(blob_param, "blob"), soci::use(record.process_id, "p2"),
        soci::use(record.stage_name, "s2"), soci::use(record.entity_name, "e2"), soci::into(id),
        soci::into(version);
    record.version = version;
    record.id = std::to_string(id);
    const std::string where_record = describe_record(record) + " in " + settings_.display;
    if (!by_reference) {
      if (!pg) sqlite_write_blob(native_handle(), id, blob, where_record);
    } else {
      const std::string table_name = data_table_name(id);
      const auto columns = data_column_identifiers(record.schema);
      *sql_ << create_data_table_sql(settings_.dialect, table_name, columns, record.schema);
      if (pg) {
        pg_copy_table(native_handle(), table_name, columns, *payload.table(), where_record);
      } else {
        sqlite_load_table(native_handle(), table_name, *payload.table(), where_record);
      }
      *sql_ << "update intermediate_data set data_reference = :t where id = :id",
          soci::use(table_name), soci::use(id);
      record.data_reference = table_name;
    }
    pause_before_commit_for_tests();
    tx.commit();
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot store " + record.process_id + "/" + record.stage_name + "/" +
                          record.entity_name);
  }
  return record;
}

Payload SociBackend::retrieve(const RecordInfo& record) {
  const std::string where_record = describe_record(record) + " in " + settings_.display;
  // Listed as damaged: its row does not parse (the message names it).
  if (!record.damage.empty()) throw Error(ErrorCode::corrupt, record.damage);
  const auto id = number_of(record.id);
  auto gone = [&] {
    return Error(ErrorCode::not_found, where_record + " is not there: it was removed");
  };
  if (!id) throw gone();
  const bool pg = settings_.dialect == Dialect::postgresql;
  std::lock_guard lock(mutex_);
  try {
    // The row and its payload are read in one snapshot. A reference table
    // dropped after the snapshot was taken (PostgreSQL looks tables up
    // outside it) fails the read: if the row is gone by then, the record
    // was removed meanwhile, which is not damage.
    Transaction tx(*sql_, settings_.dialect, Transaction::Access::read);
    std::string storage_type, kind, schema_text, metadata;
    RecordInfo stored;
    long long rows = 0;
    long long key = *id;
    *sql_ << "select storage_type, data_reference, checksum, kind, " + json_column("schema") +
                 ", row_count, " + json_column("metadata") +
                 " from intermediate_data where id = :id",
        soci::use(key), soci::into(storage_type), soci::into(stored.data_reference),
        soci::into(stored.checksum), soci::into(kind), soci::into(schema_text), soci::into(rows),
        soci::into(metadata);
    if (!sql_->got_data()) throw gone();
    const std::string problem =
        read_record_columns(stored, storage_type, metadata, kind, schema_text);
    if (!problem.empty()) throw Error(ErrorCode::corrupt, where_record + ": " + problem);
    auto read_payload = [&]() -> Payload {
      if (stored.storage_type == StorageType::inline_data) {
        auto blob = pg ? pg_read_blob(native_handle(), key, where_record)
                       : sqlite_read_blob(native_handle(), key, where_record);
        if (!blob) throw Error(ErrorCode::corrupt, where_record + ": its payload blob is missing");
        const std::string actual = checksum_text(*blob);
        if (actual != stored.checksum) {
          throw Error(ErrorCode::corrupt, where_record +
                                              ": the payload blob is damaged (checksum " + actual +
                                              ", recorded " + stored.checksum + ")");
        }
        return binary::decode(*blob, where_record);
      }
      const std::string& table_name = stored.data_reference;
      // (The transaction also scopes pg_read_table's "set local".)
      TablePtr table =
          pg ? pg_read_table(native_handle(), table_name, data_column_identifiers(stored.schema),
                             stored.schema, rows, where_record)
             : sqlite_read_table(native_handle(), table_name, stored.schema, rows, where_record);
      // Rows written before reference tables had a checksum have none.
      if (!stored.checksum.empty()) {
        const std::string actual = binary::content_checksum(*table);
        if (actual != stored.checksum) {
          throw Error(ErrorCode::corrupt, where_record + ": reference table " + table_name +
                                              " was changed (its content has checksum " + actual +
                                              ", recorded " + stored.checksum + ")");
        }
      }
      return Payload(std::move(table));
    };
    std::optional<Payload> payload;
    try {
      payload = read_payload();
    } catch (...) {
      tx.rollback();
      long long found = 0;
      *sql_ << "select 1 from intermediate_data where id = :id", soci::use(key), soci::into(found);
      if (!sql_->got_data()) throw gone();
      throw;
    }
    tx.commit();
    return std::move(*payload);
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot read " + describe_record(record));
  }
}

std::vector<RecordInfo> SociBackend::list(const Query& query) {
  std::string sql =
      "select id, process_id, stage_name, entity_name, version, storage_type, data_reference, " +
      json_column("metadata") + ", created_at, size_bytes, checksum, kind, " +
      json_column("schema") + ", row_count from intermediate_data";
  std::deque<std::string> texts;  // stable addresses for the bound values
  std::deque<long long> numbers;
  std::vector<std::string> conditions;
  std::vector<std::function<void(soci::statement&)>> uses;  // in placeholder order
  auto bind_text = [&](const std::string& condition, std::string value) {
    conditions.push_back(condition);
    texts.push_back(std::move(value));
    uses.push_back([&value = texts.back()](soci::statement& st) { st.exchange(soci::use(value)); });
  };
  auto bind_number = [&](const std::string& condition, long long value) {
    conditions.push_back(condition);
    numbers.push_back(value);
    uses.push_back(
        [&value = numbers.back()](soci::statement& st) { st.exchange(soci::use(value)); });
  };
  if (query.process_id) bind_text("process_id = :p", *query.process_id);
  if (query.stage_name) bind_text("stage_name = :s", *query.stage_name);
  if (query.entity_name) bind_text("entity_name = :e", *query.entity_name);
  if (query.since) bind_number("created_at >= :since", *query.since);
  if (query.until) bind_number("created_at < :until", *query.until);
  std::deque<double> reals;
  if (settings_.dialect == Dialect::sqlite) {
    // Narrow by the scalar metadata values in SQL, so that only candidate
    // rows are read and parsed; Query::matches below decides exactly.
    for (std::size_t i = 0; i < query.metadata_equals.size(); ++i) {
      const auto& [key, value] = query.metadata_equals[i];
      if (key.find_first_of("\"\\") != std::string::npos) continue;
      const std::string n = std::to_string(i);
      const std::string condition = "json_extract(metadata, :mk" + n + ") = :mv" + n;
      texts.push_back("$.\"" + key + "\"");
      auto path = [&path = texts.back()](soci::statement& st) { st.exchange(soci::use(path)); };
      if (value.is_string()) {
        uses.push_back(path);
        bind_text(condition, std::string(value.get_string()));
      } else if (value.is_int64() || value.is_bool()) {
        uses.push_back(path);
        bind_number(condition, value.is_bool() ? (value.get_bool() ? 1 : 0) : value.get_int64());
      } else if (value.is_double()) {
        uses.push_back(path);
        conditions.push_back(condition);
        reals.push_back(value.get_double());
        uses.push_back([&v = reals.back()](soci::statement& st) { st.exchange(soci::use(v)); });
      }
    }
  }
  if (!query.metadata_equals.empty() && settings_.dialect == Dialect::postgresql) {
    // Containment narrows the rows with the GIN index; Query::matches below
    // decides exactly.
    json::object wanted;
    for (const auto& [key, value] : query.metadata_equals) wanted[key] = value;
    bind_text("metadata @> cast(:m as jsonb)", json::serialize(wanted));
  }
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    sql += (i == 0 ? " where " : " and ") + conditions[i];
  }
  const char* dir = query.newest_first ? " desc" : "";
  sql += std::string(" order by created_at") + dir + ", version" + dir + ", id";
  if (query.limit && query.metadata_equals.empty()) sql += " limit " + std::to_string(*query.limit);

  std::vector<RecordInfo> out;
  std::lock_guard lock(mutex_);
  try {
    long long id = 0, version = 0, created = 0, size = 0, rows = 0;
    std::string process, stage, entity, storage_type, reference, metadata, checksum, kind, schema;
    soci::statement st(*sql_);
    for (auto& use : uses) use(st);
    st.exchange(soci::into(id));
    st.exchange(soci::into(process));
    st.exchange(soci::into(stage));
    st.exchange(soci::into(entity));
    st.exchange(soci::into(version));
    st.exchange(soci::into(storage_type));
    st.exchange(soci::into(reference));
    st.exchange(soci::into(metadata));
    st.exchange(soci::into(created));
    st.exchange(soci::into(size));
    st.exchange(soci::into(checksum));
    st.exchange(soci::into(kind));
    st.exchange(soci::into(schema));
    st.exchange(soci::into(rows));
    st.alloc();
    st.prepare(sql);
    st.define_and_bind();
    if (st.execute(true)) {
      do {
        RecordInfo r;
        r.id = std::to_string(id);
        r.process_id = process;
        r.stage_name = stage;
        r.entity_name = entity;
        r.version = version;
        r.data_reference = reference;
        r.created_at = created;
        r.size_bytes = size;
        r.checksum = checksum;
        r.row_count = rows;
        // A row whose columns do not parse is listed marked, with what
        // could be read: its key columns always can.
        const std::string problem = read_record_columns(r, storage_type, metadata, kind, schema);
        if (!problem.empty()) {
          r.damage = describe_record(r) + " in " + settings_.display + ": " + problem;
        }
        if (query.metadata_equals.empty() || query.matches(r)) out.push_back(std::move(r));
      } while (st.fetch());
    }
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot list records");
  }
  query.order_and_limit(out);
  return out;
}

void SociBackend::remove(const RecordInfo& record) {
  check_writable("remove " + describe_record(record));
  const auto id = number_of(record.id);
  if (!id) return;
  const bool pg = settings_.dialect == Dialect::postgresql;
  std::lock_guard lock(mutex_);
  try {
    Transaction tx(*sql_, settings_.dialect);
    long long key = *id;
    std::string storage_type, reference, process;
    *sql_
        << "select storage_type, data_reference, process_id from intermediate_data where id = :id",
        soci::use(key), soci::into(storage_type), soci::into(reference), soci::into(process);
    if (!sql_->got_data()) return;  // already gone: the transaction rolls back, nothing changed
    *sql_ << "delete from intermediate_data where id = :id", soci::use(key);
    if (storage_type == "reference" && is_data_table_name(reference)) {
      *sql_ << "drop table if exists " + reference;
    }
    // A placeholder process row goes with its last record.
    *sql_ << std::string("delete from bdp_processes where id = :p and recorded = ") +
                 (pg ? "false" : "0") +
                 " and not exists (select 1 from intermediate_data where process_id = :p2)",
        soci::use(process, "p"), soci::use(process, "p2");
    tx.commit();
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot remove " + describe_record(record));
  }
}

void SociBackend::save_process(const ProcessInfo& process) {
  check_writable("save process " + process.id);
  const bool pg = settings_.dialect == Dialect::postgresql;
  const std::string config = json::serialize(process.config);
  const std::string summary = json::serialize(process.to_json());
  const std::string status(to_string(process.status));
  const long long started = process.started_at;
  const long long finished = process.finished_at;
  std::lock_guard lock(mutex_);
  try {
    *sql_ << "insert into bdp_processes (id, name, description, status, started_at, finished_at,"
             " config, summary, recorded) values (:id, :name, :description, :status, :started,"
             " :finished, " +
                 json_param("config") + ", " + json_param("summary") + ", " + (pg ? "true" : "1") +
                 ") on conflict (id) do update set name = excluded.name, description ="
                 " excluded.description, status = excluded.status, started_at ="
                 " excluded.started_at, finished_at = excluded.finished_at, config ="
                 " excluded.config, summary = excluded.summary, recorded = excluded.recorded",
        soci::use(process.id, "id"), soci::use(process.name, "name"),
        soci::use(process.description, "description"), soci::use(status, "status"),
        soci::use(started, "started"), soci::use(finished, "finished"), soci::use(config, "config"),
        soci::use(summary, "summary");
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot save process " + process.id);
  }
}

std::vector<ProcessInfo> SociBackend::list_processes() {
  const bool pg = settings_.dialect == Dialect::postgresql;
  std::vector<ProcessInfo> out;
  std::lock_guard lock(mutex_);
  try {
    std::string id, name, description, status, summary;
    long long started = 0, finished = 0;
    soci::statement st =
        (sql_->prepare << "select id, name, description, status, started_at, finished_at, " +
                              json_column("summary") +
                              " from bdp_processes where recorded = " + (pg ? "true" : "1"),
         soci::into(id), soci::into(name), soci::into(description), soci::into(status),
         soci::into(started), soci::into(finished), soci::into(summary));
    if (st.execute(true)) {
      do {
        const std::string where_process = "process row " + id + " in " + settings_.display;
        boost::system::error_code ec;
        auto value = json::parse(summary, ec);
        std::string problem;
        if (ec) {
          problem = where_process + ": its summary column is not JSON";
        } else {
          try {
            ProcessInfo p = ProcessInfo::from_json(value, where_process);
            if (p.id == id) {
              out.push_back(std::move(p));
              continue;
            }
            problem = where_process + ": its summary names process '" + p.id + "'";
          } catch (const Error& e) {
            problem = e.what();  // names the row and the field
          }
        }
        // Damaged: listed marked, with what the row's own columns say.
        ProcessInfo p;
        p.id = id;
        p.name = name;
        p.description = description;
        p.status = status_of(status).value_or(ProcessStatus::running);
        p.started_at = started;
        p.finished_at = finished;
        p.damage = std::move(problem);
        out.push_back(std::move(p));
      } while (st.fetch());
    }
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot list processes");
  }
  std::sort(out.begin(), out.end(), [](const ProcessInfo& a, const ProcessInfo& b) {
    return a.started_at != b.started_at ? a.started_at > b.started_at : a.id > b.id;
  });
  return out;
}

void SociBackend::remove_process(std::string_view process_id) {
  check_writable("remove process " + std::string(process_id));
  const bool pg = settings_.dialect == Dialect::postgresql;
  const std::string id(process_id);
  std::lock_guard lock(mutex_);
  try {
    Transaction tx(*sql_, settings_.dialect);
    // Records keep their (foreign-key) process row as a placeholder.
    *sql_ << std::string("update bdp_processes set recorded = ") + (pg ? "false" : "0") +
                 " where id = :id",
        soci::use(id);
    *sql_ << "delete from bdp_processes where id = :id and not exists (select 1 from "
             "intermediate_data where process_id = :id2)",
        soci::use(id, "id"), soci::use(id, "id2");
    tx.commit();
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot remove process " + id);
  }
}

BackendStats SociBackend::stats() {
  BackendStats stats;
  std::lock_guard lock(mutex_);
  try {
    std::string process, stage;
    long long records = 0, bytes = 0;
    soci::statement st =
        (sql_->prepare << "select process_id, stage_name, count(*), cast(sum(size_bytes) as "
                          "bigint) from intermediate_data group by process_id, stage_name "
                          "order by process_id, stage_name",
         soci::into(process), soci::into(stage), soci::into(records), soci::into(bytes));
    if (st.execute(true)) {
      do {
        stats.by_stage.push_back(BackendStats::Usage{process, stage, records, bytes});
        stats.records += records;
        stats.bytes += bytes;
      } while (st.fetch());
    }
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot compute statistics");
  }
  return stats;
}

bool SociBackend::table_exists(const std::string& name) {
  int count = 0;
  if (settings_.dialect == Dialect::sqlite) {
    *sql_ << "select count(*) from sqlite_master where type = 'table' and name = :n",
        soci::use(name), soci::into(count);
  } else {
    *sql_ << "select count(*) from information_schema.tables where table_schema ="
             " current_schema() and table_name = :n",
        soci::use(name), soci::into(count);
  }
  return count != 0;
}

QuarantineReport SociBackend::quarantine(const QuarantineRequest& request) {
  const bool pg = settings_.dialect == Dialect::postgresql;
  QuarantineReport report;
  report.location = "table bdp_quarantine in " + settings_.display;
  const long long now = now_micros();
  std::lock_guard lock(mutex_);
  try {
    Transaction tx(*sql_, settings_.dialect);
    *sql_ << std::string("create table if not exists bdp_quarantine (") +
                 (pg ? "id bigint generated by default as identity primary key"
                     : "id integer primary key autoincrement") +
                 ", quarantined_at bigint not null, source text not null, source_id text not"
                 " null, reason text not null, row_json text not null, payload " +
                 (pg ? "bytea" : "blob") + ", data_table text not null default '')";
    for (const auto& record : request.records) {
      const auto id = number_of(record.id);
      if (!id) continue;
      long long key = *id;
      // The row as it is, every column as text, whatever it holds.
      std::string process, stage, entity, storage_type, reference, metadata, checksum, kind, schema;
      long long version = 0, created = 0, size = 0, rows = 0;
      *sql_ << "select process_id, stage_name, entity_name, version, storage_type,"
               " data_reference, cast(metadata as text), created_at, size_bytes, checksum, kind,"
               " cast(schema as text), row_count from intermediate_data where id = :id",
          soci::use(key), soci::into(process), soci::into(stage), soci::into(entity),
          soci::into(version), soci::into(storage_type), soci::into(reference),
          soci::into(metadata), soci::into(created), soci::into(size), soci::into(checksum),
          soci::into(kind), soci::into(schema), soci::into(rows);
      if (!sql_->got_data()) continue;  // already gone
      const std::string row = json::serialize(json::object{{"id", key},
                                                           {"process_id", process},
                                                           {"stage_name", stage},
                                                           {"entity_name", entity},
                                                           {"version", version},
                                                           {"storage_type", storage_type},
                                                           {"data_reference", reference},
                                                           {"metadata", metadata},
                                                           {"created_at", created},
                                                           {"size_bytes", size},
                                                           {"checksum", checksum},
                                                           {"kind", kind},
                                                           {"schema", schema},
                                                           {"row_count", rows}});
      // Its typed table keeps its rows under another name (the name comes
      // from the id, not from data_reference, which may be what is damaged).
      std::string moved_table;
      if (const std::string table = data_table_name(key); table_exists(table)) {
        moved_table = "bdp_quarantine_data_" + std::to_string(key);
        *sql_ << "alter table " + table + " rename to " + moved_table;
      }
      const std::string reason = record.damage.empty() ? "moved on request" : record.damage;
      long long moved_id = 0;
      *sql_ << "insert into bdp_quarantine (quarantined_at, source, source_id, reason, row_json,"
               " payload, data_table) select :t, 'intermediate_data', :sid, :reason, :row,"
               " payload, :dt from intermediate_data where id = :id returning id",
          soci::use(now, "t"), soci::use(record.id, "sid"), soci::use(reason, "reason"),
          soci::use(row, "row"), soci::use(moved_table, "dt"), soci::use(key, "id"),
          soci::into(moved_id);
      *sql_ << "delete from intermediate_data where id = :id", soci::use(key);
      // A placeholder process row goes with its last record, as in remove().
      *sql_ << std::string("delete from bdp_processes where id = :p and recorded = ") +
                   (pg ? "false" : "0") +
                   " and not exists (select 1 from intermediate_data where process_id = :p2)",
          soci::use(process, "p"), soci::use(process, "p2");
      report.moved.push_back(
          describe_record(record) + " -> bdp_quarantine row " + std::to_string(moved_id) +
          (moved_table.empty() ? std::string() : " (its table renamed " + moved_table + ")"));
    }
    for (const auto& process : request.processes) {
      std::string name, description, status, config, summary;
      long long started = 0, finished = 0;
      *sql_ << "select name, description, status, started_at, finished_at, cast(config as"
               " text), cast(summary as text) from bdp_processes where id = :id and recorded = " +
                   std::string(pg ? "true" : "1"),
          soci::use(process.id), soci::into(name), soci::into(description), soci::into(status),
          soci::into(started), soci::into(finished), soci::into(config), soci::into(summary);
      if (!sql_->got_data()) continue;  // already gone
      const std::string row = json::serialize(json::object{{"id", process.id},
                                                           {"name", name},
                                                           {"description", description},
                                                           {"status", status},
                                                           {"started_at", started},
                                                           {"finished_at", finished},
                                                           {"config", config},
                                                           {"summary", summary}});
      const std::string reason = process.damage.empty() ? "moved on request" : process.damage;
      long long moved_id = 0;
      *sql_ << "insert into bdp_quarantine (quarantined_at, source, source_id, reason, row_json,"
               " data_table) values (:t, 'bdp_processes', :sid, :reason, :row, '') returning id",
          soci::use(now, "t"), soci::use(process.id, "sid"), soci::use(reason, "reason"),
          soci::use(row, "row"), soci::into(moved_id);
      // Out of the listings as in remove_process(): the row stays, with a
      // sound placeholder summary, while records still refer to it.
      ProcessInfo placeholder;
      placeholder.id = process.id;
      placeholder.name = name;
      placeholder.started_at = started;
      const std::string placeholder_summary = json::serialize(placeholder.to_json());
      *sql_ << std::string("update bdp_processes set recorded = ") + (pg ? "false" : "0") +
                   ", summary = " + json_param("s") + " where id = :id",
          soci::use(placeholder_summary, "s"), soci::use(process.id, "id");
      *sql_ << "delete from bdp_processes where id = :id and not exists (select 1 from "
               "intermediate_data where process_id = :id2)",
          soci::use(process.id, "id"), soci::use(process.id, "id2");
      report.moved.push_back("process record " + process.id + " -> bdp_quarantine row " +
                             std::to_string(moved_id));
    }
    tx.commit();
  } catch (const soci::soci_error& e) {
    database_error(e, "cannot quarantine damaged entries");
  }
  return report;
}

}  // namespace bdp::socidb
