// An out-of-tree processor plugin with one processor, share_of_total: it
// adds a column holding each row's share of a numeric column's total.
//
//   {"name": "shares", "processor": "share_of_total", "inputs": ["by_region"],
//    "params": {"column": "amount_sum", "as": "share"}}
//
// params: "column" (required), an int64 or float64 column of the input;
// "as" (default "<column>_share"), the name of the new float64 column.
// Null cells get a null share. Decision recorded: "total".
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/plugin.hpp>
#include <bdp/sdk/processor.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

using bdp::Error;
using bdp::ErrorCode;

struct Params {
  std::string column;
  std::string as;
};

// Reads and checks the params. Errors start with the key path inside the
// stage ("params.column: ..."), which bdp prefixes with the file and stage.
Params parse(const boost::json::object& params) {
  Params out;
  for (const auto& kv : params) {
    if (kv.key() != "column" && kv.key() != "as") {
      throw Error(ErrorCode::config, "params." + std::string(kv.key()) +
                                         ": unknown key for share_of_total (it takes column, as)");
    }
    if (!kv.value().is_string() || kv.value().get_string().empty()) {
      throw Error(ErrorCode::config, "params." + std::string(kv.key()) +
                                         ": expected a column name, found " +
                                         boost::json::serialize(kv.value()));
    }
  }
  const boost::json::value* column = params.if_contains("column");
  if (!column) throw Error(ErrorCode::config, "params.column: is required (a numeric column)");
  out.column = column->get_string();
  const boost::json::value* as = params.if_contains("as");
  out.as = as ? std::string(as->get_string()) : out.column + "_share";
  return out;
}

class ShareOfTotal final : public bdp::Processor {
 public:
  // Called when the project file is loaded, before any stage runs.
  void validate(const boost::json::object& params) const override { parse(params); }

  bdp::StageOutput run(bdp::ProcessorContext& context) override {
    const Params params = parse(context.params());
    if (context.input_names().size() != 1) {
      throw Error(ErrorCode::config, "inputs: share_of_total takes exactly one input stage");
    }
    const std::string& input_stage = context.input_names().front();
    const bdp::Table& input = *context.input(input_stage).table();
    const bdp::Column& values = input.column(params.column);  // throws not_found, listing columns
    const bool is_int = values.type() == bdp::ColumnType::int64;
    if (!is_int && values.type() != bdp::ColumnType::float64) {
      throw Error(ErrorCode::invalid_argument, "params.column: column '" + params.column +
                                                   "' of stage '" + input_stage + "' is " +
                                                   std::string(bdp::to_string(values.type())) +
                                                   ", expected int64 or float64");
    }
    if (input.find(params.as)) {
      throw Error(ErrorCode::config, "params.as: stage '" + input_stage +
                                         "' already has a column '" + params.as + "'");
    }
    const auto value_at = [&](std::size_t row) {
      return is_int ? static_cast<double>(values.int64_at(row)) : values.float64_at(row);
    };

    double total = 0;
    for (std::size_t row = 0; row < values.size(); ++row) {
      if (!values.is_null(row)) total += value_at(row);
    }
    if (total == 0) {
      throw Error(ErrorCode::invalid_argument, "params.column: column '" + params.column +
                                                   "' of stage '" + input_stage +
                                                   "' sums to 0: no shares to compute");
    }
    context.record_decision("total", total);

    bdp::ColumnBuilder share(params.as, bdp::ColumnType::float64);
    share.reserve(values.size());
    for (std::size_t row = 0; row < values.size(); ++row) {
      if (values.is_null(row)) {
        share.append_null();
      } else {
        share.append_float64(value_at(row) / total);
      }
    }
    // Tables are immutable: the output is a new table with the input's
    // columns and the new one. make_table allocates it in the SDK library,
    // so it does not depend on this plugin's code once returned.
    std::vector<bdp::Column> columns = input.columns();
    columns.push_back(share.finish());
    return bdp::make_table(std::move(columns));
  }
};

const bdp::PluginDescriptor* describe() noexcept {
  // One library may hold several processors: list their names here.
  static const char* const processors[] = {"share_of_total", nullptr};
  // The plugin's name matches the library's file name: libbdp_example_stages.so.
  static const bdp::PluginDescriptor descriptor =
      BDP_PLUGIN_DESCRIPTOR(bdp::PluginKind::processor, "example_stages", "1.0.0",
                            "Example stages: share_of_total", processors);
  return &descriptor;
}

void create(const bdp::CreateRequest& request, bdp::CreateResult& result) noexcept {
  bdp::plugin_guard(result, [&] {
    if (request.name != "share_of_total") {
      throw Error(ErrorCode::not_found,
                  "example_stages has no processor '" + std::string(request.name) + "'");
    }
    result.processor = std::make_unique<ShareOfTotal>();
  });
}

}  // namespace

BDP_PLUGIN(describe, create)
