#include "cli_common.hpp"

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
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

namespace {

// The length of the UTF-8 sequence that starts at text[i], or 0 when the
// bytes there are not valid UTF-8 (a stray continuation byte, an overlong
// form, a surrogate, beyond U+10FFFF, or cut short).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t n = 0;
  unsigned char low = 0x80;  // the range of the second byte
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

void append_hex(std::string& out, const char* prefix, unsigned value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += prefix;
  for (int d = digits - 1; d >= 0; --d) out += kHex[(value >> (4 * d)) & 0xf];
}

// Characters (code points) in `text`, which is valid UTF-8.
std::size_t display_width(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

std::string terminal_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || c == 0x7f) {
        append_hex(out, "\\x", c, 2);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      append_hex(out, "\\x", c, 2);
      ++i;
      continue;
    }
    if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      append_hex(out, "\\u", static_cast<unsigned char>(text[i + 1]), 4);  // C1: U+0080..U+009F
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right_align) {
  auto safe = [](const std::vector<std::string>& cells) {
    std::vector<std::string> out;
    out.reserve(cells.size());
    for (const auto& cell : cells) out.push_back(terminal_text(cell));
    return out;
  };
  const std::vector<std::string> head = safe(header);
  std::vector<std::vector<std::string>> body;
  body.reserve(rows.size());
  for (const auto& row : rows) body.push_back(safe(row));
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) width[c] = display_width(head[c]);
  for (const auto& row : body) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      width[c] = std::max(width[c], display_width(row[c]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      std::string pad(width[c] - display_width(cells[c]), ' ');
      out += right_align[c] ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
      if (c + 1 < cells.size()) out += "  ";
    }
    std::cout << out << '\n';
  };
  line(head);
  for (const auto& row : body) line(row);
}

CLI::Option* whole_number(CLI::Option* option, std::uint64_t min) {
  option->check(CLI::Validator(
      [min](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const char* first = text.data();
        const char* last = text.data() + text.size();
        auto [end, ec] = std::from_chars(first, last, value);
        const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
          return c >= '0' && c <= '9';
        });
        if (digits && ec == std::errc::result_out_of_range) return "'" + text + "' is too large";
        if (!digits || ec != std::errc() || end != last) {
          return "'" + terminal_text(text) + "' is not a whole number (" +
                 (min == 0 ? std::string("0 or more") : "at least " + std::to_string(min)) + ")";
        }
        if (value < min) return "must be at least " + std::to_string(min) + ", got " + text;
        return {};
      },
      "N"));
  return option;
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
