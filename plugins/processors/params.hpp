// Reading a stage's params: typed getters whose errors name the key path
// inside params and say what was expected and what was found
// ("params.rows: expected an integer, found string \"ten\""), and the check
// that rejects keys a processor does not know. Every failure throws
// bdp::Error(ErrorCode::config). Internal to the bdp_processors plugin.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdp::processors {

// Throws bdp::Error(config, "<path>: <problem>"); `path` is a key path such
// as "params.column" or "params.columns[2]".
[[noreturn]] void params_error(std::string_view path, std::string_view problem);

// "params." + key.
std::string key_path(std::string_view key);

// The JSON type of `v` as messages name it: "string", "integer", "number",
// "bool", "array", "object" or "null".
std::string_view json_type_name(const boost::json::value& v) noexcept;

// `v`'s type and a short rendering of it, for "found ..." in messages:
// "string \"abc\"", "integer 3", "array". Long values are shortened.
std::string describe_found(const boost::json::value& v);

// Throws for the first key of `params` not in `allowed`, listing the
// allowed keys.
void check_keys(const boost::json::object& params, std::initializer_list<std::string_view> allowed);

// The value under `key`, or nullptr when absent.
const boost::json::value* find_param(const boost::json::object& params, std::string_view key);

// The value under `key`; throws "params.<key>: is required (<expected>)"
// when absent.
const boost::json::value& require_param(const boost::json::object& params, std::string_view key,
                                        std::string_view expected);

// Conversions of one value found at `path`.
std::string as_string(const boost::json::value& v, std::string_view path, bool allow_empty = false);
std::int64_t as_int(const boost::json::value& v, std::string_view path,
                    std::int64_t min = std::numeric_limits<std::int64_t>::min());
bool as_bool(const boost::json::value& v, std::string_view path);
const boost::json::object& as_object(const boost::json::value& v, std::string_view path);
// A list of non-empty strings without duplicates; `non_empty` also refuses
// an empty list.
std::vector<std::string> as_string_list(const boost::json::value& v, std::string_view path,
                                        bool non_empty);
// One of `allowed`; otherwise lists them.
std::string as_enum(const boost::json::value& v, std::string_view path,
                    std::initializer_list<std::string_view> allowed);

// The same, for the top-level key `key` of params: required unless a
// fallback is given (or the getter returns optional).
std::string get_string(const boost::json::object& params, std::string_view key);
std::int64_t get_int(const boost::json::object& params, std::string_view key,
                     std::optional<std::int64_t> fallback = std::nullopt,
                     std::int64_t min = std::numeric_limits<std::int64_t>::min());
bool get_bool(const boost::json::object& params, std::string_view key, bool fallback);
// An absent key is an empty list unless `required`.
std::vector<std::string> get_string_list(const boost::json::object& params, std::string_view key,
                                         bool required, bool non_empty);
std::string get_enum(const boost::json::object& params, std::string_view key,
                     std::initializer_list<std::string_view> allowed);

// "a, b, c".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace bdp::processors
