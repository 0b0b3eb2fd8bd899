#include <bdp/sdk/secrets.hpp>

#include <regex>

namespace bdp {

std::string redact_connection(std::string_view connection) {
  // Cheap exits first: this runs over every string of a config snapshot.
  if (connection.find('@') == std::string_view::npos &&
      connection.find('=') == std::string_view::npos) {
    return std::string(connection);
  }
  static const std::regex keyword(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]*))",
                                  std::regex::icase);
  static const std::regex userinfo(R"((://[^:/@\s]*):[^@/\s]*@)");
  std::string text(connection);
  text = std::regex_replace(text, keyword, "$1***");
  text = std::regex_replace(text, userinfo, "$1:***@");
  return text;
}

}  // namespace bdp
