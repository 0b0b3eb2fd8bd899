// Typed access to a stage's params, with errors that name the key path.
#include "params.hpp"

#include <bdp/sdk/error.hpp>

#include <boost/json/serialize.hpp>

#include <cmath>
#include <set>

namespace bdp::processors {

namespace json = boost::json;

namespace {

std::string join_views(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

[[noreturn]] void type_error(std::string_view path, std::string_view expected,
                             const json::value& found) {
  params_error(path, "expected " + std::string(expected) + ", found " + describe_found(found));
}

std::string element_path(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

}  // namespace

void params_error(std::string_view path, std::string_view problem) {
  throw Error(ErrorCode::config, std::string(path) + ": " + std::string(problem));
}

std::string key_path(std::string_view key) {
  return "params." + std::string(key);
}

std::string_view json_type_name(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::string:
      return "string";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::bool_:
      return "bool";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
    case json::kind::null:
      return "null";
  }
  return "unknown";
}

std::string describe_found(const json::value& v) {
  std::string out(json_type_name(v));
  if (v.is_array() || v.is_object() || v.is_null()) return out;
  std::string text = json::serialize(v);
  constexpr std::size_t kMax = 40;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return out + " " + text;
}

void check_keys(const json::object& params, std::initializer_list<std::string_view> allowed) {
  for (const auto& entry : params) {
    bool known = false;
    for (std::string_view key : allowed) known = known || key == entry.key();
    if (!known) {
      params_error(key_path(entry.key()), "unknown key; allowed keys: " + join_views(allowed));
    }
  }
}

const json::value* find_param(const json::object& params, std::string_view key) {
  return params.if_contains(key);
}

const json::value& require_param(const json::object& params, std::string_view key,
                                 std::string_view expected) {
  const json::value* v = params.if_contains(key);
  if (v == nullptr) params_error(key_path(key), "is required (" + std::string(expected) + ")");
  return *v;
}

std::string as_string(const json::value& v, std::string_view path, bool allow_empty) {
  if (!v.is_string()) type_error(path, "a string", v);
  if (!allow_empty && v.get_string().empty()) params_error(path, "must not be empty");
  return std::string(v.get_string());
}

std::int64_t as_int(const json::value& v, std::string_view path, std::int64_t min) {
  std::int64_t out = 0;
  if (v.is_int64()) {
    out = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      params_error(path, "is too large: " + json::serialize(v));
    }
    out = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
             std::abs(v.get_double()) < 9.0e15) {
    out = static_cast<std::int64_t>(v.get_double());  // 1e6 written as a number
  } else {
    type_error(path, "an integer", v);
  }
  if (out < min)
    params_error(path, "must be >= " + std::to_string(min) + ", found " + std::to_string(out));
  return out;
}

bool as_bool(const json::value& v, std::string_view path) {
  if (!v.is_bool()) type_error(path, "a bool (true or false)", v);
  return v.get_bool();
}

const json::object& as_object(const json::value& v, std::string_view path) {
  if (!v.is_object()) type_error(path, "an object", v);
  return v.get_object();
}

std::vector<std::string> as_string_list(const json::value& v, std::string_view path,
                                        bool non_empty) {
  if (!v.is_array()) type_error(path, "a list of strings", v);
  const json::array& items = v.get_array();
  if (non_empty && items.empty()) params_error(path, "must not be an empty list");
  std::vector<std::string> out;
  out.reserve(items.size());
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string item = as_string(items[i], element_path(path, i));
    if (!seen.insert(item).second) {
      params_error(element_path(path, i), "'" + item + "' is listed twice");
    }
    out.push_back(std::move(item));
  }
  return out;
}

std::string as_enum(const json::value& v, std::string_view path,
                    std::initializer_list<std::string_view> allowed) {
  if (!v.is_string()) type_error(path, "a string, one of: " + join_views(allowed), v);
  std::string_view text = v.get_string();
  for (std::string_view candidate : allowed) {
    if (candidate == text) return std::string(text);
  }
  params_error(path, "unknown value '" + std::string(text) + "'; allowed: " + join_views(allowed));
}

std::string get_string(const json::object& params, std::string_view key) {
  return as_string(require_param(params, key, "a string"), key_path(key));
}

std::int64_t get_int(const json::object& params, std::string_view key,
                     std::optional<std::int64_t> fallback, std::int64_t min) {
  const json::value* v = find_param(params, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    params_error(key_path(key), "is required (an integer)");
  }
  return as_int(*v, key_path(key), min);
}

bool get_bool(const json::object& params, std::string_view key, bool fallback) {
  const json::value* v = find_param(params, key);
  return v == nullptr ? fallback : as_bool(*v, key_path(key));
}

std::vector<std::string> get_string_list(const json::object& params, std::string_view key,
                                         bool required, bool non_empty) {
  const json::value* v = find_param(params, key);
  if (v == nullptr) {
    if (required) params_error(key_path(key), "is required (a list of strings)");
    return {};
  }
  return as_string_list(*v, key_path(key), non_empty);
}

std::string get_enum(const json::object& params, std::string_view key,
                     std::initializer_list<std::string_view> allowed) {
  const json::value& v = require_param(params, key, "one of: " + join_views(allowed));
  return as_enum(v, key_path(key), allowed);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace bdp::processors
