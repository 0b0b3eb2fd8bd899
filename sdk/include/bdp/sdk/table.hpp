// bdp::Table is an immutable, columnar table: a fixed list of named, typed,
// nullable columns of equal length. Tables are built once with a
// TableBuilder and then shared read-only as TablePtr
// (std::shared_ptr<const Table>), so the in-memory path never copies data.
//
// Thread-safety: a Table is immutable after construction and safe to read
// from any number of threads. Builders are not thread-safe.
#pragma once

#include <bdp/sdk/export.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bdp {

enum class ColumnType : std::uint8_t {
  int64 = 0,
  float64 = 1,
  string = 2,
  boolean = 3,
  timestamp = 4,  // microseconds since 1970-01-01T00:00:00Z, stored as int64
};

// "int64", "float64", "string", "bool", "timestamp".
BDP_SDK_API std::string_view to_string(ColumnType type) noexcept;
// Inverse of to_string; nullopt for anything else.
BDP_SDK_API std::optional<ColumnType> parse_column_type(std::string_view name) noexcept;

struct Field {
  std::string name;
  ColumnType type;
  bool operator==(const Field&) const = default;
};
using Schema = std::vector<Field>;

namespace detail {
// Internal to the SDK: gives its own readers (the CSV codec) direct access
// to a Column's buffers. Defined only inside the SDK's sources; not part of
// the public API, and nothing outside the SDK may define or use it.
struct ColumnBuffers;
}  // namespace detail

// One cell, for generic (slow-path) access. monostate is null; int64 also
// carries timestamps (the column's type says which).
using Value = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

class BDP_SDK_API Column {
 public:
  const std::string& name() const noexcept { return name_; }
  ColumnType type() const noexcept { return type_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t null_count() const noexcept { return null_count_; }

  bool is_null(std::size_t row) const noexcept { return null_count_ != 0 && validity_[row] == 0; }

  // Typed access. The caller must use the accessor of the column's type
  // (int64_at for int64 and timestamp columns); a null cell reads as 0,
  // 0.0, false or "". Rows are not bounds-checked.
  std::int64_t int64_at(std::size_t row) const noexcept { return ints_[row]; }
  double float64_at(std::size_t row) const noexcept { return floats_[row]; }
  bool bool_at(std::size_t row) const noexcept { return bools_[row] != 0; }
  std::string_view string_at(std::size_t row) const noexcept {
    return std::string_view(chars_).substr(offsets_[row], offsets_[row + 1] - offsets_[row]);
  }

  // Contiguous values of int64/timestamp and float64 columns (empty for
  // other types).
  std::span<const std::int64_t> int64_values() const noexcept { return ints_; }
  std::span<const double> float64_values() const noexcept { return floats_; }

  // The cell as a Value (monostate for null). Bounds-checked: throws
  // bdp::Error(invalid_argument) for a row past the end.
  Value value_at(std::size_t row) const;

  // Bytes held by this column's buffers.
  std::size_t byte_size() const noexcept;

  // Same name, type, and cells (nulls equal nulls; floats compared bitwise
  // except that any NaN equals any NaN).
  bool equals(const Column& other) const noexcept;

 private:
  friend class ColumnBuilder;
  friend struct detail::ColumnBuffers;
  std::string name_;
  ColumnType type_ = ColumnType::int64;
  std::size_t size_ = 0;
  std::size_t null_count_ = 0;
  std::vector<std::int64_t> ints_;      // int64, timestamp
  std::vector<double> floats_;          // float64
  std::vector<std::uint8_t> bools_;     // boolean
  std::vector<std::uint64_t> offsets_;  // string: size_ + 1 offsets into chars_
  std::string chars_;                   // string
  std::vector<std::uint8_t> validity_;  // 1 = present; empty while no null was appended
};

// Builds one Column by appending cells in row order. Appending a value of
// the wrong type throws bdp::Error(invalid_argument) naming the column.
class BDP_SDK_API ColumnBuilder {
 public:
  ColumnBuilder(std::string name, ColumnType type);

  const std::string& name() const noexcept { return col_.name_; }
  ColumnType type() const noexcept { return col_.type_; }
  std::size_t size() const noexcept { return col_.size_; }

  // Pre-allocates for `rows` cells and, for string columns, `string_bytes`.
  void reserve(std::size_t rows, std::size_t string_bytes = 0);

  void append_null();
  void append_int64(std::int64_t v);      // int64 columns
  void append_timestamp(std::int64_t v);  // timestamp columns
  void append_float64(double v);
  void append_bool(bool v);
  void append_string(std::string_view v);
  // Any Value; an int64 Value is accepted by int64 and timestamp columns.
  void append(const Value& v);
  // Copies cell `row` of `source`, which must have the same type.
  void append_from(const Column& source, std::size_t row);
  // Appends every cell of `source`, which must have the same type, in one
  // bulk copy per buffer.
  void append_column(const Column& source);

  // Hands over the built column; the builder is empty afterwards.
  Column finish();

 private:
  void mark_valid();
  [[noreturn]] void type_mismatch(std::string_view given) const;
  Column col_;
};

class BDP_SDK_API Table {
 public:
  // An empty table: no columns, no rows.
  Table() = default;
  // Takes the columns. Throws bdp::Error(invalid_argument) if they differ in
  // length or two share a name.
  explicit Table(std::vector<Column> columns);

  std::size_t num_rows() const noexcept { return rows_; }
  std::size_t num_columns() const noexcept { return columns_.size(); }
  const Column& column(std::size_t i) const { return columns_.at(i); }
  const std::vector<Column>& columns() const noexcept { return columns_; }

  // The column called `name`, or nullptr.
  const Column* find(std::string_view name) const noexcept;
  // The column called `name`; throws bdp::Error(not_found) listing the
  // columns that exist.
  const Column& column(std::string_view name) const;

  Schema schema() const;

  // Bytes held by all column buffers (computed once, at construction).
  std::size_t byte_size() const noexcept { return bytes_; }

  bool equals(const Table& other) const noexcept;

 private:
  std::vector<Column> columns_;
  std::size_t rows_ = 0;
  std::size_t bytes_ = 0;
};

using TablePtr = std::shared_ptr<const Table>;

// Makes a shared Table of `columns` (see Table's constructor for the checks).
// The shared pointer's bookkeeping is created inside the SDK library, so a
// table made by plugin code this way does not depend on that plugin's code.
BDP_SDK_API TablePtr make_table(std::vector<Column> columns);

// Builds a Table column by column or row by row.
class BDP_SDK_API TableBuilder {
 public:
  explicit TableBuilder(const Schema& schema);

  std::size_t num_columns() const noexcept { return columns_.size(); }
  ColumnBuilder& column(std::size_t i) { return columns_.at(i); }

  void reserve(std::size_t rows);
  // Appends one row; `row` must have one Value per column.
  void append_row(const std::vector<Value>& row);

  // Hands over the table; throws if columns differ in length.
  TablePtr finish();

 private:
  std::vector<ColumnBuilder> columns_;
};

}  // namespace bdp
