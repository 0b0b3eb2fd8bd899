// XXH64, after Yann Collet's specification (xxhash.com, "xxHash fast digest
// algorithm", XXH64): four 64-bit lanes over 32-byte stripes, then the tail
// in 8-, 4- and 1-byte steps, then an avalanche. Little-endian reads.
#include <bdp/sdk/checksum.hpp>

#include <algorithm>
#include <bit>
#include <cstring>

namespace bdp {

namespace {

constexpr std::uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t kP5 = 0x27D4EB2F165667C5ULL;

inline std::uint64_t read64(const unsigned char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline std::uint32_t read32(const unsigned char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

inline std::uint64_t round(std::uint64_t acc, std::uint64_t input) noexcept {
  acc += input * kP2;
  acc = std::rotl(acc, 31);
  return acc * kP1;
}

inline std::uint64_t merge_round(std::uint64_t acc, std::uint64_t lane) noexcept {
  acc ^= round(0, lane);
  return acc * kP1 + kP4;
}

// Consumes whole 32-byte stripes from p; returns the bytes consumed.
inline std::size_t stripes(std::array<std::uint64_t, 4>& v, const unsigned char* p,
                           std::size_t size) noexcept {
  std::uint64_t v1 = v[0], v2 = v[1], v3 = v[2], v4 = v[3];
  const unsigned char* const start = p;
  const unsigned char* const limit = p + (size & ~std::size_t{31});
  for (; p != limit; p += 32) {
    v1 = round(v1, read64(p));
    v2 = round(v2, read64(p + 8));
    v3 = round(v3, read64(p + 16));
    v4 = round(v4, read64(p + 24));
  }
  v = {v1, v2, v3, v4};
  return static_cast<std::size_t>(p - start);
}

std::uint64_t finish(const std::array<std::uint64_t, 4>& v, bool long_input, std::uint64_t seed,
                     std::uint64_t total, const unsigned char* p, std::size_t rest) noexcept {
  std::uint64_t h;
  if (long_input) {
    h = std::rotl(v[0], 1) + std::rotl(v[1], 7) + std::rotl(v[2], 12) + std::rotl(v[3], 18);
    h = merge_round(h, v[0]);
    h = merge_round(h, v[1]);
    h = merge_round(h, v[2]);
    h = merge_round(h, v[3]);
  } else {
    h = seed + kP5;
  }
  h += total;
  for (; rest >= 8; rest -= 8, p += 8) {
    h ^= round(0, read64(p));
    h = std::rotl(h, 27) * kP1 + kP4;
  }
  if (rest >= 4) {
    h ^= static_cast<std::uint64_t>(read32(p)) * kP1;
    h = std::rotl(h, 23) * kP2 + kP3;
    p += 4;
    rest -= 4;
  }
  for (; rest > 0; --rest, ++p) {
    h ^= static_cast<std::uint64_t>(*p) * kP5;
    h = std::rotl(h, 11) * kP1;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

std::array<std::uint64_t, 4> initial_lanes(std::uint64_t seed) noexcept {
  return {seed + kP1 + kP2, seed + kP2, seed, seed - kP1};
}

}  // namespace

Checksum::Checksum(std::uint64_t seed) noexcept : lanes_(initial_lanes(seed)), seed_(seed) {}

void Checksum::update(const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += size;
  if (buffered_ != 0) {
    const std::size_t take = std::min(size, buffer_.size() - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    size -= take;
    if (buffered_ < buffer_.size()) return;
    stripes(lanes_, buffer_.data(), buffer_.size());
    buffered_ = 0;
  }
  const std::size_t done = stripes(lanes_, p, size);
  p += done;
  size -= done;
  if (size != 0) {
    std::memcpy(buffer_.data(), p, size);
    buffered_ = size;
  }
}

std::uint64_t Checksum::digest() const noexcept {
  return finish(lanes_, total_ >= 32, seed_, total_, buffer_.data(), buffered_);
}

std::string Checksum::text() const {
  return format_checksum(digest());
}

std::uint64_t xxh64(const void* data, std::size_t size, std::uint64_t seed) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  auto lanes = initial_lanes(seed);
  const std::size_t done = size >= 32 ? stripes(lanes, p, size) : 0;
  return finish(lanes, size >= 32, seed, size, p + done, size - done);
}

std::string checksum_text(std::string_view data) {
  return format_checksum(xxh64(data.data(), data.size()));
}

std::string format_checksum(std::uint64_t digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kChecksumPrefix);
  out.resize(kChecksumPrefix.size() + 16);
  for (int i = 15; i >= 0; --i) {
    out[kChecksumPrefix.size() + static_cast<std::size_t>(i)] = kHex[digest & 0xf];
    digest >>= 4;
  }
  return out;
}

std::optional<std::uint64_t> parse_checksum(std::string_view text) noexcept {
  if (text.size() != kChecksumPrefix.size() + 16 ||
      text.substr(0, kChecksumPrefix.size()) != kChecksumPrefix) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : text.substr(kChecksumPrefix.size())) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    v = (v << 4) | d;
  }
  return v;
}

}  // namespace bdp
