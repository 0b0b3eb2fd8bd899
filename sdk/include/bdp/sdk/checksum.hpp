// A fast 64-bit checksum of stored bytes, shared by the backends so that a
// file written by one tool can be verified by another. The algorithm is
// XXH64 (xxHash, 64-bit, seed 0), implemented here; its text form is
// "xxh64:" followed by 16 lower-case hex digits.
//
// Not cryptographic: it detects accidental damage (truncation, edits, bit
// rot), not tampering.
//
//   bdp::Checksum sum;                // incremental: hash while writing
//   sum.update(chunk1); sum.update(chunk2);
//   std::string text = sum.text();    // "xxh64:0123456789abcdef"
//
// A Checksum object is not thread-safe; the free functions are.
#pragma once

#include <bdp/sdk/export.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bdp {

// Prefix of the text form, naming the algorithm.
inline constexpr std::string_view kChecksumPrefix = "xxh64:";

class BDP_SDK_API Checksum {
 public:
  explicit Checksum(std::uint64_t seed = 0) noexcept;

  // Adds `size` bytes; any split of the input gives the same result.
  void update(const void* data, std::size_t size) noexcept;
  void update(std::string_view data) noexcept { update(data.data(), data.size()); }

  // The hash of everything added so far (the object stays usable).
  std::uint64_t digest() const noexcept;
  // digest() as "xxh64:<16 hex digits>".
  std::string text() const;

 private:
  std::array<std::uint64_t, 4> lanes_;
  std::array<unsigned char, 32> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t seed_;
};

// XXH64 of `data` with `seed`.
BDP_SDK_API std::uint64_t xxh64(const void* data, std::size_t size,
                                std::uint64_t seed = 0) noexcept;

// "xxh64:<16 hex digits>" of `data`.
BDP_SDK_API std::string checksum_text(std::string_view data);

// The text form of a digest.
BDP_SDK_API std::string format_checksum(std::uint64_t digest);

// The digest of a text form, or nullopt when `text` is not one.
BDP_SDK_API std::optional<std::uint64_t> parse_checksum(std::string_view text) noexcept;

}  // namespace bdp
