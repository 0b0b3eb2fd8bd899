// Shortest round-trip text of a double, byte for byte what std::to_chars(
// first, last, double) writes, with a fast path for the values data mostly
// holds: decimals of at most nine fraction digits (prices, measurements,
// quarters). Internal to the SDK.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace bdp::detail {

// Room format_shortest() may use: what std::to_chars needs for any double.
inline constexpr std::size_t kShortestChars = 32;

namespace float_text {

inline constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
inline constexpr std::uint64_t kPow10Int[] = {1,      10,      100,      1000,      10000,
                                              100000, 1000000, 10000000, 100000000, 1000000000};

inline int digits(std::uint64_t v) noexcept {
  int n = 1;
  for (std::uint64_t p = 10; n < 20 && v >= p; p *= 10) ++n;
  return n;
}

// Writes `v` (< 10^count) as exactly `count` digits, zero-padded, at `p`.
inline char* put_padded(char* p, std::uint64_t v, int count) noexcept {
  for (int i = count - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + count;
}

// The fast path: false when it does not apply (std::to_chars decides).
//
// With |v| * 10^k < 2^52, the doubles around v are less than 10^-k apart,
// so at most one decimal of k fraction digits reads back as v: n / 10^k
// with n = round(v * 10^k), when the correctly rounded division gives v
// back (which is how a reader rounds that text). Every shorter text that
// reads back as v then has at most k fraction digits too, so it is that
// decimal with its trailing zeros dropped: the shortest, and the one
// std::to_chars picks. std::to_chars also picks between fixed and
// scientific notation by length (fixed on a tie); a value whose scientific
// form would be shorter is left to it.
inline bool fast_shortest(double v, char* buf, std::size_t& length) noexcept {
  const double magnitude = std::fabs(v);
  // 2^52 / 10^k for k = 9, 6, 3, 0, checked largest k first.
  constexpr double kLimit = 4503599627370496.0;  // 2^52
  int k;
  if (magnitude < kLimit / 1e9) {
    k = 9;
  } else if (magnitude < kLimit / 1e6) {
    k = 6;
  } else if (magnitude < kLimit / 1e3) {
    k = 3;
  } else if (magnitude < kLimit) {
    k = 0;
  } else {
    return false;
  }
  if (magnitude == 0) return false;  // "0" and "-0": std::to_chars
  // Any n that passes the check below is the one decimal, so the rounding
  // here only has to be right when it matters, not exact.
  const auto n = static_cast<std::uint64_t>(magnitude * kPow10[k] + 0.5);
  if (static_cast<double>(n) / kPow10[k] != magnitude) return false;

  std::uint64_t integer = n / kPow10Int[k];
  std::uint64_t fraction = n % kPow10Int[k];
  int fraction_digits = fraction == 0 ? 0 : k;
  while (fraction_digits > 0 && fraction % 10 == 0) {
    fraction /= 10;
    --fraction_digits;
  }
  // Lengths of both notations (the sign is common to both, left out).
  int fixed_length;
  int significant;
  int exponent;  // of the leading digit
  if (integer != 0) {
    const int int_digits = digits(integer);
    exponent = int_digits - 1;
    fixed_length = int_digits + (fraction_digits > 0 ? 1 + fraction_digits : 0);
    if (fraction_digits > 0) {
      significant = int_digits + fraction_digits;
    } else {
      int zeros = 0;
      for (std::uint64_t i = integer; i % 10 == 0; i /= 10) ++zeros;
      significant = int_digits - zeros;
    }
  } else {
    const int frac_digits = digits(fraction);
    significant = frac_digits;
    exponent = -(fraction_digits - frac_digits) - 1;
    fixed_length = 2 + fraction_digits;
  }
  const int abs_exponent = exponent < 0 ? -exponent : exponent;
  const int scientific_length =
      significant + (significant > 1 ? 1 : 0) + 2 + (abs_exponent >= 100 ? 3 : 2);
  if (fixed_length > scientific_length) return false;

  char* p = buf;
  if (std::signbit(v)) *p++ = '-';
  p = std::to_chars(p, p + 20, integer).ptr;
  if (fraction_digits > 0) {
    *p++ = '.';
    p = put_padded(p, fraction, fraction_digits);
  }
  length = static_cast<std::size_t>(p - buf);
  return true;
}

}  // namespace float_text

// Writes the shortest text that reads back as the finite `v` (exactly
// std::to_chars's) to `buf`, which has kShortestChars bytes, and returns its
// length.
inline std::size_t format_shortest(double v, char* buf) noexcept {
  std::size_t length = 0;
  if (float_text::fast_shortest(v, buf, length)) return length;
  return static_cast<std::size_t>(std::to_chars(buf, buf + kShortestChars, v).ptr - buf);
}

}  // namespace bdp::detail
