// Run-time helpers shared by the processors: the input table, columns by
// name, and row gathering.
#include <bdp/sdk/error.hpp>

#include "processors.hpp"

#include <algorithm>

namespace bdp::processors {

InputTable single_input(const ProcessorContext& context, std::string_view processor) {
  const std::vector<std::string>& names = context.input_names();
  if (names.empty()) {
    throw Error(ErrorCode::invalid_argument, "stage '" + context.stage_name() + "': processor '" +
                                                 std::string(processor) +
                                                 "' needs an input; list the stage to read from in "
                                                 "\"inputs\"");
  }
  const std::string& stage = names.front();
  const Payload* payload = context.input(stage).find(kDefaultEntity);
  if (payload == nullptr || !payload->is_table()) {
    throw Error(ErrorCode::not_found, "stage '" + context.stage_name() + "': input stage '" +
                                          stage + "' has no table entity 'default' for '" +
                                          std::string(processor) + "' to read");
  }
  return InputTable{stage, payload->table()};
}

std::string column_names(const Table& table) {
  std::string out;
  for (const Column& column : table.columns()) {
    if (!out.empty()) out += ", ";
    out += column.name();
  }
  return out.empty() ? std::string("(none)") : out;
}

const Column& require_column(const InputTable& input, std::string_view name,
                             std::string_view path) {
  const Column* column = input.table->find(name);
  if (column == nullptr) {
    throw Error(ErrorCode::not_found, std::string(path) + ": no column '" + std::string(name) +
                                          "' in the output of stage '" + input.stage +
                                          "'; columns: " + column_names(*input.table));
  }
  return *column;
}

namespace {

// How many rows ahead a gather prefetches: gathering in a random order
// (after a sort) is bound by memory latency, not by work.
constexpr std::size_t kPrefetchAhead = 16;

// Appends source's cells at rows row_at(0) .. row_at(count-1) to `out`;
// `random` says whether those rows jump around (then they are prefetched).
template <class RowAt>
void append_cells(const Column& source, ColumnBuilder& out, std::size_t count, RowAt row_at,
                  bool random) {
  const bool nulls = source.null_count() != 0;
  auto run = [&](auto append, auto prefetch) {
    for (std::size_t i = 0; i < count; ++i) {
      if (random && i + kPrefetchAhead < count) prefetch(row_at(i + kPrefetchAhead));
      const std::size_t row = row_at(i);
      if (nulls && source.is_null(row)) {
        out.append_null();
      } else {
        append(row);
      }
    }
  };
  auto no_prefetch = [](std::size_t) {};
  switch (source.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp: {
      const std::int64_t* values = source.int64_values().data();
      auto prefetch = [&](std::size_t row) { __builtin_prefetch(values + row); };
      out.reserve(out.size() + count);
      if (source.type() == ColumnType::int64) {
        run([&](std::size_t row) { out.append_int64(values[row]); }, prefetch);
      } else {
        run([&](std::size_t row) { out.append_timestamp(values[row]); }, prefetch);
      }
      break;
    }
    case ColumnType::float64: {
      const double* values = source.float64_values().data();
      out.reserve(out.size() + count);
      run([&](std::size_t row) { out.append_float64(values[row]); },
          [&](std::size_t row) { __builtin_prefetch(values + row); });
      break;
    }
    case ColumnType::boolean:
      out.reserve(out.size() + count);
      run([&](std::size_t row) { out.append_bool(source.bool_at(row)); }, no_prefetch);
      break;
    case ColumnType::string: {
      // Reserve from the mean length of a sample instead of a second pass.
      const std::size_t sample = std::min<std::size_t>(count, 256);
      std::size_t sample_bytes = 0;
      for (std::size_t i = 0; i < sample; ++i) sample_bytes += source.string_at(row_at(i)).size();
      const std::size_t estimate = sample == 0 ? 0 : sample_bytes * count / sample;
      out.reserve(out.size() + count, estimate + estimate / 8);
      run([&](std::size_t row) { out.append_string(source.string_at(row)); },
          [&](std::size_t row) { __builtin_prefetch(source.string_at(row).data()); });
      break;
    }
  }
}

}  // namespace

void gather(const Column& source, std::span<const std::size_t> rows, ColumnBuilder& out) {
  append_cells(
      source, out, rows.size(), [&](std::size_t i) { return rows[i]; }, true);
}

void copy_all(const Column& source, ColumnBuilder& out) {
  append_cells(
      source, out, source.size(), [](std::size_t i) { return i; }, false);
}

TablePtr gather_table(const Table& input, std::span<const std::size_t> rows) {
  TableBuilder out(input.schema());
  for (std::size_t i = 0; i < input.num_columns(); ++i)
    gather(input.column(i), rows, out.column(i));
  return out.finish();
}

TablePtr permute_table(const Table& input, std::span<const std::size_t> order) {
  const std::size_t rows = order.size();
  TableBuilder out(input.schema());
  if (rows < 4 * kPrefetchAhead) {
    for (std::size_t c = 0; c < input.num_columns(); ++c) {
      gather(input.column(c), order, out.column(c));
    }
    return out.finish();
  }
  // Reading the input in order and scattering to each row's destination is
  // faster than gathering in a random order: the reads stream, and the
  // scattered writes do not stall.
  std::vector<std::size_t> destination(rows);
  for (std::size_t i = 0; i < rows; ++i) destination[order[i]] = i;
  std::vector<std::int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string_view> views;
  for (std::size_t c = 0; c < input.num_columns(); ++c) {
    const Column& source = input.column(c);
    ColumnBuilder& column = out.column(c);
    const bool nulls = source.null_count() != 0;
    auto append_all = [&](auto append) {
      for (std::size_t i = 0; i < rows; ++i) {
        if (nulls && source.is_null(order[i])) {
          column.append_null();
        } else {
          append(i);
        }
      }
    };
    switch (source.type()) {
      case ColumnType::int64:
      case ColumnType::timestamp: {
        ints.resize(rows);
        const std::int64_t* values = source.int64_values().data();
        for (std::size_t row = 0; row < rows; ++row) ints[destination[row]] = values[row];
        column.reserve(rows);
        if (source.type() == ColumnType::int64) {
          append_all([&](std::size_t i) { column.append_int64(ints[i]); });
        } else {
          append_all([&](std::size_t i) { column.append_timestamp(ints[i]); });
        }
        break;
      }
      case ColumnType::float64: {
        floats.resize(rows);
        const double* values = source.float64_values().data();
        for (std::size_t row = 0; row < rows; ++row) floats[destination[row]] = values[row];
        column.reserve(rows);
        append_all([&](std::size_t i) { column.append_float64(floats[i]); });
        break;
      }
      case ColumnType::boolean:
        gather(source, order, column);
        break;
      case ColumnType::string: {
        views.resize(rows);
        std::size_t bytes = 0;
        for (std::size_t row = 0; row < rows; ++row) {
          const std::string_view text = source.string_at(row);
          views[destination[row]] = text;
          bytes += text.size();
        }
        column.reserve(rows, bytes);
        // The characters are still read in a random order: prefetch them.
        append_all([&](std::size_t i) {
          if (i + kPrefetchAhead < rows) __builtin_prefetch(views[i + kPrefetchAhead].data());
          column.append_string(views[i]);
        });
        break;
      }
    }
  }
  return out.finish();
}

}  // namespace bdp::processors
