#include "cli_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <stdexcept>

namespace bdp::test {

CommandResult bdp_cli(std::vector<std::string> args, const std::vector<std::string>& env,
                      const Launch& launch) {
  args.insert(args.begin(), cli_path().string());
  std::vector<std::string> environment = {"BDP_PLUGIN_PATH=", "BDP_DEFAULTS="};
  environment.insert(environment.end(), env.begin(), env.end());
  return run_command(args, environment, launch);
}

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool is_one_line(const std::string& text) {
  return text.size() > 1 && text.find('\n') == text.size() - 1;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

boost::json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  BOOST_TEST_REQUIRE(!ec, "output is not JSON (" << ec.message() << "):\n" << text);
  return v;
}

void expect_one_line_error(const CommandResult& r, int code,
                           std::initializer_list<std::string> needles) {
  BOOST_TEST(r.exit_code == code, describe(r));
  BOOST_TEST(is_one_line(r.err), "expected one line on stderr\n" << describe(r));
  for (const auto& needle : needles) {
    BOOST_TEST(contains(r.err, needle), "expected '" << needle << "' on stderr\n" << describe(r));
  }
}

const boost::json::object& stage_of(const boost::json::value& process, const std::string& name) {
  for (const auto& stage : process.at("stages").as_array()) {
    if (stage.at("name").as_string() == name) return stage.as_object();
  }
  BOOST_FAIL("no stage '" << name << "' in the process record:\n"
                          << boost::json::serialize(process));
  throw std::logic_error("unreachable");
}

std::int64_t rows_of(const boost::json::value& process, const std::string& name) {
  return stage_of(process, name).at("rows").to_number<std::int64_t>();
}

}  // namespace bdp::test
