#include <bdp/compare.hpp>

#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>
#include <bdp/selectors.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <future>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

namespace bdp {

namespace {

// ----------------------------------------------------------------- hashing

constexpr std::uint64_t kNullHash = 0x6e756c6c6e756c6cULL;  // "nullnull"
constexpr std::uint64_t kSeed = 0x9e3779b97f4a7c15ULL;

inline std::uint64_t fmix(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline std::uint64_t combine(std::uint64_t h, std::uint64_t v) noexcept {
  return (std::rotl(h, 23) ^ fmix(v)) * 0x100000001b3ULL;
}

// The bits a float hashes by: equal values (NaN = NaN, -0.0 = 0.0) hash alike.
inline std::uint64_t float_bits(double v) noexcept {
  if (std::isnan(v)) return 0x7ff8000000000000ULL;
  if (v == 0.0) return 0;
  return std::bit_cast<std::uint64_t>(v);
}

// Mixes column `c`'s cells into `hashes` (one per row).
void hash_column(const Column& c, std::vector<std::uint64_t>& hashes) {
  const std::size_t n = c.size();
  const bool nulls = c.null_count() != 0;
  auto each = [&](auto&& value_of) {
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint64_t v = nulls && c.is_null(r) ? kNullHash : value_of(r);
      hashes[r] = combine(hashes[r], v);
    }
  };
  switch (c.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp: {
      const auto values = c.int64_values();
      each([&](std::size_t r) { return static_cast<std::uint64_t>(values[r]); });
      break;
    }
    case ColumnType::float64: {
      const auto values = c.float64_values();
      each([&](std::size_t r) { return float_bits(values[r]); });
      break;
    }
    case ColumnType::boolean:
      each([&](std::size_t r) { return c.bool_at(r) ? 0x7472756555ULL : 0x66616c7365ULL; });
      break;
    case ColumnType::string:
      each([&](std::size_t r) {
        const auto s = c.string_at(r);
        return xxh64(s.data(), s.size(), 0x5354);
      });
      break;
  }
}

std::vector<std::uint64_t> hash_rows(const std::vector<const Column*>& columns, std::size_t rows) {
  std::vector<std::uint64_t> hashes(rows, kSeed);
  for (const Column* c : columns) hash_column(*c, hashes);
  for (auto& h : hashes) h = fmix(h);
  return hashes;
}

// ---------------------------------------------------------------- equality

inline bool floats_equal(double x, double y) noexcept {
  return x == y || (std::isnan(x) && std::isnan(y));
}

// Cells of two columns of the same type.
inline bool cells_equal(const Column& a, std::size_t i, const Column& b, std::size_t j) noexcept {
  const bool na = a.is_null(i);
  const bool nb = b.is_null(j);
  if (na || nb) return na == nb;
  switch (a.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      return a.int64_at(i) == b.int64_at(j);
    case ColumnType::float64:
      return floats_equal(a.float64_at(i), b.float64_at(j));
    case ColumnType::boolean:
      return a.bool_at(i) == b.bool_at(j);
    case ColumnType::string:
      return a.string_at(i) == b.string_at(j);
  }
  return false;
}

inline bool rows_equal(const std::vector<const Column*>& x, std::size_t i,
                       const std::vector<const Column*>& y, std::size_t j) noexcept {
  for (std::size_t c = 0; c < x.size(); ++c) {
    if (!cells_equal(*x[c], i, *y[c], j)) return false;
  }
  return true;
}

// Appends to `out` the positions p (into `pairs`) whose cells differ
// between `a` at pairs[p].first and `b` at pairs[p].second. One type
// switch per column; the inner loops compare typed values directly.
void differing_pairs(const Column& a, const Column& b,
                     const std::vector<std::pair<std::uint32_t, std::uint32_t>>& pairs,
                     std::vector<std::uint32_t>& out) {
  const bool nulls = a.null_count() != 0 || b.null_count() != 0;
  auto scan = [&](auto&& equal) {
    const std::size_t n = pairs.size();
    for (std::size_t p = 0; p < n; ++p) {
      const auto [i, j] = pairs[p];
      bool same;
      if (nulls && (a.is_null(i) || b.is_null(j))) {
        same = a.is_null(i) == b.is_null(j);
      } else {
        same = equal(i, j);
      }
      if (!same) out.push_back(static_cast<std::uint32_t>(p));
    }
  };
  switch (a.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp: {
      const auto x = a.int64_values();
      const auto y = b.int64_values();
      scan([&](std::size_t i, std::size_t j) { return x[i] == y[j]; });
      break;
    }
    case ColumnType::float64: {
      const auto x = a.float64_values();
      const auto y = b.float64_values();
      scan([&](std::size_t i, std::size_t j) { return floats_equal(x[i], y[j]); });
      break;
    }
    case ColumnType::boolean:
      scan([&](std::size_t i, std::size_t j) { return a.bool_at(i) == b.bool_at(j); });
      break;
    case ColumnType::string:
      scan([&](std::size_t i, std::size_t j) { return a.string_at(i) == b.string_at(j); });
      break;
  }
}

// ------------------------------------------------------- open-addressing index

// Row numbers by hash, probing linearly; slot value 0 is empty, else row + 1.
class RowIndex {
 public:
  explicit RowIndex(std::size_t rows) {
    std::size_t capacity = 16;
    while (capacity < rows * 2) capacity <<= 1;
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
  }
  // Calls `same(row)` for candidates with hash `h` until it returns true;
  // returns that row, or -1 with `slot` set to the free slot to insert at.
  template <class Same>
  std::int64_t find(std::uint64_t h, const std::vector<std::uint64_t>& hashes, Same&& same,
                    std::size_t& slot) const {
    std::size_t pos = h & mask_;
    while (slots_[pos] != 0) {
      const std::uint32_t row = slots_[pos] - 1;
      if (hashes[row] == h && same(row)) return row;
      pos = (pos + 1) & mask_;
    }
    slot = pos;
    return -1;
  }
  void insert_at(std::size_t slot, std::uint32_t row) { slots_[slot] = row + 1; }

 private:
  std::vector<std::uint32_t> slots_;
  std::size_t mask_ = 0;
};

std::string joined(const std::vector<std::string>& names, std::string_view separator = ", ") {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += separator;
    out += n;
  }
  return out;
}

std::string key_text(const std::vector<const Column*>& key, std::size_t row) {
  std::string out;
  for (const Column* c : key) {
    if (!out.empty()) out += ", ";
    out += c->name() + "=" + (c->is_null(row) ? std::string("null") : csv::format_cell(*c, row));
  }
  return out;
}

// Builds an index of `table`'s rows by key; returns the first repeated
// key's row (or -1).
std::int64_t index_keys(const std::vector<const Column*>& key,
                        const std::vector<std::uint64_t>& hashes, RowIndex& index) {
  for (std::size_t r = 0; r < hashes.size(); ++r) {
    std::size_t slot = 0;
    const std::int64_t found = index.find(
        hashes[r], hashes, [&](std::uint32_t other) { return rows_equal(key, other, key, r); },
        slot);
    if (found >= 0) return static_cast<std::int64_t>(r);
    index.insert_at(slot, static_cast<std::uint32_t>(r));
  }
  return -1;
}

std::optional<NumericSummary> summarize(const Column* c) {
  if (!c || (c->type() != ColumnType::int64 && c->type() != ColumnType::float64)) {
    return std::nullopt;
  }
  NumericSummary s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  const bool nulls = c->null_count() != 0;
  auto add = [&](double v) {
    ++s.count;
    s.sum += v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  };
  if (c->type() == ColumnType::int64) {
    const auto values = c->int64_values();
    for (std::size_t r = 0; r < values.size(); ++r) {
      if (!nulls || !c->is_null(r)) add(static_cast<double>(values[r]));
    }
  } else {
    const auto values = c->float64_values();
    for (std::size_t r = 0; r < values.size(); ++r) {
      if ((!nulls || !c->is_null(r)) && !std::isnan(values[r])) add(values[r]);
    }
  }
  if (s.count == 0) {
    s.min = s.max = 0.0;
  } else {
    s.mean = s.sum / static_cast<double>(s.count);
  }
  return s;
}

boost::json::value number_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

boost::json::object summary_json(const NumericSummary& s) {
  return {{"count", s.count},
          {"sum", number_json(s.sum)},
          {"mean", number_json(s.mean)},
          {"min", number_json(s.min)},
          {"max", number_json(s.max)}};
}

boost::json::object row_json(const Table& table, std::size_t row) {
  boost::json::object out;
  for (const auto& c : table.columns()) out[c.name()] = cell_to_json(c, row);
  return out;
}

void check_rows_fit(const Table& t, std::string_view side) {
  if (t.num_rows() >= std::numeric_limits<std::uint32_t>::max()) {
    throw Error(ErrorCode::unsupported, "cannot compare table " + std::string(side) + " of " +
                                            std::to_string(t.num_rows()) +
                                            " rows (at most 4294967294 rows)");
  }
}

void compare_keyed(TableDiff& d, const std::vector<const Column*>& key_a,
                   const std::vector<const Column*>& key_b, const std::vector<const Column*>& cmp_a,
                   const std::vector<const Column*>& cmp_b,
                   const std::vector<std::uint32_t>& non_key) {
  const Table& a = *d.a;
  const Table& b = *d.b;
  const auto hashes_a = hash_rows(key_a, a.num_rows());
  const auto hashes_b = hash_rows(key_b, b.num_rows());
  RowIndex index_a(a.num_rows());
  RowIndex index_b(b.num_rows());
  if (auto dup = index_keys(key_a, hashes_a, index_a); dup >= 0) {
    d.note = "key (" + joined(d.key) + ") is not unique in A (" +
             key_text(key_a, static_cast<std::size_t>(dup)) +
             " occurs more than once): compared as multisets";
    d.key.clear();
    return;
  }
  if (auto dup = index_keys(key_b, hashes_b, index_b); dup >= 0) {
    d.note = "key (" + joined(d.key) + ") is not unique in B (" +
             key_text(key_b, static_cast<std::size_t>(dup)) +
             " occurs more than once): compared as multisets";
    d.key.clear();
    return;
  }
  // Pairs in A's row order; B's matched rows flagged.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
  pairs.reserve(std::min(a.num_rows(), b.num_rows()));
  std::vector<std::uint8_t> matched_b(b.num_rows(), 0);
  for (std::size_t i = 0; i < a.num_rows(); ++i) {
    std::size_t slot = 0;
    const std::int64_t j = index_b.find(
        hashes_a[i], hashes_b, [&](std::uint32_t row) { return rows_equal(key_a, i, key_b, row); },
        slot);
    if (j < 0) {
      d.only_a.push_back({i, 1});
    } else {
      pairs.emplace_back(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j));
      matched_b[static_cast<std::size_t>(j)] = 1;
    }
  }
  for (std::size_t j = 0; j < b.num_rows(); ++j) {
    if (!matched_b[j]) d.only_b.push_back({j, 1});
  }
  d.only_a_rows = d.only_a.size();
  d.only_b_rows = d.only_b.size();

  // Column by column: the pairs that differ in each non-key column.
  std::vector<std::uint32_t> changed_at(pairs.size(), 0);  // position in d.changed + 1
  std::vector<std::uint32_t> differing;
  std::vector<std::vector<std::uint32_t>> per_column(non_key.size());
  for (std::size_t k = 0; k < non_key.size(); ++k) {
    differing.clear();
    differing_pairs(*cmp_a[non_key[k]], *cmp_b[non_key[k]], pairs, differing);
    per_column[k] = differing;
    for (auto p : differing) changed_at[p] = 1;
  }
  std::uint32_t count = 0;
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    if (changed_at[p]) changed_at[p] = ++count;
  }
  d.changed.resize(count);
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    if (changed_at[p]) {
      auto& row = d.changed[changed_at[p] - 1];
      row.row_a = pairs[p].first;
      row.row_b = pairs[p].second;
    }
  }
  for (std::size_t k = 0; k < non_key.size(); ++k) {
    for (auto p : per_column[k]) d.changed[changed_at[p] - 1].columns.push_back(non_key[k]);
  }
  d.unchanged_rows = pairs.size() - count;
}

void compare_multiset(TableDiff& d, const std::vector<const Column*>& cmp_a,
                      const std::vector<const Column*>& cmp_b) {
  const Table& a = *d.a;
  const Table& b = *d.b;
  const auto hashes_a = hash_rows(cmp_a, a.num_rows());
  const auto hashes_b = hash_rows(cmp_b, b.num_rows());
  // Groups of equal rows; each has a representative row on the side that
  // first had it.
  struct Group {
    std::uint64_t hash;
    std::uint32_t row_a = 0;
    std::uint32_t row_b = 0;
    std::uint64_t count_a = 0;
    std::uint64_t count_b = 0;
  };
  std::vector<Group> groups;
  groups.reserve(a.num_rows() / 2 + 16);
  std::vector<std::uint64_t> group_hashes;
  group_hashes.reserve(a.num_rows() / 2 + 16);
  RowIndex index(a.num_rows() + b.num_rows());
  for (std::size_t i = 0; i < a.num_rows(); ++i) {
    std::size_t slot = 0;
    const std::int64_t g = index.find(
        hashes_a[i], group_hashes,
        [&](std::uint32_t group) { return rows_equal(cmp_a, groups[group].row_a, cmp_a, i); },
        slot);
    if (g >= 0) {
      ++groups[static_cast<std::size_t>(g)].count_a;
      continue;
    }
    index.insert_at(slot, static_cast<std::uint32_t>(groups.size()));
    groups.push_back({hashes_a[i], static_cast<std::uint32_t>(i), 0, 1, 0});
    group_hashes.push_back(hashes_a[i]);
  }
  for (std::size_t j = 0; j < b.num_rows(); ++j) {
    std::size_t slot = 0;
    const std::int64_t g = index.find(
        hashes_b[j], group_hashes,
        [&](std::uint32_t group) {
          const Group& gr = groups[group];
          return gr.count_a ? rows_equal(cmp_a, gr.row_a, cmp_b, j)
                            : rows_equal(cmp_b, gr.row_b, cmp_b, j);
        },
        slot);
    if (g >= 0) {
      Group& gr = groups[static_cast<std::size_t>(g)];
      if (gr.count_b++ == 0) gr.row_b = static_cast<std::uint32_t>(j);
      continue;
    }
    index.insert_at(slot, static_cast<std::uint32_t>(groups.size()));
    groups.push_back({hashes_b[j], 0, static_cast<std::uint32_t>(j), 0, 1});
    group_hashes.push_back(hashes_b[j]);
  }
  for (const Group& g : groups) {
    d.unchanged_rows += std::min(g.count_a, g.count_b);
    if (g.count_a > g.count_b) {
      d.only_a.push_back({g.row_a, g.count_a - g.count_b});
      d.only_a_rows += g.count_a - g.count_b;
    } else if (g.count_b > g.count_a) {
      d.only_b.push_back({g.row_b, g.count_b - g.count_a});
      d.only_b_rows += g.count_b - g.count_a;
    }
  }
  std::sort(d.only_b.begin(), d.only_b.end(),
            [](const RowCount& x, const RowCount& y) { return x.row < y.row; });
}

}  // namespace

std::string_view to_string(ColumnChange::Kind kind) noexcept {
  switch (kind) {
    case ColumnChange::Kind::added:
      return "added";
    case ColumnChange::Kind::removed:
      return "removed";
    case ColumnChange::Kind::retyped:
      return "retyped";
  }
  return "?";
}

boost::json::value cell_to_json(const Column& column, std::size_t row) {
  if (column.is_null(row)) return nullptr;
  switch (column.type()) {
    case ColumnType::int64:
      return column.int64_at(row);
    case ColumnType::timestamp:
      return boost::json::string(format_timestamp(column.int64_at(row)));
    case ColumnType::float64:
      return number_json(column.float64_at(row));
    case ColumnType::boolean:
      return column.bool_at(row);
    case ColumnType::string:
      return boost::json::string(column.string_at(row));
  }
  return nullptr;
}

TableDiff compare_tables(const TablePtr& a, const TablePtr& b,
                         const std::vector<std::string>& key) {
  if (!a || !b) throw Error(ErrorCode::invalid_argument, "compare_tables: a table is null");
  for (std::size_t k = 0; k < key.size(); ++k) {
    if (key[k].empty()) throw Error(ErrorCode::invalid_argument, "key: an empty column name");
    if (std::find(key.begin(), key.begin() + static_cast<std::ptrdiff_t>(k), key[k]) !=
        key.begin() + static_cast<std::ptrdiff_t>(k)) {
      throw Error(ErrorCode::invalid_argument, "key: column '" + key[k] + "' given twice");
    }
  }
  check_rows_fit(*a, "A");
  check_rows_fit(*b, "B");
  TableDiff d;
  d.a = a;
  d.b = b;

  // Schema.
  std::vector<const Column*> cmp_a;
  std::vector<const Column*> cmp_b;
  for (const auto& c : a->columns()) {
    const Column* other = b->find(c.name());
    if (!other) {
      d.schema_changes.push_back({ColumnChange::Kind::removed, c.name(), c.type(), std::nullopt});
    } else if (other->type() != c.type()) {
      d.schema_changes.push_back({ColumnChange::Kind::retyped, c.name(), c.type(), other->type()});
    } else {
      d.compared.push_back(c.name());
      cmp_a.push_back(&c);
      cmp_b.push_back(other);
    }
  }
  for (const auto& c : b->columns()) {
    if (!a->find(c.name())) {
      d.schema_changes.push_back({ColumnChange::Kind::added, c.name(), std::nullopt, c.type()});
    }
  }

  // Numeric summaries: A's columns, then B's others.
  auto add_numeric = [&](const std::string& name) {
    NumericDelta n;
    n.column = name;
    n.a = summarize(a->find(name));
    n.b = summarize(b->find(name));
    if (!n.a && !n.b) return;
    if (n.a && n.b && n.a->count && n.b->count) {
      n.comparable = true;
      n.sum_delta = n.b->sum - n.a->sum;
      n.mean_delta = n.b->mean - n.a->mean;
      n.min_delta = n.b->min - n.a->min;
      n.max_delta = n.b->max - n.a->max;
    }
    d.numeric.push_back(std::move(n));
  };
  for (const auto& c : a->columns()) add_numeric(c.name());
  for (const auto& c : b->columns()) {
    if (!a->find(c.name())) add_numeric(c.name());
  }

  // Key: usable when every key column is compared (in both, same type).
  std::vector<const Column*> key_a;
  std::vector<const Column*> key_b;
  std::vector<bool> is_key(d.compared.size(), false);
  for (const auto& k : key) {
    auto it = std::find(d.compared.begin(), d.compared.end(), k);
    if (it == d.compared.end()) {
      const Column* ca = a->find(k);
      const Column* cb = b->find(k);
      std::string why = !ca && !cb ? "is in neither table"
                        : !ca      ? "is not in A"
                        : !cb      ? "is not in B"
                              : "has type " + std::string(to_string(ca->type())) + " in A and " +
                                    std::string(to_string(cb->type())) + " in B";
      d.note = "key column '" + k + "' " + why + ": compared as multisets";
      key_a.clear();
      break;
    }
    const auto pos = static_cast<std::size_t>(it - d.compared.begin());
    is_key[pos] = true;
    key_a.push_back(cmp_a[pos]);
    key_b.push_back(cmp_b[pos]);
  }
  if (!key.empty() && d.note.empty()) {
    d.key = key;
    std::vector<std::uint32_t> non_key;
    for (std::size_t c = 0; c < d.compared.size(); ++c) {
      if (!is_key[c]) non_key.push_back(static_cast<std::uint32_t>(c));
    }
    compare_keyed(d, key_a, key_b, cmp_a, cmp_b, non_key);
    if (!d.key.empty()) return d;  // else the key was not unique: fall through
  }
  compare_multiset(d, cmp_a, cmp_b);
  return d;
}

boost::json::object TableDiff::to_json(std::size_t max_examples) const {
  boost::json::object out;
  out["rows_a"] = a ? a->num_rows() : 0;
  out["rows_b"] = b ? b->num_rows() : 0;
  boost::json::array schema;
  for (const auto& c : schema_changes) {
    boost::json::object o{{"column", c.column}, {"change", to_string(c.kind)}};
    o["type_a"] = c.type_a ? boost::json::value(to_string(*c.type_a)) : nullptr;
    o["type_b"] = c.type_b ? boost::json::value(to_string(*c.type_b)) : nullptr;
    schema.push_back(std::move(o));
  }
  out["schema_changes"] = std::move(schema);
  boost::json::array key_json;
  for (const auto& k : key) key_json.emplace_back(k);
  out["key"] = std::move(key_json);
  out["comparison"] = key.empty() ? "multiset" : "keyed";
  if (!note.empty()) out["note"] = note;
  out["only_a_rows"] = only_a_rows;
  out["only_b_rows"] = only_b_rows;
  out["changed_rows"] = changed.size();
  out["unchanged_rows"] = unchanged_rows;
  boost::json::array numeric_json;
  for (const auto& n : numeric) {
    boost::json::object o{{"column", n.column}};
    o["a"] = n.a ? boost::json::value(summary_json(*n.a)) : nullptr;
    o["b"] = n.b ? boost::json::value(summary_json(*n.b)) : nullptr;
    if (n.comparable) {
      o["delta"] = boost::json::object{{"sum", number_json(n.sum_delta)},
                                       {"mean", number_json(n.mean_delta)},
                                       {"min", number_json(n.min_delta)},
                                       {"max", number_json(n.max_delta)}};
    } else {
      o["delta"] = nullptr;
    }
    numeric_json.push_back(std::move(o));
  }
  out["numeric"] = std::move(numeric_json);

  boost::json::object examples;
  auto rows_json = [&](const std::vector<RowCount>& rows, const Table& t) {
    boost::json::array arr;
    for (std::size_t i = 0; i < rows.size() && i < max_examples; ++i) {
      arr.push_back(
          boost::json::object{{"row", row_json(t, rows[i].row)}, {"count", rows[i].count}});
    }
    return arr;
  };
  examples["only_a"] = rows_json(only_a, *a);
  examples["only_b"] = rows_json(only_b, *b);
  boost::json::array changed_json;
  for (std::size_t i = 0; i < changed.size() && i < max_examples; ++i) {
    const ChangedRow& row = changed[i];
    boost::json::object key_values;
    for (const auto& k : key) key_values[k] = cell_to_json(a->column(k), row.row_a);
    boost::json::object changes;
    for (auto c : row.columns) {
      const std::string& name = compared[c];
      changes[name] = boost::json::object{{"old", cell_to_json(a->column(name), row.row_a)},
                                          {"new", cell_to_json(b->column(name), row.row_b)}};
    }
    changed_json.push_back(
        boost::json::object{{"key", std::move(key_values)}, {"changes", std::move(changes)}});
  }
  examples["changed"] = std::move(changed_json);
  out["examples"] = std::move(examples);
  return out;
}

boost::json::object EntityDiff::to_json(std::size_t max_examples) const {
  boost::json::object out{{"stage", stage}, {"entity", entity}};
  out["in_a"] = record_a.has_value();
  out["in_b"] = record_b.has_value();
  auto side = [](const std::optional<RecordInfo>& r) -> boost::json::value {
    if (!r) return nullptr;
    return boost::json::object{{"record", r->id},
                               {"backend", r->backend},
                               {"version", r->version},
                               {"kind", to_string(r->kind)},
                               {"rows", r->row_count}};
  };
  out["a"] = side(record_a);
  out["b"] = side(record_b);
  out["differences"] = has_differences();
  if (table) {
    out["table"] = table->to_json(max_examples);
  } else if (record_a && record_b) {
    out["payload_equal"] = payload_equal;
  }
  return out;
}

bool ProcessDiff::has_differences() const noexcept {
  if (!decisions.empty()) return true;
  return std::any_of(entities.begin(), entities.end(),
                     [](const EntityDiff& e) { return e.has_differences(); });
}

boost::json::object ProcessDiff::to_json(std::size_t max_examples) const {
  auto process_json = [](const ProcessInfo& p) {
    return boost::json::object{{"id", p.id},
                               {"name", p.name},
                               {"status", to_string(p.status)},
                               {"started_at", format_timestamp(p.started_at)}};
  };
  boost::json::object out{{"a", process_json(a)}, {"b", process_json(b)}};
  out["differences"] = has_differences();
  boost::json::array decisions_json;
  for (const auto& d : decisions) {
    boost::json::object o;
    o["stage"] = d.stage.empty() ? boost::json::value(nullptr) : boost::json::value(d.stage);
    o["key"] = d.key;
    o["a"] = d.a ? *d.a : nullptr;
    o["b"] = d.b ? *d.b : nullptr;
    o["in_a"] = d.a.has_value();
    o["in_b"] = d.b.has_value();
    decisions_json.push_back(std::move(o));
  }
  out["decisions"] = std::move(decisions_json);
  boost::json::array entities_json;
  for (const auto& e : entities) entities_json.push_back(e.to_json(max_examples));
  out["entities"] = std::move(entities_json);
  return out;
}

namespace {

void diff_decisions(const boost::json::object& a, const boost::json::object& b,
                    const std::string& stage, std::vector<DecisionChange>& out) {
  for (const auto& kv : a) {
    const auto* other = b.if_contains(kv.key());
    if (!other || *other != kv.value()) {
      DecisionChange c{stage, std::string(kv.key()), kv.value(), std::nullopt};
      if (other) c.b = *other;
      out.push_back(std::move(c));
    }
  }
  for (const auto& kv : b) {
    if (!a.contains(kv.key())) {
      out.push_back({stage, std::string(kv.key()), std::nullopt, kv.value()});
    }
  }
}

const StageInfo* find_stage(const ProcessInfo& p, std::string_view name) {
  for (const auto& s : p.stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// The newest version of each (stage, entity) stored for `process`.
std::map<std::pair<std::string, std::string>, RecordInfo> newest_records(
    DataContainer& container, const std::string& process, const std::optional<std::string>& stage) {
  Query query;
  query.process_id = process;
  if (stage) query.stage_name = *stage;
  std::map<std::pair<std::string, std::string>, RecordInfo> out;
  for (auto& r : container.list_available_data(query)) {
    auto key = std::make_pair(r.stage_name, r.entity_name);
    auto it = out.find(key);
    if (it == out.end() || r.version > it->second.version) out[key] = std::move(r);
  }
  return out;
}

}  // namespace

ProcessDiff compare_processes(DataContainer& container, std::string_view selector_a,
                              std::string_view selector_b, const CompareOptions& options) {
  const auto processes = container.list_processes();
  const std::string id_a = resolve_process(processes, selector_a);
  const std::string id_b = resolve_process(processes, selector_b);
  ProcessDiff diff;
  for (const auto& p : processes) {
    if (p.id == id_a) diff.a = p;
    if (p.id == id_b) diff.b = p;
  }

  // Decisions: process-level, then per stage (A's order, then B's).
  diff_decisions(diff.a.decisions, diff.b.decisions, "", diff.decisions);
  std::vector<std::string> stage_order;
  for (const auto& s : diff.a.stages) stage_order.push_back(s.name);
  for (const auto& s : diff.b.stages) {
    if (!find_stage(diff.a, s.name)) stage_order.push_back(s.name);
  }
  static const boost::json::object kNone;
  for (const auto& name : stage_order) {
    if (options.stage && name != *options.stage) continue;
    const StageInfo* sa = find_stage(diff.a, name);
    const StageInfo* sb = find_stage(diff.b, name);
    diff_decisions(sa ? sa->decisions : kNone, sb ? sb->decisions : kNone, name, diff.decisions);
  }

  const auto records_a = newest_records(container, id_a, options.stage);
  const auto records_b = newest_records(container, id_b, options.stage);
  if (options.stage && records_a.empty() && records_b.empty()) {
    std::vector<std::string> stored;
    for (const auto* id : {&id_a, &id_b}) {
      for (const auto& [key, r] : newest_records(container, *id, std::nullopt)) {
        if (std::find(stored.begin(), stored.end(), key.first) == stored.end()) {
          stored.push_back(key.first);
        }
      }
    }
    const auto close = closest_names(*options.stage, stored);
    throw Error(ErrorCode::not_found, "stage '" + *options.stage +
                                          "' has no stored data in process '" + id_a + "' or '" +
                                          id_b + "'" +
                                          (close.empty() ? std::string(" (they store no data)")
                                                         : " (closest: " + joined(close) + ")"));
  }
  if (records_a.empty() && records_b.empty()) {
    throw Error(ErrorCode::not_found, "neither process '" + id_a + "' nor '" + id_b +
                                          "' has stored data to compare (persist their stages: "
                                          "storage_strategy.mode \"persist\" or \"hybrid\")");
  }

  // The (stage, entity) pairs, in stage order, then stages no record names.
  std::vector<std::pair<std::string, std::string>> keys;
  std::set<std::pair<std::string, std::string>> seen;
  auto add_keys = [&](const auto& records, const std::string& stage) {
    for (const auto& [key, r] : records) {
      if (key.first == stage && seen.insert(key).second) keys.push_back(key);
    }
  };
  for (const auto& name : stage_order) {
    add_keys(records_a, name);
    add_keys(records_b, name);
  }
  for (const auto* records : {&records_a, &records_b}) {
    for (const auto& [key, r] : *records) {
      if (seen.insert(key).second) keys.push_back(key);
    }
  }

  struct Loaded {
    EntityDiff entity;
    std::optional<Payload> a;
    std::optional<Payload> b;
  };
  std::vector<Loaded> loaded;
  loaded.reserve(keys.size());
  for (const auto& key : keys) {
    Loaded l;
    l.entity.stage = key.first;
    l.entity.entity = key.second;
    if (auto it = records_a.find(key); it != records_a.end()) l.entity.record_a = it->second;
    if (auto it = records_b.find(key); it != records_b.end()) l.entity.record_b = it->second;
    if (l.entity.record_a && l.entity.record_b) {
      // The two sides may live in different backends: read them at once.
      auto future_a = std::async(std::launch::async, [&container, record = *l.entity.record_a] {
        return container.retrieve_record(record);
      });
      Payload b = container.retrieve_record(*l.entity.record_b);
      l.a = future_a.get();
      l.b = std::move(b);
    }
    loaded.push_back(std::move(l));
  }

  // A key column must exist somewhere, or it is a typo.
  for (const auto& k : options.key) {
    bool found = false;
    std::string example;
    for (const auto& l : loaded) {
      for (const auto* p : {&l.a, &l.b}) {
        if (*p && (*p)->is_table()) {
          if ((*p)->table()->find(k)) found = true;
          if (example.empty()) {
            std::vector<std::string> names;
            for (const auto& c : (*p)->table()->columns()) names.push_back(c.name());
            example = l.entity.stage + "/" + l.entity.entity + " has " + joined(names);
          }
        }
      }
    }
    if (!found && !example.empty()) {
      throw Error(ErrorCode::not_found,
                  "key column '" + k + "' is in none of the compared tables (" + example + ")");
    }
  }

  for (auto& l : loaded) {
    if (l.a && l.b) {
      if (l.a->is_table() && l.b->is_table()) {
        l.entity.table = compare_tables(l.a->table(), l.b->table(), options.key);
      } else if (l.a->is_json() && l.b->is_json()) {
        l.entity.payload_equal = l.a->json() == l.b->json();
      } else {
        l.entity.payload_equal = false;
      }
    }
    diff.entities.push_back(std::move(l.entity));
  }
  return diff;
}

void write_changes_csv(const ProcessDiff& diff, std::string& out) {
  static const std::vector<std::string> kMeta = {"_stage", "_entity", "_change",
                                                 "_changed_columns"};
  // The union of the columns, by name.
  std::vector<Field> fields;
  for (const auto& e : diff.entities) {
    if (!e.table) continue;
    for (const auto* t : {e.table->a.get(), e.table->b.get()}) {
      for (const auto& c : t->columns()) {
        if (std::find(kMeta.begin(), kMeta.end(), c.name()) != kMeta.end()) {
          throw Error(ErrorCode::unsupported, "cannot write the changes of " + e.stage + "/" +
                                                  e.entity + " as CSV: its column '" + c.name() +
                                                  "' has the name of a column the file adds");
        }
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const Field& f) { return f.name == c.name(); });
        if (it == fields.end()) {
          fields.push_back({c.name(), c.type()});
        } else if (it->type != c.type()) {
          it->type = ColumnType::string;
        }
      }
    }
  }
  std::vector<ColumnBuilder> meta;
  for (const auto& name : kMeta) meta.emplace_back(name, ColumnType::string);
  std::vector<ColumnBuilder> data;
  for (const auto& f : fields) data.emplace_back(f.name, f.type);

  for (const auto& e : diff.entities) {
    if (!e.table) continue;
    const TableDiff& t = *e.table;
    std::vector<const Column*> from_a(fields.size());
    std::vector<const Column*> from_b(fields.size());
    for (std::size_t f = 0; f < fields.size(); ++f) {
      from_a[f] = t.a->find(fields[f].name);
      from_b[f] = t.b->find(fields[f].name);
    }
    auto emit = [&](const std::vector<const Column*>& source, std::size_t row,
                    std::string_view change, const std::string& changed_columns) {
      meta[0].append_string(e.stage);
      meta[1].append_string(e.entity);
      meta[2].append_string(change);
      if (changed_columns.empty()) {
        meta[3].append_null();
      } else {
        meta[3].append_string(changed_columns);
      }
      for (std::size_t f = 0; f < fields.size(); ++f) {
        const Column* c = source[f];
        if (!c || c->is_null(row)) {
          data[f].append_null();
        } else if (c->type() == fields[f].type) {
          data[f].append_from(*c, row);
        } else {
          data[f].append_string(csv::format_cell(*c, row));
        }
      }
    };
    for (const auto& r : t.only_a) {
      for (std::uint64_t n = 0; n < r.count; ++n) emit(from_a, r.row, "only_a", {});
    }
    for (const auto& r : t.only_b) {
      for (std::uint64_t n = 0; n < r.count; ++n) emit(from_b, r.row, "only_b", {});
    }
    for (const auto& r : t.changed) {
      std::string names;
      for (auto c : r.columns) names += (names.empty() ? "" : ";") + t.compared[c];
      emit(from_a, r.row_a, "changed_a", names);
      emit(from_b, r.row_b, "changed_b", names);
    }
  }
  std::vector<Column> columns;
  for (auto& b : meta) columns.push_back(b.finish());
  for (auto& b : data) columns.push_back(b.finish());
  csv::write(Table(std::move(columns)), out);
}

}  // namespace bdp
