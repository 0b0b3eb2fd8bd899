// The processors of the bdp_processors plugin, and the run-time helpers they
// share: finding the stage's input table and a column in it, and copying
// selected rows of a column. Internal to the plugin.
#pragma once

#include <bdp/sdk/processor.hpp>
#include <bdp/sdk/table.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bdp::processors {

std::unique_ptr<Processor> make_read_csv();
std::unique_ptr<Processor> make_generate();
std::unique_ptr<Processor> make_filter();
std::unique_ptr<Processor> make_select();
std::unique_ptr<Processor> make_aggregate();
std::unique_ptr<Processor> make_sort();

// The table of a single-input stage: entity "default" of the first stage in
// its "inputs". Throws bdp::Error(config) when the stage lists no input,
// bdp::Error(not_found) when that input has no "default" table.
struct InputTable {
  std::string stage;  // the input stage's name, for messages
  TablePtr table;
};
InputTable single_input(const ProcessorContext& context, std::string_view processor);

// "a, b, c": the table's column names, for messages.
std::string column_names(const Table& table);

// The column `name` of the input; throws bdp::Error(not_found)
// "<path>: no column 'x' in the output of stage 'load'; columns: a, b".
const Column& require_column(const InputTable& input, std::string_view name, std::string_view path);

// Output tables are always made by TableBuilder::finish(), never with
// std::make_shared here: the shared_ptr's control block then lives in
// bdp_sdk, so a table stays valid after this library is unloaded.

// Appends `source`'s cells at `rows` (in that order) to `out`, a builder
// of the same type.
void gather(const Column& source, std::span<const std::size_t> rows, ColumnBuilder& out);
// Appends every cell of `source` to `out`.
void copy_all(const Column& source, ColumnBuilder& out);
// A table of all of `input`'s columns at `rows`.
TablePtr gather_table(const Table& input, std::span<const std::size_t> rows);
// The same for `order`, a permutation of all of input's rows (a sort's
// result): reads the input sequentially and scatters, which is much faster
// than gathering in a random order.
TablePtr permute_table(const Table& input, std::span<const std::size_t> order);

}  // namespace bdp::processors
