// Comparing the stored data of two processes: what changed between two runs.
//
// compare_tables() compares two tables:
//   - schema changes: columns added (only in B), removed (only in A) and
//     retyped (same name, another type);
//   - rows: with key columns, rows are matched by key; rows whose key is only
//     in A or only in B are reported as such, matched rows whose cells differ
//     as changed, with the columns that differ. Without key columns the
//     tables are compared as multisets of rows: a row that occurs n times in
//     A and m times in B counts n - m times as only in A (or m - n as only in
//     B). Cells are compared on the columns present in both tables with the
//     same type (retyped columns are reported, not compared); nulls equal
//     nulls, floats compare by value (NaN equals NaN, -0.0 equals 0.0);
//   - numeric summaries (count, sum, mean, min, max over non-null cells) of
//     the int64 and float64 columns of either side, with deltas B - A.
// A key column missing from either table, retyped, or not unique in a table
// makes the comparison fall back to multisets; `note` says why.
//
// compare_processes() compares two stored processes: their decisions
// (process-level and per stage) and, for each stage (or one), the newest
// version of each entity on each side, wherever each is stored (A in a CSV
// folder and B in SQLite compare like any other pair).
//
// Results keep the compared tables (shared, never copied) and row indices,
// so every differing row stays available (write_changes_csv) while the
// report and to_json() show a few examples.
//
// Thread-safety: compare_tables is a pure function; compare_processes uses
// the container, which may be shared.
#pragma once

#include <bdp/container.hpp>
#include <bdp/export.hpp>
#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/records.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdp {

struct ColumnChange {
  enum class Kind : std::uint8_t { added, removed, retyped };
  Kind kind = Kind::added;
  std::string column;
  std::optional<ColumnType> type_a;  // unset when added
  std::optional<ColumnType> type_b;  // unset when removed
};

// "added", "removed", "retyped".
BDP_CORE_API std::string_view to_string(ColumnChange::Kind kind) noexcept;

// A row of one side, `count` times (always 1 in a keyed comparison).
struct RowCount {
  std::size_t row = 0;
  std::uint64_t count = 1;
};

// A row matched by key whose cells differ.
struct ChangedRow {
  std::size_t row_a = 0;
  std::size_t row_b = 0;
  std::vector<std::uint32_t> columns;  // indices into TableDiff::compared that differ
};

struct NumericSummary {
  std::uint64_t count = 0;  // non-null cells
  double sum = 0.0;
  double mean = 0.0;  // 0 when count is 0
  double min = 0.0;
  double max = 0.0;
};

struct NumericDelta {
  std::string column;
  std::optional<NumericSummary> a;  // unset when the column is not numeric in A (or absent)
  std::optional<NumericSummary> b;
  // B - A of sum, mean, min and max, when both sides have the column and
  // a non-null cell; else all zero and `comparable` false.
  bool comparable = false;
  double sum_delta = 0.0;
  double mean_delta = 0.0;
  double min_delta = 0.0;
  double max_delta = 0.0;
};

struct BDP_CORE_API TableDiff {
  TablePtr a;  // the compared tables (never null after compare_tables)
  TablePtr b;
  std::vector<ColumnChange> schema_changes;  // in A's column order, then B's
  // Columns compared cell by cell: in both tables with the same type, in
  // A's order.
  std::vector<std::string> compared;
  // The key columns used; empty for a multiset comparison.
  std::vector<std::string> key;
  // Why a requested key was not used (empty when it was, or none was asked).
  std::string note;
  std::vector<RowCount> only_a;     // rows of A not in B, in A's row order
  std::vector<RowCount> only_b;     // rows of B not in A, in B's row order
  std::vector<ChangedRow> changed;  // in A's row order
  std::uint64_t only_a_rows = 0;    // total rows only in A (counts summed)
  std::uint64_t only_b_rows = 0;
  std::uint64_t unchanged_rows = 0;  // rows of A matched in B with equal cells
  std::vector<NumericDelta> numeric;

  bool has_differences() const noexcept {
    return !schema_changes.empty() || only_a_rows != 0 || only_b_rows != 0 || !changed.empty();
  }
  // {"rows_a", "rows_b", "schema_changes", "key", "note", "only_a_rows",
  //  "only_b_rows", "changed_rows", "unchanged_rows", "numeric",
  //  "examples": {"only_a", "only_b", "changed"}} with at most
  // `max_examples` rows per kind of example.
  boost::json::object to_json(std::size_t max_examples = 10) const;
};

// Compares `a` with `b` (neither may be null). `key` names the key columns;
// empty means a multiset comparison. Throws bdp::Error(invalid_argument)
// for a null table or an empty or repeated key column name.
BDP_CORE_API TableDiff compare_tables(const TablePtr& a, const TablePtr& b,
                                      const std::vector<std::string>& key = {});

// A decision whose value differs between the two processes.
struct DecisionChange {
  std::string stage;  // empty for a process-level decision
  std::string key;
  std::optional<boost::json::value> a;  // unset when A has no such decision
  std::optional<boost::json::value> b;
};

// One (stage, entity) of either process.
struct BDP_CORE_API EntityDiff {
  std::string stage;
  std::string entity;
  std::optional<RecordInfo> record_a;  // unset when only B stored it
  std::optional<RecordInfo> record_b;
  // Set when both sides are tables.
  std::optional<TableDiff> table;
  // When both sides are JSON, or one is a table and the other JSON: whether
  // the payloads are equal.
  bool payload_equal = true;

  bool has_differences() const noexcept {
    return !record_a || !record_b || !payload_equal || (table && table->has_differences());
  }
  boost::json::object to_json(std::size_t max_examples = 10) const;
};

struct CompareOptions {
  // Compare only this stage; unset = every stage either process stored.
  std::optional<std::string> stage;
  // Key columns for the table comparisons; empty = multisets.
  std::vector<std::string> key;
};

struct BDP_CORE_API ProcessDiff {
  ProcessInfo a;  // the process records (stages included)
  ProcessInfo b;
  std::vector<DecisionChange> decisions;  // process-level first, then per stage
  std::vector<EntityDiff> entities;       // in A's stage order, then B's; entities by name

  bool has_differences() const noexcept;
  boost::json::object to_json(std::size_t max_examples = 10) const;
};

// Compares the processes that `selector_a` and `selector_b` name (process
// selectors, see selectors.hpp) in the stores of `container`. Throws
// bdp::Error(not_found) for a selector that names no process (with the
// closest ids), for a `stage` neither process stored (with the closest
// stage names), and for a key column that none of the compared tables has;
// and what retrieving a record throws.
BDP_CORE_API ProcessDiff compare_processes(DataContainer& container, std::string_view selector_a,
                                           std::string_view selector_b,
                                           const CompareOptions& options = {});

// The differing rows of every table comparison in `diff` as one CSV table:
// columns "_stage", "_entity", "_change", "_changed_columns", then the union
// of the compared tables' columns by name (a name with different types in
// different tables becomes a string column). "_change" is "only_a" or
// "only_b" (a multiset row repeats `count` times), or "changed_a" and
// "changed_b" for the two sides of a changed row, whose "_changed_columns"
// lists the differing columns separated by ';'. Cells a table does not have
// are null. Appends header and rows to `out`. Throws
// bdp::Error(unsupported) when a table has a column named like one of the
// four added ones.
BDP_CORE_API void write_changes_csv(const ProcessDiff& diff, std::string& out);

// A cell as JSON: null, an integer, a number (non-finite floats as the
// strings "NaN", "Infinity", "-Infinity"), a bool, a string, or a timestamp
// as its ISO 8601 text.
BDP_CORE_API boost::json::value cell_to_json(const Column& column, std::size_t row);

}  // namespace bdp
