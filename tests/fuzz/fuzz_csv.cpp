// Fuzz target: the CSV reader (bdp::csv::parse), inferring and with
// declared columns, and the write -> read round trip.
//
// Input: CSV text, as read_csv and the CSV backend read it. Each input is
// read four ways:
//   1. every column inferred;
//   2. every column declared, with types picked from a hash of the input
//      (so both of the reader's paths, and its errors for cells that do not
//      fit, are reached; the pick changes with every mutation);
//   3. every column declared with the types (1) inferred: this must succeed
//      and give the same table, since inference picks a type that fits every
//      cell;
//   4. some columns declared (hash-picked types), the rest inferred, which
//      reads through the inferring reader; when it succeeds, declaring every
//      column with the types it gave must give the same table (the two
//      readers agree).
// Every table read is written back with bdp::csv::write and read again with
// its own types declared, which must give an equal table: the codec's
// promise is that cells "read back exactly" given their types. (Reading the
// written text back with inference is not promised to give the same types:
// a string column holding "1" is written as 1.)
//
// A bdp::Error is the documented outcome for malformed CSV. Anything else is
// a finding: a crash, a sanitizer report, another exception, or a broken
// promise above.
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/table.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using bdp::ColumnType;
using bdp::TablePtr;
using Schema = std::map<std::string, ColumnType, std::less<>>;

constexpr ColumnType kTypes[] = {ColumnType::int64, ColumnType::float64, ColumnType::string,
                                 ColumnType::boolean, ColumnType::timestamp};

[[noreturn]] void broken(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_csv: promise broken: %s%s%.*s\n", what, detail.empty() ? "" : ": ",
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// The header's column names, read the way the codec reads them (BOM, quotes
// with doubled quotes, "\r\n"). Good enough to build schemas from: where it
// disagrees with the codec the schema names an unknown column, which is an
// error the reader reports, not a finding.
std::vector<std::string> header_names(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::string> names;
  std::size_t p = 0;
  while (p <= text.size()) {
    std::string name;
    if (p < text.size() && text[p] == '"') {
      ++p;
      for (;;) {
        const std::size_t q = text.find('"', p);
        if (q == std::string_view::npos) return names;
        name.append(text.substr(p, q - p));
        if (q + 1 < text.size() && text[q + 1] == '"') {
          name.push_back('"');
          p = q + 2;
          continue;
        }
        p = q + 1;
        break;
      }
      names.push_back(std::move(name));
      if (p < text.size() && text[p] == ',') {
        ++p;
        continue;
      }
      return names;
    }
    const std::size_t q = text.find_first_of(",\n", p);
    std::string_view cell = text.substr(p, q == std::string_view::npos ? q : q - p);
    const bool last = q == std::string_view::npos || text[q] == '\n';
    if (last && cell.ends_with('\r')) cell.remove_suffix(1);
    names.emplace_back(cell);
    if (last) return names;
    p = q + 1;
  }
  return names;
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// The n-th of a stream of well-mixed numbers seeded by `seed` (splitmix64).
std::uint64_t mix(std::uint64_t seed, std::uint64_t n) {
  std::uint64_t z = seed + (n + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Schema types_of(const bdp::Table& table) {
  Schema schema;
  for (const auto& column : table.columns()) schema.emplace(column.name(), column.type());
  return schema;
}

std::optional<TablePtr> read(std::string_view text, Schema schema) {
  bdp::csv::ReadOptions options;
  options.schema = std::move(schema);
  try {
    return bdp::csv::parse(text, options);
  } catch (const bdp::Error&) {
    return std::nullopt;  // malformed input, or a cell that does not fit its declared type
  }
}

// Reading what write() made of `table`, every type declared, gives `table`.
void check_round_trip(const bdp::Table& table) {
  std::string text;
  bdp::csv::write(table, text);
  bdp::csv::ReadOptions options;
  options.schema = types_of(table);
  TablePtr again;
  try {
    again = bdp::csv::parse(text, options);
  } catch (const bdp::Error& e) {
    broken("write() made text that does not read back", e.what());
  }
  if (!again->equals(table)) broken("the table read back from write() differs", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> names = header_names(text);
  const std::uint64_t seed = fnv1a(text);

  // 1. Inferred.
  const std::optional<TablePtr> inferred = read(text, {});
  if (inferred) {
    check_round_trip(**inferred);
    // 3. Declared as inferred.
    const std::optional<TablePtr> declared = read(text, types_of(**inferred));
    if (!declared) broken("declaring the inferred types makes the read fail");
    if (!(*declared)->equals(**inferred)) broken("declaring the inferred types changes the table");
  }

  // 2. Every column declared, hash-picked types.
  Schema all;
  for (std::size_t i = 0; i < names.size(); ++i) all.emplace(names[i], kTypes[mix(seed, i) % 5]);
  if (!all.empty()) {
    if (const auto table = read(text, all)) check_round_trip(**table);
  }

  // 4. Some columns declared, the rest inferred.
  Schema some;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::uint64_t r = mix(~seed, i);
    if (r % 3 != 0) some.emplace(names[i], kTypes[(r / 3) % 5]);
  }
  if (some.size() < names.size()) {
    if (const auto table = read(text, some)) {
      check_round_trip(**table);
      const std::optional<TablePtr> declared = read(text, types_of(**table));
      if (!declared) broken("the declared reader refuses what the inferring reader read");
      if (!(*declared)->equals(**table)) broken("the declared and inferring readers differ");
    }
  }
  return 0;
}
