// Helpers shared by the command-line suites (tests/integration): running
// the build tree's bdp, reading what it printed and checking one-line errors.
#pragma once

#include "test_support.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>

#include <initializer_list>
#include <string>
#include <vector>

namespace bdp::test {

// Runs `bdp args...` (the build tree's binary) with optional extra
// environment entries "KEY=VALUE". BDP_PLUGIN_PATH and BDP_DEFAULTS are
// cleared first, so that the caller's environment cannot change what bdp
// finds; entries in `env` come after and may set them again. `launch` sets
// its working folder and user (see run_command).
CommandResult bdp_cli(std::vector<std::string> args, const std::vector<std::string>& env = {},
                      const Launch& launch = {});

// What a command did (exit code, stdout, stderr), for failure messages.
std::string describe(const CommandResult& r);

// The non-empty lines of `text`, without their '\n': empty lines are
// dropped, so "a\n\nb\n" gives {"a", "b"}.
std::vector<std::string> split_lines(const std::string& text);

// Whether `text` is exactly one non-empty line ending with '\n'.
bool is_one_line(const std::string& text);

bool contains(const std::string& text, const std::string& part);

// Parses `text` as JSON; fails the test (and returns null) if it does not parse.
boost::json::value parse_json(const std::string& text);

// A failed command: exit code `code`, stderr exactly one line (is_one_line)
// that contains every one of `needles`. Says nothing about stdout.
void expect_one_line_error(const CommandResult& r, int code,
                           std::initializer_list<std::string> needles);

// The stage called `name` in a process record as `bdp run --json` prints it;
// fails the test when there is none.
const boost::json::object& stage_of(const boost::json::value& process, const std::string& name);
// That stage's "rows".
std::int64_t rows_of(const boost::json::value& process, const std::string& name);

}  // namespace bdp::test
