// read_csv: loads a CSV file into a table.
//
// params: "path" (string, relative to the project file's folder), optional
// "schema" (object: column -> "int64" | "float64" | "string" | "bool" |
// "timestamp"); columns not in the schema are inferred by the CSV codec.
// Optional "encoding": "utf-8" (the default: bytes that are not UTF-8, and
// NUL bytes, are errors naming line and column), "latin1" or
// "windows-1252" (converted to UTF-8).
// Decisions: "path" (the resolved file), "rows", and "inferred_schema"
// (the types of the columns that were inferred).
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>

#include "params.hpp"
#include "processors.hpp"

#include <boost/json/object.hpp>

#include <filesystem>
#include <map>
#include <system_error>

namespace bdp::processors {

namespace {

namespace json = boost::json;

struct Options {
  std::string path;
  std::map<std::string, ColumnType, std::less<>> schema;
  csv::Encoding encoding = csv::Encoding::utf8;
};

Options parse_options(const json::object& params) {
  check_keys(params, {"path", "schema", "encoding"});
  Options options;
  options.path = get_string(params, "path");
  if (find_param(params, "encoding") != nullptr) {
    const std::string name = get_enum(
        params, "encoding", {"utf-8", "utf8", "latin1", "iso-8859-1", "windows-1252", "cp1252"});
    options.encoding = *csv::parse_encoding(name);
  }
  if (const json::value* schema = find_param(params, "schema")) {
    const json::object& columns = as_object(*schema, "params.schema");
    for (const auto& entry : columns) {
      std::string path = "params.schema." + std::string(entry.key());
      std::string name =
          as_enum(entry.value(), path, {"int64", "float64", "string", "bool", "timestamp"});
      options.schema.emplace(std::string(entry.key()), *parse_column_type(name));
    }
  }
  return options;
}

class ReadCsv final : public Processor {
 public:
  void validate(const json::object& params) const override { parse_options(params); }

  StageOutput run(ProcessorContext& context) override {
    Options options = parse_options(context.params());
    std::filesystem::path file = context.resolve_path(options.path);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      throw Error(ErrorCode::not_found,
                  "params.path: no file '" + file.string() + "' (from \"" + options.path + "\")");
    }

    csv::ReadOptions read;
    read.schema = options.schema;
    read.source_name = file.string();
    read.encoding = options.encoding;
    TablePtr table;
    try {
      table = csv::read_file(file, std::move(read));
    } catch (const Error& e) {
      std::string message = e.what();
      if (message.find(file.string()) == std::string::npos) {
        message = file.string() + ": " + message;  // errors name the file
      }
      throw Error(e.code(), message);
    }

    json::object inferred;
    for (const Column& column : table->columns()) {
      if (!options.schema.contains(column.name())) {
        inferred[column.name()] = to_string(column.type());
      }
    }
    context.record_decision("path", json::value(file.string()));
    context.record_decision("rows", json::value(static_cast<std::int64_t>(table->num_rows())));
    context.record_decision("inferred_schema", json::value(std::move(inferred)));
    return StageOutput(std::move(table));
  }
};

}  // namespace

std::unique_ptr<Processor> make_read_csv() {
  return std::make_unique<ReadCsv>();
}

}  // namespace bdp::processors
