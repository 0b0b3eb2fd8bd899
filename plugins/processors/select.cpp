// select: keeps some columns of its input, in the order listed, optionally
// renaming them.
//
// params: "columns" (non-empty list of column names), optional "rename"
// (object: listed column -> new name).
#include <bdp/sdk/error.hpp>

#include "params.hpp"
#include "processors.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <set>

namespace bdp::processors {

namespace {

namespace json = boost::json;

struct Options {
  std::vector<std::string> columns;
  std::map<std::string, std::string, std::less<>> rename;
};

Options parse_options(const json::object& params) {
  check_keys(params, {"columns", "rename"});
  Options options;
  options.columns = get_string_list(params, "columns", true, true);
  if (const json::value* rename = find_param(params, "rename")) {
    for (const auto& entry : as_object(*rename, "params.rename")) {
      const std::string path = "params.rename." + std::string(entry.key());
      std::string to = as_string(entry.value(), path);
      bool listed = false;
      for (const std::string& column : options.columns) listed = listed || column == entry.key();
      if (!listed) {
        params_error(path, "'" + std::string(entry.key()) +
                               "' is not in params.columns; list it there to rename it");
      }
      options.rename.emplace(std::string(entry.key()), std::move(to));
    }
  }
  std::set<std::string, std::less<>> outputs;
  for (const std::string& column : options.columns) {
    auto it = options.rename.find(column);
    const std::string& name = it == options.rename.end() ? column : it->second;
    if (!outputs.insert(name).second) {
      params_error("params.rename", "two output columns would be called '" + name + "'");
    }
  }
  return options;
}

class Select final : public Processor {
 public:
  void validate(const json::object& params) const override { parse_options(params); }

  StageOutput run(ProcessorContext& context) override {
    const Options options = parse_options(context.params());
    const InputTable input = single_input(context, "select");

    std::vector<std::string> missing;
    for (const std::string& name : options.columns) {
      if (input.table->find(name) == nullptr) missing.push_back("'" + name + "'");
    }
    if (!missing.empty()) {
      throw Error(ErrorCode::not_found, "params.columns: no column " + join(missing) +
                                            " in the output of stage '" + input.stage +
                                            "'; columns: " + column_names(*input.table));
    }

    Schema schema;
    std::vector<const Column*> sources;
    for (const std::string& name : options.columns) {
      sources.push_back(input.table->find(name));
      auto it = options.rename.find(name);
      schema.push_back({it == options.rename.end() ? name : it->second, sources.back()->type()});
    }
    TableBuilder out(schema);
    for (std::size_t i = 0; i < sources.size(); ++i) copy_all(*sources[i], out.column(i));
    return StageOutput(out.finish());
  }
};

}  // namespace

std::unique_ptr<Processor> make_select() {
  return std::make_unique<Select>();
}

}  // namespace bdp::processors
