// Column, ColumnBuilder, Table and TableBuilder.
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>
#include <utility>

namespace bdp {

std::string_view to_string(ColumnType type) noexcept {
  switch (type) {
    case ColumnType::int64:
      return "int64";
    case ColumnType::float64:
      return "float64";
    case ColumnType::string:
      return "string";
    case ColumnType::boolean:
      return "bool";
    case ColumnType::timestamp:
      return "timestamp";
  }
  return "unknown";
}

std::optional<ColumnType> parse_column_type(std::string_view name) noexcept {
  if (name == "int64") return ColumnType::int64;
  if (name == "float64") return ColumnType::float64;
  if (name == "string") return ColumnType::string;
  if (name == "bool") return ColumnType::boolean;
  if (name == "timestamp") return ColumnType::timestamp;
  return std::nullopt;
}

// ---------------------------------------------------------------- Column

Value Column::value_at(std::size_t row) const {
  if (row >= size_) {
    throw Error(ErrorCode::invalid_argument, "column '" + name_ + "': row " + std::to_string(row) +
                                                 " is past the end (" + std::to_string(size_) +
                                                 " rows)");
  }
  if (is_null(row)) return std::monostate{};
  switch (type_) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      return ints_[row];
    case ColumnType::float64:
      return floats_[row];
    case ColumnType::boolean:
      return bools_[row] != 0;
    case ColumnType::string:
      return std::string(string_at(row));
  }
  return std::monostate{};
}

std::size_t Column::byte_size() const noexcept {
  return ints_.size() * sizeof(std::int64_t) + floats_.size() * sizeof(double) + bools_.size() +
         offsets_.size() * sizeof(std::uint64_t) + chars_.size() + validity_.size();
}

bool Column::equals(const Column& other) const noexcept {
  if (name_ != other.name_ || type_ != other.type_ || size_ != other.size_ ||
      null_count_ != other.null_count_) {
    return false;
  }
  for (std::size_t i = 0; i < size_; ++i) {
    bool null = is_null(i);
    if (null != other.is_null(i)) return false;
    if (null) continue;
    switch (type_) {
      case ColumnType::int64:
      case ColumnType::timestamp:
        if (ints_[i] != other.ints_[i]) return false;
        break;
      case ColumnType::float64: {
        double a = floats_[i];
        double b = other.floats_[i];
        if (std::isnan(a) || std::isnan(b)) {
          if (std::isnan(a) != std::isnan(b)) return false;
        } else if (std::bit_cast<std::uint64_t>(a) != std::bit_cast<std::uint64_t>(b)) {
          return false;
        }
        break;
      }
      case ColumnType::boolean:
        if ((bools_[i] != 0) != (other.bools_[i] != 0)) return false;
        break;
      case ColumnType::string:
        if (string_at(i) != other.string_at(i)) return false;
        break;
    }
  }
  return true;
}

// --------------------------------------------------------- ColumnBuilder

ColumnBuilder::ColumnBuilder(std::string name, ColumnType type) {
  col_.name_ = std::move(name);
  col_.type_ = type;
  if (type == ColumnType::string) col_.offsets_.push_back(0);
}

void ColumnBuilder::reserve(std::size_t rows, std::size_t string_bytes) {
  switch (col_.type_) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      col_.ints_.reserve(rows);
      break;
    case ColumnType::float64:
      col_.floats_.reserve(rows);
      break;
    case ColumnType::boolean:
      col_.bools_.reserve(rows);
      break;
    case ColumnType::string:
      col_.offsets_.reserve(rows + 1);
      col_.chars_.reserve(string_bytes);
      break;
  }
  if (!col_.validity_.empty()) col_.validity_.reserve(rows);
}

// Inline: called once per appended cell, and only in this file.
inline void ColumnBuilder::mark_valid() {
  if (!col_.validity_.empty()) col_.validity_.push_back(1);
  ++col_.size_;
}

void ColumnBuilder::type_mismatch(std::string_view given) const {
  std::string message = "column '";
  message += col_.name_;
  message += "' holds ";
  message += to_string(col_.type_);
  message += " values; cannot append a ";
  message += given;
  message += " value";
  throw Error(ErrorCode::invalid_argument, message);
}

void ColumnBuilder::append_null() {
  if (col_.validity_.empty()) {
    col_.validity_.reserve(std::max<std::size_t>(col_.size_ + 1, 16));
    col_.validity_.assign(col_.size_, 1);
  }
  col_.validity_.push_back(0);
  switch (col_.type_) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      col_.ints_.push_back(0);
      break;
    case ColumnType::float64:
      col_.floats_.push_back(0.0);
      break;
    case ColumnType::boolean:
      col_.bools_.push_back(0);
      break;
    case ColumnType::string:
      col_.offsets_.push_back(col_.chars_.size());
      break;
  }
  ++col_.size_;
  ++col_.null_count_;
}

void ColumnBuilder::append_int64(std::int64_t v) {
  if (col_.type_ != ColumnType::int64) type_mismatch("int64");
  col_.ints_.push_back(v);
  mark_valid();
}

void ColumnBuilder::append_timestamp(std::int64_t v) {
  if (col_.type_ != ColumnType::timestamp) type_mismatch("timestamp");
  col_.ints_.push_back(v);
  mark_valid();
}

void ColumnBuilder::append_float64(double v) {
  if (col_.type_ != ColumnType::float64) type_mismatch("float64");
  col_.floats_.push_back(v);
  mark_valid();
}

void ColumnBuilder::append_bool(bool v) {
  if (col_.type_ != ColumnType::boolean) type_mismatch("bool");
  col_.bools_.push_back(v ? 1 : 0);
  mark_valid();
}

void ColumnBuilder::append_string(std::string_view v) {
  if (col_.type_ != ColumnType::string) type_mismatch("string");
  col_.chars_.append(v);
  col_.offsets_.push_back(col_.chars_.size());
  mark_valid();
}

void ColumnBuilder::append(const Value& v) {
  switch (v.index()) {
    case 0:
      append_null();
      break;
    case 1: {
      auto i = std::get<std::int64_t>(v);
      if (col_.type_ == ColumnType::timestamp) {
        append_timestamp(i);
      } else {
        append_int64(i);
      }
      break;
    }
    case 2:
      append_float64(std::get<double>(v));
      break;
    case 3:
      append_bool(std::get<bool>(v));
      break;
    case 4:
      append_string(std::get<std::string>(v));
      break;
    default:
      break;
  }
}

void ColumnBuilder::append_from(const Column& source, std::size_t row) {
  if (source.type() != col_.type_) type_mismatch(to_string(source.type()));
  if (source.is_null(row)) {
    append_null();
    return;
  }
  switch (col_.type_) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      col_.ints_.push_back(source.ints_[row]);
      break;
    case ColumnType::float64:
      col_.floats_.push_back(source.floats_[row]);
      break;
    case ColumnType::boolean:
      col_.bools_.push_back(source.bools_[row]);
      break;
    case ColumnType::string:
      col_.chars_.append(source.string_at(row));
      col_.offsets_.push_back(col_.chars_.size());
      break;
  }
  mark_valid();
}

void ColumnBuilder::append_column(const Column& source) {
  if (source.type() != col_.type_) type_mismatch(to_string(source.type()));
  if (source.size_ == 0) return;
  // Validity bytes are kept once any cell is null (see append_null).
  if (source.null_count_ != 0) {
    if (col_.null_count_ == 0) {
      col_.validity_.reserve(col_.size_ + source.size_);
      col_.validity_.assign(col_.size_, 1);
    }
    col_.validity_.insert(col_.validity_.end(), source.validity_.begin(), source.validity_.end());
  } else if (col_.null_count_ != 0) {
    col_.validity_.resize(col_.validity_.size() + source.size_, 1);
  }
  switch (col_.type_) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      col_.ints_.insert(col_.ints_.end(), source.ints_.begin(), source.ints_.end());
      break;
    case ColumnType::float64:
      col_.floats_.insert(col_.floats_.end(), source.floats_.begin(), source.floats_.end());
      break;
    case ColumnType::boolean:
      col_.bools_.insert(col_.bools_.end(), source.bools_.begin(), source.bools_.end());
      break;
    case ColumnType::string: {
      const std::uint64_t first = source.offsets_[0];
      const std::uint64_t base = col_.chars_.size() - first;
      col_.chars_.append(source.chars_, first, source.offsets_[source.size_] - first);
      col_.offsets_.reserve(col_.offsets_.size() + source.size_);
      for (std::size_t i = 1; i <= source.size_; ++i) {
        col_.offsets_.push_back(base + source.offsets_[i]);
      }
      break;
    }
  }
  col_.size_ += source.size_;
  col_.null_count_ += source.null_count_;
}

Column ColumnBuilder::finish() {
  Column done = std::move(col_);
  col_ = Column();
  col_.name_ = done.name_;
  col_.type_ = done.type_;
  if (col_.type_ == ColumnType::string) col_.offsets_.push_back(0);
  // A column without nulls keeps no validity bytes.
  if (done.null_count_ == 0) {
    done.validity_.clear();
    done.validity_.shrink_to_fit();
  }
  return done;
}

// ----------------------------------------------------------------- Table

namespace {

std::string quoted_list(const std::vector<Column>& columns) {
  std::string names;
  for (const auto& c : columns) {
    if (!names.empty()) names += ", ";
    names += '\'';
    names += c.name();
    names += '\'';
  }
  return names.empty() ? std::string("none") : names;
}

}  // namespace

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {
  if (columns_.empty()) return;
  rows_ = columns_.front().size();
  std::unordered_set<std::string_view> seen;
  seen.reserve(columns_.size());
  for (const auto& c : columns_) {
    if (c.size() != rows_) {
      throw Error(ErrorCode::invalid_argument, "table columns differ in length: column '" +
                                                   columns_.front().name() + "' has " +
                                                   std::to_string(rows_) + " rows but column '" +
                                                   c.name() + "' has " + std::to_string(c.size()));
    }
    if (!seen.insert(c.name()).second) {
      throw Error(ErrorCode::invalid_argument,
                  "table has two columns named '" + c.name() + "'; column names must be unique");
    }
    bytes_ += c.byte_size();
  }
}

const Column* Table::find(std::string_view name) const noexcept {
  for (const auto& c : columns_) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

const Column& Table::column(std::string_view name) const {
  if (const Column* c = find(name)) return *c;
  throw Error(ErrorCode::not_found, "no column '" + std::string(name) +
                                        "' in the table; columns: " + quoted_list(columns_));
}

Schema Table::schema() const {
  Schema schema;
  schema.reserve(columns_.size());
  for (const auto& c : columns_) schema.push_back(Field{c.name(), c.type()});
  return schema;
}

bool Table::equals(const Table& other) const noexcept {
  if (rows_ != other.rows_ || columns_.size() != other.columns_.size()) return false;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (!columns_[i].equals(other.columns_[i])) return false;
  }
  return true;
}

// ---------------------------------------------------------- TableBuilder

namespace {

bool value_fits(const Value& v, ColumnType type) noexcept {
  switch (v.index()) {
    case 0:
      return true;
    case 1:
      return type == ColumnType::int64 || type == ColumnType::timestamp;
    case 2:
      return type == ColumnType::float64;
    case 3:
      return type == ColumnType::boolean;
    case 4:
      return type == ColumnType::string;
    default:
      return false;
  }
}

std::string_view value_type_name(const Value& v) noexcept {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return "int64";
    case 2:
      return "float64";
    case 3:
      return "bool";
    case 4:
      return "string";
    default:
      return "unknown";
  }
}

}  // namespace

TableBuilder::TableBuilder(const Schema& schema) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(schema.size());
  for (const auto& f : schema) {
    if (!seen.insert(f.name).second) {
      throw Error(ErrorCode::invalid_argument,
                  "schema has two columns named '" + f.name + "'; column names must be unique");
    }
  }
  columns_.reserve(schema.size());
  for (const auto& f : schema) columns_.emplace_back(f.name, f.type);
}

void TableBuilder::reserve(std::size_t rows) {
  for (auto& c : columns_) c.reserve(rows);
}

void TableBuilder::append_row(const std::vector<Value>& row) {
  if (row.size() != columns_.size()) {
    throw Error(ErrorCode::invalid_argument, "row has " + std::to_string(row.size()) +
                                                 " values but the table has " +
                                                 std::to_string(columns_.size()) + " columns");
  }
  // Check every value first, so that a bad row leaves the builder unchanged.
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (!value_fits(row[i], columns_[i].type())) {
      throw Error(ErrorCode::invalid_argument, "column '" + columns_[i].name() + "' holds " +
                                                   std::string(to_string(columns_[i].type())) +
                                                   " values; cannot append a " +
                                                   std::string(value_type_name(row[i])) + " value");
    }
  }
  for (std::size_t i = 0; i < row.size(); ++i) columns_[i].append(row[i]);
}

TablePtr TableBuilder::finish() {
  std::vector<Column> columns;
  columns.reserve(columns_.size());
  for (auto& c : columns_) columns.push_back(c.finish());
  return make_table(std::move(columns));
}

TablePtr make_table(std::vector<Column> columns) {
  return std::make_shared<const Table>(std::move(columns));
}

}  // namespace bdp
