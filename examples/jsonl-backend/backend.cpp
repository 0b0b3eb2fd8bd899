#include "backend.hpp"

#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace jsonl {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::Error;
using bdp::ErrorCode;

namespace {

[[noreturn]] void io_error(const fs::path& path, std::string_view what, const std::error_code& ec) {
  throw Error(ErrorCode::io, path.string() + ": " + std::string(what) + ": " + ec.message());
}

[[noreturn]] void corrupt(const fs::path& file, std::size_t line, std::string_view what) {
  throw Error(ErrorCode::corrupt,
              file.string() + ":" + std::to_string(line) + ": " + std::string(what));
}

// True when `text` is valid UTF-8, as JSON text must be.
bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t length = c < 0x80           ? 1
                               : (c >> 5) == 0x6  ? 2
                               : (c >> 4) == 0xE  ? 3
                               : (c >> 3) == 0x1E ? 4
                                                  : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

// Float cells are strings in shortest round-trip form ("0.1", "-0", "nan",
// "inf"): JSON numbers cannot hold NaN or infinities, and a string parses
// back to exactly the same double.
json::value float_cell(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return json::string(buffer, static_cast<std::size_t>(end - buffer));
}

// The lines after the record line: one per table row, or the JSON payload.
std::string encode_payload(const bdp::Payload& payload) {
  if (payload.is_json()) return json::serialize(payload.json()) + "\n";
  const bdp::Table& table = *payload.table();
  std::string out;
  json::array row;
  for (std::size_t r = 0; r < table.num_rows(); ++r) {
    row.clear();
    for (const bdp::Column& column : table.columns()) {
      if (column.is_null(r)) {
        row.emplace_back(nullptr);
        continue;
      }
      switch (column.type()) {
        case bdp::ColumnType::int64:
        case bdp::ColumnType::timestamp:
          row.emplace_back(column.int64_at(r));
          break;
        case bdp::ColumnType::float64:
          row.push_back(float_cell(column.float64_at(r)));
          break;
        case bdp::ColumnType::string:
          row.emplace_back(column.string_at(r));
          break;
        case bdp::ColumnType::boolean:
          row.emplace_back(column.bool_at(r));
          break;
      }
    }
    out += json::serialize(row);
    out += '\n';
  }
  return out;
}

// Appends one cell of a row line to `builder`; throws corrupt naming the
// file and line when it does not fit the column's type.
void append_cell(bdp::ColumnBuilder& builder, const json::value& cell, const fs::path& file,
                 std::size_t line) {
  if (cell.is_null()) {
    builder.append_null();
    return;
  }
  const auto wrong = [&] {
    corrupt(file, line,
            "column '" + builder.name() + "': " + json::serialize(cell) + " is not a " +
                std::string(bdp::to_string(builder.type())));
  };
  switch (builder.type()) {
    case bdp::ColumnType::int64:
    case bdp::ColumnType::timestamp:
      if (!cell.is_int64()) wrong();
      builder.append(bdp::Value(cell.get_int64()));
      return;
    case bdp::ColumnType::float64: {
      if (!cell.is_string()) wrong();
      const json::string& text = cell.get_string();
      double value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size()) wrong();
      builder.append_float64(value);
      return;
    }
    case bdp::ColumnType::string:
      if (!cell.is_string()) wrong();
      builder.append_string(cell.get_string());
      return;
    case bdp::ColumnType::boolean:
      if (!cell.is_bool()) wrong();
      builder.append_bool(cell.get_bool());
      return;
  }
}

// Parses one line; throws corrupt naming the file and line.
json::value parse_line(std::string_view text, const fs::path& file, std::size_t line) {
  std::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) corrupt(file, line, "not valid JSON: " + ec.message());
  return value;
}

// The payload of `record` from the lines after its record line.
bdp::Payload decode_payload(const bdp::RecordInfo& record, std::string_view body,
                            const fs::path& file) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < body.size();) {
    const std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) corrupt(file, lines.size() + 2, "the last line is cut off");
    lines.push_back(body.substr(start, end - start));
    start = end + 1;
  }
  if (record.kind == bdp::PayloadKind::json) {
    if (lines.size() != 1) corrupt(file, 2, "expected one line of JSON after the record");
    return bdp::Payload(parse_line(lines[0], file, 2));
  }
  if (static_cast<std::int64_t>(lines.size()) != record.row_count) {
    corrupt(file, 1,
            "the record says " + std::to_string(record.row_count) + " rows, the file holds " +
                std::to_string(lines.size()));
  }
  bdp::TableBuilder builder(record.schema);
  builder.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t line = i + 2;
    json::value row = parse_line(lines[i], file, line);
    if (!row.is_array() || row.get_array().size() != record.schema.size()) {
      corrupt(file, line,
              "expected an array of " + std::to_string(record.schema.size()) + " cells");
    }
    for (std::size_t c = 0; c < record.schema.size(); ++c) {
      append_cell(builder.column(c), row.get_array()[c], file, line);
    }
  }
  return bdp::Payload(builder.finish());
}

// The whole file, or nullopt when it does not exist.
std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    io_error(file, "cannot open", std::make_error_code(std::errc::io_error));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// Writes `text` to a temporary file and renames it over `file`, so a crash
// never leaves half a file under its final name. (No fsync: after a power
// cut the newest records may be missing, never damaged.)
void write_file(const fs::path& file, std::string_view text) {
  fs::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) io_error(temporary, "cannot write", std::make_error_code(std::errc::io_error));
  }
  std::error_code ec;
  fs::rename(temporary, file, ec);
  if (ec) io_error(file, "cannot rename the temporary file into place", ec);
}

// The record on the first line of `file`, data/<process>/<stage>/<entity>/v<N>.jsonl;
// when it cannot be read, a record with the key its path gives (id
// "<process>/<stage>/<entity>/v<N>") and `damage` saying why.
bdp::RecordInfo read_record_line(const fs::path& file, std::int64_t version) {
  try {
    std::ifstream in(file, std::ios::binary);
    std::string line;
    if (!std::getline(in, line)) corrupt(file, 1, "the record line is missing");
    return bdp::RecordInfo::from_json(parse_line(line, file, 1), file.string());
  } catch (const Error& e) {
    bdp::RecordInfo damaged;
    const fs::path dir = file.parent_path();
    damaged.entity_name = dir.filename().string();
    damaged.stage_name = dir.parent_path().filename().string();
    damaged.process_id = dir.parent_path().parent_path().filename().string();
    damaged.version = version;
    damaged.id = damaged.process_id + "/" + damaged.stage_name + "/" + damaged.entity_name + "/v" +
                 std::to_string(version);
    damaged.storage_type = bdp::StorageType::reference;
    damaged.data_reference = file.string();
    damaged.damage = e.what();  // names the file and line
    return damaged;
  }
}

// N of a file name "v<N>.jsonl", or 0.
std::int64_t version_of(const fs::path& file) {
  const std::string name = file.filename().string();
  if (name.size() < 8 || name[0] != 'v' || !name.ends_with(".jsonl")) return 0;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size() - 6, n);
  return ec == std::errc() && end == name.data() + name.size() - 6 ? n : 0;
}

}  // namespace

JsonlBackend::JsonlBackend(std::string_view instance, const boost::json::object& settings,
                           const fs::path& base_dir, bool read_only)
    : read_only_(read_only) {
  const std::string prefix = "backends." + std::string(instance) + ".";
  for (const auto& kv : settings) {
    if (kv.key() == "plugin") continue;
    if (kv.key() != "root") {
      throw Error(ErrorCode::config, prefix + std::string(kv.key()) +
                                         ": unknown key for the jsonl backend (it takes root)");
    }
    if (!kv.value().is_string() || kv.value().get_string().empty()) {
      throw Error(ErrorCode::config,
                  prefix + "root: expected a folder name, found " + json::serialize(kv.value()));
    }
    root_ = fs::path(std::string(kv.value().get_string()));
  }
  if (root_.empty()) {
    throw Error(ErrorCode::config, prefix + "root: is required (the folder to keep records in)");
  }
  if (root_.is_relative()) root_ = base_dir / root_;
  root_ = root_.lexically_normal();
  if (read_only_) {
    // Nothing is created: the store must be there already.
    std::error_code ec;
    if (!fs::is_directory(root_ / "data", ec)) {
      if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
        io_error(root_, "cannot open the store", ec);
      }
      throw Error(ErrorCode::not_found, "no store at " + root_.string());
    }
    return;
  }
  for (const char* sub : {"data", "processes"}) {
    std::error_code ec;
    fs::create_directories(root_ / sub, ec);
    if (ec) io_error(root_ / sub, "cannot create the folder", ec);
  }
}

std::string JsonlBackend::location() const {
  return root_.string();
}

void JsonlBackend::check_writable(std::string_view doing) const {
  if (read_only_) {
    throw Error(
        ErrorCode::invalid_argument,
        "the jsonl store " + root_.string() + " is open read-only: cannot " + std::string(doing));
  }
}

bdp::RecordInfo JsonlBackend::store(const bdp::StoreRequest& request, const bdp::Payload& payload) {
  check_writable("store " + std::string(request.process_id) + "/" +
                 std::string(request.stage_name) + "/" + std::string(request.entity_name));
  // The core validates names too; a backend that turns them into paths
  // checks them again rather than trust its caller.
  bdp::validate_name("process id", request.process_id);
  bdp::validate_name("stage name", request.stage_name);
  bdp::validate_name("entity name", request.entity_name);

  bdp::RecordInfo record;
  record.process_id = request.process_id;
  record.stage_name = request.stage_name;
  record.entity_name = request.entity_name;
  record.storage_type = bdp::StorageType::reference;
  record.metadata = request.metadata;
  record.kind = payload.kind();
  if (payload.is_table()) {
    record.schema = payload.table()->schema();
    record.row_count = static_cast<std::int64_t>(payload.table()->num_rows());
  }
  const std::string body = encode_payload(payload);
  record.size_bytes = static_cast<std::int64_t>(body.size());
  record.checksum = bdp::checksum_text(body);

  const fs::path dir = root_ / "data" / record.process_id / record.stage_name / record.entity_name;
  std::lock_guard lock(mutex_);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) io_error(dir, "cannot create the folder", ec);
  std::int64_t last = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    last = std::max(last, version_of(entry.path()));
  }
  if (ec) io_error(dir, "cannot list the folder", ec);
  record.version = last + 1;
  record.created_at = bdp::now_micros();
  // The creation time keeps ids unique even when the number of a removed
  // newest version is given out again.
  record.id = record.process_id + "/" + record.stage_name + "/" + record.entity_name + "/v" +
              std::to_string(record.version) + "@" + std::to_string(record.created_at);
  const fs::path file = dir / ("v" + std::to_string(record.version) + ".jsonl");
  record.data_reference = file.string();

  const std::string text = json::serialize(record.to_json()) + "\n" + body;
  if (!is_utf8(text)) {
    throw Error(ErrorCode::invalid_argument,
                "record " + record.id + ": the jsonl backend stores UTF-8 text only");
  }
  write_file(file, text);
  return record;
}

std::optional<fs::path> JsonlBackend::record_file(const bdp::RecordInfo& record) const {
  if (!bdp::is_valid_name(record.process_id) || !bdp::is_valid_name(record.stage_name) ||
      !bdp::is_valid_name(record.entity_name) || record.version < 1) {
    return std::nullopt;
  }
  return root_ / "data" / record.process_id / record.stage_name / record.entity_name /
         ("v" + std::to_string(record.version) + ".jsonl");
}

bdp::Payload JsonlBackend::retrieve(const bdp::RecordInfo& record) {
  if (!record.damage.empty()) throw Error(ErrorCode::corrupt, record.damage);
  const auto not_found = [&] {
    throw Error(ErrorCode::not_found, "record " + record.id + " is not in the jsonl store " +
                                          root_.string() + " (removed, or never stored)");
  };
  const auto file = record_file(record);
  if (!file) not_found();
  std::optional<std::string> text;
  {
    std::lock_guard lock(mutex_);
    text = read_file(*file);
  }
  if (!text) not_found();
  const std::size_t newline = text->find('\n');
  if (newline == std::string::npos) corrupt(*file, 1, "the record line is cut off");
  const bdp::RecordInfo stored = bdp::RecordInfo::from_json(
      parse_line(std::string_view(*text).substr(0, newline), *file, 1), file->string());
  if (stored.id != record.id) not_found();  // a later record with the same version number
  const std::string_view body = std::string_view(*text).substr(newline + 1);
  if (bdp::checksum_text(body) != stored.checksum) {
    corrupt(*file, 2, "the data does not match its checksum " + stored.checksum);
  }
  return decode_payload(stored, body, *file);
}

std::vector<bdp::RecordInfo> JsonlBackend::read_records() const {
  std::vector<bdp::RecordInfo> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_ / "data", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    const std::int64_t version = version_of(it->path());
    if (!it->is_regular_file(type_ec) || version == 0 || it.depth() != 3) continue;
    out.push_back(read_record_line(it->path(), version));
  }
  if (ec) io_error(root_ / "data", "cannot list the folder", ec);
  return out;
}

std::vector<bdp::RecordInfo> JsonlBackend::list(const bdp::Query& query) {
  std::vector<bdp::RecordInfo> all;
  {
    std::lock_guard lock(mutex_);
    all = read_records();
  }
  std::erase_if(all, [&](const bdp::RecordInfo& r) { return !query.matches(r); });
  query.order_and_limit(all);
  return all;
}

void JsonlBackend::remove(const bdp::RecordInfo& record) {
  check_writable("remove record " + record.id);
  const auto file = record_file(record);
  if (!file) return;  // no stored record has such names: nothing to remove
  std::lock_guard lock(mutex_);
  const std::optional<std::string> text = read_file(*file);
  if (!text) return;  // already gone
  // Remove only the record asked for, not a later one with its version.
  if (read_record_line(*file, record.version).id != record.id) return;
  std::error_code ec;
  fs::remove(*file, ec);
  if (ec) io_error(*file, "cannot remove", ec);
}

void JsonlBackend::save_process(const bdp::ProcessInfo& process) {
  check_writable("save process " + process.id);
  bdp::validate_name("process id", process.id);
  const std::string text = json::serialize(process.to_json()) + "\n";
  std::lock_guard lock(mutex_);
  write_file(root_ / "processes" / (process.id + ".json"), text);
}

std::vector<bdp::ProcessInfo> JsonlBackend::list_processes() {
  std::vector<bdp::ProcessInfo> out;
  {
    std::lock_guard lock(mutex_);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_ / "processes", ec)) {
      if (entry.path().extension() != ".json") continue;
      const std::optional<std::string> text = read_file(entry.path());
      if (!text) continue;  // removed while listing
      try {
        out.push_back(
            bdp::ProcessInfo::from_json(parse_line(*text, entry.path(), 1), entry.path().string()));
      } catch (const Error& e) {
        bdp::ProcessInfo damaged;  // listed under its file name, marked
        damaged.id = entry.path().stem().string();
        damaged.damage = e.what();
        out.push_back(std::move(damaged));
      }
    }
    if (ec) io_error(root_ / "processes", "cannot list the folder", ec);
  }
  std::sort(out.begin(), out.end(), [](const bdp::ProcessInfo& a, const bdp::ProcessInfo& b) {
    return a.started_at != b.started_at ? a.started_at > b.started_at : a.id > b.id;
  });
  return out;
}

void JsonlBackend::remove_process(std::string_view process_id) {
  check_writable("remove process " + std::string(process_id));
  if (!bdp::is_valid_name(process_id)) return;  // never saved under such a name
  const fs::path file = root_ / "processes" / (std::string(process_id) + ".json");
  std::lock_guard lock(mutex_);
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) io_error(file, "cannot remove", ec);
}

bdp::BackendStats JsonlBackend::stats() {
  bdp::UsageTally tally;
  std::lock_guard lock(mutex_);
  for (const auto& record : read_records()) tally.add(record);
  return tally.finish();
}

bdp::QuarantineReport JsonlBackend::quarantine(const bdp::QuarantineRequest& request) {
  // One folder per call, named by the time; files keep their paths.
  std::string stamp = bdp::format_timestamp(bdp::now_micros());
  std::erase_if(stamp, [](char c) { return c == ':' || c == '-'; });
  const fs::path dest = root_ / "quarantine" / stamp;
  bdp::QuarantineReport report;
  report.location = dest.string();
  std::string reasons;
  auto move = [&](const fs::path& file, const std::string& what, const std::string& why) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return;  // already gone
    const fs::path target = dest / file.lexically_relative(root_);
    fs::create_directories(target.parent_path(), ec);
    if (ec) io_error(target.parent_path(), "cannot create the folder", ec);
    fs::rename(file, target, ec);
    if (ec) io_error(file, "cannot move into the quarantine", ec);
    reasons += json::serialize(json::object{{"entry", what}, {"damage", why}}) + "\n";
    write_file(dest / "reasons.jsonl", reasons);
    report.moved.push_back(what + " -> " + target.string());
  };
  std::lock_guard lock(mutex_);
  for (const auto& record : request.records) {
    if (const auto file = record_file(record)) {
      if (read_record_line(*file, record.version).id == record.id) {
        move(*file, "record " + record.id, record.damage);
      }
    }
  }
  for (const auto& process : request.processes) {
    if (!bdp::is_valid_name(process.id)) continue;  // never saved under such a name
    move(root_ / "processes" / (process.id + ".json"), "process record " + process.id,
         process.damage);
  }
  return report;
}

}  // namespace jsonl
