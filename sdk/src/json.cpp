#include <bdp/sdk/json.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace bdp {

namespace {
void pretty(const boost::json::value& v, std::string& out, int indent) {
  auto newline = [&](int level) {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(level) * 2, ' ');
  };
  if (v.is_object()) {
    const auto& obj = v.get_object();
    if (obj.empty()) {
      out += "{}";
      return;
    }
    out.push_back('{');
    bool first = true;
    for (const auto& kv : obj) {
      if (!first) out.push_back(',');
      first = false;
      newline(indent + 1);
      out += boost::json::serialize(boost::json::value(kv.key()));
      out += ": ";
      pretty(kv.value(), out, indent + 1);
    }
    newline(indent);
    out.push_back('}');
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    if (arr.empty()) {
      out += "[]";
      return;
    }
    out.push_back('[');
    bool first = true;
    for (const auto& item : arr) {
      if (!first) out.push_back(',');
      first = false;
      newline(indent + 1);
      pretty(item, out, indent + 1);
    }
    newline(indent);
    out.push_back(']');
  } else {
    out += boost::json::serialize(v);
  }
}
}  // namespace

std::string to_pretty_json(const boost::json::value& value) {
  std::string out;
  pretty(value, out, 0);
  return out;
}

}  // namespace bdp
