// Payload and StageOutput.
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>
#include <bdp/sdk/payload.hpp>

#include <boost/json/serialize.hpp>

#include <string>
#include <utility>

namespace bdp {

std::string_view to_string(PayloadKind kind) noexcept {
  switch (kind) {
    case PayloadKind::table:
      return "table";
    case PayloadKind::json:
      return "json";
  }
  return "unknown";
}

// ---------------------------------------------------------------- Payload

Payload::Payload(TablePtr table) : data_(std::move(table)) {
  const auto& t = std::get<TablePtr>(data_);
  if (!t) throw Error(ErrorCode::invalid_argument, "payload: the table pointer is null");
  bytes_ = t->byte_size();
}

Payload::Payload(JsonPtr json) : data_(std::move(json)) {
  const auto& j = std::get<JsonPtr>(data_);
  if (!j) throw Error(ErrorCode::invalid_argument, "payload: the JSON pointer is null");
  bytes_ = boost::json::serialize(*j).size();
}

Payload::Payload(boost::json::value json)
    : Payload(std::make_shared<const boost::json::value>(std::move(json))) {}

PayloadKind Payload::kind() const noexcept {
  return data_.index() == 0 ? PayloadKind::table : PayloadKind::json;
}

const TablePtr& Payload::table() const {
  if (const auto* t = std::get_if<TablePtr>(&data_)) return *t;
  throw Error(ErrorCode::invalid_argument, "payload holds JSON, not a table");
}

const boost::json::value& Payload::json() const {
  return *json_ptr();
}

const JsonPtr& Payload::json_ptr() const {
  if (const auto* j = std::get_if<JsonPtr>(&data_)) return *j;
  throw Error(ErrorCode::invalid_argument, "payload holds a table, not JSON");
}

const void* Payload::data_identity() const noexcept {
  if (const auto* t = std::get_if<TablePtr>(&data_)) return t->get();
  return std::get<JsonPtr>(data_).get();
}

// ------------------------------------------------------------ StageOutput

StageOutput::StageOutput(Payload payload) {
  entries_.emplace_back(std::string(kDefaultEntity), std::move(payload));
}

StageOutput::StageOutput(TablePtr table) : StageOutput(Payload(std::move(table))) {}

void StageOutput::set(std::string entity, Payload payload) {
  validate_name("entity name", entity);
  for (auto& e : entries_) {
    if (e.first == entity) {
      e.second = std::move(payload);
      return;
    }
  }
  entries_.emplace_back(std::move(entity), std::move(payload));
}

const Payload* StageOutput::find(std::string_view entity) const noexcept {
  for (const auto& e : entries_) {
    if (e.first == entity) return &e.second;
  }
  return nullptr;
}

const Payload& StageOutput::at(std::string_view entity) const {
  if (const Payload* p = find(entity)) return *p;
  std::string names;
  for (const auto& e : entries_) {
    if (!names.empty()) names += ", ";
    names += '\'';
    names += e.first;
    names += '\'';
  }
  throw Error(ErrorCode::not_found, "stage output has no entity '" + std::string(entity) +
                                        "'; entities: " + (names.empty() ? "none" : names));
}

const TablePtr& StageOutput::table(std::string_view entity) const {
  const Payload& p = at(entity);
  if (!p.is_table()) {
    throw Error(ErrorCode::invalid_argument,
                "stage output entity '" + std::string(entity) + "' holds JSON, not a table");
  }
  return p.table();
}

std::size_t StageOutput::byte_size() const noexcept {
  std::size_t total = 0;
  for (const auto& e : entries_) total += e.second.byte_size();
  return total;
}

}  // namespace bdp
