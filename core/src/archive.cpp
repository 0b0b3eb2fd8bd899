#include <bdp/archive.hpp>

#include <bdp/compare.hpp>
#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/json.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/time.hpp>
#include <bdp/selectors.hpp>

#include "log.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace bdp {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string closest_text(std::string_view wanted, const std::vector<std::string>& candidates) {
  const auto close = closest_names(wanted, candidates);
  return close.empty() ? std::string(" (none stored)") : " (closest: " + joined(close) + ")";
}

std::string extension(PayloadKind kind, ExportFormat format) {
  if (kind == PayloadKind::json) return ".json";
  return format == ExportFormat::csv ? ".csv" : ".jsonl";
}

// The relative file of an entity; both names validated first.
fs::path entity_file(const std::string& stage, const std::string& entity, PayloadKind kind,
                     ExportFormat format) {
  validate_name("stage name", stage);
  validate_name("entity name", entity);
  return fs::path(stage) / (entity + extension(kind, format));
}

// A file written through a checksum; errors name the file.
class OutFile {
 public:
  explicit OutFile(const fs::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (!file_) {
      throw Error(ErrorCode::io,
                  path.string() + ": cannot create the file: " + std::strerror(errno));
    }
  }
  ~OutFile() {
    if (file_) std::fclose(file_);
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  void write(std::string_view data) {
    if (data.empty()) return;
    sum_.update(data);
    bytes_ += data.size();
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      throw Error(ErrorCode::io, path_.string() + ": write failed: " + std::strerror(errno));
    }
  }
  // Flushes the file to disk and closes it.
  void close() {
    FILE* f = file_;
    file_ = nullptr;
    const bool synced = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int sync_errno = errno;
    if (std::fclose(f) != 0 || !synced) {
      throw Error(ErrorCode::io,
                  path_.string() + ": write failed: " + std::strerror(synced ? errno : sync_errno));
    }
  }
  std::uint64_t bytes() const noexcept { return bytes_; }
  std::string checksum() const { return sum_.text(); }

 private:
  fs::path path_;
  FILE* file_;
  Checksum sum_;
  std::uint64_t bytes_ = 0;
};

// Makes the entries of `dir` durable.
void sync_folder(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorCode::io, dir.string() + ": cannot open the folder: " + std::strerror(errno));
  }
  const bool ok = ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  if (!ok) throw Error(ErrorCode::io, dir.string() + ": sync failed: " + std::strerror(sync_errno));
}

// The hidden folder an export is written into, next to its target
// (".<name>.export-<pid>"), so that the target appears whole or not at all.
// Removed with its contents unless commit() renamed it to the target.
class TempFolder {
 public:
  explicit TempFolder(const fs::path& target) : target_(target) {
    parent_ = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string prefix = "." + target.filename().string() + ".export-";
    std::error_code ec;
    fs::create_directories(parent_, ec);
    if (ec) {
      throw Error(ErrorCode::io, parent_.string() + ": cannot create the folder: " + ec.message());
    }
    remove_leftovers(prefix);
    path_ = parent_ / (prefix + std::to_string(::getpid()));
    if (!fs::create_directory(path_, ec)) {
      throw Error(ErrorCode::io, path_.string() + ": cannot create the folder: " +
                                     (ec ? ec.message() : std::string("it exists")));
    }
  }
  ~TempFolder() {
    if (committed_) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec) {
      // The error being thrown is what the caller needs; the next export to
      // the same target removes this folder.
      detail::logger("bdp.archive")
          ->warn("could not remove the unfinished export {}: {}", path_.string(), ec.message());
    }
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const fs::path& path() const noexcept { return path_; }

  // Makes the folder durable and renames it to the target.
  void commit() {
    for (const auto& entry : fs::recursive_directory_iterator(path_)) {
      if (entry.is_directory()) sync_folder(entry.path());
    }
    sync_folder(path_);
    std::error_code ec;
    fs::rename(path_, target_, ec);
    if (ec == std::errc::directory_not_empty || ec == std::errc::file_exists) {
      throw Error(ErrorCode::invalid_argument,
                  target_.string() +
                      ": something was written into the folder during the export; "
                      "nothing was exported (export needs a new or empty one)");
    }
    if (ec) {
      throw Error(ErrorCode::io,
                  path_.string() + ": cannot rename to " + target_.string() + ": " + ec.message());
    }
    committed_ = true;
    sync_folder(parent_);
  }

 private:
  // Removes the folders of earlier exports to the same target whose process
  // is gone (killed before it could clean up). Those of running exports stay.
  void remove_leftovers(const std::string& prefix) {
    std::error_code ec;
    for (fs::directory_iterator it(parent_, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.starts_with(prefix)) continue;
      const std::string_view digits = std::string_view(name).substr(prefix.size());
      long pid = 0;
      auto [last, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
      if (err != std::errc() || last != digits.data() + digits.size() || pid <= 0) continue;
      const bool gone =
          pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
      if (!gone) continue;
      std::error_code remove_ec;
      fs::remove_all(it->path(), remove_ec);
      if (remove_ec) {
        throw Error(ErrorCode::io, it->path().string() +
                                       ": cannot remove what an earlier, unfinished export left: " +
                                       remove_ec.message());
      }
      detail::logger("bdp.archive")
          ->info("removed {}, left by an unfinished export", it->path().string());
    }
  }

  fs::path target_;
  fs::path parent_;
  fs::path path_;
  bool committed_ = false;
};

void append_json_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

// One table as JSON Lines, in pieces of about 1 MiB.
void write_jsonl(const Table& table, OutFile& file) {
  std::vector<std::string> keys;
  for (const auto& c : table.columns()) {
    std::string k;
    append_json_string(k, c.name());
    keys.push_back(k + ":");
  }
  std::string buf;
  buf.reserve(1 << 20);
  char num[32];
  for (std::size_t r = 0; r < table.num_rows(); ++r) {
    buf += '{';
    for (std::size_t i = 0; i < table.num_columns(); ++i) {
      const Column& c = table.column(i);
      if (i) buf += ',';
      buf += keys[i];
      if (c.is_null(r)) {
        buf += "null";
        continue;
      }
      switch (c.type()) {
        case ColumnType::int64: {
          auto [end, ec] = std::to_chars(num, num + sizeof num, c.int64_at(r));
          buf.append(num, end);
          break;
        }
        case ColumnType::float64:
          append_double(buf, c.float64_at(r));
          break;
        case ColumnType::boolean:
          buf += c.bool_at(r) ? "true" : "false";
          break;
        case ColumnType::string:
          append_json_string(buf, c.string_at(r));
          break;
        case ColumnType::timestamp:
          buf += '"';
          buf += format_timestamp(c.int64_at(r));
          buf += '"';
          break;
      }
    }
    buf += "}\n";
    if (buf.size() >= (1 << 20)) {
      file.write(buf);
      buf.clear();
    }
  }
  file.write(buf);
}

// Reads JSON Lines rows into column builders, by the manifest's schema.
// Numbers are converted from their text (std::from_chars), so floats read
// back exactly.
class RowHandler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  explicit RowHandler(std::vector<ColumnBuilder>* columns) : columns_(columns) {
    for (std::size_t i = 0; i < columns->size(); ++i) index_[(*columns)[i].name()] = i;
    seen_.resize(columns->size());
  }

  std::string problem;  // why the handler failed

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_array_begin(boost::json::error_code& ec) { return fail(ec, "a value is an array"); }
  bool on_array_end(std::size_t, boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code& ec) {
    if (depth_++ != 0) return fail(ec, "a value is an object");
    std::fill(seen_.begin(), seen_.end(), 0);
    return true;
  }
  bool on_object_end(std::size_t, boost::json::error_code& ec) {
    --depth_;
    for (std::size_t i = 0; i < seen_.size(); ++i) {
      if (!seen_[i]) return fail(ec, "column '" + (*columns_)[i].name() + "' is missing");
    }
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    text_.append(s.data(), s.size());
    std::string value = std::move(text_);
    text_.clear();
    ColumnBuilder* c = column(ec);
    if (!c) return false;
    switch (c->type()) {
      case ColumnType::string:
        c->append_string(value);
        return true;
      case ColumnType::timestamp:
        if (auto t = parse_timestamp(value)) {
          c->append_timestamp(*t);
          return true;
        }
        return fail(ec, "column '" + c->name() + "': '" + value + "' is not a timestamp");
      case ColumnType::float64:
        if (value == "NaN") {
          c->append_float64(std::nan(""));
          return true;
        }
        if (value == "Infinity" || value == "-Infinity") {
          c->append_float64(value[0] == '-' ? -HUGE_VAL : HUGE_VAL);
          return true;
        }
        break;
      default:
        break;
    }
    return fail(ec, "column '" + c->name() + "' (" + std::string(to_string(c->type())) +
                        "): got the string '" + value + "'");
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    key_.append(s.data(), s.size());
    auto it = index_.find(key_);
    if (it == index_.end()) return fail(ec, "unknown column '" + key_ + "'");
    if (seen_[it->second]) return fail(ec, "column '" + key_ + "' given twice");
    seen_[it->second] = 1;
    current_ = it->second;
    key_.clear();
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, boost::json::string_view s, boost::json::error_code& ec) {
    return number(s, ec);
  }
  bool on_uint64(std::uint64_t, boost::json::string_view s, boost::json::error_code& ec) {
    return number(s, ec);
  }
  bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) {
    return number(s, ec);
  }
  bool on_bool(bool b, boost::json::error_code& ec) {
    ColumnBuilder* c = column(ec);
    if (!c) return false;
    if (c->type() != ColumnType::boolean) {
      return fail(
          ec, "column '" + c->name() + "' (" + std::string(to_string(c->type())) + "): got a bool");
    }
    c->append_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code& ec) {
    ColumnBuilder* c = column(ec);
    if (!c) return false;
    c->append_null();
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  bool fail(boost::json::error_code& ec, std::string why) {
    if (problem.empty()) problem = std::move(why);
    ec = boost::json::make_error_code(boost::json::error::extra_data);
    return false;
  }
  ColumnBuilder* column(boost::json::error_code& ec) {
    if (depth_ != 1) {
      fail(ec, "a line must be one JSON object");
      return nullptr;
    }
    return &(*columns_)[current_];
  }
  bool number(boost::json::string_view s, boost::json::error_code& ec) {
    number_.append(s.data(), s.size());
    const std::string text = std::move(number_);
    number_.clear();
    ColumnBuilder* c = column(ec);
    if (!c) return false;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (c->type() == ColumnType::int64) {
      std::int64_t v = 0;
      auto [end, err] = std::from_chars(first, last, v);
      if (err == std::errc() && end == last) {
        c->append_int64(v);
        return true;
      }
    } else if (c->type() == ColumnType::float64) {
      double v = 0;
      auto [end, err] = std::from_chars(first, last, v);
      if (err == std::errc() && end == last) {
        c->append_float64(v);
        return true;
      }
    }
    return fail(ec, "column '" + c->name() + "' (" + std::string(to_string(c->type())) +
                        "): got the number " + text);
  }

  std::vector<ColumnBuilder>* columns_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::uint8_t> seen_;
  std::size_t current_ = 0;
  int depth_ = 0;
  std::string key_;
  std::string text_;
  std::string number_;
};

TablePtr parse_jsonl(std::string_view text, const Schema& schema, const std::string& where) {
  std::vector<ColumnBuilder> columns;
  for (const auto& f : schema) columns.emplace_back(f.name, f.type);
  boost::json::basic_parser<RowHandler> parser(boost::json::parse_options{}, &columns);
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    parser.reset();
    boost::json::error_code ec;
    parser.write_some(false, line.data(), line.size(), ec);
    if (ec || !parser.done()) {
      const std::string& why = parser.handler().problem;
      throw Error(ErrorCode::corrupt, where + ":" + std::to_string(line_no) + ": " +
                                          (why.empty() ? ec.message() : why));
    }
  }
  std::vector<Column> built;
  for (auto& c : columns) built.push_back(c.finish());
  return make_table(std::move(built));
}

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) throw Error(ErrorCode::not_found, path.string() + ": no such file");
    throw Error(ErrorCode::io, path.string() + ": cannot read the file");
  }
  std::string data;
  in.seekg(0, std::ios::end);
  data.resize(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (!in) throw Error(ErrorCode::io, path.string() + ": cannot read the file");
  return data;
}

boost::json::array schema_json(const Schema& schema) {
  boost::json::array out;
  for (const auto& f : schema) {
    out.push_back(boost::json::object{{"name", f.name}, {"type", to_string(f.type)}});
  }
  return out;
}

// A required member of a manifest object, or Error(corrupt) naming it.
const boost::json::value& member(const boost::json::object& o, std::string_view key,
                                 const std::string& where) {
  const auto* v = o.if_contains(key);
  if (!v) throw Error(ErrorCode::corrupt, where + ": missing \"" + std::string(key) + "\"");
  return *v;
}

std::string string_member(const boost::json::object& o, std::string_view key,
                          const std::string& where) {
  const auto& v = member(o, key, where);
  if (!v.is_string()) {
    throw Error(ErrorCode::corrupt, where + ": \"" + std::string(key) + "\" must be a string");
  }
  return std::string(v.get_string());
}

std::int64_t int_member(const boost::json::object& o, std::string_view key,
                        const std::string& where) {
  const auto& v = member(o, key, where);
  if (!v.is_int64() && !v.is_uint64()) {
    throw Error(ErrorCode::corrupt, where + ": \"" + std::string(key) + "\" must be an integer");
  }
  return v.to_number<std::int64_t>();
}

}  // namespace

std::string_view to_string(ExportFormat format) noexcept {
  return format == ExportFormat::csv ? "csv" : "jsonl";
}

ExportFormat parse_export_format(std::string_view text, std::string_view what) {
  if (text == "csv") return ExportFormat::csv;
  if (text == "jsonl") return ExportFormat::jsonl;
  throw Error(ErrorCode::invalid_argument, std::string(what) + ": invalid format \"" +
                                               std::string(text) + "\" (allowed: csv, jsonl)");
}

ExportReport export_selection(DataContainer& container, std::string_view selector,
                              ExportFormat format, const fs::path& out) {
  // What to export.
  RecordSelector wanted;
  const bool whole_process = selector.find('/') == std::string_view::npos;
  if (whole_process) {
    wanted.process = std::string(selector);
  } else {
    wanted = parse_record_selector(selector);
  }
  const auto processes = container.list_processes();
  const std::string id = resolve_process(processes, wanted.process);
  ProcessInfo process;
  for (const auto& p : processes) {
    if (p.id == id) process = p;
  }
  Query query;
  query.process_id = id;
  auto all = container.list_available_data(query);
  if (all.empty()) {
    throw Error(
        ErrorCode::not_found,
        "process '" + id + "' has no stored data to export (its stages were kept in memory)");
  }
  std::vector<RecordInfo> chosen;
  if (whole_process) {
    std::map<std::pair<std::string, std::string>, RecordInfo> newest;
    for (auto& r : all) {
      auto key = std::make_pair(r.stage_name, r.entity_name);
      auto it = newest.find(key);
      if (it == newest.end() || r.version > it->second.version) newest[key] = std::move(r);
    }
    for (auto& [key, r] : newest) chosen.push_back(std::move(r));
  } else {
    std::vector<std::string> stages;
    std::vector<std::string> entities;
    std::vector<std::string> versions;
    std::map<std::string, RecordInfo> by_entity;
    for (auto& r : all) {
      if (std::find(stages.begin(), stages.end(), r.stage_name) == stages.end()) {
        stages.push_back(r.stage_name);
      }
      if (r.stage_name != wanted.stage) continue;
      if (std::find(entities.begin(), entities.end(), r.entity_name) == entities.end()) {
        entities.push_back(r.entity_name);
      }
      if (wanted.entity && r.entity_name != *wanted.entity) continue;
      versions.push_back("v" + std::to_string(r.version));
      if (wanted.version && r.version != *wanted.version) continue;
      auto it = by_entity.find(r.entity_name);
      if (it == by_entity.end() || r.version > it->second.version) {
        by_entity[r.entity_name] = std::move(r);
      }
    }
    const std::string where = "record selector '" + std::string(selector) + "'";
    if (entities.empty()) {
      throw Error(ErrorCode::not_found, where + ": process '" + id + "' stored no stage '" +
                                            wanted.stage + "'" +
                                            closest_text(wanted.stage, stages));
    }
    if (versions.empty()) {
      throw Error(ErrorCode::not_found, where + ": stage '" + wanted.stage + "' has no entity '" +
                                            *wanted.entity + "'" +
                                            closest_text(*wanted.entity, entities));
    }
    if (by_entity.empty()) {
      std::sort(versions.begin(), versions.end());
      versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
      throw Error(ErrorCode::not_found, where + ": no version v" + std::to_string(*wanted.version) +
                                            " (stored: " + joined(versions) + ")");
    }
    for (auto& [entity, r] : by_entity) chosen.push_back(std::move(r));
    std::erase_if(process.stages, [&](const StageInfo& s) { return s.name != wanted.stage; });
  }
  // Stage order of the process, then entity name.
  auto stage_pos = [&](const std::string& stage) {
    for (std::size_t i = 0; i < process.stages.size(); ++i) {
      if (process.stages[i].name == stage) return i;
    }
    return process.stages.size();
  };
  std::stable_sort(chosen.begin(), chosen.end(), [&](const RecordInfo& x, const RecordInfo& y) {
    return std::make_tuple(stage_pos(x.stage_name), x.stage_name, x.entity_name) <
           std::make_tuple(stage_pos(y.stage_name), y.stage_name, y.entity_name);
  });

  // The folder: checked first, written as a hidden sibling, renamed into
  // place at the end.
  const fs::path target = out.has_filename() ? out : out.parent_path();
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      throw Error(ErrorCode::invalid_argument,
                  out.string() + ": exists and is not a folder (export needs a new or empty one)");
    }
    if (!fs::is_empty(target, ec)) {
      throw Error(ErrorCode::invalid_argument,
                  out.string() + ": folder is not empty (export needs a new or empty one)");
    }
  }
  TempFolder temp(target);

  ExportReport report;
  report.process_id = id;
  report.dir = out;
  boost::json::array records_json;
  boost::json::array failed_json;
  for (const auto& record : chosen) {
    const fs::path rel = entity_file(record.stage_name, record.entity_name, record.kind, format);
    // A record that cannot be read is reported, not exported; the others go on.
    std::optional<Payload> payload;
    try {
      payload.emplace(container.retrieve_record(record));
    } catch (const Error& e) {
      ExportFailure failure{record.stage_name, record.entity_name, record.version, record.id,
                            record.backend,    e.code(),           e.what()};
      failed_json.push_back(boost::json::object{{"stage", failure.stage},
                                                {"entity", failure.entity},
                                                {"version", failure.version},
                                                {"record_id", failure.record_id},
                                                {"backend", failure.backend},
                                                {"error", to_string(failure.code)},
                                                {"reason", failure.reason}});
      report.failed.push_back(std::move(failure));
      detail::logger("bdp.archive")
          ->warn("export of {}: record {} not exported: {}", id, record.id, e.what());
      continue;
    }
    fs::create_directories(temp.path() / rel.parent_path(), ec);
    if (ec) {
      throw Error(ErrorCode::io, (temp.path() / rel.parent_path()).string() +
                                     ": cannot create the folder: " + ec.message());
    }
    OutFile file(temp.path() / rel);
    std::int64_t rows = 0;
    Schema schema;
    if (payload->is_table()) {
      const Table& table = *payload->table();
      rows = static_cast<std::int64_t>(table.num_rows());
      schema = table.schema();
      if (format == ExportFormat::csv) {
        csv::write_chunked(table, [&](std::string_view piece) { file.write(piece); });
      } else {
        write_jsonl(table, file);
      }
    } else {
      file.write(to_pretty_json(payload->json()));
      file.write("\n");
    }
    file.close();
    ExportedFile exported{record.stage_name, record.entity_name, rel.generic_string(), rows,
                          file.bytes(),      file.checksum()};
    report.bytes += exported.bytes;
    boost::json::object entry;
    entry["stage"] = record.stage_name;
    entry["entity"] = record.entity_name;
    entry["file"] = exported.file;
    entry["kind"] = to_string(record.kind);
    entry["rows"] = rows;
    entry["bytes"] = exported.bytes;
    entry["checksum"] = exported.checksum;
    entry["schema"] = schema_json(schema);
    entry["record"] = record.to_json();
    records_json.push_back(std::move(entry));
    report.files.push_back(std::move(exported));
  }
  if (report.files.empty()) {
    // Nothing readable: an export of nothing but failures helps no one.
    std::string reasons;
    for (const auto& f : report.failed) {
      reasons += (reasons.empty() ? "" : "; ") + f.stage + "/" + f.entity + "@v" +
                 std::to_string(f.version) + ": " + f.reason;
    }
    throw Error(ErrorCode::corrupt, "export of process '" + id + "' to " + out.string() +
                                        " failed: no selected record could be read (" + reasons +
                                        "); nothing was written");
  }

  boost::json::object manifest;
  manifest["format"] = kExportManifestFormat;
  manifest["version"] = kExportManifestVersion;
  manifest["data_format"] = to_string(format);
  manifest["exported_at"] = format_timestamp(now_micros());
  manifest["selector"] = std::string(selector);
  manifest["process"] = process.to_json();
  manifest["decisions"] = process.decisions;
  manifest["records"] = std::move(records_json);
  manifest["failed"] = std::move(failed_json);
  OutFile file(temp.path() / "manifest.json");
  file.write(to_pretty_json(manifest));
  file.write("\n");
  file.close();
  temp.commit();
  return report;
}

ImportReport import_archive(const fs::path& dir, Backend& target, std::string_view target_name,
                            const ImportOptions& options) {
  const fs::path manifest_path = dir / "manifest.json";
  const std::string where = manifest_path.string();
  if (!fs::is_regular_file(manifest_path)) {
    throw Error(ErrorCode::not_found,
                where + ": no such file (is " + dir.string() + " a bdp export folder?)");
  }
  boost::json::value manifest_value;
  {
    boost::json::error_code ec;
    manifest_value = boost::json::parse(read_whole(manifest_path), ec);
    if (ec) throw Error(ErrorCode::corrupt, where + ": not JSON: " + ec.message());
  }
  if (!manifest_value.is_object()) {
    throw Error(ErrorCode::corrupt, where + ": not a JSON object");
  }
  const auto& manifest = manifest_value.get_object();
  if (string_member(manifest, "format", where) != kExportManifestFormat) {
    throw Error(ErrorCode::corrupt, where + ": \"format\" is not \"bdp-export\"");
  }
  if (int_member(manifest, "version", where) != kExportManifestVersion) {
    throw Error(ErrorCode::unsupported, where + ": manifest version " +
                                            std::to_string(int_member(manifest, "version", where)) +
                                            " is not supported (this bdp reads version " +
                                            std::to_string(kExportManifestVersion) + ")");
  }
  const ExportFormat format =
      parse_export_format(string_member(manifest, "data_format", where), where + ": data_format");
  ProcessInfo process = ProcessInfo::from_json(member(manifest, "process", where), where);
  validate_name("process id (" + where + ")", process.id);
  const std::string original_id = process.id;
  if (options.as_process) {
    validate_name("process id (--as)", *options.as_process);
    process.id = *options.as_process;
  }
  // Refuse to overwrite.
  for (const auto& p : target.list_processes()) {
    if (p.id == process.id) {
      throw Error(ErrorCode::invalid_argument,
                  "process '" + process.id + "' is already stored in backend '" +
                      std::string(target_name) + "' (import it under another id with --as NEW_ID)");
    }
  }
  {
    Query q;
    q.process_id = process.id;
    q.limit = 1;
    if (!target.list(q).empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "backend '" + std::string(target_name) + "' already has data of process '" +
                      process.id + "' (import it under another id with --as NEW_ID)");
    }
  }

  // Read and check every file before storing anything.
  struct Item {
    RecordInfo original;
    std::string stage;
    std::string entity;
    std::optional<Payload> payload;
  };
  std::vector<Item> items;
  ImportReport report;
  const auto& records = member(manifest, "records", where);
  if (!records.is_array()) throw Error(ErrorCode::corrupt, where + ": \"records\" must be a list");
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < records.get_array().size(); ++i) {
    const std::string at = where + ": records[" + std::to_string(i) + "]";
    const auto& entry_value = records.get_array()[i];
    if (!entry_value.is_object()) throw Error(ErrorCode::corrupt, at + ": not an object");
    const auto& entry = entry_value.get_object();
    Item item;
    item.stage = string_member(entry, "stage", at);
    item.entity = string_member(entry, "entity", at);
    try {
      validate_name("stage name", item.stage);
      validate_name("entity name", item.entity);
    } catch (const Error& e) {
      throw Error(ErrorCode::corrupt, at + ": " + e.what());
    }
    if (!seen.insert({item.stage, item.entity}).second) {
      throw Error(ErrorCode::corrupt, at + ": " + item.stage + "/" + item.entity + " listed twice");
    }
    const std::string kind_text = string_member(entry, "kind", at);
    if (kind_text != "table" && kind_text != "json") {
      throw Error(ErrorCode::corrupt, at + ": \"kind\" must be \"table\" or \"json\"");
    }
    const PayloadKind kind = kind_text == "table" ? PayloadKind::table : PayloadKind::json;
    // The path comes from the validated names, never from the manifest's text.
    const fs::path rel = entity_file(item.stage, item.entity, kind, format);
    if (string_member(entry, "file", at) != rel.generic_string()) {
      throw Error(ErrorCode::corrupt, at + ": \"file\" must be \"" + rel.generic_string() + "\"");
    }
    const fs::path path = dir / rel;
    const std::string data = read_whole(path);
    const std::string expected = string_member(entry, "checksum", at);
    const std::string actual = checksum_text(data);
    if (actual != expected) {
      throw Error(ErrorCode::corrupt, path.string() + ": checksum mismatch (manifest " + expected +
                                          ", file " + actual +
                                          "): the file was changed or damaged after export");
    }
    report.bytes += data.size();
    item.original = RecordInfo::from_json(member(entry, "record", at), at + ": record");
    if (kind == PayloadKind::table) {
      Schema schema;
      const auto& schema_value = member(entry, "schema", at);
      if (!schema_value.is_array()) throw Error(ErrorCode::corrupt, at + ": bad \"schema\"");
      for (const auto& f : schema_value.get_array()) {
        if (!f.is_object()) throw Error(ErrorCode::corrupt, at + ": bad \"schema\"");
        const std::string name = string_member(f.get_object(), "name", at + ": schema");
        const std::string type_text = string_member(f.get_object(), "type", at + ": schema");
        auto type = parse_column_type(type_text);
        if (!type) {
          throw Error(ErrorCode::corrupt,
                      at + ": schema: column '" + name + "' has unknown type '" + type_text + "'");
        }
        schema.push_back({name, *type});
      }
      TablePtr table;
      if (format == ExportFormat::csv) {
        csv::ReadOptions read;
        read.source_name = path.string();
        for (const auto& f : schema) read.schema[f.name] = f.type;
        try {
          table = csv::parse(data, read);
        } catch (const Error& e) {
          throw Error(ErrorCode::corrupt, e.what());
        }
        if (table->schema() != schema) {
          throw Error(ErrorCode::corrupt,
                      path.string() + ": the columns differ from the manifest's schema");
        }
      } else {
        table = parse_jsonl(data, schema, path.string());
      }
      const std::int64_t rows = int_member(entry, "rows", at);
      if (static_cast<std::int64_t>(table->num_rows()) != rows) {
        throw Error(ErrorCode::corrupt, path.string() + ": " + std::to_string(table->num_rows()) +
                                            " rows, the manifest says " + std::to_string(rows));
      }
      item.payload.emplace(table);
    } else {
      boost::json::error_code ec;
      boost::json::value v = boost::json::parse(data, ec);
      if (ec) throw Error(ErrorCode::corrupt, path.string() + ": not JSON: " + ec.message());
      item.payload.emplace(std::move(v));
    }
    items.push_back(std::move(item));
  }

  // Store; on failure remove what this import stored.
  std::vector<RecordInfo> stored;
  try {
    for (auto& item : items) {
      boost::json::object metadata = item.original.metadata;
      metadata["imported_from"] = boost::json::object{{"process", original_id},
                                                      {"record", item.original.id},
                                                      {"backend", item.original.backend},
                                                      {"version", item.original.version}};
      StoreRequest request{process.id, item.stage, item.entity, metadata};
      RecordInfo record = target.store(request, *item.payload);
      record.backend = std::string(target_name);
      stored.push_back(std::move(record));
    }
    for (auto& stage : process.stages) {
      stage.record_ids.clear();
      bool any = false;
      for (const auto& r : stored) {
        if (r.stage_name == stage.name) {
          stage.record_ids.push_back(r.id);
          any = true;
        }
      }
      if (any) {
        stage.backend = std::string(target_name);
        stage.location = target.location();
      }
    }
    target.save_process(process);
  } catch (...) {
    for (const auto& r : stored) {
      try {
        target.remove(r);
      } catch (const std::exception& e) {
        // The store error rethrown below is what the caller needs; a record
        // that cannot be removed either is logged and left for `bdp cleanup`.
        detail::logger("bdp.archive")
            ->warn("import of {}: could not remove record {} after a failed store: {}", process.id,
                   r.id, e.what());
      }
    }
    throw;
  }
  report.process_id = process.id;
  report.backend = std::string(target_name);
  report.records = std::move(stored);
  return report;
}

}  // namespace bdp
