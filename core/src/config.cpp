// Layered configuration: parsing, schema checks, merging with provenance and
// the per-stage storage plan. See bdp/config.hpp for the contract.
#include <bdp/config.hpp>

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/secrets.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <variant>

namespace bdp {

namespace json = boost::json;

namespace {

constexpr std::string_view kStorageModes = "memory, persist, hybrid";
constexpr std::string_view kCleanupPolicies = "keep_all, keep_latest, keep_none";

[[noreturn]] void config_error(std::string message) {
  throw Error(ErrorCode::config, message);
}

// `text` with control characters (and, with `quote`, '"' and '\\') escaped,
// so that a message stays one readable line whatever a key or value holds.
std::string escaped(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (quote && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string in_quotes(std::string_view text) {
  return "\"" + escaped(text, true) + "\"";
}

// A key (or key path) for a message: control characters escaped, no quotes.
std::string printable_key(std::string_view key) {
  return escaped(key, false);
}

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// "a string", "an object", ... for "expected X, found Y" messages.
std::string_view kind_name(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// ---------------------------------------------------------------------------
// Provenance tree: mirrors the merged document. Object members are keyed by
// name; the elements of the top-level "stages" array are kept by index, so a
// stage renamed by an override keeps its history.

struct ProvNode {
  std::optional<Provenance> leaf;  // set for leaves: scalars, arrays, empty objects
  std::vector<std::string> keys;   // object member names, parallel to `children`
  std::vector<ProvNode> children;  // object members, or the elements of "stages"

  const ProvNode* find(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &children[i];
    return nullptr;
  }
  ProvNode& child(std::string_view key) {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return children[i];
    keys.emplace_back(key);
    return children.emplace_back();
  }
  // The source of the first leaf in this subtree.
  const Provenance* first_leaf() const {
    if (leaf) return &*leaf;
    for (const auto& c : children)
      if (const auto* p = c.first_leaf()) return p;
    return nullptr;
  }
};

// Merges `src` into `dst`: objects member by member, anything else replaces.
// Every leaf written gets `p`.
void merge_value(json::value& dst, ProvNode& node, const json::value& src, const Provenance& p) {
  if (src.is_object()) {
    const auto& from = src.get_object();
    if (!dst.is_object()) {
      dst = json::object();
      node = ProvNode{};
    }
    auto& to = dst.get_object();
    if (from.empty()) {
      if (to.empty()) node.leaf = p;
      return;
    }
    node.leaf.reset();
    for (const auto& member : from)
      merge_value(to[member.key()], node.child(member.key()), member.value(), p);
    return;
  }
  dst = src;
  node = ProvNode{};
  node.leaf = p;
}

// Merges a stage object: its "storage" block is the stage layer unless the
// values come from a runtime override.
void merge_stage(json::object& dst, ProvNode& node, const json::object& src, const Provenance& p) {
  node.leaf.reset();
  for (const auto& member : src) {
    Provenance use = p;
    if (member.key() == "storage" && p.layer != ConfigLayer::runtime)
      use.layer = ConfigLayer::stage;
    merge_value(dst[member.key()], node.child(member.key()), member.value(), use);
  }
  if (dst.empty()) node.leaf = p;
}

// Merges a top-level document. "stages" replaces as a whole (it is an array);
// the stages' leaves are recorded per element.
void merge_root(json::object& doc, ProvNode& root, const json::object& src, const Provenance& p) {
  for (const auto& member : src) {
    if (member.key() == "stages" && member.value().is_array()) {
      const auto& stages = member.value().get_array();
      json::array copy;
      ProvNode& node = root.child("stages");
      node = ProvNode{};
      for (const auto& stage : stages) {
        ProvNode& element = node.children.emplace_back();
        json::object merged;
        if (stage.is_object()) merge_stage(merged, element, stage.get_object(), p);
        copy.emplace_back(std::move(merged));
      }
      if (stages.empty()) node.leaf = p;
      doc["stages"] = std::move(copy);
      continue;
    }
    merge_value(doc[member.key()], root.child(member.key()), member.value(), p);
  }
}

const json::array* stages_of(const json::object& doc) {
  const auto* v = doc.if_contains("stages");
  return v && v->is_array() ? &v->get_array() : nullptr;
}

std::string stage_name_at(const json::array& stages, std::size_t i) {
  if (const auto* obj = stages[i].if_object())
    if (const auto* name = obj->if_contains("name"))
      if (name->is_string()) return std::string(name->get_string());
  return {};
}

// Walks the merged document in order, emitting every leaf with its provenance.
void walk(const json::value& v, const ProvNode& node, const std::string& path,
          std::vector<std::pair<std::string, Provenance>>& out) {
  if (v.is_object() && !v.get_object().empty()) {
    for (const auto& member : v.get_object()) {
      const ProvNode* child = node.find(member.key());
      if (!child) continue;
      walk(member.value(), *child, path + "." + std::string(member.key()), out);
    }
    return;
  }
  if (node.leaf) out.emplace_back(path, *node.leaf);
}

void walk_root(const json::object& doc, const ProvNode& root,
               std::vector<std::pair<std::string, Provenance>>& out) {
  for (const auto& member : doc) {
    const ProvNode* node = root.find(member.key());
    if (!node) continue;
    std::string key(member.key());
    if (key == "stages" && member.value().is_array() && !member.value().get_array().empty()) {
      const auto& stages = member.value().get_array();
      for (std::size_t i = 0; i < stages.size() && i < node->children.size(); ++i)
        walk(stages[i], node->children[i], "stages." + stage_name_at(stages, i), out);
      continue;
    }
    walk(member.value(), *node, key, out);
  }
}

std::uint64_t to_uint64(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64()) return static_cast<std::uint64_t>(v.get_int64());
  return static_cast<std::uint64_t>(v.get_double());
}

// The SOCI connection string for a database URL of the Python framework
// ("sqlite:///file.db", "postgresql://user@host/db"). Throws
// bdp::Error(config) prefixed with `where` for any other URL.
std::string legacy_db_url(std::string_view url, const std::string& where) {
  constexpr std::string_view kSqlite = "sqlite:///";
  if (url.starts_with(kSqlite)) {
    std::string_view file = url.substr(kSqlite.size());
    if (file.empty()) config_error(where + ": " + in_quotes(url) + " names no database file");
    return "sqlite3://db=" + std::string(file);
  }
  if (url == "sqlite://" || url.starts_with("sqlite://:memory:")) {
    config_error(where +
                 ": an in-memory SQLite database cannot keep data; name a file "
                 "(sqlite:///bdp-data/bdp.sqlite)");
  }
  const auto scheme_end = url.find("://");
  const std::string_view scheme = url.substr(0, scheme_end);
  if (scheme_end != std::string_view::npos &&
      (scheme == "postgresql" || scheme == "postgres" || scheme.starts_with("postgresql+"))) {
    return "postgresql://" + std::string(url.substr(scheme_end + 3));
  }
  config_error(where + ": unsupported database URL scheme " + in_quotes(scheme) +
               " (supported: sqlite:///<file>, postgresql://user@host/db)");
}

// ---------------------------------------------------------------------------
// The Python framework's storage keys. persist_intermediate_results,
// persist_format, storage_dir and db_url are mapped onto mode, backend and
// "backends" in the merged document, each with one deprecation line. A value
// set in a higher layer than the legacy key (say, --set
// storage_strategy.mode=memory over a project's
// persist_intermediate_results) wins over the mapping.

json::value nest(const std::vector<std::string>& segments, std::size_t first, json::value value);

struct LegacyMapper {
  json::object& doc;
  ProvNode& root;
  std::vector<std::string>& warnings;

  const Provenance* leaf(std::string_view block, std::string_view key) const {
    const ProvNode* b = root.find(block);
    const ProvNode* n = b ? b->find(key) : nullptr;
    return n ? n->first_leaf() : nullptr;
  }
  // Whether a legacy key set by `legacy` may replace storage_strategy.`key`.
  bool may_set(std::string_view key, const Provenance& legacy) const {
    const Provenance* current = leaf("storage_strategy", key);
    return !current || current->layer <= legacy.layer;
  }
  void set(std::vector<std::string> path, json::value value, const Provenance& p) {
    json::object patch = nest(path, 0, std::move(value)).get_object();
    merge_root(doc, root, patch, p);
  }
  void warn(const Provenance& p, std::string_view key, const std::string& what) {
    warnings.push_back(p.source + ": storage_strategy." + std::string(key) + ": deprecated; " +
                       what);
  }
  // The plugin of backends.<name>, or "" when it is not defined.
  std::string plugin_of(std::string_view name) const {
    const auto* backends = doc.if_contains("backends");
    const auto* block =
        backends && backends->is_object() ? backends->get_object().if_contains(name) : nullptr;
    if (!block || !block->is_object()) return {};
    const auto* plugin = block->get_object().if_contains("plugin");
    return plugin && plugin->is_string() ? std::string(plugin->get_string()) : std::string("?");
  }
  // Defines (or re-points) backends.<name> with `plugin` and `key` = `value`.
  void define(std::string_view name, std::string_view plugin, std::string_view key,
              const std::string& value, const Provenance& p, std::string_view legacy_key) {
    const std::string existing = plugin_of(name);
    if (!existing.empty() && existing != plugin) {
      config_error(p.source + ": storage_strategy." + std::string(legacy_key) +
                   ": maps onto backends." + std::string(name) + ", which is already defined " +
                   "with plugin " + in_quotes(existing) + "; rename that backend or configure " +
                   "\"backends\" and \"backend\" instead of the deprecated key");
    }
    set({"backends", std::string(name), "plugin"}, json::string(plugin), p);
    set({"backends", std::string(name), std::string(key)}, json::string(value), p);
  }

  void run() {
    auto* block = doc.if_contains("storage_strategy");
    if (!block || !block->is_object()) return;
    const json::object strategy = block->get_object();  // a copy: set() changes doc

    if (const auto* v = strategy.if_contains("persist_intermediate_results")) {
      const Provenance p = *leaf("storage_strategy", "persist_intermediate_results");
      const std::string mode =
          strategy.contains("mode") ? std::string(strategy.at("mode").get_string()) : "memory";
      if (v->get_bool() && mode == "memory" && may_set("mode", p)) {
        set({"storage_strategy", "mode"}, json::string("persist"), p);
        warn(p, "persist_intermediate_results", "true maps to \"mode\": \"persist\"");
      } else {
        warn(p, "persist_intermediate_results",
             "ignored; \"mode\" is \"" + mode + "\" (use \"mode\" instead)");
      }
    }

    std::string target;  // the backend the legacy keys select
    if (const auto* v = strategy.if_contains("storage_dir")) {
      const Provenance p = *leaf("storage_strategy", "storage_dir");
      const std::string dir(v->get_string());
      define("csv", "csv", "root", dir, p, "storage_dir");
      warn(p, "storage_dir", "maps to backends.csv.root = \"" + dir + "\"");
      target = "csv";
    }
    if (const auto* v = strategy.if_contains("db_url")) {
      const Provenance p = *leaf("storage_strategy", "db_url");
      const std::string connection =
          legacy_db_url(v->get_string(), p.source + ": storage_strategy.db_url");
      define("db", "soci", "connection", connection, p, "db_url");
      warn(p, "db_url",
           "maps to backends.db.connection = \"" + redact_connection(connection) + "\"");
      target = "db";
    }
    if (const auto* v = strategy.if_contains("persist_format")) {
      const Provenance p = *leaf("storage_strategy", "persist_format");
      target = std::string(v->get_string());
      if (plugin_of(target).empty()) {
        if (target == "csv") {
          define("csv", "csv", "root", "bdp-data/csv", p, "persist_format");
        } else {
          define("db", "soci", "connection", "sqlite3://db=bdp-data/bdp.sqlite", p,
                 "persist_format");
        }
      }
      warn(p, "persist_format", "maps to \"backend\": \"" + target + "\"");
    }
    if (!target.empty()) {
      const std::string_view key = strategy.contains("persist_format") ? "persist_format"
                                   : target == "db"                    ? "db_url"
                                                                       : "storage_dir";
      const Provenance p = *leaf("storage_strategy", key);
      if (may_set("backend", p)) set({"storage_strategy", "backend"}, json::string(target), p);
    }
  }
};

// ---------------------------------------------------------------------------
// Schema checks. One Validator checks one layer on its own (`merged` false:
// every error names that layer's source) or the merged document (`merged`
// true: an error names the source that set the offending value, found
// through the provenance tree, and the cross references are checked too:
// backends named by storage settings exist and name a plugin).

struct Where {
  std::string path;                // the key path shown in messages
  const ProvNode* node = nullptr;  // merged mode: provenance of this value, when known
  std::string source;              // the file, "--set" or "api" to name
};

class Validator {
 public:
  Validator(bool merged, std::string source, const ProvNode* root)
      : merged_(merged), source_(std::move(source)), root_(root) {}

  void document(const json::object& doc) {
    Where top{"", root_, source_};
    if (merged_) collect_backends(doc);
    for (const auto& member : doc) {
      Where w = child(top, member.key());
      const auto& v = member.value();
      std::string_view key = member.key();
      if (key == "project") {
        // An empty name would be stored as "process", unlike what was asked.
        if (string(v, w).empty()) fail(w, "must not be empty (processes are stored under it)");
      } else if (key == "description") {
        string(v, w);
      } else if (key == "plugin_paths") {
        string_array(v, w);
      } else if (key == "storage_strategy") {
        strategy(v, w);
      } else if (key == "backends") {
        backends(v, w);
      } else if (key == "stages") {
        stages(v, w);
      } else {
        unknown(w, "project, description, plugin_paths, storage_strategy, backends, stages");
      }
    }
  }

  // A stage as addressed by an override ("stages.<name>..."): types only.
  void partial_stage(const json::value& v, const std::string& path) {
    Where w{path, nullptr, source_};
    const auto& obj = object(v, w);
    if (const auto* name = obj.if_contains("name")) stage_name(*name, child(w, "name"));
    stage_members(obj, w, nullptr, {}, {});
  }

 private:
  Where child(const Where& w, std::string_view key) const {
    Where c;
    c.path = w.path.empty() ? printable_key(key) : w.path + "." + printable_key(key);
    c.node = w.node ? w.node->find(key) : nullptr;
    c.source = w.source;
    if (merged_ && c.node)
      if (const auto* p = c.node->first_leaf()) c.source = p->source;
    return c;
  }
  static Where item(const Where& w, std::size_t i) {
    return Where{w.path + "[" + std::to_string(i) + "]", nullptr, w.source};
  }

  [[noreturn]] void fail(const Where& w, std::string_view problem) const {
    config_error(w.source + ": " + w.path + ": " + std::string(problem));
  }
  [[noreturn]] void wrong_type(const Where& w, std::string_view expected,
                               const json::value& v) const {
    fail(w, "expected " + std::string(expected) + ", found " + std::string(kind_name(v)));
  }
  [[noreturn]] void unknown(const Where& w, std::string_view allowed) const {
    fail(w, "unknown key (allowed: " + std::string(allowed) + ")");
  }

  const json::object& object(const json::value& v, const Where& w) const {
    if (!v.is_object()) wrong_type(w, "an object", v);
    return v.get_object();
  }
  std::string_view string(const json::value& v, const Where& w) const {
    if (!v.is_string()) wrong_type(w, "a string", v);
    return v.get_string();
  }
  void boolean(const json::value& v, const Where& w) const {
    if (!v.is_bool()) wrong_type(w, "a boolean", v);
  }
  const json::array& string_array(const json::value& v, const Where& w) const {
    if (!v.is_array()) wrong_type(w, "an array of strings", v);
    const auto& arr = v.get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) string(arr[i], item(w, i));
    return arr;
  }
  void unsigned_integer(const json::value& v, const Where& w) const {
    if (v.is_uint64()) return;
    if (v.is_int64()) {
      if (v.get_int64() < 0)
        fail(w, "expected a non-negative integer, found " + std::to_string(v.get_int64()));
      return;
    }
    if (v.is_double()) {
      double d = v.get_double();
      if (d >= 0 && d < 18446744073709551616.0 && std::trunc(d) == d) return;
      fail(w, std::string("expected a non-negative integer, found ") +
                  (d < 0                ? "a negative number"
                   : std::trunc(d) != d ? "a fractional number"
                                        : "a number above 2^64-1"));
    }
    wrong_type(w, "a non-negative integer", v);
  }
  void duration(const json::value& v, const Where& w) const {
    parse_duration(string(v, w), w.source + ": " + w.path);
  }
  void cleanup_policy(const json::value& v, const Where& w) const {
    parse_cleanup_policy(string(v, w), w.source + ": " + w.path);
  }
  void backend_ref(const json::value& v, const Where& w) const {
    auto name = string(v, w);
    if (!merged_) return;
    if (std::find(backend_names_.begin(), backend_names_.end(), name) != backend_names_.end())
      return;
    fail(w, "backend " + in_quotes(name) + " is not defined under \"backends\" (defined: " +
                (backend_names_.empty() ? std::string("none") : join(backend_names_)) + ")");
  }

  void collect_backends(const json::object& doc) {
    if (const auto* b = doc.if_contains("backends"); b && b->is_object())
      for (const auto& member : b->get_object()) backend_names_.emplace_back(member.key());
  }

  void strategy(const json::value& v, const Where& w) const {
    for (const auto& member : object(v, w)) {
      Where c = child(w, member.key());
      std::string_view key = member.key();
      const auto& value = member.value();
      if (key == "mode") {
        parse_storage_mode(string(value, c), c.source + ": " + c.path);
      } else if (key == "persist_intermediate_results") {
        boolean(value, c);
      } else if (key == "stages_to_persist") {
        string_array(value, c);
      } else if (key == "cleanup_policy") {
        cleanup_policy(value, c);
      } else if (key == "backend") {
        backend_ref(value, c);
      } else if (key == "max_memory_bytes" || key == "keep_last_processes") {
        unsigned_integer(value, c);
      } else if (key == "write_queue_bytes") {
        unsigned_integer(value, c);
        if (to_uint64(value) == 0) fail(c, "must be at least 1");
      } else if (key == "max_age") {
        duration(value, c);
      } else if (key == "persist_format") {
        auto format = string(value, c);
        if (format != "csv" && format != "db")
          fail(c, "invalid value " + in_quotes(format) + " (allowed: csv, db)");
      } else if (key == "storage_dir") {
        if (string(value, c).empty()) fail(c, "must not be empty");
      } else if (key == "db_url") {
        legacy_db_url(string(value, c), c.source + ": " + c.path);
      } else {
        unknown(c,
                "mode, persist_intermediate_results, stages_to_persist, cleanup_policy, "
                "backend, max_memory_bytes, write_queue_bytes, keep_last_processes, max_age, "
                "and the deprecated persist_format, storage_dir, db_url");
      }
    }
  }

  void backends(const json::value& v, const Where& w) const {
    for (const auto& member : object(v, w)) {
      Where c = child(w, member.key());
      if (!is_valid_name(member.key())) name_error(c, "backend name", member.key());
      const auto& block = object(member.value(), c);
      if (const auto* plugin = block.if_contains("plugin")) {
        Where pw = child(c, "plugin");
        auto name = string(*plugin, pw);
        if (!is_valid_name(name)) name_error(pw, "plugin name", name);
      } else if (merged_) {
        fail(child(c, "plugin"),
             "missing required key (the plugin providing this backend, "
             "e.g. \"csv\" for the library bdp_csv)");
      }
    }
  }

  // Reports an invalid name with validate_name's explanation.
  [[noreturn]] void name_error(const Where& w, std::string_view what, std::string_view name) const {
    try {
      validate_name(what, name);
    } catch (const Error& e) {
      fail(w, e.what());
    }
    fail(w, "invalid " + std::string(what) + " " + in_quotes(name));
  }

  std::string_view stage_name(const json::value& v, const Where& w) const {
    auto name = string(v, w);
    if (!is_valid_name(name)) name_error(w, "stage name", name);
    return name;
  }

  void stages(const json::value& v, const Where& w) const {
    if (!v.is_array()) wrong_type(w, "an array", v);
    const auto& arr = v.get_array();
    std::vector<std::string> all;  // every stage's name, "" when it has none
    for (std::size_t i = 0; i < arr.size(); ++i) all.push_back(stage_name_at(arr, i));
    std::vector<std::string> earlier;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Where sw = item(w, i);
      if (w.node && i < w.node->children.size()) {
        sw.node = &w.node->children[i];
        if (merged_)
          if (const auto* p = sw.node->first_leaf()) sw.source = p->source;
      }
      const auto& obj = object(arr[i], sw);
      const auto* name = obj.if_contains("name");
      if (!name) fail(child(sw, "name"), "missing required key");
      auto n = stage_name(*name, child(sw, "name"));
      auto dup = std::find(earlier.begin(), earlier.end(), n);
      if (dup != earlier.end())
        fail(child(sw, "name"), "duplicate stage name " + in_quotes(n) +
                                    " (already used by stages[" +
                                    std::to_string(dup - earlier.begin()) + "])");
      sw.path = w.path + "." + std::string(n);
      if (!obj.contains("processor")) fail(child(sw, "processor"), "missing required key");
      stage_members(obj, sw, &earlier, all, std::string(n));
      earlier.emplace_back(n);
    }
  }

  // The members of a stage. With `earlier` set (a whole stages array), inputs
  // must name earlier stages; `all` holds every stage's name.
  void stage_members(const json::object& obj, const Where& w,
                     const std::vector<std::string>* earlier, const std::vector<std::string>& all,
                     const std::string& self) const {
    for (const auto& member : obj) {
      Where c = child(w, member.key());
      std::string_view key = member.key();
      const auto& value = member.value();
      if (key == "name") {
        // checked by the caller
      } else if (key == "processor") {
        if (string(value, c).empty()) fail(c, "must not be empty");
      } else if (key == "inputs") {
        const auto& inputs = string_array(value, c);
        if (earlier)
          for (const auto& input : inputs) check_input(input.get_string(), c, *earlier, all, self);
      } else if (key == "params") {
        object(value, c);
      } else if (key == "storage") {
        stage_storage(value, c);
      } else {
        unknown(c, "name, processor, inputs, params, storage");
      }
    }
  }

  void check_input(std::string_view input, const Where& w, const std::vector<std::string>& earlier,
                   const std::vector<std::string>& all, const std::string& self) const {
    if (std::find(earlier.begin(), earlier.end(), input) != earlier.end()) return;
    if (input == self) fail(w, "a stage cannot be its own input");
    if (std::find(all.begin(), all.end(), input) != all.end())
      fail(w, in_quotes(input) + " is a later stage; inputs must name earlier stages");
    fail(w, in_quotes(input) + " is not a stage (earlier stages: " +
                (earlier.empty() ? std::string("none") : join(earlier)) + ")");
  }

  void stage_storage(const json::value& v, const Where& w) const {
    for (const auto& member : object(v, w)) {
      Where c = child(w, member.key());
      std::string_view key = member.key();
      if (key == "persist") {
        boolean(member.value(), c);
      } else if (key == "backend") {
        backend_ref(member.value(), c);
      } else if (key == "cleanup_policy") {
        cleanup_policy(member.value(), c);
      } else if (key == "keep_last_processes") {
        unsigned_integer(member.value(), c);
      } else if (key == "max_age") {
        duration(member.value(), c);
      } else {
        unknown(c, "persist, backend, cleanup_policy, keep_last_processes, max_age");
      }
    }
  }

  bool merged_;
  std::string source_;
  const ProvNode* root_;
  std::vector<std::string> backend_names_;
};

// ---------------------------------------------------------------------------
// Reading the merged document into the typed Config.

std::vector<std::string> strings_of(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& item : v.get_array()) out.emplace_back(item.get_string());
  return out;
}

std::string string_member(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto dot = path.find('.', start);
    out.emplace_back(path.substr(start, dot == std::string_view::npos ? path.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

// {"a": {"b": value}} for segments a, b.
json::value nest(const std::vector<std::string>& segments, std::size_t first, json::value value) {
  for (std::size_t i = segments.size(); i-- > first;) {
    json::object obj;
    obj[segments[i]] = std::move(value);
    value = std::move(obj);
  }
  return value;
}

std::filesystem::path absolute_dir(const std::filesystem::path& dir) {
  if (dir.empty()) return std::filesystem::current_path();
  return std::filesystem::absolute(dir).lexically_normal();
}

}  // namespace

// ---------------------------------------------------------------------------

std::string_view to_string(ConfigLayer layer) noexcept {
  switch (layer) {
    case ConfigLayer::global:
      return "global";
    case ConfigLayer::project:
      return "project";
    case ConfigLayer::stage:
      return "stage";
    case ConfigLayer::runtime:
      return "runtime";
  }
  return "unknown";
}

std::string_view to_string(StorageMode mode) noexcept {
  switch (mode) {
    case StorageMode::memory:
      return "memory";
    case StorageMode::persist:
      return "persist";
    case StorageMode::hybrid:
      return "hybrid";
  }
  return "unknown";
}

std::string_view to_string(CleanupPolicy policy) noexcept {
  switch (policy) {
    case CleanupPolicy::keep_all:
      return "keep_all";
    case CleanupPolicy::keep_latest:
      return "keep_latest";
    case CleanupPolicy::keep_none:
      return "keep_none";
  }
  return "unknown";
}

namespace {
[[noreturn]] void bad_enum(std::string_view text, std::string_view where,
                           std::string_view allowed) {
  std::string message(where);
  if (!message.empty()) message += ": ";
  message += "invalid value " + in_quotes(text) + " (allowed: " + std::string(allowed) + ")";
  config_error(std::move(message));
}
}  // namespace

StorageMode parse_storage_mode(std::string_view text, std::string_view where) {
  for (auto mode : {StorageMode::memory, StorageMode::persist, StorageMode::hybrid})
    if (to_string(mode) == text) return mode;
  bad_enum(text, where, kStorageModes);
}

CleanupPolicy parse_cleanup_policy(std::string_view text, std::string_view where) {
  for (auto policy :
       {CleanupPolicy::keep_all, CleanupPolicy::keep_latest, CleanupPolicy::keep_none})
    if (to_string(policy) == text) return policy;
  bad_enum(text, where, kCleanupPolicies);
}

std::int64_t parse_duration(std::string_view text, std::string_view where) {
  auto fail = [&]() -> std::int64_t {
    std::string message(where);
    if (!message.empty()) message += ": ";
    config_error(message + "invalid age " + in_quotes(text) +
                 " (expected a whole number and a unit: s, m, h, d or w, e.g. \"30d\")");
  };
  if (text.size() < 2) return fail();
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return fail();
  }
  std::int64_t count = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size() - 1;
  auto [end, ec] = std::from_chars(first, last, count);
  if (ec != std::errc() || end != last || count <= 0 ||
      count > std::numeric_limits<std::int64_t>::max() / unit / 1'000'000)
    return fail();
  return count * unit;
}

namespace {
bool is_secret_key(std::string_view key) {
  std::string lower;
  for (char c : key)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (std::string_view word : {"password", "passwd", "secret", "token", "api_key", "apikey"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

void redact_value(json::value& v) {
  if (auto* obj = v.if_object()) {
    for (auto& member : *obj) {
      if (is_secret_key(member.key()) && !member.value().is_object() &&
          !member.value().is_array()) {
        member.value() = "***";
      } else {
        redact_value(member.value());
      }
    }
  } else if (auto* arr = v.if_array()) {
    for (auto& item : *arr) redact_value(item);
  } else if (auto* str = v.if_string()) {
    std::string redacted = redact_connection(*str);
    if (redacted != std::string_view(*str)) *str = redacted;
  }
}
}  // namespace

boost::json::object redact_secrets(const boost::json::object& document) {
  json::value copy = document;
  redact_value(copy);
  return std::move(copy.get_object());
}

// ---------------------------------------------------------------------------

namespace {

// Where a key was given twice in one object: the path of the object's
// members as keys and array indexes, and the lines of both occurrences.
struct DuplicateKey {
  std::vector<std::variant<std::string, std::size_t>> path;  // ends with the key
  std::size_t first_line = 0;
  std::size_t second_line = 0;
};

// A SAX handler (json::basic_parser) that remembers the first key given
// twice in one object. Boost.JSON's own parser keeps the last value of a
// duplicate silently; this pass runs over text that already parsed. The
// driver sets `line` before it feeds each line.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  std::size_t line = 1;
  std::optional<DuplicateKey> found;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    value_begins();
    frames_.push_back(Frame{true, {}, {}, 0});
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_array_begin(json::error_code&) {
    value_begins();
    frames_.push_back(Frame{false, {}, {}, 0});
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    Frame& frame = frames_.back();
    auto [it, inserted] = frame.keys.emplace(key_, line);
    if (!inserted && !found) {
      DuplicateKey dup;
      for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
        if (frames_[i].object) {
          dup.path.emplace_back(frames_[i].key);
        } else {
          dup.path.emplace_back(frames_[i].count - 1);
        }
      }
      dup.path.emplace_back(key_);
      dup.first_line = it->second;
      dup.second_line = line;
      found = std::move(dup);
    }
    frame.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return scalar(); }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return scalar(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return scalar(); }
  bool on_double(double, json::string_view, json::error_code&) { return scalar(); }
  bool on_bool(bool, json::error_code&) { return scalar(); }
  bool on_null(json::error_code&) { return scalar(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool object;
    std::map<std::string, std::size_t, std::less<>> keys;  // key -> line of its first use
    std::string key;                                       // objects: the current member
    std::size_t count;                                     // arrays: elements begun so far
  };
  // An array element begins: count it.
  void value_begins() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().count;
  }
  bool scalar() {
    value_begins();
    return true;
  }

  std::vector<Frame> frames_;
  std::string key_;
};

// The first key given twice in one object of `text`, which must be valid
// JSON; nullopt when there is none.
std::optional<DuplicateKey> find_duplicate_key(std::string_view text) {
  json::basic_parser<DuplicateKeyFinder> parser(json::parse_options{});
  json::error_code ec;
  std::size_t start = 0;
  while (start < text.size() && !ec) {
    std::size_t end = text.find('\n', start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    // A key cannot span lines (JSON strings hold no raw line breaks), so the
    // line being fed is the line each key ends on.
    parser.write_some(true, text.data() + start, end - start, ec);
    ++parser.handler().line;
    start = end;
  }
  if (!ec) parser.write_some(false, nullptr, 0, ec);
  if (ec) return std::nullopt;  // not reached for text that parsed
  return std::move(parser.handler().found);
}

// The key path of `dup` as messages name it: "a.b", "stages.<name>.params.x"
// for a stage with a name in `document`, "[i]" for other array elements.
std::string duplicate_path(const DuplicateKey& dup, const json::value& document) {
  std::string out;
  const json::value* at = &document;
  for (std::size_t i = 0; i < dup.path.size(); ++i) {
    const auto& segment = dup.path[i];
    if (const auto* key = std::get_if<std::string>(&segment)) {
      if (!out.empty()) out += '.';
      out += printable_key(*key);
      const json::object* obj = at ? at->if_object() : nullptr;
      at = obj ? obj->if_contains(*key) : nullptr;
      continue;
    }
    const std::size_t index = std::get<std::size_t>(segment);
    const json::array* arr = at ? at->if_array() : nullptr;
    at = arr && index < arr->size() ? &(*arr)[index] : nullptr;
    const json::object* element = at ? at->if_object() : nullptr;
    const json::value* name = element ? element->if_contains("name") : nullptr;
    if (out == "stages" && name && name->is_string() && is_valid_name(name->get_string())) {
      out += "." + std::string(name->get_string());
    } else {
      out += "[" + std::to_string(index) + "]";
    }
  }
  return out;
}

}  // namespace

boost::json::value parse_json_file(const std::filesystem::path& file) {
  std::error_code ec;
  auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status))
    throw Error(ErrorCode::not_found, file.string() + ": file not found");
  if (std::filesystem::is_directory(status))
    throw Error(ErrorCode::io, file.string() + ": is a folder, expected a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::io, file.string() + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::io, file.string() + ": read failed");
  const std::string text = std::move(buffer).str();

  json::stream_parser parser;
  json::error_code jec;
  std::size_t offset = parser.write(text.data(), text.size(), jec);
  if (!jec) {
    parser.finish(jec);
    offset = text.size();
  }
  if (jec) {
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    std::string reason = jec.message();
    if (offset < text.size()) {
      reason += " at " + in_quotes(std::string_view(&text[offset], 1));
    } else {
      reason += " (unexpected end of file)";
    }
    config_error(file.string() + ":" + std::to_string(line) + ":" +
                 std::to_string(offset - line_start + 1) + ": malformed JSON: " + reason);
  }
  json::value document = parser.release();
  if (auto dup = find_duplicate_key(text)) {
    config_error(file.string() + ": " + duplicate_path(*dup, document) +
                 ": key given twice (line " + std::to_string(dup->first_line) + " and line " +
                 std::to_string(dup->second_line) + "); keep one");
  }
  return document;
}

// ---------------------------------------------------------------------------

const Provenance* Config::provenance(std::string_view key_path) const {
  for (const auto& [path, provenance] : explain_)
    if (path == key_path) return &provenance;
  return nullptr;
}

const StageConfig* Config::find_stage(std::string_view name) const noexcept {
  for (const auto& stage : stages)
    if (stage.name == name) return &stage;
  return nullptr;
}

std::filesystem::path Config::resolve_path(std::string_view path) const {
  std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal();
  return (base_dir / p).lexically_normal();
}

// ---------------------------------------------------------------------------

namespace {
json::object require_object(json::value value, const std::string& source) {
  if (!value.is_object())
    config_error(source + ": expected a JSON object at the top level, found " +
                 std::string(kind_name(value)));
  return std::move(value.get_object());
}
}  // namespace

ConfigResolver::ConfigResolver() {
  auto file = default_defaults_file();
  try {
    set_defaults_file(file);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    throw Error(ErrorCode::not_found,
                file.string() +
                    ": bdp defaults file not found (set BDP_DEFAULTS to its path, or reinstall)");
  }
}

std::filesystem::path ConfigResolver::default_defaults_file() {
  if (const char* env = std::getenv("BDP_DEFAULTS"); env && *env) return env;
  std::filesystem::path library = boost::dll::this_line_location();
  return (library.parent_path() / ".." / "share" / "bdp" / "defaults.json").lexically_normal();
}

void ConfigResolver::set_defaults_file(const std::filesystem::path& file) {
  global_ = Layer{require_object(parse_json_file(file), file.string()), file.string()};
}

void ConfigResolver::set_defaults(boost::json::object document, std::string source) {
  global_ = Layer{std::move(document), std::move(source)};
}

void ConfigResolver::set_project_file(const std::filesystem::path& file) {
  auto document = require_object(parse_json_file(file), file.string());
  project_ = Layer{std::move(document), file.string()};
  project_file_ = std::filesystem::absolute(file).lexically_normal();
  base_dir_ = project_file_.parent_path();
}

void ConfigResolver::set_project(boost::json::object document, std::string source,
                                 std::filesystem::path base_dir) {
  project_ = Layer{std::move(document), std::move(source)};
  project_file_.clear();
  base_dir_ = absolute_dir(base_dir);
}

void ConfigResolver::add_override(std::string_view assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    config_error("--set: malformed override " + in_quotes(assignment) +
                 ": expected key.path=value");
  std::string key(assignment.substr(0, eq));
  std::string_view text = assignment.substr(eq + 1);
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) value = json::string(text);
  add_override(std::move(key), std::move(value), "--set");
}

void ConfigResolver::add_override(std::string key_path, boost::json::value value,
                                  std::string source) {
  auto segments = split_path(key_path);
  if (key_path.empty() ||
      std::any_of(segments.begin(), segments.end(), [](const auto& s) { return s.empty(); }))
    config_error(source + ": malformed override key " + in_quotes(key_path) +
                 ": expected dot-separated keys such as storage_strategy.mode");
  overrides_.emplace_back(std::move(key_path), std::move(value));
  override_sources_.push_back(std::move(source));
}

Config ConfigResolver::resolve() const {
  Config config;
  json::object doc;
  ProvNode root;

  // Global and project layers: each checked on its own, then merged.
  Validator(false, global_.source, nullptr).document(global_.document);
  merge_root(doc, root, global_.document, Provenance{ConfigLayer::global, global_.source});
  if (project_) {
    Validator(false, project_->source, nullptr).document(project_->document);
    merge_root(doc, root, project_->document, Provenance{ConfigLayer::project, project_->source});
  }

  // Runtime overrides, in the order given.
  for (std::size_t i = 0; i < overrides_.size(); ++i) {
    const auto& [key, value] = overrides_[i];
    const auto& source = override_sources_[i];
    Provenance p{ConfigLayer::runtime, source};
    auto segments = split_path(key);
    if (segments[0] == "stages" && segments.size() > 1) {
      // "stages.<name>.rest": the longest stage name that matches, so stage
      // names containing dots can be addressed too.
      std::string rest = key.substr(std::string_view("stages.").size());
      const json::array* stages = stages_of(doc);
      std::vector<std::string> names;
      std::size_t found = 0;
      std::string name;
      if (stages) {
        for (std::size_t s = 0; s < stages->size(); ++s) {
          auto n = stage_name_at(*stages, s);
          names.push_back(n);
          bool matches = rest == n || (rest.size() > n.size() &&
                                       rest.compare(0, n.size(), n) == 0 && rest[n.size()] == '.');
          if (matches && n.size() > name.size()) {
            name = n;
            found = s;
          }
        }
      }
      if (name.empty()) {
        config_error(source + ": " + printable_key(key) + ": no stage named " +
                     in_quotes(split_path(rest)[0]) +
                     " (stages: " + (names.empty() ? std::string("none") : join(names)) + ")");
      }
      std::vector<std::string> sub =
          rest.size() > name.size() ? split_path(std::string_view(rest).substr(name.size() + 1))
                                    : std::vector<std::string>{};
      json::value partial = nest(sub, 0, value);
      Validator(false, source, nullptr).partial_stage(partial, "stages." + name);
      auto& stage = doc["stages"].get_array()[found].get_object();
      merge_stage(stage, root.child("stages").children[found], partial.get_object(), p);
    } else {
      json::value partial = nest(segments, 0, value);
      Validator(false, source, nullptr).document(partial.get_object());
      merge_root(doc, root, partial.get_object(), p);
    }
    config.runtime_overrides[key] = value;
  }

  LegacyMapper{doc, root, config.warnings}.run();

  // Cross references over the merged document: stage order and names after
  // overrides, backends named by storage settings, backends' plugins.
  Validator(true, project_ ? project_->source : global_.source, &root).document(doc);

  // The typed view.
  config.file = project_file_;
  config.base_dir = absolute_dir(base_dir_);
  config.project = string_member(doc, "project");
  config.description = string_member(doc, "description");
  if (const auto* v = doc.if_contains("plugin_paths"))
    for (const auto& p : strings_of(*v)) config.plugin_paths.push_back(config.resolve_path(p));

  StorageStrategy& strategy = config.strategy;
  json::object* strategy_doc = nullptr;
  if (auto* v = doc.if_contains("storage_strategy")) strategy_doc = &v->get_object();
  if (strategy_doc) {
    if (const auto* v = strategy_doc->if_contains("mode"))
      strategy.mode = parse_storage_mode(v->get_string(), "storage_strategy.mode");
    if (const auto* v = strategy_doc->if_contains("persist_intermediate_results"))
      strategy.persist_intermediate_results = v->get_bool();
    if (const auto* v = strategy_doc->if_contains("stages_to_persist"))
      strategy.stages_to_persist = strings_of(*v);
    if (const auto* v = strategy_doc->if_contains("cleanup_policy"))
      strategy.cleanup_policy =
          parse_cleanup_policy(v->get_string(), "storage_strategy.cleanup_policy");
    if (const auto* v = strategy_doc->if_contains("backend"))
      strategy.backend = std::string(v->get_string());
    if (const auto* v = strategy_doc->if_contains("write_queue_bytes"))
      strategy.write_queue_bytes = to_uint64(*v);
    if (const auto* v = strategy_doc->if_contains("keep_last_processes"))
      strategy.keep_last_processes = to_uint64(*v);
    if (const auto* v = strategy_doc->if_contains("max_age"))
      strategy.max_age_seconds = parse_duration(v->get_string(), "storage_strategy.max_age");
    if (auto* v = strategy_doc->if_contains("max_memory_bytes")) {
      strategy.max_memory_bytes = to_uint64(*v);
      if (v->is_double()) {  // 1e9 is shown as 1000000000, like an integer from the parser
        if (strategy.max_memory_bytes <= std::numeric_limits<std::int64_t>::max())
          *v = static_cast<std::int64_t>(strategy.max_memory_bytes);
        else
          *v = strategy.max_memory_bytes;
      }
    }
  }

  if (const auto* v = doc.if_contains("backends")) {
    for (const auto& member : v->get_object()) {
      BackendConfig backend;
      backend.name = std::string(member.key());
      backend.settings = member.value().get_object();
      backend.plugin = string_member(backend.settings, "plugin");
      config.backends.emplace(backend.name, std::move(backend));
    }
  }

  // Where a strategy value came from; a built-in default when no layer set it.
  const Provenance builtin{ConfigLayer::global, "built-in default"};
  const ProvNode* strategy_node = root.find("storage_strategy");
  auto strategy_prov = [&](std::string_view key) -> const Provenance* {
    const ProvNode* n = strategy_node ? strategy_node->find(key) : nullptr;
    return n && n->leaf ? &*n->leaf : nullptr;
  };

  if (auto* v = doc.if_contains("stages")) {
    auto& stages = v->get_array();
    ProvNode& stages_node = root.child("stages");
    for (std::size_t i = 0; i < stages.size(); ++i) {
      auto& obj = stages[i].get_object();
      ProvNode& node = stages_node.children[i];
      StageConfig stage;
      stage.index = i;
      stage.name = string_member(obj, "name");
      stage.processor = string_member(obj, "processor");
      if (const auto* in = obj.if_contains("inputs")) stage.inputs = strings_of(*in);
      if (const auto* params = obj.if_contains("params")) stage.params = params->get_object();

      const json::object* block = nullptr;
      if (const auto* s = obj.if_contains("storage")) block = &s->get_object();
      const ProvNode* block_node = node.find("storage");
      auto stage_value =
          [&](std::string_view key) -> std::pair<const json::value*, const Provenance*> {
        const json::value* value = block ? block->if_contains(key) : nullptr;
        const ProvNode* n = block_node ? block_node->find(key) : nullptr;
        return {value, n && n->leaf ? &*n->leaf : nullptr};
      };
      // runtime stage value > runtime strategy value > stage block > strategy.
      auto pick = [&](std::string_view key) -> std::pair<const json::value*, Provenance> {
        auto [sv, sp] = stage_value(key);
        const Provenance* gp = strategy_prov(key);
        if (sv && sp && sp->layer == ConfigLayer::runtime) return {sv, *sp};
        if (gp && gp->layer == ConfigLayer::runtime) return {nullptr, *gp};
        if (sv) return {sv, sp ? *sp : builtin};
        return {nullptr, gp ? *gp : builtin};
      };

      auto [backend_value, backend_prov] = pick("backend");
      stage.plan.backend =
          backend_value ? std::string(backend_value->get_string()) : strategy.backend;
      auto [cleanup_value, cleanup_prov] = pick("cleanup_policy");
      stage.plan.cleanup_policy = cleanup_value
                                      ? parse_cleanup_policy(cleanup_value->get_string(), "")
                                      : strategy.cleanup_policy;

      auto [keep_value, keep_prov] = pick("keep_last_processes");
      stage.plan.keep_last_processes =
          keep_value ? to_uint64(*keep_value) : strategy.keep_last_processes;
      auto [age_value, age_prov] = pick("max_age");
      stage.plan.max_age_seconds =
          age_value ? parse_duration(age_value->get_string(), "") : strategy.max_age_seconds;

      Provenance persist_prov;
      if (strategy.mode == StorageMode::memory) {
        stage.plan.persist = false;
        const auto* p = strategy_prov("mode");
        persist_prov = p ? *p : builtin;
      } else if (auto [pv, pp] = stage_value("persist");
                 pv && (!strategy_prov("stages_to_persist") ||
                        strategy_prov("stages_to_persist")->layer != ConfigLayer::runtime ||
                        (pp && pp->layer == ConfigLayer::runtime))) {
        // The stage's own setting, unless a runtime stages_to_persist beats it.
        stage.plan.persist = pv->get_bool();
        persist_prov = pp ? *pp : builtin;
      } else {
        const auto& list = strategy.stages_to_persist;
        stage.plan.persist =
            list.empty() || std::find(list.begin(), list.end(), stage.name) != list.end();
        const auto* p = strategy_prov("stages_to_persist");
        persist_prov = p ? *p : builtin;
      }

      // The effective storage replaces the stage's block in the document.
      json::object effective;
      effective["persist"] = stage.plan.persist;
      effective["backend"] = stage.plan.backend;
      effective["cleanup_policy"] = to_string(stage.plan.cleanup_policy);
      if (keep_value || strategy.keep_last_processes)
        effective["keep_last_processes"] = stage.plan.keep_last_processes;
      if (age_value || strategy.max_age_seconds)
        effective["max_age"] =
            age_value ? age_value->get_string() : strategy_doc->at("max_age").get_string();
      obj["storage"] = std::move(effective);
      ProvNode& storage_node = node.child("storage");
      storage_node = ProvNode{};
      storage_node.child("persist").leaf = persist_prov;
      storage_node.child("backend").leaf = backend_prov;
      storage_node.child("cleanup_policy").leaf = cleanup_prov;
      if (keep_value || strategy.keep_last_processes)
        storage_node.child("keep_last_processes").leaf = keep_prov;
      if (age_value || strategy.max_age_seconds) storage_node.child("max_age").leaf = age_prov;

      config.stages.push_back(std::move(stage));
    }
  }

  walk_root(doc, root, config.explain_);
  config.document_ = std::move(doc);
  return config;
}

}  // namespace bdp
