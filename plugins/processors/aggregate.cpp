// aggregate: groups the rows of its input and summarises columns per group.
//
// params: "group_by" (list of columns; empty or absent = the whole table is
// one group), any of "sum", "mean", "min", "max" (lists of columns), "count"
// (bool, default false); at least one summary is required.
// Output: the group_by columns, then "<col>_sum" for each column of "sum",
// "<col>_mean" for "mean", "<col>_min" for "min", "<col>_max" for "max",
// then "count" (rows in the group, int64). sum keeps int64 or float64;
// mean is float64; min and max keep the column's type (strings compare
// bytewise, false < true). Nulls (and NaN for min/max) are skipped; a group
// without a value yields null. Null group keys form a group of their own.
// Groups appear in the order of their first row. With no group_by the
// output has exactly one row, even for an empty input.
// Decisions: "rows_in", "groups".
#include <bdp/sdk/error.hpp>

#include "params.hpp"
#include "processors.hpp"

#include <boost/json/object.hpp>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <type_traits>

namespace bdp::processors {

namespace {

namespace json = boost::json;

struct Options {
  std::vector<std::string> group_by;
  std::vector<std::string> sum;
  std::vector<std::string> mean;
  std::vector<std::string> min;
  std::vector<std::string> max;
  bool count = false;
};

Options parse_options(const json::object& params) {
  check_keys(params, {"group_by", "sum", "mean", "min", "max", "count"});
  Options options;
  options.group_by = get_string_list(params, "group_by", false, false);
  options.sum = get_string_list(params, "sum", false, false);
  options.mean = get_string_list(params, "mean", false, false);
  options.min = get_string_list(params, "min", false, false);
  options.max = get_string_list(params, "max", false, false);
  options.count = get_bool(params, "count", false);
  if (options.sum.empty() && options.mean.empty() && options.min.empty() && options.max.empty() &&
      !options.count) {
    params_error("params",
                 "aggregate needs at least one of sum, mean, min, max (lists of "
                 "columns) or count: true");
  }
  // Output names must be unique ("count" as a group column plus count: true).
  std::set<std::string, std::less<>> names(options.group_by.begin(), options.group_by.end());
  auto claim = [&](std::string_view key, const std::string& name) {
    if (!names.insert(name).second) {
      params_error(key_path(key), "output column '" + name + "' would appear twice");
    }
  };
  for (const std::string& c : options.sum) claim("sum", c + "_sum");
  for (const std::string& c : options.mean) claim("mean", c + "_mean");
  for (const std::string& c : options.min) claim("min", c + "_min");
  for (const std::string& c : options.max) claim("max", c + "_max");
  if (options.count) claim("count", "count");
  return options;
}

// ---- grouping ---------------------------------------------------------------

constexpr std::uint64_t kNullHash = 0x9ae16a3b2f90404fULL;

std::uint64_t mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Bits of a double with -0.0 folded onto 0.0 and every NaN onto one NaN, so
// that equal keys hash equally.
std::uint64_t double_bits(double d) noexcept {
  if (d == 0.0) return 0;
  if (std::isnan(d)) return 0x7ff8000000000000ULL;
  return std::bit_cast<std::uint64_t>(d);
}

// Folds the column's cells into the running row hashes.
void hash_column(const Column& column, std::vector<std::uint64_t>& hashes) {
  const std::size_t rows = column.size();
  auto fold = [&](auto cell_hash) {
    for (std::size_t row = 0; row < rows; ++row) {
      const std::uint64_t h = column.is_null(row) ? kNullHash : cell_hash(row);
      hashes[row] = mix(hashes[row] ^ h) + 0x9e3779b97f4a7c15ULL;
    }
  };
  switch (column.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      fold([&](std::size_t r) { return static_cast<std::uint64_t>(column.int64_at(r)); });
      break;
    case ColumnType::float64:
      fold([&](std::size_t r) { return double_bits(column.float64_at(r)); });
      break;
    case ColumnType::boolean:
      fold([&](std::size_t r) { return column.bool_at(r) ? std::uint64_t{1} : std::uint64_t{2}; });
      break;
    case ColumnType::string: {
      std::hash<std::string_view> hasher;
      fold([&](std::size_t r) { return static_cast<std::uint64_t>(hasher(column.string_at(r))); });
      break;
    }
  }
}

// The key cells of each group, copied compactly: matching a row against a
// group then reads this small array instead of a random row of the input,
// which on large inputs is what decides the speed.
class GroupKeys {
 public:
  explicit GroupKeys(const Column& column) : column_(&column) {}

  // Appends row's cell as the key of the next group.
  void add(std::size_t row) {
    const bool null = column_->is_null(row);
    nulls_.push_back(null ? 1 : 0);
    std::uint64_t word = 0;
    if (!null) {
      switch (column_->type()) {
        case ColumnType::int64:
        case ColumnType::timestamp:
          word = static_cast<std::uint64_t>(column_->int64_at(row));
          break;
        case ColumnType::float64:
          word = double_bits(column_->float64_at(row));
          break;
        case ColumnType::boolean:
          word = column_->bool_at(row) ? 1 : 0;
          break;
        case ColumnType::string: {
          const std::string_view text = column_->string_at(row);
          word = chars_.size();
          lengths_.push_back(text.size());
          chars_.append(text);
          break;
        }
      }
    }
    if (column_->type() == ColumnType::string && null) lengths_.push_back(0);
    words_.push_back(word);
  }

  // Whether row's cell equals the key of `group`.
  bool matches(std::size_t group, std::size_t row) const noexcept {
    const bool null = column_->is_null(row);
    if (null || nulls_[group] != 0) return null == (nulls_[group] != 0);
    switch (column_->type()) {
      case ColumnType::int64:
      case ColumnType::timestamp:
        return words_[group] == static_cast<std::uint64_t>(column_->int64_at(row));
      case ColumnType::float64:
        return words_[group] == double_bits(column_->float64_at(row));
      case ColumnType::boolean:
        return words_[group] == (column_->bool_at(row) ? 1U : 0U);
      case ColumnType::string:
        return std::string_view(chars_).substr(words_[group], lengths_[group]) ==
               column_->string_at(row);
    }
    return false;
  }

 private:
  const Column* column_;
  std::vector<std::uint8_t> nulls_;
  std::vector<std::uint64_t> words_;    // value bits, or offset into chars_ for strings
  std::vector<std::uint64_t> lengths_;  // strings only
  std::string chars_;
};

struct Groups {
  std::vector<std::uint32_t> of_row;   // group of each row
  std::vector<std::size_t> first_row;  // first row of each group
  std::size_t size() const noexcept { return first_row.size(); }
};

Groups group_rows(const std::vector<const Column*>& keys, std::size_t rows) {
  Groups groups;
  groups.of_row.resize(rows);
  if (keys.empty()) {  // one group, even without rows
    groups.first_row.push_back(0);
    return groups;
  }

  std::vector<std::uint64_t> hashes(rows, 0);
  for (const Column* key : keys) hash_column(*key, hashes);

  // Open addressing with linear probing. A slot holds a group id in its
  // low half and the top half of the group's hash in its high half, so
  // that most mismatches are settled without touching anything else.
  constexpr std::uint64_t kEmpty = std::numeric_limits<std::uint64_t>::max();
  auto tag = [](std::uint64_t hash) { return hash & 0xffffffff00000000ULL; };
  std::vector<std::uint64_t> slots(64, kEmpty);
  std::size_t mask = slots.size() - 1;
  std::vector<std::uint64_t> group_hash;
  std::vector<GroupKeys> group_keys;
  group_keys.reserve(keys.size());
  for (const Column* key : keys) group_keys.emplace_back(*key);
  auto grow = [&] {
    slots.assign(slots.size() * 2, kEmpty);
    mask = slots.size() - 1;
    for (std::uint32_t g = 0; g < group_hash.size(); ++g) {
      std::size_t i = group_hash[g] & mask;
      while (slots[i] != kEmpty) i = (i + 1) & mask;
      slots[i] = tag(group_hash[g]) | g;
    }
  };

  for (std::size_t row = 0; row < rows; ++row) {
    const std::uint64_t h = hashes[row];
    std::size_t i = h & mask;
    std::uint32_t group = 0;
    for (;;) {
      const std::uint64_t slot = slots[i];
      if (slot == kEmpty) {
        group = static_cast<std::uint32_t>(groups.first_row.size());
        slots[i] = tag(h) | group;
        groups.first_row.push_back(row);
        group_hash.push_back(h);
        for (GroupKeys& key : group_keys) key.add(row);
        if (group_hash.size() * 2 > slots.size()) grow();
        break;
      }
      if (tag(slot) == tag(h)) {
        const auto g = static_cast<std::uint32_t>(slot);
        bool same = true;
        for (const GroupKeys& key : group_keys) same = same && key.matches(g, row);
        if (same) {
          group = g;
          break;
        }
      }
      i = (i + 1) & mask;
    }
    groups.of_row[row] = group;
  }
  return groups;
}

// ---- summaries --------------------------------------------------------------

[[noreturn]] void not_numeric(std::string_view key, const Column& column) {
  throw Error(ErrorCode::invalid_argument, key_path(key) + ": column '" + column.name() + "' is " +
                                               std::string(to_string(column.type())) + "; " +
                                               std::string(key) +
                                               " needs an int64 or float64 column");
}

// Calls visit(row, group) for each non-null row.
template <class Visit>
void for_each_value(const Column& column, const Groups& groups, Visit visit) {
  const std::size_t rows = column.size();
  if (column.null_count() == 0) {
    for (std::size_t row = 0; row < rows; ++row) visit(row, groups.of_row[row]);
  } else {
    for (std::size_t row = 0; row < rows; ++row) {
      if (!column.is_null(row)) visit(row, groups.of_row[row]);
    }
  }
}

// Appends each group's sum to `out` (of the column's type).
void sum_column(const Column& column, const Groups& groups, ColumnBuilder& out) {
  const std::size_t n = groups.size();
  std::vector<std::uint8_t> seen(n, 0);
  out.reserve(n);
  if (column.type() == ColumnType::int64) {
    std::vector<std::int64_t> sums(n, 0);
    for_each_value(column, groups, [&](std::size_t row, std::uint32_t g) {
      if (__builtin_add_overflow(sums[g], column.int64_at(row), &sums[g])) {
        throw Error(ErrorCode::invalid_argument,
                    "params.sum: the sum of column '" + column.name() +
                        "' overflows int64; sum a float64 column instead");
      }
      seen[g] = 1;
    });
    for (std::size_t g = 0; g < n; ++g) {
      if (seen[g] != 0) {
        out.append_int64(sums[g]);
      } else {
        out.append_null();
      }
    }
  } else {
    std::vector<double> sums(n, 0.0);
    for_each_value(column, groups, [&](std::size_t row, std::uint32_t g) {
      sums[g] += column.float64_at(row);
      seen[g] = 1;
    });
    for (std::size_t g = 0; g < n; ++g) {
      if (seen[g] != 0) {
        out.append_float64(sums[g]);
      } else {
        out.append_null();
      }
    }
  }
}

// Appends each group's mean to `out` (float64).
void mean_column(const Column& column, const Groups& groups, ColumnBuilder& out) {
  const std::size_t n = groups.size();
  std::vector<double> sums(n, 0.0);
  std::vector<std::int64_t> counts(n, 0);
  if (column.type() == ColumnType::int64) {
    for_each_value(column, groups, [&](std::size_t row, std::uint32_t g) {
      sums[g] += static_cast<double>(column.int64_at(row));
      ++counts[g];
    });
  } else {
    for_each_value(column, groups, [&](std::size_t row, std::uint32_t g) {
      sums[g] += column.float64_at(row);
      ++counts[g];
    });
  }
  out.reserve(n);
  for (std::size_t g = 0; g < n; ++g) {
    if (counts[g] != 0) {
      out.append_float64(sums[g] / static_cast<double>(counts[g]));
    } else {
      out.append_null();
    }
  }
}

// The row holding each group's smallest (or largest) value, then a gather.
template <class Get>
std::vector<std::size_t> best_rows(const Column& column, const Groups& groups, bool want_max,
                                   Get get) {
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> best(groups.size(), kNone);
  for_each_value(column, groups, [&](std::size_t row, std::uint32_t g) {
    const auto value = get(row);
    if constexpr (std::is_same_v<decltype(value), const double>) {
      if (std::isnan(value)) return;
    }
    if (best[g] == kNone || (want_max ? get(best[g]) < value : value < get(best[g]))) {
      best[g] = row;
    }
  });
  return best;
}

// Appends each group's smallest (or largest) value to `out` (of the
// column's type).
void extreme_column(const Column& column, const Groups& groups, bool want_max, ColumnBuilder& out) {
  std::vector<std::size_t> best;
  switch (column.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      best = best_rows(column, groups, want_max, [&](std::size_t r) { return column.int64_at(r); });
      break;
    case ColumnType::float64:
      best =
          best_rows(column, groups, want_max, [&](std::size_t r) { return column.float64_at(r); });
      break;
    case ColumnType::boolean:
      best = best_rows(column, groups, want_max, [&](std::size_t r) { return column.bool_at(r); });
      break;
    case ColumnType::string:
      best =
          best_rows(column, groups, want_max, [&](std::size_t r) { return column.string_at(r); });
      break;
  }
  out.reserve(best.size());
  for (std::size_t row : best) {
    if (row == std::numeric_limits<std::size_t>::max()) {
      out.append_null();
    } else {
      out.append_from(column, row);
    }
  }
}

class Aggregate final : public Processor {
 public:
  void validate(const json::object& params) const override { parse_options(params); }

  StageOutput run(ProcessorContext& context) override {
    const Options options = parse_options(context.params());
    const InputTable input = single_input(context, "aggregate");
    const std::size_t rows = input.table->num_rows();
    if (rows >= std::numeric_limits<std::uint32_t>::max()) {
      throw Error(ErrorCode::unsupported,
                  "aggregate handles fewer than 2^32 rows, got " + std::to_string(rows));
    }

    // Resolve and type-check every column before computing anything.
    auto resolve = [&](std::string_view key, const std::vector<std::string>& names, bool numeric) {
      std::vector<const Column*> columns;
      for (const std::string& name : names) {
        const Column& column = require_column(input, name, key_path(key));
        if (numeric && column.type() != ColumnType::int64 && column.type() != ColumnType::float64) {
          not_numeric(key, column);
        }
        columns.push_back(&column);
      }
      return columns;
    };
    const std::vector<const Column*> keys = resolve("group_by", options.group_by, false);
    const std::vector<const Column*> sums = resolve("sum", options.sum, true);
    const std::vector<const Column*> means = resolve("mean", options.mean, true);
    const std::vector<const Column*> mins = resolve("min", options.min, false);
    const std::vector<const Column*> maxes = resolve("max", options.max, false);

    const Groups groups = group_rows(keys, rows);

    // The output schema, and for each output column what fills it.
    Schema schema;
    std::vector<std::function<void(ColumnBuilder&)>> fill;
    for (const Column* key : keys) {
      schema.push_back({key->name(), key->type()});
      fill.emplace_back([&, key](ColumnBuilder& out) { gather(*key, groups.first_row, out); });
    }
    for (const Column* column : sums) {
      schema.push_back({column->name() + "_sum", column->type()});
      fill.emplace_back([&, column](ColumnBuilder& out) { sum_column(*column, groups, out); });
    }
    for (const Column* column : means) {
      schema.push_back({column->name() + "_mean", ColumnType::float64});
      fill.emplace_back([&, column](ColumnBuilder& out) { mean_column(*column, groups, out); });
    }
    for (const Column* column : mins) {
      schema.push_back({column->name() + "_min", column->type()});
      fill.emplace_back(
          [&, column](ColumnBuilder& out) { extreme_column(*column, groups, false, out); });
    }
    for (const Column* column : maxes) {
      schema.push_back({column->name() + "_max", column->type()});
      fill.emplace_back(
          [&, column](ColumnBuilder& out) { extreme_column(*column, groups, true, out); });
    }
    if (options.count) {
      schema.push_back({"count", ColumnType::int64});
      fill.emplace_back([&](ColumnBuilder& out) {
        std::vector<std::int64_t> counts(groups.size(), 0);
        for (std::size_t row = 0; row < rows; ++row) ++counts[groups.of_row[row]];
        out.reserve(counts.size());
        for (std::int64_t c : counts) out.append_int64(c);
      });
    }
    TableBuilder out(schema);
    for (std::size_t i = 0; i < fill.size(); ++i) fill[i](out.column(i));

    context.record_decision("rows_in", json::value(static_cast<std::int64_t>(rows)));
    context.record_decision("groups", json::value(static_cast<std::int64_t>(groups.size())));
    return StageOutput(out.finish());
  }
};

}  // namespace

std::unique_ptr<Processor> make_aggregate() {
  return std::make_unique<Aggregate>();
}

}  // namespace bdp::processors
