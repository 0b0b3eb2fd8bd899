// bdp ps, ls, show and stats: discovering what past processes stored.
#include "cli_common.hpp"
#include "commands.hpp"

#include <bdp/history.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/json.hpp>
#include <bdp/sdk/time.hpp>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

namespace bdp::cli {

namespace json = boost::json;

namespace {

// `text` for a terminal (terminal_text) cut to `max` characters, with
// "..." when cut.
std::string clipped(std::string_view raw, std::size_t max) {
  std::string text = terminal_text(raw);
  std::size_t chars = 0;
  std::size_t cut = text.size();  // byte offset of the (max - 3)-th character
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) continue;  // inside a character
    if (chars == max - 3) cut = i;
    if (++chars > max) return text.substr(0, cut) + "...";
  }
  return text;
}

std::string compact(const json::value& value) {
  return json::serialize(value);
}

// A metadata value for people: strings bare, numbers short ("10.448").
std::string value_text(const json::value& value) {
  if (value.is_string()) return std::string(value.get_string());
  if (value.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", value.get_double());
    return buf;
  }
  return compact(value);
}

std::string record_name(const RecordInfo& r) {
  return r.process_id + "/" + r.stage_name + "/" + r.entity_name + "@v" + std::to_string(r.version);
}

std::string schema_text(const Schema& schema) {
  std::string out;
  for (const auto& f : schema) {
    out += (out.empty() ? "" : ", ") + f.name + " " + std::string(to_string(f.type));
  }
  return out.empty() ? "-" : out;
}

json::value cell_json(const Column& column, std::size_t row) {
  if (column.is_null(row)) return nullptr;
  switch (column.type()) {
    case ColumnType::int64:
      return column.int64_at(row);
    case ColumnType::float64: {
      const double v = column.float64_at(row);
      if (std::isfinite(v)) return v;
      return json::string(csv::format_cell(column, row));
    }
    case ColumnType::boolean:
      return column.bool_at(row);
    case ColumnType::timestamp:
      return json::string(format_timestamp(column.int64_at(row)));
    case ColumnType::string:
      break;
  }
  return json::string(csv::format_cell(column, row));
}

// The first `head` rows of `table`, as JSON.
json::object table_head_json(const Table& table, std::size_t head) {
  json::array columns;
  for (const auto& c : table.columns()) columns.emplace_back(c.name());
  json::array rows;
  const std::size_t n = std::min(head, table.num_rows());
  for (std::size_t r = 0; r < n; ++r) {
    json::array row;
    for (const auto& c : table.columns()) row.push_back(cell_json(c, r));
    rows.push_back(std::move(row));
  }
  return json::object{
      {"columns", std::move(columns)}, {"rows", std::move(rows)}, {"total_rows", table.num_rows()}};
}

void print_table_head(const Table& table, std::size_t head) {
  std::vector<std::string> header;
  std::vector<bool> right;
  for (const auto& c : table.columns()) {
    header.push_back(c.name());
    right.push_back(c.type() == ColumnType::int64 || c.type() == ColumnType::float64);
  }
  std::vector<std::vector<std::string>> rows;
  const std::size_t n = std::min(head, table.num_rows());
  for (std::size_t r = 0; r < n; ++r) {
    std::vector<std::string> row;
    for (const auto& c : table.columns()) {
      row.push_back(c.is_null(r)                        ? std::string("null")
                    : c.type() == ColumnType::timestamp ? short_time(c.int64_at(r))
                                                        : clipped(csv::format_cell(c, r), 40));
    }
    rows.push_back(std::move(row));
  }
  if (!header.empty()) print_table(header, rows, right);
  if (n < table.num_rows()) {
    std::cout << "(" << n << " of " << table.num_rows() << " rows; --head N shows more)\n";
  }
}

// The lineage in a record's metadata ("inputs"), one line per input.
std::vector<std::string> inputs_of(const RecordInfo& r) {
  std::vector<std::string> out;
  const json::value* inputs = r.metadata.if_contains("inputs");
  if (inputs == nullptr || !inputs->is_array()) return out;
  for (const auto& item : inputs->get_array()) {
    const json::object* o = item.if_object();
    if (o == nullptr) {
      out.push_back(compact(item));
      continue;
    }
    auto text = [&](std::string_view key) {
      const json::value* v = o->if_contains(key);
      if (v == nullptr) return std::string("?");
      return v->is_string() ? std::string(v->get_string()) : compact(*v);
    };
    std::string line =
        text("process_id") + "/" + text("stage") + "/" + text("entity") + "@v" + text("version");
    if (o->contains("backend")) line += " (" + text("backend") + ")";
    out.push_back(std::move(line));
  }
  return out;
}

void print_record(const RecordInfo& r) {
  std::cout << terminal_text(record_name(r)) << '\n';
  auto field = [](std::string_view label, const std::string& value) {
    std::string padded = terminal_text(label);
    padded.resize(std::max<std::size_t>(11, padded.size() + 1), ' ');
    std::cout << "  " << padded << terminal_text(value) << '\n';
  };
  field("backend", r.backend + " (record id " + r.id + ")");
  field("stored",
        r.storage_type == StorageType::reference ? r.data_reference : std::string("inline"));
  field("created", short_time(r.created_at) + " UTC");
  std::string shape(to_string(r.kind));
  if (r.kind == PayloadKind::table) {
    shape += ", " + std::to_string(r.row_count) + " rows, " + std::to_string(r.schema.size()) +
             " columns";
  }
  field("payload", shape + ", " + human_bytes(r.size_bytes));
  field("checksum", r.checksum.empty() ? "-" : r.checksum);
  if (r.kind == PayloadKind::table) field("schema", schema_text(r.schema));
  if (const json::value* d = r.metadata.if_contains("decisions");
      d != nullptr && !(d->is_object() && d->get_object().empty())) {
    field("decisions", compact(*d));
  }
  const auto inputs = inputs_of(r);
  for (std::size_t i = 0; i < inputs.size(); ++i) field(i == 0 ? "inputs" : "", inputs[i]);
  for (const auto& kv : r.metadata) {
    if (kv.key() == "decisions" || kv.key() == "inputs") continue;
    field(kv.key(), clipped(value_text(kv.value()), 100));
  }
}

// One line on stderr per damaged entry of a listing, with the reason.
template <class Entries>
void print_damage_notes(const Entries& entries) {
  std::size_t damaged = 0;
  for (const auto& e : entries) {
    if (e.damage.empty()) continue;
    ++damaged;
    std::cerr << "bdp: damaged: " << e.damage << '\n';
  }
  if (damaged != 0) {
    std::cerr << "bdp: " << damaged
              << " damaged entries listed; bdp doctor checks the stores, bdp doctor "
                 "--quarantine moves damaged entries aside\n";
  }
}

}  // namespace

int cmd_ps(const std::string& config_file, const PsArgs& args) {
  Stores stores(storage_config(config_file), Access::read_only);
  History history(*stores.container);
  auto processes = history.processes(args.name.value_or(""), args.limit);
  if (args.json) {
    json::array arr;
    for (const auto& p : processes) arr.push_back(p.to_json());
    std::cout << to_pretty_json(arr) << '\n';
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : processes) {
    std::int64_t bytes = 0;
    for (const auto& s : p.stages) bytes += s.bytes;
    const double seconds = p.finished_at > p.started_at
                               ? static_cast<double>(p.finished_at - p.started_at) / 1e6
                               : 0.0;
    rows.push_back({p.id, p.name,
                    p.damage.empty() ? std::string(to_string(p.status)) : std::string("damaged"),
                    short_time(p.started_at), p.finished_at ? fixed(seconds, 2) : "-",
                    std::to_string(p.stages.size()), human_bytes(bytes),
                    p.decisions.empty() ? "-" : clipped(compact(p.decisions), 60)});
  }
  print_table(
      {"process", "name", "status", "started (UTC)", "seconds", "stages", "bytes", "decisions"},
      rows, {false, false, false, false, true, true, true, false});
  if (processes.empty()) {
    std::cerr << "bdp: no processes stored"
              << (args.name ? " with name '" + terminal_text(*args.name) + "'" : std::string())
              << '\n';
  }
  print_damage_notes(processes);
  return kExitOk;
}

int cmd_ls(const std::string& config_file, const LsArgs& args) {
  Query query;
  query.newest_first = !args.oldest_first;
  query.limit = args.limit;
  usage_errors([&] {
    const std::int64_t now = now_micros();
    if (args.since) query.since = parse_time_bound(*args.since, "--since", now);
    if (args.until) query.until = parse_time_bound(*args.until, "--until", now);
    for (const auto& w : args.where) query.metadata_equals.push_back(parse_metadata_filter(w));
    return 0;
  });
  query.process_id = args.process;
  query.stage_name = args.stage;
  query.entity_name = args.entity;

  Stores stores(storage_config(config_file), Access::read_only);
  History history(*stores.container);
  const auto records = usage_errors([&] { return history.records(query); });
  if (args.json) {
    json::array arr;
    for (const auto& r : records) arr.push_back(r.to_json());
    std::cout << to_pretty_json(arr) << '\n';
    return kExitOk;
  }
  // A column that marks damaged records, when there are any.
  const bool any_damaged = std::any_of(records.begin(), records.end(),
                                       [](const RecordInfo& r) { return !r.damage.empty(); });
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : records) {
    rows.push_back({r.process_id, r.stage_name, r.entity_name, "v" + std::to_string(r.version),
                    r.kind == PayloadKind::table ? std::to_string(r.row_count) : "json",
                    human_bytes(r.size_bytes), short_time(r.created_at), r.backend,
                    r.storage_type == StorageType::reference ? r.data_reference : "inline"});
    if (any_damaged) rows.back().push_back(r.damage.empty() ? "" : "damaged");
  }
  std::vector<std::string> header = {"process", "stage",         "entity",  "version", "rows",
                                     "bytes",   "created (UTC)", "backend", "location"};
  std::vector<bool> right = {false, false, false, true, true, true, false, false, false};
  if (any_damaged) {
    header.push_back("state");
    right.push_back(false);
  }
  print_table(header, rows, right);
  if (records.empty()) std::cerr << "bdp: no stored records match\n";
  print_damage_notes(records);
  return kExitOk;
}

int cmd_show(const std::string& config_file, const ShowArgs& args) {
  Stores stores(storage_config(config_file), Access::read_only);
  History history(*stores.container);
  std::vector<RecordInfo> records;
  if (args.selector.find('/') != std::string::npos) {
    records = usage_errors([&] { return history.resolve(args.selector); });
  } else {
    records.push_back(usage_errors([&] { return history.find_record(args.selector); }));
  }
  // A damaged record has nothing trustworthy to show: one line saying why.
  for (const auto& r : records) {
    if (!r.damage.empty()) {
      throw Error(ErrorCode::corrupt, record_name(r) + " in " + r.backend +
                                          " is damaged: " + r.damage + " (see bdp doctor)");
    }
  }
  if (args.json) {
    json::array arr;
    for (const auto& r : records) {
      json::object item{{"record", r.to_json()}};
      const Payload payload = history.retrieve(r);
      item["data"] = payload.is_table() ? json::value(table_head_json(*payload.table(), args.head))
                                        : payload.json();
      arr.push_back(std::move(item));
    }
    std::cout << to_pretty_json(arr) << '\n';
    return kExitOk;
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    const RecordInfo& r = records[i];
    // Read before anything of it is printed: data that fails its checks
    // is one error line, not half a record.
    std::optional<Payload> read;
    if (args.head != 0) read = history.retrieve(r);
    if (i > 0) std::cout << '\n';
    print_record(r);
    if (!read) continue;
    const Payload& payload = *read;
    std::cout << '\n';
    if (payload.is_table()) {
      print_table_head(*payload.table(), args.head);
    } else {
      // JSON escapes control characters in strings, not DEL, C1 or
      // invalid UTF-8: each line goes through terminal_text too.
      const std::string text = to_pretty_json(payload.json());
      std::size_t start = 0;
      while (start < text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        std::cout << terminal_text(std::string_view(text).substr(start, end - start)) << '\n';
        start = end + 1;
      }
    }
  }
  return kExitOk;
}

int cmd_stats(const std::string& config_file, const StatsArgs& args) {
  Stores stores(storage_config(config_file), Access::read_only);
  History history(*stores.container);
  const HistoryStats stats = history.stats();
  if (args.json) {
    std::cout << to_pretty_json(stats.to_json()) << '\n';
    return kExitOk;
  }
  std::cout << "stored: " << stats.records << " records, " << human_bytes(stats.bytes) << " in "
            << stats.backends.size() << " backends; " << stats.processes << " process records\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : stats.backends) {
    rows.push_back({b.name, std::to_string(b.records), human_bytes(b.bytes)});
  }
  print_table({"backend", "records", "bytes"}, rows, {false, true, true});

  rows.clear();
  for (std::size_t i = 0; i < stats.by_process.size() && i < args.top; ++i) {
    const auto& p = stats.by_process[i];
    rows.push_back({p.id, p.name.empty() ? "-" : p.name, short_time(p.started_at),
                    std::to_string(p.records), human_bytes(p.bytes)});
  }
  if (!rows.empty()) {
    std::cout << "\nlargest processes\n";
    print_table({"process", "name", "started (UTC)", "records", "bytes"}, rows,
                {false, false, false, true, true});
  }

  rows.clear();
  for (std::size_t i = 0; i < stats.by_stage.size() && i < args.top; ++i) {
    const auto& s = stats.by_stage[i];
    rows.push_back(
        {s.process_id, s.stage_name, s.backend, std::to_string(s.records), human_bytes(s.bytes)});
  }
  if (!rows.empty()) {
    std::cout << "\nlargest stages\n";
    print_table({"process", "stage", "backend", "records", "bytes"}, rows,
                {false, false, false, true, true});
  }

  rows.clear();
  for (const auto& d : stats.damaged) {
    rows.push_back({d.name, d.backend.empty() ? "-" : d.backend, d.damage});
  }
  if (!rows.empty()) {
    std::cout << "\ndamaged (counted as far as they could be read; bdp doctor checks every "
                 "record)\n";
    print_table({"entry", "backend", "damage"}, rows, {false, false, false});
  }

  rows.clear();
  for (const auto& t : stats.throughput) {
    auto or_dash = [](bool known, std::string text) { return known ? text : std::string("-"); };
    rows.push_back({t.stage_name, std::to_string(t.runs), human_bytes(t.bytes),
                    fixed(t.store_ms, 1), or_dash(t.store_ms > 0, fixed(t.mb_per_s(), 1)),
                    human_bytes(t.read_bytes), fixed(t.read_ms, 1),
                    or_dash(t.read_ms > 0, fixed(t.read_mb_per_s(), 1))});
  }
  if (!rows.empty()) {
    std::cout << "\nthroughput (recorded at store time; read = the stage's inputs)\n";
    print_table(
        {"stage", "runs", "written", "write ms", "write MB/s", "read", "read ms", "read MB/s"},
        rows, {false, true, true, true, true, true, true, true});
  }
  return kExitOk;
}

HistoryCommands::HistoryCommands(CLI::App& app) {
  ps_ = app.add_subcommand("ps", "List the stored processes, newest first");
  ps_->add_option("--name", ps_args_.name, "Only processes with this name");
  whole_number(ps_->add_option("--limit", ps_args_.limit, "At most N processes"), 1);
  ps_->add_flag("--json", ps_args_.json, "Print as JSON");

  ls_ = app.add_subcommand("ls", "List stored records, newest first");
  ls_->add_option("--process", ls_args_.process,
                  "Process id, unique id prefix, latest or latest~N");
  ls_->add_option("--stage", ls_args_.stage, "Only this stage");
  ls_->add_option("--entity", ls_args_.entity, "Only this entity");
  ls_->add_option("--since", ls_args_.since,
                  "Created at or after: ISO 8601 time, or an age such as 2h, 30d");
  ls_->add_option("--until", ls_args_.until, "Created before: ISO 8601 time, or an age");
  ls_->add_option("--where", ls_args_.where,
                  "Metadata key=value, the value JSON or text (repeatable)");
  whole_number(ls_->add_option("--limit", ls_args_.limit, "At most N records"), 1);
  ls_->add_flag("--oldest-first", ls_args_.oldest_first, "Oldest records first");
  ls_->add_flag("--json", ls_args_.json, "Print as JSON");

  show_ = app.add_subcommand("show", "Show stored records and their first rows");
  show_->add_option("SELECTOR", show_args_.selector, "PROCESS/STAGE[/ENTITY][@vN], or a record id")
      ->required();
  whole_number(
      show_->add_option("--head", show_args_.head, "Rows of each table to print (default 10)"));
  show_->add_flag("--json", show_args_.json, "Print as JSON");

  stats_ = app.add_subcommand("stats", "Space used per backend, process and stage; throughput");
  whole_number(stats_->add_option("--top", stats_args_.top,
                                  "Rows in the largest-consumer tables (default 10)"));
  stats_->add_flag("--json", stats_args_.json, "Print as JSON");
}

std::optional<int> HistoryCommands::run(const std::string& config_file) const {
  if (*ps_) return cmd_ps(config_file, ps_args_);
  if (*ls_) return cmd_ls(config_file, ls_args_);
  if (*show_) return cmd_show(config_file, show_args_);
  if (*stats_) return cmd_stats(config_file, stats_args_);
  return std::nullopt;
}

}  // namespace bdp::cli
