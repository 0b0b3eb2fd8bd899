// PostgreSQL through libpq, on the connection SOCI opened: bytea blobs in
// binary format and COPY in text format, both ways.
#include "native.hpp"

#include "connection.hpp"

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

namespace bdp::socidb {

namespace {

PGconn* handle(void* conn) {
  return static_cast<PGconn*>(conn);
}

struct ClearResult {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ClearResult>;

[[noreturn]] void fail(PGconn* conn, const std::string& where, const std::string& doing) {
  throw Error(ErrorCode::io, where + ": " + doing + ": " + one_line(PQerrorMessage(conn)));
}

void check(PGconn* conn, const Result& result, ExecStatusType expected, const std::string& where,
           const std::string& doing) {
  if (!result || PQresultStatus(result.get()) != expected) {
    const char* message = result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn);
    throw Error(ErrorCode::io, where + ": " + doing + ": " + one_line(message));
  }
}

// Drains the results after a COPY, failing on the first error.
void finish_copy(PGconn* conn, const std::string& where, const std::string& doing) {
  bool failed = false;
  std::string message;
  while (PGresult* raw = PQgetResult(conn)) {
    Result r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && PQresultStatus(raw) != PGRES_TUPLES_OK &&
        !failed) {
      failed = true;
      message = one_line(PQresultErrorMessage(raw));
    }
  }
  if (failed) throw Error(ErrorCode::io, where + ": " + doing + ": " + message);
}

void append_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
}

void append_cell(std::string& out, const Column& col, std::size_t r) {
  if (col.is_null(r)) {
    out += "\\N";
    return;
  }
  char buf[64];
  switch (col.type()) {
    case ColumnType::int64: {
      auto res = std::to_chars(buf, buf + sizeof buf, col.int64_at(r));
      out.append(buf, res.ptr);
      break;
    }
    case ColumnType::timestamp: {
      // Microseconds since the epoch as a timestamptz literal.
      out += format_timestamp(col.int64_at(r));
      break;
    }
    case ColumnType::float64: {
      const double v = col.float64_at(r);
      if (std::isnan(v)) {
        out += "NaN";
      } else if (std::isinf(v)) {
        out += v > 0 ? "Infinity" : "-Infinity";
      } else {
        auto res = std::to_chars(buf, buf + sizeof buf, v);
        out.append(buf, res.ptr);
      }
      break;
    }
    case ColumnType::boolean:
      out.push_back(col.bool_at(r) ? 't' : 'f');
      break;
    case ColumnType::string:
      append_escaped(out, col.string_at(r));
      break;
  }
}

// One field of a COPY text row, unescaped.
std::string unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out.push_back(c);
      continue;
    }
    c = field[++i];
    switch (c) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'v':
        out.push_back('\v');
        break;
      default:
        if (c >= '0' && c <= '7') {
          int value = c - '0';
          for (int k = 0;
               k < 2 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7'; ++k) {
            value = value * 8 + (field[++i] - '0');
          }
          out.push_back(static_cast<char>(value));
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> pg_read_blob(void* conn_handle, long long id, const std::string& where) {
  PGconn* conn = handle(conn_handle);
  const std::string id_text = std::to_string(id);
  const char* values[1] = {id_text.c_str()};
  Result r(PQexecParams(conn, "select payload from intermediate_data where id = $1", 1, nullptr,
                        values, nullptr, nullptr, 1));
  check(conn, r, PGRES_TUPLES_OK, where, "cannot read the payload blob");
  if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
  return std::string(PQgetvalue(r.get(), 0, 0),
                     static_cast<std::size_t>(PQgetlength(r.get(), 0, 0)));
}

void pg_copy_table(void* conn_handle, const std::string& sql_table,
                   const std::vector<std::string>& columns, const Table& table,
                   const std::string& where) {
  PGconn* conn = handle(conn_handle);
  std::string sql = "copy " + sql_table + " (";
  for (std::size_t c = 0; c < columns.size(); ++c) sql += (c ? ", " : "") + columns[c];
  sql += ") from stdin";
  Result start(PQexec(conn, sql.c_str()));
  check(conn, start, PGRES_COPY_IN, where, "cannot start COPY into " + sql_table);
  start.reset();

  constexpr std::size_t kChunk = 1 << 20;
  std::string buffer;
  buffer.reserve(kChunk + 4096);
  const auto& cols = table.columns();
  auto send = [&] {
    if (PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1) {
      fail(conn, where, "COPY into " + sql_table + " failed");
    }
    buffer.clear();
  };
  for (std::size_t r = 0; r < table.num_rows(); ++r) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (c != 0) buffer.push_back('\t');
      append_cell(buffer, cols[c], r);
    }
    buffer.push_back('\n');
    if (buffer.size() >= kChunk) send();
  }
  if (!buffer.empty()) send();
  if (PQputCopyEnd(conn, nullptr) != 1) fail(conn, where, "COPY into " + sql_table + " failed");
  finish_copy(conn, where, "COPY into " + sql_table);
}

TablePtr pg_read_table(void* conn_handle, const std::string& sql_table,
                       const std::vector<std::string>& columns, const Schema& schema,
                       std::int64_t expected_rows, const std::string& where) {
  PGconn* conn = handle(conn_handle);
  // A heap table written once and never updated is read back in insertion
  // order by a sequential scan; synchronized scans (which may start in the
  // middle) are turned off for this transaction.
  Result off(PQexec(conn, "set local synchronize_seqscans = off"));
  check(conn, off, PGRES_COMMAND_OK, where, "cannot prepare the read");
  std::string sql = "copy (select ";
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c) sql += ", ";
    if (schema[c].type == ColumnType::timestamp) {
      sql += "(extract(epoch from " + columns[c] + ") * 1000000)::bigint";
    } else {
      sql += columns[c];
    }
  }
  sql += " from " + sql_table + ") to stdout";
  Result start(PQexec(conn, sql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_OUT) {
    const char* message = start ? PQresultErrorMessage(start.get()) : PQerrorMessage(conn);
    throw Error(ErrorCode::corrupt, where + ": its reference table " + sql_table +
                                        " cannot be read: " + one_line(message));
  }
  start.reset();

  std::vector<ColumnBuilder> builders;
  builders.reserve(schema.size());
  for (const auto& field : schema) {
    builders.emplace_back(field.name, field.type);
    builders.back().reserve(static_cast<std::size_t>(std::max<std::int64_t>(expected_rows, 0)));
  }
  std::int64_t rows = 0;
  std::string problem;
  for (;;) {
    char* line = nullptr;
    const int size = PQgetCopyData(conn, &line, 0);
    if (size == -1) break;
    if (size < 0) fail(conn, where, "reading reference table " + sql_table);
    std::unique_ptr<char, decltype(&PQfreemem)> guard(line, &PQfreemem);
    std::string_view text(line, static_cast<std::size_t>(size));
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    ++rows;
    std::size_t pos = 0;
    for (std::size_t c = 0; c < builders.size(); ++c) {
      const std::size_t tab = text.find('\t', pos);
      if ((tab == std::string_view::npos) != (c + 1 == builders.size()) && problem.empty()) {
        problem = "row " + std::to_string(rows) + " has the wrong number of fields";
      }
      std::string_view field =
          text.substr(pos, tab == std::string_view::npos ? std::string_view::npos : tab - pos);
      pos = tab == std::string_view::npos ? text.size() : tab + 1;
      auto& b = builders[c];
      if (field == "\\N") {
        b.append_null();
        continue;
      }
      switch (b.type()) {
        case ColumnType::int64:
        case ColumnType::timestamp: {
          std::int64_t v = 0;
          auto res = std::from_chars(field.data(), field.data() + field.size(), v);
          if (res.ec != std::errc() && problem.empty())
            problem = "bad integer '" + std::string(field) + "'";
          b.type() == ColumnType::int64 ? b.append_int64(v) : b.append_timestamp(v);
          break;
        }
        case ColumnType::float64: {
          double v = 0;
          if (field == "NaN") {
            v = std::nan("");
          } else if (field == "Infinity") {
            v = HUGE_VAL;
          } else if (field == "-Infinity") {
            v = -HUGE_VAL;
          } else {
            auto res = std::from_chars(field.data(), field.data() + field.size(), v);
            if (res.ec != std::errc() && problem.empty())
              problem = "bad float '" + std::string(field) + "'";
          }
          b.append_float64(v);
          break;
        }
        case ColumnType::boolean:
          b.append_bool(field == "t");
          break;
        case ColumnType::string:
          if (field.find('\\') == std::string_view::npos) {
            b.append_string(field);
          } else {
            b.append_string(unescape(field));
          }
          break;
      }
    }
  }
  finish_copy(conn, where, "reading reference table " + sql_table);
  if (!problem.empty()) {
    throw Error(ErrorCode::corrupt, where + ": reference table " + sql_table + ": " + problem);
  }
  if (rows != expected_rows) {
    throw Error(ErrorCode::corrupt, where + ": reference table " + sql_table + " has " +
                                        std::to_string(rows) + " rows, the record says " +
                                        std::to_string(expected_rows));
  }
  std::vector<Column> out;
  out.reserve(builders.size());
  for (auto& b : builders) out.push_back(b.finish());
  return make_table(std::move(out));
}

}  // namespace bdp::socidb
