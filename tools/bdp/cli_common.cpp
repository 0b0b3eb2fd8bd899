#include "cli_common.hpp"

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace bdp::cli {

std::string human_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  }
  return buf;
}

std::string fixed(double value, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string short_time(std::int64_t micros) {
  if (micros == 0) return "-";
  std::string t = format_timestamp(micros - micros % 1'000'000);  // 2026-11-26T14:45:00Z
  return t.substr(0, 10) + " " + t.substr(11, 8);
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right_align) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      std::string pad(width[c] - cells[c].size(), ' ');
      out += right_align[c] ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
      if (c + 1 < cells.size()) out += "  ";
    }
    std::cout << out << '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
}

Config load_config(const std::string& file, const std::vector<std::string>& sets) {
  try {
    ConfigResolver resolver;
    resolver.set_project_file(file);
    for (const auto& s : sets) resolver.add_override(s);
    Config config = resolver.resolve();
    for (const auto& warning : config.warnings) std::cerr << "bdp: warning: " << warning << '\n';
    return config;
  } catch (const Error& e) {
    throw SetupError{e.what()};
  }
}

Config storage_config(const std::string& file) {
  if (!file.empty()) return load_config(file, {});
  try {
    ConfigResolver resolver;
    return resolver.resolve();
  } catch (const Error& e) {
    throw SetupError{e.what()};
  }
}

Stores::Stores(const Config& config, Access access) : host(config.plugin_paths) {
  try {
    container = access == Access::read_only
                    ? DataContainer::open_read_only(config, host)
                    : DataContainer::open(config, host, /*all_stores=*/true);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::config) throw SetupError{e.what()};
    throw;
  }
}

}  // namespace bdp::cli
