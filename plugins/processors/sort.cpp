// sort: orders the rows of its input by one or more columns.
//
// params: "by" (non-empty list of columns, the first most significant),
// "descending" (bool, default false; applies to every column).
// The sort is stable. Nulls come last in either direction; NaN sorts above
// every other float. Strings compare bytewise, false < true.
#include <bdp/sdk/error.hpp>

#include "params.hpp"
#include "processors.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

namespace bdp::processors {

namespace {

namespace json = boost::json;

struct Options {
  std::vector<std::string> by;
  bool descending = false;
};

Options parse_options(const json::object& params) {
  check_keys(params, {"by", "descending"});
  Options options;
  options.by = get_string_list(params, "by", true, true);
  options.descending = get_bool(params, "descending", false);
  return options;
}

// Each key column is first turned into dense ranks (equal values share a
// rank; descending order reverses the ranks; null takes the rank after all
// values), then the rows are ordered by stable counting-sort passes over the
// ranks, least significant column first. Both steps read columns
// sequentially, so large tables sort fast.
struct Ranks {
  std::vector<std::uint32_t> of_row;
  std::uint32_t buckets = 0;  // ranks run 0 .. buckets-1
};

// A uint64 whose unsigned order is the sort order of doubles: -0.0 equals
// 0.0, and every NaN sorts after +inf and equals every other NaN.
std::uint64_t sortable_bits(double d) noexcept {
  if (d == 0.0) d = 0.0;
  if (std::isnan(d)) return std::numeric_limits<std::uint64_t>::max();
  const auto bits = std::bit_cast<std::uint64_t>(d);
  return (bits & 0x8000000000000000ULL) != 0 ? ~bits : bits | 0x8000000000000000ULL;
}

// A string with its first 8 bytes packed big-endian: comparing the packed
// prefixes settles most comparisons without reading the strings.
struct StringKey {
  std::uint64_t prefix;
  std::string_view text;

  explicit StringKey(std::string_view s) noexcept : prefix(0), text(s) {
    for (std::size_t i = 0; i < 8; ++i) {
      prefix <<= 8;
      if (i < s.size()) prefix |= static_cast<unsigned char>(s[i]);
    }
  }
  bool operator<(const StringKey& other) const noexcept {
    if (prefix != other.prefix) return prefix < other.prefix;
    // Equal prefixes: strings of at most 8 bytes differ only in trailing
    // NUL bytes, so the shorter comes first; longer ones compare bytewise.
    if (text.size() <= 8 && other.text.size() <= 8) return text.size() < other.text.size();
    return text < other.text;
  }
};

// Ranks from (value, row) pairs of the non-null rows.
template <class T>
Ranks rank_pairs(std::vector<std::pair<T, std::uint32_t>>& pairs, std::size_t rows,
                 bool descending) {
  std::sort(pairs.begin(), pairs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Ranks ranks;
  ranks.of_row.resize(rows);
  std::uint32_t rank = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i != 0 && pairs[i - 1].first < pairs[i].first) ++rank;
    ranks.of_row[pairs[i].second] = rank;
  }
  const std::uint32_t distinct = pairs.empty() ? 0 : rank + 1;
  if (descending) {
    for (const auto& pair : pairs) {
      ranks.of_row[pair.second] = distinct - 1 - ranks.of_row[pair.second];
    }
  }
  ranks.buckets = distinct + 1;
  return ranks;
}

template <class T, class Get>
Ranks rank_column(const Column& column, bool descending, Get get) {
  const std::size_t rows = column.size();
  std::vector<std::pair<T, std::uint32_t>> pairs;
  pairs.reserve(rows - column.null_count());
  for (std::size_t row = 0; row < rows; ++row) {
    if (!column.is_null(row)) pairs.emplace_back(get(row), static_cast<std::uint32_t>(row));
  }
  Ranks ranks = rank_pairs(pairs, rows, descending);
  if (column.null_count() != 0) {
    for (std::size_t row = 0; row < rows; ++row) {
      if (column.is_null(row)) ranks.of_row[row] = ranks.buckets - 1;
    }
  }
  return ranks;
}

Ranks rank(const Column& column, bool descending) {
  switch (column.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      return rank_column<std::int64_t>(column, descending,
                                       [&](std::size_t r) { return column.int64_at(r); });
    case ColumnType::float64:
      return rank_column<std::uint64_t>(
          column, descending, [&](std::size_t r) { return sortable_bits(column.float64_at(r)); });
    case ColumnType::boolean:
      return rank_column<std::uint8_t>(column, descending, [&](std::size_t r) {
        return static_cast<std::uint8_t>(column.bool_at(r) ? 1 : 0);
      });
    case ColumnType::string:
      return rank_column<StringKey>(column, descending,
                                    [&](std::size_t r) { return StringKey(column.string_at(r)); });
  }
  return {};
}

// Reorders `order` by ranks, keeping the current order among equal ranks.
void counting_pass(const Ranks& ranks, std::vector<std::size_t>& order,
                   std::vector<std::size_t>& scratch) {
  std::vector<std::size_t> start(ranks.buckets + 1, 0);
  for (std::size_t row : order) ++start[ranks.of_row[row] + 1];
  for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  scratch.resize(order.size());
  for (std::size_t row : order) scratch[start[ranks.of_row[row]]++] = row;
  order.swap(scratch);
}

class Sort final : public Processor {
 public:
  void validate(const json::object& params) const override { parse_options(params); }

  StageOutput run(ProcessorContext& context) override {
    const Options options = parse_options(context.params());
    const InputTable input = single_input(context, "sort");
    std::vector<const Column*> keys;
    for (const std::string& name : options.by) {
      keys.push_back(&require_column(input, name, "params.by"));
    }

    const std::size_t rows = input.table->num_rows();
    if (rows >= std::numeric_limits<std::uint32_t>::max()) {
      throw Error(ErrorCode::unsupported,
                  "sort handles fewer than 2^32 rows, got " + std::to_string(rows));
    }

    std::vector<std::size_t> order(rows);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<std::size_t> scratch;
    for (auto key = keys.rbegin(); key != keys.rend(); ++key) {
      counting_pass(rank(**key, options.descending), order, scratch);
    }
    return StageOutput(permute_table(*input.table, order));
  }
};

}  // namespace

std::unique_ptr<Processor> make_sort() {
  return std::make_unique<Sort>();
}

}  // namespace bdp::processors
