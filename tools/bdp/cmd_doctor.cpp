// bdp doctor: reports damaged entries in the configured stores and, with
// --quarantine, moves them out of the listings.
#include "cli_common.hpp"
#include "commands.hpp"

#include <bdp/doctor.hpp>
#include <bdp/sdk/json.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

namespace bdp::cli {

int cmd_doctor(const std::string& config_file, const DoctorArgs& args) {
  // Checking only reads; quarantine changes the stores.
  Stores stores(storage_config(config_file),
                args.quarantine ? Access::read_write : Access::read_only);
  DoctorOptions options;
  options.quarantine = args.quarantine;
  const DoctorReport report = check_stores(*stores.container, options);
  const int code = report.clean() ? kExitOk : kExitRuntime;
  if (args.json) {
    std::cout << to_pretty_json(report.to_json()) << '\n';
    return code;
  }
  // One line per finding: "<backend>: <entry>: damaged|note: <problem>".
  for (const auto& f : report.findings) {
    std::cout << f.backend << ": " << f.name << ": " << (f.is_damage() ? "damaged" : "note") << ": "
              << f.problem << '\n';
  }
  for (const auto& line : report.moved) std::cout << "moved: " << line << '\n';
  for (const auto& line : report.locations) std::cout << "quarantined in: " << line << '\n';
  for (const auto& line : report.failures) std::cout << "cannot quarantine: " << line << '\n';
  std::string names;
  for (const auto& b : report.backends) names += (names.empty() ? "" : ", ") + b;
  std::cout << "checked " << report.backends.size() << " stores"
            << (names.empty() ? std::string() : " (" + names + ")") << ": " << report.processes
            << " process records, " << report.records << " records; ";
  const std::size_t damaged = report.damaged();
  if (damaged == 0) {
    std::cout << "no damage\n";
  } else if (report.quarantine) {
    std::cout << damaged << " damaged, " << report.moved.size() << " moved aside\n";
  } else {
    std::cout << damaged << " damaged (bdp doctor --quarantine moves them aside)\n";
  }
  return code;
}

DoctorCommand::DoctorCommand(CLI::App& app) {
  doctor_ = app.add_subcommand(
      "doctor", "Check every stored record and process record; report (and move aside) damage");
  doctor_->add_flag("--quarantine", args_.quarantine,
                    "Move damaged entries out of the listings, keeping them for inspection");
  doctor_->add_flag("--json", args_.json, "Print as JSON");
  doctor_->fallthrough();
}

std::optional<int> DoctorCommand::run(const std::string& config_file) const {
  if (*doctor_) return cmd_doctor(config_file, args_);
  return std::nullopt;
}

}  // namespace bdp::cli
