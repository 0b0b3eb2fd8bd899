// ConfigResolver: layering, provenance, --set overrides, schema errors and
// the per-stage storage plan.
#include <bdp/config.hpp>
#include <bdp/sdk/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <cstdlib>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

// Printing for BOOST_TEST.
namespace bdp {
inline std::ostream& operator<<(std::ostream& out, StorageMode mode) {
  return out << to_string(mode);
}
inline std::ostream& operator<<(std::ostream& out, CleanupPolicy policy) {
  return out << to_string(policy);
}
}  // namespace bdp

namespace json = boost::json;
using bdp::CleanupPolicy;
using bdp::ConfigLayer;
using bdp::ConfigResolver;
using bdp::ErrorCode;
using bdp::StorageMode;
using bdp::test::TempDir;
using bdp::test::write_file;

namespace {

std::filesystem::path source_defaults() {
  return bdp::test::source_dir() / "config/defaults.json";
}

// Every test resolver starts from the shipped defaults file, never from the
// install lookup (which has one test of its own).
struct DefaultsFromSource {
  DefaultsFromSource() { ::setenv("BDP_DEFAULTS", source_defaults().c_str(), 1); }
};

ConfigResolver make_resolver() {
  ConfigResolver resolver;
  resolver.set_defaults_file(source_defaults());
  return resolver;
}

// Runs `f` and returns the message of the bdp::Error it throws, checking its
// code and that the message is one line.
std::string error_of(const std::function<void()>& f, ErrorCode code = ErrorCode::config) {
  try {
    f();
  } catch (const bdp::Error& e) {
    BOOST_TEST(bdp::to_string(e.code()) == bdp::to_string(code), "message: " << e.what());
    std::string message = e.what();
    BOOST_TEST(message.find('\n') == std::string::npos, "message: " << message);
    return message;
  }
  BOOST_FAIL("expected a bdp::Error(" << bdp::to_string(code) << ")");
  return {};
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

#define CHECK_CONTAINS(text, part) \
  BOOST_TEST(contains(text, part), "\"" << (text) << "\" lacks \"" << (part) << "\"")

// A project folder with proj.json.
struct Project {
  TempDir dir;
  std::filesystem::path file;

  explicit Project(const std::string& text) : file(dir / "proj.json") { write_file(file, text); }

  bdp::Config resolve(const std::vector<std::string>& sets = {}) const {
    auto resolver = make_resolver();
    resolver.set_project_file(file);
    for (const auto& s : sets) resolver.add_override(s);
    return resolver.resolve();
  }
  // The message of the config error resolving this project raises; it must
  // name the file and `key_path`.
  std::string error(std::string_view key_path, const std::vector<std::string>& sets = {}) const {
    std::string message = error_of([&] { resolve(sets); });
    CHECK_CONTAINS(message, file.string() + ": ");
    CHECK_CONTAINS(message, ": " + std::string(key_path) + ": ");
    return message;
  }
  // Same for an error that an override causes: names "--set" and `key_path`.
  std::string set_error(std::string_view key_path, const std::vector<std::string>& sets) const {
    std::string message = error_of([&] { resolve(sets); });
    CHECK_CONTAINS(message, "--set: " + std::string(key_path) + ": ");
    return message;
  }
};

// Three stages, a csv backend, stage "recent" with its own storage block.
const std::string kPipeline = R"({
  "project": "orders-demo",
  "storage_strategy": {"mode": "hybrid", "backend": "sqlite", "stages_to_persist": []},
  "backends": {
    "sqlite": {"plugin": "soci", "connection": "sqlite3://db=bdp.sqlite"},
    "csv": {"plugin": "csv", "root": "bdp-data/csv"}
  },
  "stages": [
    {"name": "load", "processor": "read_csv", "params": {"path": "data/orders.csv"}},
    {"name": "recent", "processor": "filter", "inputs": ["load"],
     "params": {"column": "year", "op": ">=", "value": 2024},
     "storage": {"persist": true, "backend": "csv"}},
    {"name": "totals", "processor": "aggregate", "inputs": ["recent"],
     "params": {"group_by": ["region"], "sum": ["amount"], "count": true}}
  ]
})";

// A minimal project with stages "load" and "recent" and `extra` members.
std::string two_stages(const std::string& strategy = R"({"mode": "memory"})") {
  return R"({"storage_strategy": )" + strategy + R"(,
    "backends": {"csv": {"plugin": "csv", "root": "out"}},
    "stages": [
      {"name": "load", "processor": "read_csv", "params": {"path": "x.csv"}},
      {"name": "recent", "processor": "filter", "inputs": ["load"], "params": {"value": 1}}
    ]})";
}

const bdp::Provenance& prov(const bdp::Config& config, std::string_view path) {
  const bdp::Provenance* p = config.provenance(path);
  BOOST_TEST_REQUIRE(p != nullptr, "no provenance for " << path);
  return *p;
}

std::string layer_of(const bdp::Config& config, std::string_view path) {
  return std::string(bdp::to_string(prov(config, path).layer));
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(DefaultsFromSource);

BOOST_AUTO_TEST_SUITE(config)

// ---------------------------------------------------------------------------
// Layering and provenance

BOOST_AUTO_TEST_CASE(layers_merge_and_every_value_remembers_its_layer) {
  Project project(kPipeline);
  auto config = project.resolve({"stages.recent.params.value=2025"});
  const std::string file = project.file.string();

  // global: untouched by the project
  BOOST_TEST(layer_of(config, "storage_strategy.max_memory_bytes") == "global");
  BOOST_TEST(prov(config, "storage_strategy.max_memory_bytes").source ==
             source_defaults().string());
  BOOST_TEST(layer_of(config, "backends.memory.plugin") == "global");
  // project
  BOOST_TEST(layer_of(config, "project") == "project");
  BOOST_TEST(prov(config, "project").source == file);
  BOOST_TEST(layer_of(config, "storage_strategy.mode") == "project");
  BOOST_TEST(layer_of(config, "stages.recent.params.column") == "project");
  // stage: the stage's own storage block
  BOOST_TEST(layer_of(config, "stages.recent.storage.persist") == "stage");
  BOOST_TEST(prov(config, "stages.recent.storage.persist").source == file);
  BOOST_TEST(layer_of(config, "stages.recent.storage.backend") == "stage");
  // runtime
  BOOST_TEST(layer_of(config, "stages.recent.params.value") == "runtime");
  BOOST_TEST(prov(config, "stages.recent.params.value").source == "--set");

  BOOST_TEST(config.project == "orders-demo");
  BOOST_TEST(config.strategy.mode == StorageMode::hybrid);
  BOOST_TEST(config.strategy.backend == "sqlite");
  BOOST_TEST(config.strategy.cleanup_policy == CleanupPolicy::keep_latest);  // from global
  BOOST_TEST(config.backends.size() == 3u);
  BOOST_TEST(config.backends.at("csv").plugin == "csv");
  BOOST_TEST(json::serialize(config.backends.at("csv").settings) ==
             R"({"plugin":"csv","root":"bdp-data/csv"})");

  BOOST_TEST_REQUIRE(config.stages.size() == 3u);
  const auto* recent = config.find_stage("recent");
  BOOST_TEST_REQUIRE(recent != nullptr);
  BOOST_TEST(recent->index == 1u);
  BOOST_TEST(recent->processor == "filter");
  BOOST_TEST((recent->inputs == std::vector<std::string>{"load"}));
  BOOST_TEST(recent->params.at("value").as_int64() == 2025);
  BOOST_TEST(recent->params.at("column").as_string() == "year");
  BOOST_TEST(config.find_stage("nope") == nullptr);

  const auto& doc = config.document();
  BOOST_TEST(doc.at("stages").as_array()[1].at("params").at("value").as_int64() == 2025);
  BOOST_TEST(doc.at("storage_strategy").at("max_memory_bytes").as_int64() == 0);
  BOOST_TEST(json::serialize(config.runtime_overrides) == R"({"stages.recent.params.value":2025})");
}

BOOST_AUTO_TEST_CASE(explain_lists_leaves_in_document_order) {
  Project project(kPipeline);
  auto config = project.resolve({"storage_strategy.cleanup_policy=keep_all"});
  const auto& entries = config.explain();
  std::vector<std::string> paths;
  for (const auto& [path, p] : entries) paths.push_back(path);

  auto index = [&](std::string_view path) {
    auto it = std::find(paths.begin(), paths.end(), path);
    BOOST_TEST_REQUIRE((it != paths.end()), "explain lacks " << path);
    return it - paths.begin();
  };
  BOOST_TEST(paths.front() == "project");
  BOOST_TEST(index("project") < index("storage_strategy.mode"));
  BOOST_TEST(index("storage_strategy.mode") < index("storage_strategy.cleanup_policy"));
  BOOST_TEST(index("stages.load.params.path") < index("stages.recent.params.column"));
  BOOST_TEST(index("stages.recent.params.column") < index("stages.totals.processor"));
  // arrays of scalars are leaves
  index("storage_strategy.stages_to_persist");
  index("stages.totals.params.group_by");
  BOOST_TEST(config.provenance("stages.totals.params.group_by[0]") == nullptr);
  // every stage's effective storage is listed
  index("stages.load.storage.persist");
  index("stages.totals.storage.cleanup_policy");
  BOOST_TEST(layer_of(config, "storage_strategy.cleanup_policy") == "runtime");
  // provenance() finds exactly the paths explain() lists
  for (const auto& [path, p] : entries) BOOST_TEST(config.provenance(path) == &p);
  BOOST_TEST(config.provenance("storage_strategy") == nullptr);
  BOOST_TEST(config.provenance("no.such.key") == nullptr);
}

BOOST_AUTO_TEST_CASE(objects_deep_merge_and_arrays_replace) {
  TempDir dir;
  auto resolver = make_resolver();
  resolver.set_defaults(json::parse(R"({
      "plugin_paths": ["/opt/global-plugins"],
      "storage_strategy": {"mode": "persist", "stages_to_persist": ["a", "b"], "backend": "csv"},
      "backends": {"csv": {"plugin": "csv", "root": "r", "options": {"x": 1, "y": 2}}}
    })")
                            .as_object(),
                        "site-defaults");
  resolver.set_project(json::parse(R"({
      "plugin_paths": ["plugins", "/abs/plugins"],
      "storage_strategy": {"stages_to_persist": ["c"]},
      "backends": {"csv": {"options": {"y": 3}}}
    })")
                           .as_object(),
                       "in-code", dir.path());
  auto config = resolver.resolve();

  BOOST_TEST(config.file.empty());
  BOOST_TEST(config.base_dir == dir.path());
  BOOST_TEST_REQUIRE(config.plugin_paths.size() == 2u);
  BOOST_TEST(config.plugin_paths[0] == dir.path() / "plugins");
  BOOST_TEST(config.plugin_paths[1] == std::filesystem::path("/abs/plugins"));
  BOOST_TEST(config.strategy.mode == StorageMode::persist);
  BOOST_TEST((config.strategy.stages_to_persist == std::vector<std::string>{"c"}));
  BOOST_TEST(json::serialize(config.backends.at("csv").settings) ==
             R"({"plugin":"csv","root":"r","options":{"x":1,"y":3}})");
  BOOST_TEST(prov(config, "backends.csv.options.x").source == "site-defaults");
  BOOST_TEST(layer_of(config, "backends.csv.options.y") == "project");
  BOOST_TEST(prov(config, "backends.csv.options.y").source == "in-code");
  BOOST_TEST(layer_of(config, "plugin_paths") == "project");
}

BOOST_AUTO_TEST_CASE(project_file_sets_base_dir_and_paths_resolve_against_it) {
  TempDir dir;
  auto file = dir / "sub/proj.json";
  write_file(file, R"({"plugin_paths": ["../plugins"]})");
  auto resolver = make_resolver();
  resolver.set_project_file(file);
  auto config = resolver.resolve();
  BOOST_TEST(config.file == file);
  BOOST_TEST(config.base_dir == dir.path() / "sub");
  BOOST_TEST(config.base_dir.is_absolute());
  BOOST_TEST_REQUIRE(config.plugin_paths.size() == 1u);
  BOOST_TEST(config.plugin_paths[0] == dir.path() / "plugins");
  BOOST_TEST(config.resolve_path("data/x.csv") == dir.path() / "sub/data/x.csv");
  BOOST_TEST(config.resolve_path("/tmp/y.csv") == std::filesystem::path("/tmp/y.csv"));
  BOOST_TEST(config.project == "bdp");  // from the defaults
}

// ---------------------------------------------------------------------------
// Runtime overrides

BOOST_AUTO_TEST_CASE(set_values_parse_as_json_else_as_strings) {
  Project project(two_stages());
  auto config = project.resolve({
      "stages.recent.params.number=5",
      "stages.recent.params.flag=true",
      "stages.recent.params.list=[1,2]",
      "stages.recent.params.word=hello world",
      "stages.recent.params.eq=b=c",
      "stages.recent.params.quoted=\"5\"",
      "stages.recent.params.empty=",
      "stages.recent.params.object={\"k\": null}",
  });
  const auto& params = config.find_stage("recent")->params;
  BOOST_TEST(params.at("number").as_int64() == 5);
  BOOST_TEST(params.at("flag").as_bool() == true);
  BOOST_TEST(json::serialize(params.at("list")) == "[1,2]");
  BOOST_TEST(params.at("word").as_string() == "hello world");
  BOOST_TEST(params.at("eq").as_string() == "b=c");
  BOOST_TEST(params.at("quoted").as_string() == "5");
  BOOST_TEST(params.at("empty").as_string() == "");
  BOOST_TEST(params.at("object").at("k").is_null());
  BOOST_TEST(params.at("value").as_int64() == 1);  // the rest of params is kept
  BOOST_TEST(config.runtime_overrides.at("stages.recent.params.eq").as_string() == "b=c");
  BOOST_TEST(config.runtime_overrides.size() == 8u);
  BOOST_TEST(layer_of(config, "stages.recent.params.list") == "runtime");
  BOOST_TEST(layer_of(config, "stages.recent.params.object.k") == "runtime");
}

BOOST_AUTO_TEST_CASE(set_top_level_keys_and_api_overrides) {
  Project project(two_stages());
  auto resolver = make_resolver();
  resolver.set_project_file(project.file);
  resolver.add_override("storage_strategy.mode=persist");
  resolver.add_override("storage_strategy.max_memory_bytes=1048576");
  resolver.add_override("description", json::value("from code"));
  resolver.add_override("backends.csv.root", json::value("elsewhere"), "tool");
  auto config = resolver.resolve();
  BOOST_TEST(config.strategy.mode == StorageMode::persist);
  BOOST_TEST(config.strategy.max_memory_bytes == 1048576u);
  BOOST_TEST(config.description == "from code");
  BOOST_TEST(prov(config, "description").source == "api");
  BOOST_TEST(config.backends.at("csv").settings.at("root").as_string() == "elsewhere");
  BOOST_TEST(prov(config, "backends.csv.root").source == "tool");
  BOOST_TEST(layer_of(config, "backends.csv.plugin") == "project");
  BOOST_TEST(config.runtime_overrides.at("storage_strategy.mode").as_string() == "persist");
}

BOOST_AUTO_TEST_CASE(later_overrides_win) {
  Project project(two_stages());
  auto config = project.resolve({"stages.load.params.path=a.csv", "stages.load.params.path=b.csv"});
  BOOST_TEST(config.find_stage("load")->params.at("path").as_string() == "b.csv");
  BOOST_TEST(config.runtime_overrides.at("stages.load.params.path").as_string() == "b.csv");
}

BOOST_AUTO_TEST_CASE(set_addresses_stage_by_name_even_with_dots_in_names) {
  Project project(R"({"stages": [
      {"name": "load", "processor": "read_csv"},
      {"name": "load.v2", "processor": "read_csv"}
    ]})");
  auto config = project.resolve({"stages.load.v2.params.x=1", "stages.load.params.x=2"});
  BOOST_TEST(config.find_stage("load.v2")->params.at("x").as_int64() == 1);
  BOOST_TEST(config.find_stage("load")->params.at("x").as_int64() == 2);
  BOOST_TEST(layer_of(config, "stages.load.v2.params.x") == "runtime");
}

BOOST_AUTO_TEST_CASE(set_can_rename_a_stage) {
  Project project(two_stages());
  auto config = project.resolve({"stages.recent.name=fresh", "stages.fresh.params.value=7"});
  BOOST_TEST(config.find_stage("recent") == nullptr);
  BOOST_TEST_REQUIRE(config.find_stage("fresh") != nullptr);
  BOOST_TEST(config.find_stage("fresh")->params.at("value").as_int64() == 7);
  BOOST_TEST(layer_of(config, "stages.fresh.name") == "runtime");
  BOOST_TEST(layer_of(config, "stages.fresh.processor") == "project");
}

BOOST_AUTO_TEST_CASE(set_replaces_the_whole_stage_list) {
  Project project(two_stages());
  auto config = project.resolve({R"(stages=[{"name": "only", "processor": "generate"}])"});
  BOOST_TEST_REQUIRE(config.stages.size() == 1u);
  BOOST_TEST(config.stages[0].name == "only");
  BOOST_TEST(layer_of(config, "stages.only.processor") == "runtime");
}

BOOST_AUTO_TEST_CASE(set_for_missing_stage_names_it_and_lists_the_stages) {
  Project project(two_stages());
  auto message = project.set_error("stages.recnt.params.value", {"stages.recnt.params.value=3"});
  CHECK_CONTAINS(message, "no stage named \"recnt\"");
  CHECK_CONTAINS(message, "load, recent");
}

BOOST_AUTO_TEST_CASE(set_for_unknown_key_or_wrong_type_is_an_error) {
  Project project(two_stages());
  auto message = project.set_error("storage_strategy.mdoe", {"storage_strategy.mdoe=memory"});
  CHECK_CONTAINS(message, "unknown key");
  message =
      project.set_error("stages.recent.storage.persist", {"stages.recent.storage.persist=yes"});
  CHECK_CONTAINS(message, "expected a boolean, found a string");
  message = project.set_error("stages.recent.paramz", {"stages.recent.paramz.value=1"});
  CHECK_CONTAINS(message, "unknown key");
  message = project.set_error("storage_strategy.mode", {"storage_strategy.mode=disk"});
  CHECK_CONTAINS(message, "memory, persist, hybrid");
  message = project.set_error("project", {"project.name=x"});
  CHECK_CONTAINS(message, "expected a string, found an object");
  message = project.set_error("stages.recent", {"stages.recent=5"});
  CHECK_CONTAINS(message, "expected an object, found a number");
}

BOOST_AUTO_TEST_CASE(set_errors_found_after_merging_name_the_override) {
  Project project(two_stages());
  auto message =
      project.set_error("storage_strategy.backend", {"storage_strategy.backend=nowhere"});
  CHECK_CONTAINS(message, "\"nowhere\" is not defined under \"backends\"");
  message = project.set_error("stages.load.inputs", {"stages.load.inputs=[\"recent\"]"});
  CHECK_CONTAINS(message, "later stage");
  message = project.set_error("stages[1].name", {"stages.recent.name=load"});
  CHECK_CONTAINS(message, "duplicate stage name \"load\"");
  message = project.set_error("backends.extra.plugin", {"backends.extra.root=x"});
  CHECK_CONTAINS(message, "missing required key");
}

BOOST_AUTO_TEST_CASE(malformed_assignments_are_refused) {
  auto resolver = make_resolver();
  auto message = error_of([&] { resolver.add_override("no-equals-sign"); });
  CHECK_CONTAINS(message, "--set");
  CHECK_CONTAINS(message, "no-equals-sign");
  message = error_of([&] { resolver.add_override("=5"); });
  CHECK_CONTAINS(message, "key.path=value");
  message = error_of([&] { resolver.add_override("a..b=5"); });
  CHECK_CONTAINS(message, "\"a..b\"");
  message = error_of([&] { resolver.add_override("stages.=5"); });
  CHECK_CONTAINS(message, "\"stages.\"");
}

// ---------------------------------------------------------------------------
// Schema errors in files: code config, message names the file and key path

BOOST_AUTO_TEST_CASE(unknown_keys_are_errors) {
  auto message = Project(R"({"stagse": []})").error("stagse");
  CHECK_CONTAINS(message, "unknown key");
  CHECK_CONTAINS(message, "storage_strategy");  // lists what is allowed
  message = Project(R"({"storage_strategy": {"mdoe": "memory"}})").error("storage_strategy.mdoe");
  CHECK_CONTAINS(message, "persist_intermediate_results");
  Project(R"({"stages": [{"name": "load", "processor": "read_csv", "param": {}}]})")
      .error("stages.load.param");
  Project(R"({"stages": [{"name": "load", "processor": "p", "storage": {"persists": true}}]})")
      .error("stages.load.storage.persists");
}

BOOST_AUTO_TEST_CASE(a_key_given_twice_is_an_error_naming_the_key_path_and_both_lines) {
  // Boost.JSON keeps the last of two equal keys: the first would be ignored.
  auto message = Project("{\n  \"project\": \"a\",\n  \"project\": \"b\"\n}").error("project");
  CHECK_CONTAINS(message, "key given twice (line 2 and line 3)");

  // Deep inside a stage: the stage is named, as everywhere else.
  message = Project(R"({"stages": [
    {"name": "load", "processor": "read_csv", "params": {"path": "x.csv"}},
    {"name": "recent", "processor": "filter", "inputs": ["load"],
     "params": {"column": "year",
                "value": 1, "op": ">=",
                "value": 2}}]})")
                .error("stages.recent.params.value");
  CHECK_CONTAINS(message, "(line 5 and line 6)");

  // In the free-form backends block, and in the defaults file too.
  message = Project(R"({"backends": {"csv": {"plugin": "csv", "root": "a", "root": "b"}}})")
                .error("backends.csv.root");
  CHECK_CONTAINS(message, "(line 1 and line 1)");
  TempDir dir;
  write_file(dir / "defaults.json", "{\"stages\": [],\n\"stages\": []}");
  message = error_of([&] { bdp::parse_json_file(dir / "defaults.json"); });
  CHECK_CONTAINS(message, (dir / "defaults.json").string() + ": stages: key given twice");

  // Equal keys in different objects are fine.
  Project(R"({"project": "p", "storage_strategy": {"mode": "memory"},
              "backends": {"a": {"plugin": "memory"}, "b": {"plugin": "memory"}}})")
      .resolve();
}

BOOST_AUTO_TEST_CASE(an_empty_project_name_is_an_error_naming_the_file_and_key) {
  auto message = Project(R"({"project": ""})").error("project");
  CHECK_CONTAINS(message, "must not be empty");
  message = Project(R"({"project": "p"})").set_error("project", {"project="});
  CHECK_CONTAINS(message, "must not be empty");
}

BOOST_AUTO_TEST_CASE(a_nul_byte_in_a_key_is_shown_escaped_and_the_message_is_whole) {
  // what() is read as a C string: a raw NUL would end the message there.
  auto message = Project(R"({"a\u0000b": 1})").error("a\\x00b");
  CHECK_CONTAINS(message, "unknown key (allowed: ");
  message = Project(R"({"storage_strategy": {"mo\u0000de\n": "memory"}})")
                .error("storage_strategy.mo\\x00de\\x0a");
  CHECK_CONTAINS(message, "unknown key");

  auto resolver = make_resolver();
  resolver.add_override(std::string("storage_strategy.x\0y=1", 22));
  message = error_of([&] { resolver.resolve(); });
  CHECK_CONTAINS(message, "--set: storage_strategy.x\\x00y: unknown key");
}

BOOST_AUTO_TEST_CASE(free_form_blocks_accept_any_key) {
  auto config = Project(R"({
      "backends": {"csv": {"plugin": "csv", "anything": {"goes": [1, 2]}}},
      "stages": [{"name": "a", "processor": "p", "params": {"whatever": {"x": 1}}}]
    })")
                    .resolve();
  BOOST_TEST(config.backends.at("csv").settings.at("anything").at("goes").as_array().size() == 2u);
  BOOST_TEST(layer_of(config, "backends.csv.anything.goes") == "project");
  BOOST_TEST(layer_of(config, "stages.a.params.whatever.x") == "project");
}

BOOST_AUTO_TEST_CASE(wrong_types_say_expected_and_found) {
  auto message = Project(R"({"storage_strategy": {"persist_intermediate_results": "yes"}})")
                     .error("storage_strategy.persist_intermediate_results");
  CHECK_CONTAINS(message, "expected a boolean, found a string");
  message = Project(R"({"project": 5})").error("project");
  CHECK_CONTAINS(message, "expected a string, found a number");
  message = Project(R"({"description": null})").error("description");
  CHECK_CONTAINS(message, "expected a string, found null");
  message = Project(R"({"plugin_paths": ["ok", 1]})").error("plugin_paths[1]");
  CHECK_CONTAINS(message, "expected a string, found a number");
  message = Project(R"({"plugin_paths": "dir"})").error("plugin_paths");
  CHECK_CONTAINS(message, "expected an array of strings, found a string");
  message = Project(R"({"storage_strategy": []})").error("storage_strategy");
  CHECK_CONTAINS(message, "expected an object, found an array");
  message = Project(R"({"storage_strategy": {"stages_to_persist": [true]}})")
                .error("storage_strategy.stages_to_persist[0]");
  CHECK_CONTAINS(message, "found a boolean");
  message = Project(R"({"storage_strategy": {"max_memory_bytes": -1}})")
                .error("storage_strategy.max_memory_bytes");
  CHECK_CONTAINS(message, "expected a non-negative integer, found -1");
  message = Project(R"({"storage_strategy": {"max_memory_bytes": 1.5}})")
                .error("storage_strategy.max_memory_bytes");
  CHECK_CONTAINS(message, "expected a non-negative integer, found a fractional number");
  message = Project(R"({"storage_strategy": {"max_memory_bytes": "1GB"}})")
                .error("storage_strategy.max_memory_bytes");
  CHECK_CONTAINS(message, "expected a non-negative integer, found a string");
  message = Project(R"({"stages": {}})").error("stages");
  CHECK_CONTAINS(message, "expected an array, found an object");
  message = Project(R"({"stages": [5]})").error("stages[0]");
  CHECK_CONTAINS(message, "expected an object, found a number");
  message = Project(R"({"stages": [{"name": "a", "processor": "p", "params": []}]})")
                .error("stages.a.params");
  CHECK_CONTAINS(message, "expected an object, found an array");
  message = Project(R"({"stages": [{"name": "a", "processor": "p", "inputs": "b"}]})")
                .error("stages.a.inputs");
  CHECK_CONTAINS(message, "expected an array of strings");
  message = Project(R"({"stages": [{"name": "a", "processor": 3}]})").error("stages.a.processor");
  CHECK_CONTAINS(message, "expected a string, found a number");
  message = Project(R"({"stages": [{"name": "a", "processor": "p", "storage": {"persist": 1}}]})")
                .error("stages.a.storage.persist");
  CHECK_CONTAINS(message, "expected a boolean, found a number");
  message = Project(R"({"backends": {"csv": "csv"}})").error("backends.csv");
  CHECK_CONTAINS(message, "expected an object, found a string");
  message = Project(R"({"backends": {"csv": {"plugin": 1}}})").error("backends.csv.plugin");
  CHECK_CONTAINS(message, "expected a string, found a number");
}

BOOST_AUTO_TEST_CASE(large_memory_budget_is_accepted) {
  auto config =
      Project(R"({"storage_strategy": {"max_memory_bytes": 18446744073709551615}})").resolve();
  BOOST_TEST(config.strategy.max_memory_bytes == 18446744073709551615u);
  config = Project(R"({"storage_strategy": {"max_memory_bytes": 1e9}})").resolve();
  BOOST_TEST(config.strategy.max_memory_bytes == 1000000000u);
  BOOST_TEST(config.document().at("storage_strategy").at("max_memory_bytes").as_int64() ==
             1000000000u);
}

BOOST_AUTO_TEST_CASE(bad_enum_values_list_the_allowed_ones) {
  auto message =
      Project(R"({"storage_strategy": {"mode": "disk"}})").error("storage_strategy.mode");
  CHECK_CONTAINS(message, "\"disk\"");
  CHECK_CONTAINS(message, "memory, persist, hybrid");
  message = Project(R"({"storage_strategy": {"cleanup_policy": "sometimes"}})")
                .error("storage_strategy.cleanup_policy");
  CHECK_CONTAINS(message, "keep_all, keep_latest, keep_none");
  message = Project(R"({"stages": [{"name": "a", "processor": "p",
                                    "storage": {"cleanup_policy": "never"}}]})")
                .error("stages.a.storage.cleanup_policy");
  CHECK_CONTAINS(message, "keep_all, keep_latest, keep_none");
}

BOOST_AUTO_TEST_CASE(stage_names_are_required_valid_and_unique) {
  auto message = Project(R"({"stages": [{"processor": "p"}]})").error("stages[0].name");
  CHECK_CONTAINS(message, "missing required key");
  message = Project(R"({"stages": [{"name": "a"}]})").error("stages.a.processor");
  CHECK_CONTAINS(message, "missing required key");
  message = Project(R"({"stages": [{"name": "a", "processor": ""}]})").error("stages.a.processor");
  message = Project(R"({"stages": [{"name": "a/b", "processor": "p"}]})").error("stages[0].name");
  CHECK_CONTAINS(message, "a/b");
  Project(R"({"stages": [{"name": "..", "processor": "p"}]})").error("stages[0].name");
  Project(R"({"stages": [{"name": "", "processor": "p"}]})").error("stages[0].name");
  message = Project(R"({"stages": [{"name": "a", "processor": "p"}, {"name": "b", "processor": "p"},
                                   {"name": "a", "processor": "p"}]})")
                .error("stages[2].name");
  CHECK_CONTAINS(message, "duplicate stage name \"a\"");
  CHECK_CONTAINS(message, "stages[0]");
}

BOOST_AUTO_TEST_CASE(inputs_must_name_earlier_stages) {
  auto message = Project(R"({"stages": [{"name": "load", "processor": "p"},
                                        {"name": "next", "processor": "p", "inputs": ["lod"]}]})")
                     .error("stages.next.inputs");
  CHECK_CONTAINS(message, "\"lod\" is not a stage");
  CHECK_CONTAINS(message, "load");
  message = Project(R"({"stages": [{"name": "load", "processor": "p", "inputs": ["next"]},
                                   {"name": "next", "processor": "p"}]})")
                .error("stages.load.inputs");
  CHECK_CONTAINS(message, "\"next\" is a later stage");
  message = Project(R"({"stages": [{"name": "load", "processor": "p", "inputs": ["load"]}]})")
                .error("stages.load.inputs");
  CHECK_CONTAINS(message, "own input");
}

BOOST_AUTO_TEST_CASE(backends_must_be_defined_and_name_a_plugin) {
  auto message =
      Project(R"({"storage_strategy": {"backend": "nowhere"}})").error("storage_strategy.backend");
  CHECK_CONTAINS(message, "\"nowhere\" is not defined under \"backends\"");
  CHECK_CONTAINS(message, "memory");  // lists the defined ones
  message =
      Project(R"({"stages": [{"name": "a", "processor": "p", "storage": {"backend": "csv"}}]})")
          .error("stages.a.storage.backend");
  CHECK_CONTAINS(message, "\"csv\" is not defined");
  message = Project(R"({"backends": {"csv": {"root": "out"}}})").error("backends.csv.plugin");
  CHECK_CONTAINS(message, "missing required key");
  Project(R"({"backends": {"a/b": {"plugin": "csv"}}})").error("backends.a/b");
  Project(R"({"backends": {"x": {"plugin": "../evil"}}})").error("backends.x.plugin");
}

BOOST_AUTO_TEST_CASE(top_level_must_be_an_object) {
  Project project("[1, 2]");
  auto message = error_of([&] { project.resolve(); });
  BOOST_TEST(message ==
             project.file.string() + ": expected a JSON object at the top level, found an array");
}

BOOST_AUTO_TEST_CASE(errors_in_the_defaults_file_name_that_file) {
  TempDir dir;
  auto defaults = dir / "defaults.json";
  write_file(defaults, R"({"storage_strategy": {"mode": "fast"}})");
  auto resolver = make_resolver();
  resolver.set_defaults_file(defaults);
  auto message = error_of([&] { resolver.resolve(); });
  CHECK_CONTAINS(message, defaults.string() + ": storage_strategy.mode: ");
  resolver.set_defaults(json::parse(R"({"bogus": 1})").as_object(), "built-in");
  message = error_of([&] { resolver.resolve(); });
  CHECK_CONTAINS(message, "built-in: bogus: unknown key");
}

// ---------------------------------------------------------------------------
// Files

BOOST_AUTO_TEST_CASE(malformed_json_reports_line_and_column) {
  TempDir dir;
  auto file = dir / "bad.json";
  write_file(file, "{\n  \"project\": \"x\",\n  \"stages\" []\n}\n");
  auto resolver = make_resolver();
  auto message = error_of([&] { resolver.set_project_file(file); });
  CHECK_CONTAINS(message, file.string() + ":3:12: malformed JSON: ");

  write_file(file, "{\"project\": \"x\"");  // cut short
  message = error_of([&] { resolver.set_project_file(file); });
  CHECK_CONTAINS(message, file.string() + ":1:16: malformed JSON: ");

  write_file(file, "{}\n\n  x");  // trailing garbage
  message = error_of([&] { resolver.set_project_file(file); });
  CHECK_CONTAINS(message, file.string() + ":3:3: malformed JSON: ");

  message = error_of([&] { bdp::parse_json_file(file); });
  CHECK_CONTAINS(message, file.string() + ":3:3: ");
}

BOOST_AUTO_TEST_CASE(missing_file_is_not_found) {
  TempDir dir;
  auto file = dir / "absent.json";
  auto resolver = make_resolver();
  auto message = error_of([&] { resolver.set_project_file(file); }, ErrorCode::not_found);
  CHECK_CONTAINS(message, file.string());
  message = error_of([&] { resolver.set_defaults_file(file); }, ErrorCode::not_found);
  CHECK_CONTAINS(message, file.string());
  message = error_of([&] { bdp::parse_json_file(file); }, ErrorCode::not_found);
  CHECK_CONTAINS(message, file.string());
}

BOOST_AUTO_TEST_CASE(default_defaults_file_is_found_next_to_the_core_library) {
  std::string saved = std::getenv("BDP_DEFAULTS") ? std::getenv("BDP_DEFAULTS") : "";
  ::unsetenv("BDP_DEFAULTS");
  auto found = ConfigResolver::default_defaults_file();
  auto expected = bdp::test::build_dir() / "share/bdp/defaults.json";
  BOOST_TEST(std::filesystem::exists(found), found);
  BOOST_TEST(std::filesystem::equivalent(found, expected), found << " vs " << expected);
  std::optional<bdp::Config> config;
  BOOST_CHECK_NO_THROW(config = ConfigResolver().resolve());
  if (config) {
    BOOST_TEST(config->project == "bdp");
    BOOST_TEST(prov(*config, "project").source == found.string());
  }

  ::setenv("BDP_DEFAULTS", "/nonexistent/defaults.json", 1);
  BOOST_TEST(ConfigResolver::default_defaults_file() ==
             std::filesystem::path("/nonexistent/defaults.json"));
  auto message = error_of([] { ConfigResolver resolver; }, ErrorCode::not_found);
  CHECK_CONTAINS(message, "/nonexistent/defaults.json");
  CHECK_CONTAINS(message, "BDP_DEFAULTS");
  ::setenv("BDP_DEFAULTS", saved.c_str(), 1);
}

BOOST_AUTO_TEST_CASE(shipped_quickstart_resolves) {
  auto examples = bdp::test::source_dir() / "config/examples";
  auto resolver = make_resolver();
  resolver.set_project_file(examples / "quickstart.json");
  auto config = resolver.resolve();
  BOOST_TEST(config.base_dir == examples);
  BOOST_TEST(config.strategy.mode == StorageMode::hybrid);
  BOOST_TEST(config.strategy.keep_last_processes == 4u);
  BOOST_TEST(config.warnings.empty());
  BOOST_TEST_REQUIRE(config.stages.size() >= 4u);
  std::vector<std::string> processors;
  for (const auto& stage : config.stages) {
    processors.push_back(stage.processor);
    // Every stage is also written to the default SQLite backend.
    BOOST_TEST(stage.plan.persist == true);
    BOOST_TEST(stage.plan.backend == "sqlite");
  }
  BOOST_TEST((processors ==
              std::vector<std::string>{"read_csv", "filter", "select", "aggregate", "sort"}));
  auto csv = config.resolve_path(config.stages[0].params.at("path").as_string());
  BOOST_TEST_REQUIRE(std::filesystem::exists(csv), csv);
  auto text = bdp::test::read_file(csv);
  BOOST_TEST(text.rfind("order_id,year,region,product,quantity,amount,ordered_at\n", 0) == 0u);
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 201);
}

// ---------------------------------------------------------------------------
// Stage storage plans

BOOST_AUTO_TEST_CASE(memory_mode_never_persists) {
  Project project(R"({"storage_strategy": {"mode": "memory"},
      "backends": {"csv": {"plugin": "csv"}},
      "stages": [{"name": "a", "processor": "p", "storage": {"persist": true, "backend": "csv"}}]})");
  auto config = project.resolve();
  const auto& plan = config.find_stage("a")->plan;
  BOOST_TEST(plan.persist == false);
  BOOST_TEST(plan.backend == "csv");
  BOOST_TEST(layer_of(config, "stages.a.storage.persist") == "project");  // decided by the mode
  BOOST_TEST(layer_of(config, "stages.a.storage.backend") == "stage");
}

BOOST_AUTO_TEST_CASE(stages_to_persist_selects_stages_unless_a_stage_says_otherwise) {
  Project project(two_stages(R"({"mode": "persist", "backend": "csv",
                                  "stages_to_persist": ["recent"]})"));
  auto config = project.resolve();
  BOOST_TEST(config.find_stage("load")->plan.persist == false);
  BOOST_TEST(config.find_stage("recent")->plan.persist == true);
  BOOST_TEST(config.find_stage("recent")->plan.backend == "csv");
  BOOST_TEST(layer_of(config, "stages.recent.storage.persist") == "project");

  config = project.resolve({"stages.load.storage.persist=true"});
  BOOST_TEST(config.find_stage("load")->plan.persist == true);
  BOOST_TEST(layer_of(config, "stages.load.storage.persist") == "runtime");

  config = project.resolve({"storage_strategy.stages_to_persist=[]"});
  BOOST_TEST(config.find_stage("load")->plan.persist == true);  // empty list = every stage
  BOOST_TEST(layer_of(config, "stages.load.storage.persist") == "runtime");

  Project explicit_off(R"({"storage_strategy": {"mode": "hybrid"},
      "stages": [{"name": "a", "processor": "p", "storage": {"persist": false}},
                 {"name": "b", "processor": "p"}]})");
  config = explicit_off.resolve();
  BOOST_TEST(config.find_stage("a")->plan.persist == false);
  BOOST_TEST(layer_of(config, "stages.a.storage.persist") == "stage");
  BOOST_TEST(config.find_stage("b")->plan.persist == true);
  BOOST_TEST(layer_of(config, "stages.b.storage.persist") == "global");  // stages_to_persist: []
}

BOOST_AUTO_TEST_CASE(stage_backend_and_cleanup_follow_layer_precedence) {
  Project project(R"({
      "storage_strategy": {"mode": "persist", "backend": "db", "cleanup_policy": "keep_latest"},
      "backends": {"db": {"plugin": "soci"}, "csv": {"plugin": "csv"}, "fast": {"plugin": "memory"}},
      "stages": [
        {"name": "a", "processor": "p", "storage": {"backend": "csv", "cleanup_policy": "keep_all"}},
        {"name": "b", "processor": "p"}
      ]})");
  // stage block > project strategy
  auto config = project.resolve();
  BOOST_TEST(config.find_stage("a")->plan.backend == "csv");
  BOOST_TEST(config.find_stage("a")->plan.cleanup_policy == CleanupPolicy::keep_all);
  BOOST_TEST(layer_of(config, "stages.a.storage.backend") == "stage");
  BOOST_TEST(layer_of(config, "stages.a.storage.cleanup_policy") == "stage");
  BOOST_TEST(config.find_stage("b")->plan.backend == "db");
  BOOST_TEST(config.find_stage("b")->plan.cleanup_policy == CleanupPolicy::keep_latest);
  BOOST_TEST(layer_of(config, "stages.b.storage.backend") == "project");

  // runtime strategy > stage block
  config = project.resolve(
      {"storage_strategy.backend=fast", "storage_strategy.cleanup_policy=keep_none"});
  BOOST_TEST(config.find_stage("a")->plan.backend == "fast");
  BOOST_TEST(config.find_stage("a")->plan.cleanup_policy == CleanupPolicy::keep_none);
  BOOST_TEST(layer_of(config, "stages.a.storage.backend") == "runtime");
  BOOST_TEST(config.find_stage("b")->plan.backend == "fast");

  // runtime stage > runtime strategy
  config = project.resolve({"storage_strategy.backend=fast", "stages.a.storage.backend=db"});
  BOOST_TEST(config.find_stage("a")->plan.backend == "db");
  BOOST_TEST(config.find_stage("b")->plan.backend == "fast");
  BOOST_TEST(prov(config, "stages.a.storage.backend").source == "--set");

  // the document carries each stage's effective storage
  const auto& stages = config.document().at("stages").as_array();
  BOOST_TEST(json::serialize(stages[0].at("storage")) ==
             R"({"persist":true,"backend":"db","cleanup_policy":"keep_all"})");
  BOOST_TEST(json::serialize(stages[1].at("storage")) ==
             R"({"persist":true,"backend":"fast","cleanup_policy":"keep_latest"})");
}

// ---------------------------------------------------------------------------
// Enums

BOOST_AUTO_TEST_CASE(enum_names_round_trip_and_bad_names_list_allowed_values) {
  for (auto mode : {StorageMode::memory, StorageMode::persist, StorageMode::hybrid})
    BOOST_TEST((bdp::parse_storage_mode(bdp::to_string(mode), "x") == mode));
  for (auto policy :
       {CleanupPolicy::keep_all, CleanupPolicy::keep_latest, CleanupPolicy::keep_none})
    BOOST_TEST((bdp::parse_cleanup_policy(bdp::to_string(policy), "x") == policy));
  BOOST_TEST(bdp::to_string(ConfigLayer::global) == "global");
  BOOST_TEST(bdp::to_string(ConfigLayer::project) == "project");
  BOOST_TEST(bdp::to_string(ConfigLayer::stage) == "stage");
  BOOST_TEST(bdp::to_string(ConfigLayer::runtime) == "runtime");

  auto message = error_of([] { bdp::parse_storage_mode("Memory", "cli: --mode"); });
  BOOST_TEST(message == "cli: --mode: invalid value \"Memory\" (allowed: memory, persist, hybrid)");
  message = error_of([] { bdp::parse_cleanup_policy("all", "bdp cleanup --policy"); });
  BOOST_TEST(
      message ==
      "bdp cleanup --policy: invalid value \"all\" (allowed: keep_all, keep_latest, keep_none)");
}

BOOST_AUTO_TEST_SUITE_END()
