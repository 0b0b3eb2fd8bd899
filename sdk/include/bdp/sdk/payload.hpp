// What a stage produces: a Payload is either a table or a JSON value (a
// dict-like result, a list of decisions). A StageOutput holds one or more
// named payloads ("entities"); a stage that returns one table uses entity
// "default".
//
// Payloads share their data: copying a Payload copies a shared pointer,
// never the table or JSON document. Immutable; safe to read from any thread.
#pragma once

#include <bdp/sdk/export.hpp>
#include <bdp/sdk/table.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bdp {

using JsonPtr = std::shared_ptr<const boost::json::value>;

enum class PayloadKind : std::uint8_t { table = 0, json = 1 };

// "table" or "json".
BDP_SDK_API std::string_view to_string(PayloadKind kind) noexcept;

class BDP_SDK_API Payload {
 public:
  // A payload must hold something: a null TablePtr or JsonPtr throws
  // bdp::Error(invalid_argument).
  Payload(TablePtr table);  // NOLINT(google-explicit-constructor): a table is a payload
  Payload(JsonPtr json);    // NOLINT(google-explicit-constructor)
  explicit Payload(boost::json::value json);

  PayloadKind kind() const noexcept;
  bool is_table() const noexcept { return kind() == PayloadKind::table; }
  bool is_json() const noexcept { return kind() == PayloadKind::json; }

  // The table; throws bdp::Error(invalid_argument) if this is JSON.
  const TablePtr& table() const;
  // The JSON value; throws bdp::Error(invalid_argument) if this is a table.
  const boost::json::value& json() const;
  const JsonPtr& json_ptr() const;

  // Bytes this payload occupies in memory: the table's buffers, or the size
  // of the JSON value's serialisation (computed once).
  std::size_t byte_size() const noexcept { return bytes_; }

  // Identity of the shared data (the Table or JSON object), for zero-copy
  // checks.
  const void* data_identity() const noexcept;

 private:
  std::variant<TablePtr, JsonPtr> data_;
  std::size_t bytes_ = 0;
};

class BDP_SDK_API StageOutput {
 public:
  using Entry = std::pair<std::string, Payload>;

  StageOutput() = default;
  // One payload as entity "default".
  StageOutput(Payload payload);  // NOLINT(google-explicit-constructor)
  StageOutput(TablePtr table);   // NOLINT(google-explicit-constructor)

  // Adds or replaces entity `entity`.
  void set(std::string entity, Payload payload);

  // The entity's payload, or nullptr.
  const Payload* find(std::string_view entity) const noexcept;
  // The entity's payload; throws bdp::Error(not_found) listing the entities.
  const Payload& at(std::string_view entity) const;
  // The entity's table; throws if missing or JSON.
  const TablePtr& table(std::string_view entity = "default") const;

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const noexcept { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const noexcept { return entries_.end(); }

  // Sum of the payloads' byte sizes.
  std::size_t byte_size() const noexcept;

 private:
  std::vector<Entry> entries_;  // in insertion order; few entries, so a vector
};

inline constexpr std::string_view kDefaultEntity = "default";

}  // namespace bdp
