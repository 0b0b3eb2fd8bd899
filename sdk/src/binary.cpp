#include <bdp/sdk/binary.hpp>

#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace bdp::binary {

static_assert(std::endian::native == std::endian::little,
              "the binary codec writes host order and assumes a little-endian host");

namespace {

constexpr std::string_view kMagic = "BDPB";

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <class T>
void put_array(std::string& out, const T* data, std::size_t count) {
  if (count != 0) out.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

class Reader {
 public:
  Reader(std::string_view bytes, std::string_view where) : bytes_(bytes), where_(where) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::corrupt, std::string(where_) + ": damaged binary payload: " + what +
                                        " (at byte " + std::to_string(pos_) + " of " +
                                        std::to_string(bytes_.size()) + ")");
  }

  std::string_view take(std::size_t n, const char* what) {
    if (n > bytes_.size() - pos_) fail(std::string(what) + " runs past the end");
    auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  template <class T>
  T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what).data(), sizeof(T));
    return value;
  }

  // Checks that `count` items of `size` bytes fit, without overflow.
  std::string_view take_items(std::uint64_t count, std::size_t size, const char* what) {
    if (count > (bytes_.size() - pos_) / size) fail(std::string(what) + " runs past the end");
    return take(static_cast<std::size_t>(count) * size, what);
  }

  bool done() const noexcept { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::string_view where_;
  std::size_t pos_ = 0;
};

void encode_column(const Column& column, std::string& out) {
  const std::size_t rows = column.size();
  put<std::uint32_t>(out, static_cast<std::uint32_t>(column.name().size()));
  out.append(column.name());
  put<std::uint8_t>(out, static_cast<std::uint8_t>(column.type()));
  const bool has_nulls = column.null_count() != 0;
  put<std::uint8_t>(out, has_nulls ? 1 : 0);
  if (has_nulls) {
    for (std::size_t r = 0; r < rows; ++r) out.push_back(column.is_null(r) ? '\0' : '\1');
  }
  switch (column.type()) {
    case ColumnType::int64:
    case ColumnType::timestamp:
      put_array(out, column.int64_values().data(), rows);
      break;
    case ColumnType::float64:
      put_array(out, column.float64_values().data(), rows);
      break;
    case ColumnType::boolean:
      for (std::size_t r = 0; r < rows; ++r) out.push_back(column.bool_at(r) ? '\1' : '\0');
      break;
    case ColumnType::string: {
      std::uint64_t offset = 0;
      put<std::uint64_t>(out, 0);
      for (std::size_t r = 0; r < rows; ++r) {
        offset += column.string_at(r).size();
        put<std::uint64_t>(out, offset);
      }
      for (std::size_t r = 0; r < rows; ++r) out.append(column.string_at(r));
      break;
    }
  }
}

Column decode_column(Reader& in, std::uint64_t rows) {
  const auto name_size = in.get<std::uint32_t>("column name length");
  std::string name(in.take(name_size, "column name"));
  const auto type_code = in.get<std::uint8_t>("column type");
  if (type_code > static_cast<std::uint8_t>(ColumnType::timestamp)) {
    in.fail("column '" + name + "' has unknown type code " + std::to_string(type_code));
  }
  const auto type = static_cast<ColumnType>(type_code);
  const auto has_nulls = in.get<std::uint8_t>("null flag");
  if (has_nulls > 1) in.fail("column '" + name + "' has a bad null flag");
  std::string_view validity;
  if (has_nulls) validity = in.take_items(rows, 1, "validity bytes");

  ColumnBuilder builder(name, type);
  const auto n = static_cast<std::size_t>(rows);
  auto present = [&](std::size_t r) { return validity.empty() || validity[r] != 0; };
  switch (type) {
    case ColumnType::int64:
    case ColumnType::timestamp: {
      auto data = in.take_items(rows, sizeof(std::int64_t), "int64 values");
      builder.reserve(n);
      for (std::size_t r = 0; r < n; ++r) {
        if (!present(r)) {
          builder.append_null();
          continue;
        }
        std::int64_t v;
        std::memcpy(&v, data.data() + r * sizeof v, sizeof v);
        type == ColumnType::int64 ? builder.append_int64(v) : builder.append_timestamp(v);
      }
      break;
    }
    case ColumnType::float64: {
      auto data = in.take_items(rows, sizeof(double), "float64 values");
      builder.reserve(n);
      for (std::size_t r = 0; r < n; ++r) {
        if (!present(r)) {
          builder.append_null();
          continue;
        }
        double v;
        std::memcpy(&v, data.data() + r * sizeof v, sizeof v);
        builder.append_float64(v);
      }
      break;
    }
    case ColumnType::boolean: {
      auto data = in.take_items(rows, 1, "bool values");
      builder.reserve(n);
      for (std::size_t r = 0; r < n; ++r) {
        if (!present(r)) {
          builder.append_null();
        } else if (static_cast<unsigned char>(data[r]) > 1) {
          in.fail("column '" + name + "' has a bool that is neither 0 nor 1");
        } else {
          builder.append_bool(data[r] != 0);
        }
      }
      break;
    }
    case ColumnType::string: {
      if (rows == std::numeric_limits<std::uint64_t>::max()) in.fail("row count overflows");
      auto offsets = in.take_items(rows + 1, sizeof(std::uint64_t), "string offsets");
      auto offset_at = [&](std::size_t i) {
        std::uint64_t v;
        std::memcpy(&v, offsets.data() + i * sizeof v, sizeof v);
        return v;
      };
      if (offset_at(0) != 0) in.fail("column '" + name + "' has a first offset other than 0");
      const std::uint64_t total = offset_at(n);
      auto chars = in.take_items(total, 1, "string bytes");
      builder.reserve(n, static_cast<std::size_t>(total));
      std::uint64_t prev = 0;
      for (std::size_t r = 0; r < n; ++r) {
        const std::uint64_t next = offset_at(r + 1);
        if (next < prev || next > total) in.fail("column '" + name + "' has offsets out of order");
        if (present(r)) {
          builder.append_string(
              chars.substr(static_cast<std::size_t>(prev), static_cast<std::size_t>(next - prev)));
        } else {
          builder.append_null();
        }
        prev = next;
      }
      break;
    }
  }
  return builder.finish();
}

// Feeds content_checksum: the bytes encode() would write, a chunk at a time.
class ContentSum {
 public:
  template <class T>
  void put(T value) noexcept {
    sum_.update(&value, sizeof(T));
  }
  void bytes(std::string_view data) noexcept { sum_.update(data); }

  // The rows of `column` as encode_column writes them, with null cells and
  // NaNs canonical. Values go through a small buffer so that the hashing
  // sees large pieces.
  void column(const Column& column) {
    const std::size_t rows = column.size();
    put<std::uint32_t>(static_cast<std::uint32_t>(column.name().size()));
    bytes(column.name());
    put<std::uint8_t>(static_cast<std::uint8_t>(column.type()));
    const bool has_nulls = column.null_count() != 0;
    put<std::uint8_t>(has_nulls ? 1 : 0);
    if (has_nulls) {
      chunked<unsigned char>(
          rows, [&](std::size_t r) -> unsigned char { return column.is_null(r) ? 0 : 1; });
    }
    switch (column.type()) {
      case ColumnType::int64:
      case ColumnType::timestamp: {
        const auto values = column.int64_values();
        if (!has_nulls) {
          sum_.update(values.data(), rows * sizeof(std::int64_t));
        } else {
          chunked<std::int64_t>(rows, [&](std::size_t r) -> std::int64_t {
            return column.is_null(r) ? 0 : values[r];
          });
        }
        break;
      }
      case ColumnType::float64: {
        const auto values = column.float64_values();
        chunked<std::uint64_t>(rows, [&](std::size_t r) -> std::uint64_t {
          if (has_nulls && column.is_null(r)) return 0;
          const double v = values[r];
          return std::isnan(v) ? kQuietNan : std::bit_cast<std::uint64_t>(v);
        });
        break;
      }
      case ColumnType::boolean:
        chunked<unsigned char>(rows, [&](std::size_t r) -> unsigned char {
          return !column.is_null(r) && column.bool_at(r) ? 1 : 0;
        });
        break;
      case ColumnType::string: {
        std::uint64_t offset = 0;
        put<std::uint64_t>(0);
        chunked<std::uint64_t>(rows, [&](std::size_t r) -> std::uint64_t {
          offset += column.is_null(r) ? 0 : column.string_at(r).size();
          return offset;
        });
        // The bytes, in runs of cells that lie next to each other in memory.
        const char* run = nullptr;
        std::size_t run_size = 0;
        for (std::size_t r = 0; r < rows; ++r) {
          if (column.is_null(r)) continue;
          const std::string_view cell = column.string_at(r);
          if (cell.empty()) continue;
          if (run != nullptr && run + run_size == cell.data()) {
            run_size += cell.size();
            continue;
          }
          if (run != nullptr) sum_.update(run, run_size);
          run = cell.data();
          run_size = cell.size();
        }
        if (run != nullptr) sum_.update(run, run_size);
        break;
      }
    }
  }

  std::string text() const { return sum_.text(); }

 private:
  static constexpr std::uint64_t kQuietNan = 0x7ff8000000000000ULL;

  // Hashes value(0) .. value(rows - 1), each a T, through a buffer.
  template <class T, class Value>
  void chunked(std::size_t rows, Value&& value) {
    constexpr std::size_t kChunk = 4096;
    std::array<T, kChunk> buffer;
    for (std::size_t start = 0; start < rows; start += kChunk) {
      const std::size_t n = std::min(kChunk, rows - start);
      for (std::size_t i = 0; i < n; ++i) buffer[i] = value(start + i);
      sum_.update(buffer.data(), n * sizeof(T));
    }
  }

  Checksum sum_;
};

}  // namespace

std::string content_checksum(const Table& table) {
  ContentSum sum;
  sum.bytes(kMagic);
  sum.put<std::uint8_t>(static_cast<std::uint8_t>(kFormatVersion));
  sum.put<std::uint8_t>(static_cast<std::uint8_t>(PayloadKind::table));
  sum.put<std::uint32_t>(static_cast<std::uint32_t>(table.num_columns()));
  sum.put<std::uint64_t>(table.num_rows());
  for (const auto& column : table.columns()) sum.column(column);
  return sum.text();
}

void encode(const Payload& payload, std::string& out) {
  out.append(kMagic);
  put<std::uint8_t>(out, static_cast<std::uint8_t>(kFormatVersion));
  put<std::uint8_t>(out, static_cast<std::uint8_t>(payload.kind()));
  if (payload.is_json()) {
    const std::string text = boost::json::serialize(payload.json());
    put<std::uint64_t>(out, text.size());
    out.append(text);
    return;
  }
  const Table& table = *payload.table();
  put<std::uint32_t>(out, static_cast<std::uint32_t>(table.num_columns()));
  put<std::uint64_t>(out, table.num_rows());
  for (const auto& column : table.columns()) encode_column(column, out);
}

std::size_t encoded_size(const Payload& payload) {
  std::size_t size = kMagic.size() + 2;
  if (payload.is_json()) return size + 8 + boost::json::serialize(payload.json()).size();
  const Table& table = *payload.table();
  const std::size_t rows = table.num_rows();
  size += 4 + 8;
  for (const auto& column : table.columns()) {
    size += 4 + column.name().size() + 2 + (column.null_count() != 0 ? rows : 0);
    switch (column.type()) {
      case ColumnType::int64:
      case ColumnType::timestamp:
      case ColumnType::float64:
        size += rows * 8;
        break;
      case ColumnType::boolean:
        size += rows;
        break;
      case ColumnType::string:
        size += (rows + 1) * 8;
        for (std::size_t r = 0; r < rows; ++r) size += column.string_at(r).size();
        break;
    }
  }
  return size;
}

std::string encode(const Payload& payload) {
  std::string out;
  if (payload.is_table()) out.reserve(encoded_size(payload));
  encode(payload, out);
  return out;
}

Payload decode(std::string_view bytes, std::string_view where) {
  Reader in(bytes, where);
  if (in.take(kMagic.size(), "magic") != kMagic) in.fail("it does not start with \"BDPB\"");
  const auto version = in.get<std::uint8_t>("format version");
  if (version != kFormatVersion) {
    in.fail("format version " + std::to_string(version) + " is not supported (this build reads " +
            std::to_string(kFormatVersion) + ")");
  }
  const auto kind = in.get<std::uint8_t>("payload kind");
  if (kind == static_cast<std::uint8_t>(PayloadKind::json)) {
    const auto size = in.get<std::uint64_t>("json length");
    auto text = in.take_items(size, 1, "json text");
    if (!in.done()) in.fail("trailing bytes after the json text");
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (ec) in.fail("json text does not parse: " + ec.message());
    return Payload(std::move(value));
  }
  if (kind != static_cast<std::uint8_t>(PayloadKind::table)) {
    in.fail("unknown payload kind " + std::to_string(kind));
  }
  const auto columns = in.get<std::uint32_t>("column count");
  const auto rows = in.get<std::uint64_t>("row count");
  std::vector<Column> built;
  built.reserve(std::min<std::uint32_t>(columns, 4096));
  for (std::uint32_t c = 0; c < columns; ++c) built.push_back(decode_column(in, rows));
  if (!in.done()) in.fail("trailing bytes after the last column");
  if (columns == 0 && rows != 0) in.fail("rows without columns");
  try {
    return Payload(std::make_shared<const Table>(std::move(built)));
  } catch (const Error& e) {
    in.fail(e.what());
  }
}

}  // namespace bdp::binary
