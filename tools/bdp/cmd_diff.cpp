// bdp diff, export and import: comparing two past runs, and moving stored
// data out of and into the stores.
#include "cli_common.hpp"
#include "commands.hpp"

#include <bdp/archive.hpp>
#include <bdp/compare.hpp>
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/json.hpp>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>

namespace bdp::cli {

namespace json = boost::json;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string part = text.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (part.empty()) throw SetupError{"--key '" + text + "': an empty column name"};
    out.push_back(std::move(part));
    start = comma + 1;
  }
  return out;
}

// A cell for the report: null, a quoted string, else as CSV writes it
// (floats in their shortest round-trip form).
std::string cell_text(const Column& column, std::size_t row) {
  if (column.is_null(row)) return "null";
  if (column.type() == ColumnType::string) return json::serialize(cell_to_json(column, row));
  return csv::format_cell(column, row);
}

std::string value_text(const std::optional<json::value>& v) {
  return v ? json::serialize(*v) : std::string("-");
}

// A number for the report: integers without decimals, others with up to 6
// significant digits.
std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string signed_text(double v) {
  return (v > 0 ? "+" : "") + number_text(v);
}

std::string process_line(const ProcessInfo& p) {
  return terminal_text(p.id + " (" + p.name + ", " + to_string(p.status).data() + ", started " +
                       short_time(p.started_at) + ")");
}

std::string row_text(const Table& t, std::size_t row, const std::vector<std::string>& first) {
  std::string out;
  auto add = [&](const Column& c) {
    out += (out.empty() ? "" : ", ") + c.name() + "=" + cell_text(c, row);
  };
  for (const auto& name : first) {
    if (const Column* c = t.find(name)) add(*c);
  }
  for (const auto& c : t.columns()) {
    if (std::find(first.begin(), first.end(), c.name()) == first.end()) add(c);
  }
  return out;
}

void print_rows(const char* what, const std::vector<RowCount>& rows, std::uint64_t total,
                const Table& t, const std::vector<std::string>& key, std::size_t examples) {
  if (rows.empty()) return;
  std::cout << "  " << what << " (" << total << " rows";
  if (rows.size() > examples) std::cout << ", first " << examples << " shown";
  std::cout << "):\n";
  for (std::size_t i = 0; i < rows.size() && i < examples; ++i) {
    std::cout << "    " << terminal_text(row_text(t, rows[i].row, key));
    if (rows[i].count > 1) std::cout << "  (x" << rows[i].count << ")";
    std::cout << '\n';
  }
}

void print_entity(const EntityDiff& e, std::size_t examples) {
  std::cout << '\n' << e.stage << '/' << e.entity << ":";
  if (!e.record_a || !e.record_b) {
    std::cout << " stored only in " << (e.record_a ? "A" : "B") << '\n';
    return;
  }
  if (!e.table) {
    std::cout << (e.payload_equal ? " same" : " payloads differ") << " ("
              << to_string(e.record_a->kind) << " in A, " << to_string(e.record_b->kind)
              << " in B)\n";
    return;
  }
  const TableDiff& t = *e.table;
  std::cout << ' ' << t.a->num_rows() << " rows in A (" << e.record_a->backend << "), "
            << t.b->num_rows() << " in B (" << e.record_b->backend << "); ";
  if (t.key.empty()) {
    std::cout << "compared as multisets of rows\n";
  } else {
    std::string key;
    for (const auto& k : t.key) key += (key.empty() ? "" : ",") + k;
    std::cout << "rows matched by key " << terminal_text(key) << '\n';
  }
  if (!t.note.empty()) std::cout << "  note: " << terminal_text(t.note) << '\n';
  if (!t.schema_changes.empty()) {
    std::cout << "  schema:";
    for (const auto& c : t.schema_changes) {
      switch (c.kind) {
        case ColumnChange::Kind::added:
          std::cout << " +" << terminal_text(c.column) << " " << to_string(*c.type_b) << ";";
          break;
        case ColumnChange::Kind::removed:
          std::cout << " -" << terminal_text(c.column) << " " << to_string(*c.type_a) << ";";
          break;
        case ColumnChange::Kind::retyped:
          std::cout << " ~" << terminal_text(c.column) << " " << to_string(*c.type_a) << " -> "
                    << to_string(*c.type_b) << ";";
          break;
      }
    }
    std::cout << '\n';
  }
  print_rows("only in A", t.only_a, t.only_a_rows, *t.a, t.key, examples);
  print_rows("only in B", t.only_b, t.only_b_rows, *t.b, t.key, examples);
  if (!t.changed.empty()) {
    std::cout << "  changed (" << t.changed.size() << " rows";
    if (t.changed.size() > examples) std::cout << ", first " << examples << " shown";
    std::cout << "):\n";
    for (std::size_t i = 0; i < t.changed.size() && i < examples; ++i) {
      const ChangedRow& r = t.changed[i];
      std::string key;
      for (const auto& k : t.key) {
        key += (key.empty() ? "" : ", ") + k + "=" + cell_text(t.a->column(k), r.row_a);
      }
      std::string changes;
      for (auto c : r.columns) {
        const std::string& name = t.compared[c];
        changes += (changes.empty() ? "" : "; ") + name + ": " +
                   cell_text(t.a->column(name), r.row_a) + " -> " +
                   cell_text(t.b->column(name), r.row_b);
      }
      std::cout << "    " << terminal_text(key) << ": " << terminal_text(changes) << '\n';
    }
  }
  // Numeric columns whose summaries differ.
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : t.numeric) {
    auto side = [](const std::optional<NumericSummary>& s, double NumericSummary::*field) {
      return s && s->count ? number_text((*s).*field) : std::string("-");
    };
    const bool same = n.comparable && n.a->count == n.b->count && n.sum_delta == 0 &&
                      n.min_delta == 0 && n.max_delta == 0;
    if (same) continue;
    rows.push_back({n.column, side(n.a, &NumericSummary::sum), side(n.b, &NumericSummary::sum),
                    n.comparable ? signed_text(n.sum_delta) : "-", side(n.a, &NumericSummary::mean),
                    side(n.b, &NumericSummary::mean),
                    n.comparable ? signed_text(n.mean_delta) : "-",
                    n.comparable ? signed_text(n.min_delta) : "-",
                    n.comparable ? signed_text(n.max_delta) : "-"});
  }
  if (!rows.empty()) {
    std::cout << "  numeric columns (B - A):\n";
    for (auto& r : rows) r.front() = "    " + r.front();
    print_table({"    column", "sum A", "sum B", "sum", "mean A", "mean B", "mean", "min", "max"},
                rows, {false, true, true, true, true, true, true, true, true});
  }
}

void print_report(const ProcessDiff& diff, std::size_t examples) {
  std::cout << "A: " << process_line(diff.a) << '\n';
  std::cout << "B: " << process_line(diff.b) << '\n';
  if (!diff.decisions.empty()) {
    std::cout << "\ndecisions that differ:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : diff.decisions) {
      rows.push_back({"  " + (d.stage.empty() ? std::string("(process)") : d.stage), d.key,
                      value_text(d.a), value_text(d.b)});
    }
    print_table({"  stage", "decision", "A", "B"}, rows, {false, false, false, false});
  }
  std::cout << '\n';
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : diff.entities) {
    auto rows_of = [](const std::optional<RecordInfo>& r) {
      return r && r->kind == PayloadKind::table ? std::to_string(r->row_count) : std::string("-");
    };
    std::string only_a = "-";
    std::string only_b = "-";
    std::string changed = "-";
    std::string schema = "-";
    std::string result = e.has_differences() ? "differs" : "same";
    if (!e.record_a) result = "only in B";
    if (!e.record_b) result = "only in A";
    if (e.table) {
      only_a = std::to_string(e.table->only_a_rows);
      only_b = std::to_string(e.table->only_b_rows);
      changed = e.table->key.empty() ? "-" : std::to_string(e.table->changed.size());
      schema = std::to_string(e.table->schema_changes.size());
    }
    rows.push_back({e.stage, e.entity, rows_of(e.record_a), rows_of(e.record_b), schema, only_a,
                    only_b, changed, result});
  }
  print_table(
      {"stage", "entity", "rows A", "rows B", "schema", "only A", "only B", "changed", "result"},
      rows, {false, false, true, true, true, true, true, true, false});
  for (const auto& e : diff.entities) {
    if (e.has_differences()) print_entity(e, examples);
  }
  if (!diff.has_differences()) {
    std::cout << "\nno differences (" << diff.entities.size() << " entities compared)\n";
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::io, path + ": cannot create the file: " + std::strerror(errno));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw Error(ErrorCode::io, path + ": write failed");
}

}  // namespace

int cmd_diff(const std::string& config_file, const DiffArgs& args) {
  CompareOptions options;
  options.stage = args.stage;
  if (args.key) options.key = split_list(*args.key);
  Stores stores(storage_config(config_file), Access::read_only);
  const ProcessDiff diff = usage_errors([&] {
    return compare_processes(*stores.container, args.process_a, args.process_b, options);
  });
  std::uint64_t change_rows = 0;
  if (args.changes_csv) {
    std::string text;
    write_changes_csv(diff, text);
    write_text_file(*args.changes_csv, text);
    for (const auto& e : diff.entities) {
      if (e.table) {
        change_rows += e.table->only_a_rows + e.table->only_b_rows + 2 * e.table->changed.size();
      }
    }
  }
  if (args.json) {
    json::object out = diff.to_json(args.examples);
    if (args.changes_csv) {
      out["changes_csv"] = json::object{{"file", *args.changes_csv}, {"rows", change_rows}};
    }
    std::cout << to_pretty_json(out) << '\n';
  } else {
    print_report(diff, args.examples);
    if (args.changes_csv) {
      std::cout << "\ndiffering rows written to " << *args.changes_csv << " (" << change_rows
                << " rows)\n";
    }
  }
  return args.exit_code && diff.has_differences() ? kExitDifferences : kExitOk;
}

int cmd_export(const std::string& config_file, const ExportArgs& args) {
  const ExportFormat format =
      usage_errors([&] { return parse_export_format(args.format, "--format"); });
  Stores stores(storage_config(config_file), Access::read_only);
  const ExportReport report = usage_errors(
      [&] { return export_selection(*stores.container, args.selector, format, args.out); });
  if (args.json) {
    json::array files;
    for (const auto& f : report.files) {
      files.push_back(json::object{{"stage", f.stage},
                                   {"entity", f.entity},
                                   {"file", f.file},
                                   {"rows", f.rows},
                                   {"bytes", f.bytes},
                                   {"checksum", f.checksum}});
    }
    json::array failed;
    for (const auto& f : report.failed) {
      failed.push_back(json::object{{"stage", f.stage},
                                    {"entity", f.entity},
                                    {"version", f.version},
                                    {"record_id", f.record_id},
                                    {"backend", f.backend},
                                    {"error", to_string(f.code)},
                                    {"reason", f.reason}});
    }
    std::cout << to_pretty_json(json::object{{"process", report.process_id},
                                             {"dir", report.dir.string()},
                                             {"format", to_string(format)},
                                             {"files", std::move(files)},
                                             {"failed", std::move(failed)},
                                             {"bytes", report.bytes}})
              << '\n';
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : report.files) {
      rows.push_back({f.stage, f.entity, f.file, std::to_string(f.rows),
                      human_bytes(static_cast<std::int64_t>(f.bytes))});
    }
    print_table({"stage", "entity", "file", "rows", "bytes"}, rows,
                {false, false, false, true, true});
    std::cout << "exported " << report.files.size() << " files ("
              << human_bytes(static_cast<std::int64_t>(report.bytes)) << ") of process "
              << report.process_id << " to " << terminal_text(report.dir.string())
              << " with manifest.json\n";
  }
  if (report.failed.empty()) return kExitOk;
  // Exported, but not all of it: say which records are missing and why.
  for (const auto& f : report.failed) {
    std::cerr << "bdp: export: " << f.stage << "/" << f.entity << "@v" << f.version << " (record "
              << terminal_text(f.record_id) << " in " << f.backend
              << ") not exported: " << terminal_text(f.reason) << '\n';
  }
  std::cerr << "bdp: export: " << report.failed.size() << " of "
            << report.failed.size() + report.files.size()
            << " records could not be read; the others are in "
            << terminal_text(report.dir.string()) << " (manifest.json lists the failed ones under "
            << "\"failed\")\n";
  return kExitRuntime;
}

int cmd_import(const std::string& config_file, const ImportArgs& args) {
  const Config config = storage_config(config_file);
  const std::string& name = config.strategy.backend;
  auto it = config.backends.find(name);
  if (it == config.backends.end()) {
    throw SetupError{"storage_strategy.backend '" + name +
                     "' is not configured under \"backends\": nowhere to import to"};
  }
  PluginHost host(config.plugin_paths);
  std::shared_ptr<Backend> target;
  try {
    target = host.create_backend(it->second.plugin, name, it->second.settings, config.base_dir);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::config) throw SetupError{e.what()};
    throw;
  }
  if (!target->persistent()) {
    throw SetupError{"storage_strategy.backend '" + name +
                     "' keeps data in memory only: import into a persistent backend (--config "
                     "FILE naming one)"};
  }
  ImportOptions options;
  options.as_process = args.as_process;
  const ImportReport report =
      usage_errors([&] { return import_archive(args.dir, *target, name, options); });
  if (args.json) {
    json::array records;
    for (const auto& r : report.records) records.push_back(r.to_json());
    std::cout << to_pretty_json(json::object{{"process", report.process_id},
                                             {"backend", report.backend},
                                             {"location", target->location()},
                                             {"records", std::move(records)},
                                             {"bytes", report.bytes}})
              << '\n';
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : report.records) {
    rows.push_back({r.stage_name, r.entity_name, "v" + std::to_string(r.version),
                    std::to_string(r.row_count), human_bytes(r.size_bytes)});
  }
  print_table({"stage", "entity", "version", "rows", "bytes"}, rows,
              {false, false, true, true, true});
  std::cout << "imported " << report.records.size() << " records of process " << report.process_id
            << " into backend '" << report.backend << "' (" << target->location() << ")\n";
  return kExitOk;
}

DiffCommands::DiffCommands(CLI::App& app) {
  diff_ = app.add_subcommand("diff", "Compare the stored data and decisions of two processes");
  diff_->add_option("PROCESS_A", diff_args_.process_a, "Process id, id prefix, latest or latest~N")
      ->required();
  diff_->add_option("PROCESS_B", diff_args_.process_b, "Process id, id prefix, latest or latest~N")
      ->required();
  diff_->add_option("--stage", diff_args_.stage, "Compare this stage only");
  diff_->add_option("--key", diff_args_.key,
                    "Key columns, comma-separated: match rows by key and report changed cells");
  whole_number(
      diff_->add_option("--examples", diff_args_.examples, "Example rows per kind (default 5)"));
  diff_->add_option("--changes-csv", diff_args_.changes_csv,
                    "Write every differing row to this CSV file");
  diff_->add_flag("--exit-code", diff_args_.exit_code,
                  "Exit with 3 when there are differences (default: 0 either way)");
  diff_->add_flag("--json", diff_args_.json, "Print as JSON");
  diff_->fallthrough();

  export_ = app.add_subcommand("export", "Export stored data to CSV or JSON Lines with a manifest");
  export_
      ->add_option("SELECTOR", export_args_.selector,
                   "A process (id, latest, latest~N) or PROCESS/STAGE[/ENTITY][@vN]")
      ->required();
  export_->add_option("--format", export_args_.format, "csv (default) or jsonl");
  export_->add_option("--out", export_args_.out, "Folder to create (new or empty)")->required();
  export_->add_flag("--json", export_args_.json, "Print as JSON");
  export_->fallthrough();

  import_ = app.add_subcommand(
      "import", "Import an export folder into the configured backend (storage_strategy.backend)");
  import_->add_option("DIR", import_args_.dir, "Folder written by bdp export")->required();
  import_->add_option("--as", import_args_.as_process,
                      "Store under this process id (the exported one is already stored)");
  import_->add_flag("--json", import_args_.json, "Print as JSON");
  import_->fallthrough();
}

std::optional<int> DiffCommands::run(const std::string& config_file) const {
  if (*diff_) return cmd_diff(config_file, diff_args_);
  if (*export_) return cmd_export(config_file, export_args_);
  if (*import_) return cmd_import(config_file, import_args_);
  return std::nullopt;
}

}  // namespace bdp::cli
