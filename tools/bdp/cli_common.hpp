// Helpers shared by the bdp command implementations: exit codes, the setup
// error and usage errors, table printing and formatting, and opening the
// configured stores.
//
// Thread-safety: the functions are pure or write to std::cout only.
#pragma once

#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/sdk/error.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class Option;
}

namespace bdp::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// An error raised while reading configuration or setting up, before
// anything runs: exit code 2.
struct SetupError {
  std::string message;
};

// Runs `body`; a bdp::Error(invalid_argument) from it (text the user typed
// that cannot be parsed) becomes a usage error, exit code 2.
template <class Body>
auto usage_errors(Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_argument) throw SetupError{e.what()};
    throw;
  }
}

// "512 B", "13.2 KiB", "1.5 GiB".
std::string human_bytes(std::int64_t bytes);

// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals);

// "2026-11-26 14:45:00" (UTC, whole seconds) for microseconds since the
// epoch; "-" for 0.
std::string short_time(std::int64_t micros);

// `text` made safe to print to a terminal as (part of) one line: control
// characters become escapes -- \n, \r, \t, \xNN for the other C0 bytes and
// DEL, \u0080..\u009f for C1 characters -- and bytes that are not valid
// UTF-8 become \xNN. Everything else, '\\' included, is kept as it is.
// Every human-readable printer of stored names, values and messages goes
// through it (print_table does); JSON output does not.
std::string terminal_text(std::string_view text);

// Prints `rows` under `header` to std::cout: left-aligned text columns,
// right-aligned where `right_align` says so. Every cell goes through
// terminal_text; widths count characters, not bytes.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right_align);

// Makes `option` accept only a whole number written in decimal digits
// ("12"; not "-1", "+3", "0x10" or "1e3") of at least `min`: anything else
// is a usage error naming the option. Returns `option`.
CLI::Option* whole_number(CLI::Option* option, std::uint64_t min = 0);

// The resolved configuration of `file` with the runtime overrides `sets`;
// warnings go to stderr. Throws SetupError for a bad file.
Config load_config(const std::string& file, const std::vector<std::string>& sets);

// The configuration that names the storage for history commands: the
// --config file, else the installed defaults alone (main() substitutes
// ./bdp.json for an empty --config when it exists). Throws SetupError.
Config storage_config(const std::string& file);

// How a command opens the stores: reading commands (ps, ls, show, stats,
// diff, export, cleanup --dry-run) read only; cleanup changes them.
enum class Access { read_only, read_write };

// The configured stores (the strategy's backend whatever the mode, and
// every stage's). Read-only (DataContainer::open_read_only) nothing is
// created or written, and stores the user cannot write can be read; a store
// that is not there is left out, and when none is there bdp::Error(not_found)
// "no store at PATH" is thrown. Read-write, missing stores are created.
// Throws SetupError for a configuration error, bdp::Error otherwise.
struct Stores {
  Stores(const Config& config, Access access);
  PluginHost host;
  std::unique_ptr<DataContainer> container;
};

}  // namespace bdp::cli
