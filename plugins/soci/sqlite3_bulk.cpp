// SQLite through its C API, on the connection SOCI opened.
#include "native.hpp"

#include <bdp/sdk/error.hpp>

#include <sqlite3.h>

#include <memory>

namespace bdp::socidb {

namespace {

sqlite3* handle(void* db) {
  return static_cast<sqlite3*>(db);
}

[[noreturn]] void fail(sqlite3* db, const std::string& where, const std::string& doing) {
  const int code = sqlite3_extended_errcode(db);
  const ErrorCode kind = (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB
                             ? ErrorCode::corrupt
                             : ErrorCode::io;
  throw Error(kind, where + ": " + doing + ": " + sqlite3_errmsg(db));
}

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

Statement prepare(sqlite3* db, const std::string& sql, const std::string& where) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    fail(db, where, "cannot prepare '" + sql + "'");
  }
  return Statement(stmt);
}

}  // namespace

void sqlite_write_blob(void* db_handle, long long id, std::string_view bytes,
                       const std::string& where) {
  sqlite3* db = handle(db_handle);
  auto stmt = prepare(db, "update intermediate_data set payload = ? where id = ?", where);
  sqlite3_bind_blob64(stmt.get(), 1, bytes.data(), bytes.size(), SQLITE_STATIC);
  sqlite3_bind_int64(stmt.get(), 2, id);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) fail(db, where, "cannot write the payload blob");
}

std::optional<std::string> sqlite_read_blob(void* db_handle, long long id,
                                            const std::string& where) {
  sqlite3* db = handle(db_handle);
  auto stmt = prepare(db, "select payload from intermediate_data where id = ?", where);
  sqlite3_bind_int64(stmt.get(), 1, id);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) fail(db, where, "cannot read the payload blob");
  if (sqlite3_column_type(stmt.get(), 0) == SQLITE_NULL) return std::nullopt;
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt.get(), 0));
  const int size = sqlite3_column_bytes(stmt.get(), 0);
  return std::string(data == nullptr ? "" : data, static_cast<std::size_t>(size));
}

void sqlite_load_table(void* db_handle, const std::string& sql_table, const Table& table,
                       const std::string& where) {
  sqlite3* db = handle(db_handle);
  const std::size_t ncols = table.num_columns();
  std::string sql = "insert into " + sql_table + " values (";
  for (std::size_t c = 0; c < ncols; ++c) sql += c == 0 ? "?" : ", ?";
  sql += ")";
  auto stmt = prepare(db, sql, where);
  sqlite3_stmt* s = stmt.get();
  const auto& columns = table.columns();
  for (std::size_t r = 0; r < table.num_rows(); ++r) {
    for (std::size_t c = 0; c < ncols; ++c) {
      const Column& col = columns[c];
      const int i = static_cast<int>(c) + 1;
      if (col.is_null(r)) {
        sqlite3_bind_null(s, i);
        continue;
      }
      switch (col.type()) {
        case ColumnType::int64:
        case ColumnType::timestamp:
          sqlite3_bind_int64(s, i, col.int64_at(r));
          break;
        case ColumnType::float64:
          sqlite3_bind_double(s, i, col.float64_at(r));
          break;
        case ColumnType::boolean:
          sqlite3_bind_int(s, i, col.bool_at(r) ? 1 : 0);
          break;
        case ColumnType::string: {
          auto v = col.string_at(r);
          sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
          break;
        }
      }
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      fail(db, where, "cannot insert row " + std::to_string(r) + " into " + sql_table);
    }
    sqlite3_reset(s);
  }
}

TablePtr sqlite_read_table(void* db_handle, const std::string& sql_table, const Schema& schema,
                           std::int64_t expected_rows, const std::string& where) {
  sqlite3* db = handle(db_handle);
  sqlite3_stmt* raw = nullptr;
  const std::string sql = "select * from " + sql_table + " order by rowid";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    throw Error(ErrorCode::corrupt, where + ": its reference table " + sql_table +
                                        " cannot be read: " + sqlite3_errmsg(db));
  }
  Statement stmt(raw);
  if (sqlite3_column_count(raw) != static_cast<int>(schema.size())) {
    throw Error(ErrorCode::corrupt, where + ": reference table " + sql_table + " has " +
                                        std::to_string(sqlite3_column_count(raw)) +
                                        " columns, the record's schema " +
                                        std::to_string(schema.size()));
  }
  std::vector<ColumnBuilder> builders;
  builders.reserve(schema.size());
  for (const auto& field : schema) {
    builders.emplace_back(field.name, field.type);
    builders.back().reserve(static_cast<std::size_t>(std::max<std::int64_t>(expected_rows, 0)));
  }
  std::int64_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    ++rows;
    for (std::size_t c = 0; c < builders.size(); ++c) {
      const int i = static_cast<int>(c);
      auto& b = builders[c];
      if (sqlite3_column_type(raw, i) == SQLITE_NULL) {
        b.append_null();
        continue;
      }
      switch (b.type()) {
        case ColumnType::int64:
          b.append_int64(sqlite3_column_int64(raw, i));
          break;
        case ColumnType::timestamp:
          b.append_timestamp(sqlite3_column_int64(raw, i));
          break;
        case ColumnType::float64:
          b.append_float64(sqlite3_column_double(raw, i));
          break;
        case ColumnType::boolean:
          b.append_bool(sqlite3_column_int(raw, i) != 0);
          break;
        case ColumnType::string: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, i));
          const int size = sqlite3_column_bytes(raw, i);
          b.append_string(
              std::string_view(text == nullptr ? "" : text, static_cast<std::size_t>(size)));
          break;
        }
      }
    }
  }
  if (rc != SQLITE_DONE) fail(db, where, "cannot read reference table " + sql_table);
  if (rows != expected_rows) {
    throw Error(ErrorCode::corrupt, where + ": reference table " + sql_table + " has " +
                                        std::to_string(rows) + " rows, the record says " +
                                        std::to_string(expected_rows));
  }
  std::vector<Column> columns;
  columns.reserve(builders.size());
  for (auto& b : builders) columns.push_back(b.finish());
  return make_table(std::move(columns));
}

}  // namespace bdp::socidb
