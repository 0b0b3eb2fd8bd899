// filter: keeps the rows of its input whose column matches a condition.
//
// params: "column" (string), "op" (== != < <= > >= in is_null not_null),
// "value" (a string, number or bool; a list of them for "in"; absent for
// is_null and not_null). The value is compared by the column's type:
// numbers with int64 and float64 columns, strings with string columns,
// bools with bool columns, and an ISO 8601 string or integer microseconds
// with timestamp columns; anything else is an error naming the column and
// both types. Strings compare bytewise. Null cells match only is_null.
// Decisions: "rows_in", "rows_out".
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include "params.hpp"
#include "processors.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>
#include <limits>
#include <unordered_set>

namespace bdp::processors {

namespace {

namespace json = boost::json;

enum class Op { eq, ne, lt, le, gt, ge, in, is_null, not_null };

Op parse_op(std::string_view text) {
  if (text == "==") return Op::eq;
  if (text == "!=") return Op::ne;
  if (text == "<") return Op::lt;
  if (text == "<=") return Op::le;
  if (text == ">") return Op::gt;
  if (text == ">=") return Op::ge;
  if (text == "in") return Op::in;
  if (text == "is_null") return Op::is_null;
  return Op::not_null;
}

struct Options {
  std::string column;
  std::string op_name;
  Op op = Op::eq;
  json::value value;  // null when absent
};

bool is_scalar(const json::value& v) {
  return v.is_string() || v.is_number() || v.is_bool();
}

void require_scalar(const json::value& v, std::string_view path) {
  if (!is_scalar(v)) {
    params_error(path, "expected a string, number or bool, found " + describe_found(v));
  }
}

Options parse_options(const json::object& params) {
  check_keys(params, {"column", "op", "value"});
  Options options;
  options.column = get_string(params, "column");
  options.op_name =
      get_enum(params, "op", {"==", "!=", "<", "<=", ">", ">=", "in", "is_null", "not_null"});
  options.op = parse_op(options.op_name);
  const json::value* value = find_param(params, "value");
  if (options.op == Op::is_null || options.op == Op::not_null) {
    if (value != nullptr) {
      params_error("params.value", "is not used with op '" + options.op_name + "'; remove it");
    }
    return options;
  }
  if (value == nullptr) {
    params_error("params.value",
                 options.op == Op::in
                     ? "is required with op 'in' (a list of values)"
                     : "is required with op '" + options.op_name + "' (a string, number or bool)");
  }
  if (options.op == Op::in) {
    if (!value->is_array()) {
      params_error("params.value",
                   "expected a list of values for op 'in', found " + describe_found(*value));
    }
    const json::array& items = value->get_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      require_scalar(items[i], "params.value[" + std::to_string(i) + "]");
    }
  } else {
    require_scalar(*value, "params.value");
  }
  options.value = *value;
  return options;
}

// ---- typed comparison values ------------------------------------------

[[noreturn]] void mismatch(const Column& column, const json::value& v, std::string_view path,
                           std::string_view wanted) {
  throw Error(ErrorCode::invalid_argument, std::string(path) + ": column '" + column.name() +
                                               "' is " + std::string(to_string(column.type())) +
                                               ", but the value is " + describe_found(v) +
                                               "; compare it with " + std::string(wanted));
}

// An integer value exactly, when the JSON number is one that fits int64.
std::optional<std::int64_t> exact_int(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(v.get_uint64());
    }
    return std::nullopt;
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

double number(const json::value& v) {
  return v.to_number<double>();
}

std::int64_t timestamp_value(const Column& column, const json::value& v, std::string_view path) {
  if (v.is_string()) {
    std::optional<std::int64_t> micros = parse_timestamp(v.get_string());
    if (!micros) {
      throw Error(ErrorCode::invalid_argument,
                  std::string(path) + ": '" + std::string(v.get_string()) +
                      "' is not a timestamp for column '" + column.name() +
                      "'; use ISO 8601 (2024-03-01T12:00:00Z) or integer microseconds");
    }
    return *micros;
  }
  if (v.is_number()) {
    if (std::optional<std::int64_t> micros = exact_int(v)) return *micros;
  }
  mismatch(column, v, path, "an ISO 8601 string or integer microseconds");
}

// ---- scanning ------------------------------------------------------------

template <class Get, class Pred>
void scan(const Column& column, Get get, Pred pred, std::vector<std::size_t>& out) {
  const std::size_t rows = column.size();
  if (column.null_count() == 0) {
    for (std::size_t row = 0; row < rows; ++row) {
      if (pred(get(row))) out.push_back(row);
    }
  } else {
    for (std::size_t row = 0; row < rows; ++row) {
      if (!column.is_null(row) && pred(get(row))) out.push_back(row);
    }
  }
}

template <class T, class Get>
void compare(const Column& column, Op op, const T& v, Get get, std::vector<std::size_t>& out) {
  switch (op) {
    case Op::eq:
      scan(
          column, get, [&](const auto& x) { return x == v; }, out);
      break;
    case Op::ne:
      scan(
          column, get, [&](const auto& x) { return x != v; }, out);
      break;
    case Op::lt:
      scan(
          column, get, [&](const auto& x) { return x < v; }, out);
      break;
    case Op::le:
      scan(
          column, get, [&](const auto& x) { return x <= v; }, out);
      break;
    case Op::gt:
      scan(
          column, get, [&](const auto& x) { return x > v; }, out);
      break;
    case Op::ge:
      scan(
          column, get, [&](const auto& x) { return x >= v; }, out);
      break;
    default:
      break;
  }
}

void compare_value(const Column& column, Op op, const json::value& v,
                   std::vector<std::size_t>& out) {
  constexpr std::string_view path = "params.value";
  switch (column.type()) {
    case ColumnType::int64: {
      if (!v.is_number()) mismatch(column, v, path, "a number");
      if (std::optional<std::int64_t> exact = exact_int(v)) {
        compare(
            column, op, *exact, [&](std::size_t r) { return column.int64_at(r); }, out);
      } else {
        compare(
            column, op, number(v),
            [&](std::size_t r) { return static_cast<double>(column.int64_at(r)); }, out);
      }
      break;
    }
    case ColumnType::float64:
      if (!v.is_number()) mismatch(column, v, path, "a number");
      compare(
          column, op, number(v), [&](std::size_t r) { return column.float64_at(r); }, out);
      break;
    case ColumnType::string: {
      if (!v.is_string()) mismatch(column, v, path, "a string");
      const std::string_view text = v.get_string();
      compare(
          column, op, text, [&](std::size_t r) { return column.string_at(r); }, out);
      break;
    }
    case ColumnType::boolean:
      if (!v.is_bool()) mismatch(column, v, path, "true or false");
      compare(
          column, op, v.get_bool(), [&](std::size_t r) { return column.bool_at(r); }, out);
      break;
    case ColumnType::timestamp:
      compare(
          column, op, timestamp_value(column, v, path),
          [&](std::size_t r) { return column.int64_at(r); }, out);
      break;
  }
}

void match_in(const Column& column, const json::array& items, std::vector<std::size_t>& out) {
  auto path = [](std::size_t i) { return "params.value[" + std::to_string(i) + "]"; };
  switch (column.type()) {
    case ColumnType::int64: {
      std::unordered_set<std::int64_t> set;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_number()) mismatch(column, items[i], path(i), "numbers");
        // A fractional number can never equal an int64 cell.
        if (std::optional<std::int64_t> exact = exact_int(items[i])) set.insert(*exact);
      }
      scan(
          column, [&](std::size_t r) { return column.int64_at(r); },
          [&](std::int64_t x) { return set.contains(x); }, out);
      break;
    }
    case ColumnType::timestamp: {
      std::unordered_set<std::int64_t> set;
      for (std::size_t i = 0; i < items.size(); ++i) {
        set.insert(timestamp_value(column, items[i], path(i)));
      }
      scan(
          column, [&](std::size_t r) { return column.int64_at(r); },
          [&](std::int64_t x) { return set.contains(x); }, out);
      break;
    }
    case ColumnType::float64: {
      std::unordered_set<double> set;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_number()) mismatch(column, items[i], path(i), "numbers");
        set.insert(number(items[i]));
      }
      scan(
          column, [&](std::size_t r) { return column.float64_at(r); },
          [&](double x) { return set.contains(x); }, out);
      break;
    }
    case ColumnType::string: {
      std::unordered_set<std::string_view> set;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string()) mismatch(column, items[i], path(i), "strings");
        set.insert(items[i].get_string());
      }
      scan(
          column, [&](std::size_t r) { return column.string_at(r); },
          [&](std::string_view x) { return set.contains(x); }, out);
      break;
    }
    case ColumnType::boolean: {
      bool want[2] = {false, false};
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_bool()) mismatch(column, items[i], path(i), "true or false");
        want[items[i].get_bool() ? 1 : 0] = true;
      }
      scan(
          column, [&](std::size_t r) { return column.bool_at(r); },
          [&](bool x) { return want[x ? 1 : 0]; }, out);
      break;
    }
  }
}

class Filter final : public Processor {
 public:
  void validate(const json::object& params) const override { parse_options(params); }

  StageOutput run(ProcessorContext& context) override {
    const Options options = parse_options(context.params());
    const InputTable input = single_input(context, "filter");
    const Column& column = require_column(input, options.column, "params.column");
    const std::size_t rows = input.table->num_rows();

    std::vector<std::size_t> keep;
    switch (options.op) {
      case Op::is_null:
        for (std::size_t row = 0; row < rows && column.null_count() != 0; ++row) {
          if (column.is_null(row)) keep.push_back(row);
        }
        break;
      case Op::not_null:
        keep.reserve(rows - column.null_count());
        for (std::size_t row = 0; row < rows; ++row) {
          if (!column.is_null(row)) keep.push_back(row);
        }
        break;
      case Op::in:
        match_in(column, options.value.get_array(), keep);
        break;
      default:
        compare_value(column, options.op, options.value, keep);
        break;
    }

    context.record_decision("rows_in", json::value(static_cast<std::int64_t>(rows)));
    context.record_decision("rows_out", json::value(static_cast<std::int64_t>(keep.size())));
    if (keep.size() == rows) return StageOutput(input.table);  // every row: share, don't copy

    return StageOutput(gather_table(*input.table, keep));
  }
};

}  // namespace

std::unique_ptr<Processor> make_filter() {
  return std::make_unique<Filter>();
}

}  // namespace bdp::processors
