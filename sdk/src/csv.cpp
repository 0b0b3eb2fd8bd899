// The CSV codec.
//
// Reading works on the whole text in memory. A first look at every byte
// checks the encoding and finds lone '\r' line ends (see "the text"). One
// pass then tokenises the text and converts each cell straight into its
// column builder. Columns without a declared type start with the type of
// their first non-null cell; an int64 column that meets a float is
// converted in place (when the doubles keep its values), and a column that
// meets a cell of another kind becomes "string pending": its cells are
// skipped, and a second pass over the text collects only those columns as
// strings. Numbers, booleans and timestamps are disjoint as texts, so this
// gives the documented inference: the first of int64, float64, bool,
// timestamp that fits every cell.
#include <bdp/sdk/csv.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/time.hpp>

#include "float_text.hpp"
#include "internal.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace bdp::csv {

namespace {

// ---------------------------------------------------------------- errors

[[noreturn]] void fail_at(std::string_view source, std::size_t line, std::size_t column,
                          std::string_view problem) {
  std::string message(source);
  message += ": line ";
  message += std::to_string(line);
  message += ", column ";
  message += std::to_string(column);
  message += ": ";
  message += problem;
  throw Error(ErrorCode::invalid_argument, message);
}

// Inlined even where the compiler would not: small helpers of hot loops.
#if defined(__GNUC__)
#define BDP_CSV_INLINE [[gnu::always_inline]] inline
#else
#define BDP_CSV_INLINE inline
#endif

// ------------------------------------------------------------- tokeniser

enum class Term : std::uint8_t { comma, row_end };

struct Cell {
  const char* begin = nullptr;
  const char* end = nullptr;
  bool quoted = false;
  bool escaped = false;  // holds doubled quotes that reading must undo

  bool is_null() const noexcept { return !quoted && begin == end; }
  std::string_view raw() const noexcept {
    return std::string_view(begin, static_cast<std::size_t>(end - begin));
  }
};

// The first ',' or '\n' in [p, end), or end. Looks at eight bytes at a
// time: cells are short, and this loop is most of the tokeniser's work.
inline const char* find_separator(const char* p, const char* end) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    constexpr std::uint64_t kCommas = kOnes * static_cast<unsigned char>(',');
    constexpr std::uint64_t kNewlines = kOnes * static_cast<unsigned char>('\n');
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      const std::uint64_t a = word ^ kCommas;
      const std::uint64_t b = word ^ kNewlines;
      // High bit set in the bytes that are zero in a or b; the lowest one
      // is exact, which is the one wanted.
      const std::uint64_t hits = ((a - kOnes) & ~a & kHighs) | ((b - kOnes) & ~b & kHighs);
      if (hits != 0) return p + (std::countr_zero(hits) >> 3);
      p += 8;
    }
  }
  while (p != end && *p != ',' && *p != '\n') ++p;
  return p;
}

// Reads cells one at a time; tracks the line number (1-based) for errors.
class Scanner {
 public:
  Scanner(const char* begin, const char* end, std::size_t line, std::string_view source) noexcept
      : p_(begin), end_(end), line_(line), source_(source) {}

  bool at_end() const noexcept { return p_ == end_; }
  std::size_t line() const noexcept { return line_; }
  const char* position() const noexcept { return p_; }

  // Skips one empty line ("\n" or "\r\n") at the current position.
  bool skip_blank_line() noexcept {
    if (*p_ == '\n') {
      ++p_;
      ++line_;
      return true;
    }
    if (*p_ == '\r' && p_ + 1 != end_ && p_[1] == '\n') {
      p_ += 2;
      ++line_;
      return true;
    }
    return false;
  }

  // Reads the cell at the current position (`column` is its 1-based index,
  // for errors) and the separator after it.
  Term next(Cell& cell, std::size_t column) {
    if (p_ != end_ && *p_ == '"') return next_quoted(p_, end_, line_, cell, column, source_);
    return unquoted(p_, find_separator(p_, end_), end_, line_, cell);
  }

  // Takes the unquoted cell from `p` to the separator `q` (or the end):
  // fills `cell`, moves `p` past the separator and counts a line end in
  // `line`.
  BDP_CSV_INLINE static Term unquoted(const char*& p, const char* q, const char* end,
                                      std::size_t& line, Cell& cell) noexcept {
    cell.begin = p;
    cell.quoted = false;
    cell.escaped = false;
    if (q != end && *q == ',') {
      cell.end = q;
      p = q + 1;
      return Term::comma;
    }
    // End of the row: drop the '\r' of a "\r\n" line end.
    cell.end = (q != p && q[-1] == '\r') ? q - 1 : q;
    if (q != end) {
      p = q + 1;
      ++line;
    } else {
      p = q;
    }
    return Term::row_end;
  }

  // Reads the quoted cell whose opening quote is at `p` (before `end`) and
  // the separator after it; moves `p` past them and counts the line ends
  // passed in `line`.
  static Term next_quoted(const char*& p, const char* end, std::size_t& line, Cell& cell,
                          std::size_t column, std::string_view source) {
    const std::size_t start_line = line;
    const char* start = p + 1;
    const char* q = start;
    bool escaped = false;
    for (;;) {
      q = static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(end - q)));
      if (q == nullptr) {
        fail_at(source, start_line, column,
                "unterminated quoted cell: the quote opened here is never closed");
      }
      if (q + 1 != end && q[1] == '"') {
        escaped = true;
        q += 2;
        continue;
      }
      break;
    }
    cell.begin = start;
    cell.end = q;
    cell.quoted = true;
    cell.escaped = escaped;
    line += static_cast<std::size_t>(std::count(start, q, '\n'));
    p = q + 1;
    if (p == end) return Term::row_end;
    if (*p == ',') {
      ++p;
      return Term::comma;
    }
    if (*p == '\n') {
      ++p;
      ++line;
      return Term::row_end;
    }
    if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
      p += p + 1 == end ? 1 : 2;
      if (p[-1] == '\n') ++line;
      return Term::row_end;
    }
    fail_at(source, line, column,
            "unexpected character after a closing quote (a quote inside a quoted cell must be "
            "doubled)");
  }

 private:
  const char* p_;
  const char* end_;
  std::size_t line_;
  std::string_view source_;
};

// -------------------------------------------------------------- the text
//
// Before any cell is read, parse() looks at the whole text once. A checked
// encoding's errors are found there, so both readers report them alike (and
// before any problem with a cell); so is a '\r' that no '\n' follows. Such a
// lone '\r' outside quoted cells ends a line (files from old Macs end every
// line so): the readers are given the text with those made '\n' (in place
// when the text is the codec's own, as read_file's is, else in a copy), so
// that they only ever meet "\n" and "\r\n".

// The length of the valid UTF-8 sequence that starts with the non-ASCII
// byte at `p` (before `end`), or 0 when none does: overlong forms,
// surrogates and code points above U+10FFFF are not valid.
std::size_t utf8_sequence(const char* p, const char* end) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const unsigned lead = u[0];
  std::size_t n = 0;
  unsigned low = 0x80;  // the range of the second byte
  unsigned high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong: below U+0800
    if (lead == 0xED) high = 0x9F;  // surrogates: U+D800 to U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) low = 0x90;   // overlong: below U+10000
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < n || u[1] < low || u[1] > high) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if ((u[i] & 0xC0) != 0x80) return 0;
  }
  return n;
}

// Whether a checked text's byte `c` needs a closer look: not ASCII, NUL or
// '\r'.
constexpr bool is_special(unsigned char c) noexcept {
  return c >= 0x80 || c == 0 || c == '\r';
}

// The first byte at or after `p` that is_special, or `end`. Such bytes are
// rare: this looks at 64 bytes at a time, then 16 at a time.
inline const char* find_special(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  const __m128i cr = _mm_set1_epi8('\r');
  // The high bit of each byte of `v` that is_special.
  const auto special = [&](const char* at) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    return _mm_or_si128(v, _mm_or_si128(_mm_cmpeq_epi8(v, zero), _mm_cmpeq_epi8(v, cr)));
  };
  while (end - p >= 64) {
    const __m128i any = _mm_or_si128(_mm_or_si128(special(p), special(p + 16)),
                                     _mm_or_si128(special(p + 32), special(p + 48)));
    if (_mm_movemask_epi8(any) != 0) break;
    p += 64;
  }
  while (end - p >= 16) {
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special(p)));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  while (p != end && !is_special(static_cast<unsigned char>(*p))) ++p;
  return p;
}

// What scan_text found.
struct TextScan {
  const char* bad = nullptr;  // the first byte the encoding does not allow
  bool lone_cr = false;       // some '\r' has no '\n' after it
};

// Looks at [p, end) once: whether it has a lone '\r' and, when `checked`,
// its first byte that is NUL or not part of a valid UTF-8 sequence.
TextScan scan_text(const char* p, const char* end, bool checked) noexcept {
  TextScan scan;
  if (!checked) {
    while (p != end) {
      p = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
      if (p == nullptr) break;
      if (p + 1 == end || p[1] != '\n') {
        scan.lone_cr = true;
        break;
      }
      p += 2;
    }
    return scan;
  }
  for (;;) {
    p = find_special(p, end);
    if (p == end) return scan;
    if (*p == '\r') {
      if (p + 1 == end || p[1] != '\n') scan.lone_cr = true;
      ++p;
    } else if (*p == '\0') {
      scan.bad = p;
      return scan;
    } else {
      const std::size_t n = utf8_sequence(p, end);
      if (n == 0) {
        scan.bad = p;
        return scan;
      }
      p += n;
    }
  }
}

// The first ',', '\n' or '\r' in [p, end), or end.
inline const char* find_cell_end(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, newline)), _mm_cmpeq_epi8(v, cr));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  while (p != end && *p != ',' && *p != '\n' && *p != '\r') ++p;
  return p;
}

// A place in a text, as walk_text finds it.
struct TextPlace {
  std::size_t line = 1;    // 1-based: after every '\n' and every lone '\r' that ends a row
  std::size_t column = 1;  // the 1-based cell of its row
  const char* line_start;  // the first byte of its line
};

// Follows the text [begin, end) as the readers cut it into cells and rows,
// with a '\r' that no '\n' follows ending a row outside quoted cells, up to
// `stop`, which is not a '\r' or '\n': returns the place of `stop`.
TextPlace walk_text(const char* begin, const char* stop, const char* end) noexcept {
  TextPlace at{1, 1, begin};
  const char* p = begin;
  while (p < stop) {
    // At the start of a cell.
    if (*p == '"') {
      // Up to the closing quote (the end when there is none).
      const char* q = p + 1;
      const char* after = end;
      while (q != end) {
        q = static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(end - q)));
        if (q == nullptr) break;
        if (q + 1 != end && q[1] == '"') {
          q += 2;
          continue;
        }
        after = q + 1;
        break;
      }
      const char* upto = std::min(after, stop);
      for (const char* nl = p; (nl = static_cast<const char*>(std::memchr(
                                    nl, '\n', static_cast<std::size_t>(upto - nl)))) != nullptr;
           ++nl) {
        ++at.line;
        at.line_start = nl + 1;
      }
      p = after;
      if (p >= stop) break;
    }
    // Up to the end of the cell (what follows a closing quote is read on
    // as if unquoted: the readers refuse it later).
    p = find_cell_end(p, end);
    if (p >= stop) break;
    if (*p == ',') {
      ++at.column;
      ++p;
      continue;
    }
    if (*p == '\r') {
      if (p + 1 != end && p[1] == '\n') ++p;  // "\r\n": the '\n' ends the row
    }
    ++at.line;
    at.column = 1;
    at.line_start = p + 1;
    ++p;
  }
  return at;
}

// The first '"' or '\r' in [p, end), or end.
inline const char* find_quote_or_cr(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i cr = _mm_set1_epi8('\r');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, cr))));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  while (p != end && *p != '"' && *p != '\r') ++p;
  return p;
}

// Makes every lone '\r' outside quoted cells of [begin, end) a '\n' in the
// buffer that `writable()` returns, which holds the same bytes (the text
// itself, or a copy) and is asked for at the first such '\r' only. Returns
// that buffer, or null when there was none. The cells are those walk_text
// finds, but only quotes and '\r's need a look: a quote opens a quoted cell
// when it starts a cell, right after the text's start, a ',' or a line end.
template <class Writable>
char* normalise_line_ends(const char* begin, const char* end, Writable&& writable) {
  char* out = nullptr;
  const char* p = begin;
  while ((p = find_quote_or_cr(p, end)) != end) {
    if (*p == '\r') {
      if (p + 1 == end || p[1] != '\n') {
        if (out == nullptr) out = writable();
        out[p - begin] = '\n';
      }
      ++p;
      continue;
    }
    if (p != begin && p[-1] != ',' && p[-1] != '\n' && p[-1] != '\r') {
      ++p;  // a quote inside an unquoted cell
      continue;
    }
    // A quoted cell: on after its closing quote (a doubled one is not).
    ++p;
    for (;;) {
      p = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
      if (p == nullptr) return out;  // never closed: the readers say so
      if (p + 1 != end && p[1] == '"') {
        p += 2;
        continue;
      }
      ++p;
      break;
    }
  }
  return out;
}

// Reports `bad`, a byte of [begin, end) that the text's encoding does not
// allow, at its line and cell. Its place in the line counts the text's own
// bytes: for a `converted` text, whose every character was one byte, its
// characters.
[[noreturn]] void fail_encoding(std::string_view source, const char* begin, const char* bad,
                                const char* end, bool converted) {
  const auto byte = static_cast<unsigned char>(*bad);
  if (bad == begin && end - begin >= 2 &&
      ((byte == 0xFF && static_cast<unsigned char>(begin[1]) == 0xFE) ||
       (byte == 0xFE && static_cast<unsigned char>(begin[1]) == 0xFF))) {
    fail_at(source, 1, 1,
            "the text starts with a UTF-16 byte order mark: UTF-16 is not read; convert the "
            "file to UTF-8");
  }
  const TextPlace walk = walk_text(begin, bad, end);
  std::size_t place = 1;
  for (const char* p = walk.line_start; p != bad; ++p) {
    if (!converted || (static_cast<unsigned char>(*p) & 0xC0) != 0x80) ++place;
  }
  const std::string at = "byte " + std::to_string(place) + " of the line";
  if (byte == 0) {
    fail_at(source, walk.line, walk.column,
            "NUL byte (" + at + "): CSV text holds none (is the file UTF-16, or not text?)");
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string problem = "not valid UTF-8 at " + at + " (0x";
  problem += kHex[byte >> 4];
  problem += kHex[byte & 0xF];
  problem += "); if the text is latin1 or windows-1252, set that encoding";
  fail_at(source, walk.line, walk.column, problem);
}

// Windows-1252's characters for the bytes 0x80 to 0x9F; the five it leaves
// unassigned are the control characters of the same codes.
constexpr std::array<char16_t, 32> kWindows1252 = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// [p, end), one character per byte in `encoding` (latin1 or windows1252),
// as UTF-8.
std::string to_utf8(const char* p, const char* end, Encoding encoding) {
  std::string out;
  out.reserve(static_cast<std::size_t>(end - p) + static_cast<std::size_t>(end - p) / 8);
  while (p != end) {
    const char* ascii = p;
    while (p != end && static_cast<unsigned char>(*p) < 0x80) ++p;
    out.append(ascii, p);
    if (p == end) break;
    const auto byte = static_cast<unsigned char>(*p++);
    const unsigned code =
        encoding == Encoding::windows1252 && byte < 0xA0 ? kWindows1252[byte - 0x80] : byte;
    if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
    } else {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    }
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  return out;
}

// The cell's text with doubled quotes undone; `scratch` holds it if needed.
std::string_view cell_text(const Cell& cell, std::string& scratch) {
  if (!cell.escaped) return cell.raw();
  scratch.clear();
  for (const char* p = cell.begin; p != cell.end; ++p) {
    scratch.push_back(*p);
    if (*p == '"') ++p;  // skip the second quote of a pair
  }
  return scratch;
}

// A row with fewer cells (`cells`) than the header's `columns`.
[[noreturn]] void fail_short_row(std::string_view source, std::size_t line, std::size_t cells,
                                 std::size_t columns) {
  fail_at(source, line, std::min(cells + 1, columns + 1),
          "row has " + std::to_string(cells) + " cells but the header has " +
              std::to_string(columns) + " columns");
}

// A row with more cells than the header's `columns`.
[[noreturn]] void fail_long_row(std::string_view source, std::size_t line, std::size_t columns) {
  fail_at(source, line, columns + 1,
          "row has more cells than the header's " + std::to_string(columns) + " columns");
}

// A cell that does not read as its column's type.
[[noreturn]] void fail_misfit(std::string_view source, std::size_t line, std::size_t column,
                              const Cell& cell, ColumnType type, std::string_view name) {
  std::string scratch;
  std::string problem = "'";
  problem += detail::escape_for_message(cell_text(cell, scratch), 64);
  problem += "' is not a valid ";
  problem += to_string(type);
  problem += " for column '";
  problem += name;
  problem += "'";
  fail_at(source, line, column, problem);
}

// ----------------------------------------------------- cell conversions

// The value of the eight decimal digits in `w`, the first in its lowest
// byte: pairs, then fours, then all eight are combined in place.
constexpr std::uint64_t eight_digit_value(std::uint64_t w) noexcept {
  w -= 0x3030303030303030ULL;
  w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
  w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
  return (w * 10000 + (w >> 32)) & 0xFFFFFFFFULL;
}

constexpr std::uint64_t kPow10Int[] = {1,      10,      100,      1000,     10000,
                                       100000, 1000000, 10000000, 100000000};

// Bit 7 of each byte of `w` that is not a decimal digit; exact up to the
// first such byte. (A byte minus '0' is a digit when below 10: adding 0x76
// sets its high bit otherwise, and carries only leave bytes that failed.)
constexpr std::uint64_t non_digits(std::uint64_t w) noexcept {
  const std::uint64_t x = w ^ 0x3030303030303030ULL;
  return ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL;
}

// Reads the decimal digits in [p, end) from `p` on into `m` (which may
// wrap: the caller checks `digits`) and counts them; returns the first
// byte after them. Bytes up to `readable_end` (at or after `end`) may be
// looked at: a run of eight or more digits is then read eight at a time,
// its last few at once too, without a branch on each digit. Short runs,
// whose lengths branch prediction learns, go one digit at a time.
BDP_CSV_INLINE const char* read_digits(const char* p, const char* end, const char* readable_end,
                                       std::uint64_t& m_out, int& digits_out) noexcept {
  // Locals, not the references, carry the work: kept in registers.
  std::uint64_t m = m_out;
  int digits = digits_out;
  if constexpr (std::endian::native == std::endian::little) {
    std::uint64_t w;
    if (end - p >= 8 && (std::memcpy(&w, p, sizeof w), non_digits(w) == 0)) {
      for (;;) {
        m = m * 100000000 + eight_digit_value(w);
        p += 8;
        digits += 8;
        if (readable_end - p < 8) break;
        std::memcpy(&w, p, sizeof w);
        const auto n =
            std::min(static_cast<std::ptrdiff_t>(std::countr_zero(non_digits(w)) >> 3), end - p);
        if (n == 8) continue;
        if (n != 0) {
          // The n digits moved to the top, '0's below them.
          w = (w << (8 * (8 - n))) | ((0x3030303030303030ULL >> (8 * n - 1)) >> 1);
          m = m * kPow10Int[n] + eight_digit_value(w);
          p += n;
          digits += static_cast<int>(n);
        }
        m_out = m;
        digits_out = digits;
        return p;
      }
    }
  }
  for (; p != end && static_cast<unsigned>(*p - '0') <= 9; ++p, ++digits) {
    m = m * 10 + static_cast<unsigned>(*p - '0');
  }
  m_out = m;
  digits_out = digits;
  return p;
}

// An optional '-' and decimal digits, in the int64 range (what
// std::from_chars accepts, but faster for short numbers).
bool to_int64(const char* begin, const char* end, std::int64_t& v) noexcept {
  const char* p = begin;
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  const auto digits = static_cast<std::size_t>(end - p);
  if (digits == 0 || digits > 19) {
    // Long forms (leading zeros) and errors: the library decides.
    if (digits <= 19) return false;
    auto [ptr, ec] = std::from_chars(begin, end, v);
    return ec == std::errc() && ptr == end;
  }
  std::uint64_t magnitude = 0;
  for (; p != end; ++p) {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(*p) - '0');
    if (d > 9) return false;
    magnitude = magnitude * 10 + d;  // 19 digits fit in a uint64
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (magnitude > kMax + 1) return false;
    v = static_cast<std::int64_t>(0 - magnitude);
  } else {
    if (magnitude > kMax) return false;
    v = static_cast<std::int64_t>(magnitude);
  }
  return true;
}

bool to_int64(const Cell& cell, std::int64_t& v) noexcept {
  return to_int64(cell.begin, cell.end, v);
}

// Exact powers of ten as doubles.
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Reading a long decimal takes a shortcut through x87 extended precision
// where it is available (x86-64 Linux runs the x87 unit at its full 64-bit
// precision): a 64-bit significand holds every decimal significand of up to
// 19 digits and every power of ten up to 10^27 (5^27 < 2^64) exactly, so
// one multiplication or division rounds once. The shortcut checks that this
// rounding cannot change the final one to double and otherwise hands the
// text to std::from_chars, so results are always exactly its.
#if defined(__x86_64__) && defined(__linux__)
constexpr bool kExtended = std::numeric_limits<long double>::digits == 64;
#else
constexpr bool kExtended = false;
#endif
constexpr int kMaxPow10L = 27;
constexpr auto kPow10L = [] {
  std::array<long double, kMaxPow10L + 1> t{};
  long double p = 1;
  for (auto& v : t) {
    v = p;
    p *= 10;
  }
  return t;
}();

// The low 64 bits of an x87 long double: its significand.
inline std::uint64_t significand_bits(long double x) noexcept {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

// `m` * 10^`exponent` rounded to double, when extended precision decides it
// exactly (m < 2^64 and |exponent| <= 27 keep the result a normal double).
bool extended_float64(std::uint64_t m, int exponent, double& v) noexcept {
  if constexpr (!kExtended) {
    return false;
  } else {
    if (exponent < -kMaxPow10L || exponent > kMaxPow10L) return false;
    const long double x = exponent < 0 ? static_cast<long double>(m) / kPow10L[-exponent]
                                       : static_cast<long double>(m) * kPow10L[exponent];
    // Rounding x to 53 bits looks at its low 11 bits; only when they are
    // exactly the halfway pattern can the first rounding have decided the
    // second (the exact value may lie on either side of it).
    if ((significand_bits(x) & 0x7ff) == 0x400) return false;
    v = static_cast<double>(x);
    return true;
  }
}

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 Uint128;

// Largest k for which wide_float64 reads m / 10^k (5^k fits in 64 bits).
constexpr int kMaxWideDigits = 27;

// 2^e / 5^k rounded down, for the e that puts it in [2^127, 2^128), and e.
struct InversePow5 {
  Uint128 value;
  int shift;
};

constexpr auto kInversePow5 = [] {
  std::array<InversePow5, kMaxWideDigits + 1> table{};
  std::uint64_t pow5 = 1;
  for (int k = 1; k <= kMaxWideDigits; ++k) {
    pow5 *= 5;
    const int bits = std::bit_width(pow5);
    // Long division of 2^(127 + bits) by 5^k, one quotient bit at a time;
    // the remainder stays below 5^k < 2^63.
    Uint128 quotient = 0;
    std::uint64_t remainder = 1;  // the leading 1 of the dividend
    for (int i = 0; i < 127 + bits; ++i) {
      remainder <<= 1;
      quotient <<= 1;
      if (remainder >= pow5) {
        remainder -= pow5;
        quotient |= 1;
      }
    }
    table[static_cast<std::size_t>(k)] = InversePow5{quotient, 127 + bits};
  }
  return table;
}();

// m * 10^exponent correctly rounded to double, for m > 0 and
// -kMaxWideDigits <= exponent < 0 (m / 10^k, k = -exponent); false for
// anything else and in the rare cases it cannot tell.
//
// With M = m * 2^z normalised to [2^63, 2^64) and T = 2^e / 5^k - f
// (0 < f < 1) from kInversePow5, the exact value M * 2^e / 5^k is
// V = M * T + M * f with 0 < M * f < 2^64. So V lies strictly between
// P = M * T and P + 2^64. Unless the middle 64 bits of P are all ones,
// adding less than 2^64 cannot carry into the top 64 bits H of P, and V
// lies strictly between H * 2^128 and (H + 1) * 2^128: the bits of H
// below the 53 kept decide the rounding alone, and no tie is possible.
bool wide_float64(std::uint64_t m, int exponent, double& v) noexcept {
  if (m == 0 || exponent >= 0 || exponent < -kMaxWideDigits) return false;
  const int k = -exponent;
  const InversePow5& t = kInversePow5[static_cast<std::size_t>(k)];
  const int z = std::countl_zero(m);
  const std::uint64_t big = m << z;
  const Uint128 low = static_cast<Uint128>(big) * static_cast<std::uint64_t>(t.value);
  const Uint128 high = static_cast<Uint128>(big) * static_cast<std::uint64_t>(t.value >> 64);
  const Uint128 upper = high + static_cast<std::uint64_t>(low >> 64);  // P >> 64
  if (static_cast<std::uint64_t>(upper) == ~std::uint64_t{0}) return false;
  const auto h = static_cast<std::uint64_t>(upper >> 64);  // in [2^62, 2^64)
  const int drop = 10 + static_cast<int>(h >> 63);         // bits below the 53 kept
  std::uint64_t mantissa = h >> drop;
  // The exact value is about mantissa * 2^binary_exponent.
  int binary_exponent = drop + 128 - t.shift - z - k;
  if ((h >> (drop - 1)) & 1) {
    ++mantissa;
    if (mantissa == std::uint64_t{1} << 53) {
      mantissa >>= 1;
      ++binary_exponent;
    }
  }
  // m >= 1 and k <= 27 keep the result a normal double.
  const auto biased = static_cast<std::uint64_t>(binary_exponent + 52 + 1023);
  v = std::bit_cast<double>((biased << 52) | (mantissa & ((std::uint64_t{1} << 52) - 1)));
  return true;
}
#else
bool wide_float64(std::uint64_t, int, double&) noexcept {
  return false;
}
#endif

// Clinger's fast path for plain decimals ("-12.5", "3e5"): when the digits
// form an integer m <= 2^53 and the power of ten p is within 10^22, both
// are exact doubles and one IEEE multiplication or division rounds
// correctly, so the result equals std::from_chars'. Longer significands (up
// to 19 digits) go through extended_float64. Returns false, without
// judging the text, for anything else.
bool fast_float64(const char* p, const char* end, const char* readable_end, double& v) noexcept {
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  std::uint64_t m = 0;
  int digits = 0;
  int exponent = 0;
  const char* start = p;
  p = read_digits(p, end, readable_end, m, digits);
  if (p == start) return false;
  if (p != end && *p == '.') {
    const char* frac = ++p;
    p = read_digits(p, end, readable_end, m, digits);
    if (p == frac) return false;
    exponent = -static_cast<int>(p - frac);
  }
  if (digits > 19) return false;  // m may have wrapped
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative_exp = p != end && *p == '-';
    if (p != end && (*p == '-' || *p == '+')) ++p;
    const char* exp_start = p;
    int e = 0;
    for (; p != end && static_cast<unsigned>(*p - '0') <= 9 && e < 10000; ++p) {
      e = e * 10 + (*p - '0');
    }
    if (p == exp_start) return false;
    exponent += negative_exp ? -e : e;
  }
  if (p != end) return false;
  double d;
  if (m <= (std::uint64_t{1} << 53) && exponent >= -22 && exponent <= 22) {
    d = static_cast<double>(m);
    d = exponent < 0 ? d / kPow10[-exponent] : d * kPow10[exponent];
  } else if (!wide_float64(m, exponent, d) && !extended_float64(m, exponent, d)) {
    return false;
  }
  v = negative ? -d : d;
  return true;
}

// `readable_end`: see read_digits.
bool to_float64(const char* begin, const char* end, const char* readable_end, double& v) noexcept {
  if (begin == end) return false;
  if (fast_float64(begin, end, readable_end, v)) return true;
  auto [ptr, ec] = std::from_chars(begin, end, v, std::chars_format::general);
  return ec == std::errc() && ptr == end;
}

bool to_float64(const Cell& cell, double& v) noexcept {
  return to_float64(cell.begin, cell.end, cell.end, v);
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) noexcept {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool to_bool(const Cell& cell, bool& v) noexcept {
  std::string_view t = cell.raw();
  if (equals_ignoring_case(t, "true")) {
    v = true;
    return true;
  }
  if (equals_ignoring_case(t, "false")) {
    v = false;
    return true;
  }
  return false;
}

bool to_timestamp(const Cell& cell, std::int64_t& v) noexcept {
  auto parsed = parse_timestamp(cell.raw());
  if (!parsed) return false;
  v = *parsed;
  return true;
}

// ----------------------------------------------------- inferring types
//
// A column left to inference takes a type only when, for every non-null
// cell, writing the value back gives the cell's text, up to the spellings
// that ReadOptions::schema lists as the same: inference never changes a
// text ("00501" stays a string, "12345678901234567890" too: a double would
// keep 17 of its digits).

// Written by the writing section: the shortest text that reads back as `v`
// ("nan", "inf", "-inf" for those); `buf` has kMaxScalarChars bytes.
std::size_t format_float64(double v, char* buf) noexcept;

constexpr bool is_digit(char c) noexcept {
  return static_cast<unsigned>(c - '0') <= 9;
}

// As to_int64, but only for the writer's form: "-"? then "0" or digits
// without a leading zero. So "007" is not an integer, and neither is "-0",
// a float's negative zero, which an int64 would lose.
bool infer_int64(const Cell& cell, std::int64_t& v) noexcept {
  const char* p = cell.begin;
  if (p != cell.end && *p == '-') ++p;
  if (p == cell.end || (*p == '0' && (p != cell.begin || cell.end - p != 1))) return false;
  return to_int64(cell, v);
}

// Whether [p, end) is a decimal in plain notation as the writer writes
// one: "-"? ("0" | a digit other than 0, then digits) ("." digits)?; and
// how many significant digits it has (those from the first digit other than
// 0 to the last one).
bool plain_decimal(const char* p, const char* end, std::size_t& significant) noexcept {
  if (p != end && *p == '-') ++p;
  if (p == end || !is_digit(*p)) return false;
  const char* first = nullptr;  // the first and last digits other than 0
  const char* last = nullptr;
  bool point = false;
  if (*p == '0') {
    ++p;
    if (p != end && *p != '.') return false;  // a leading zero
  }
  for (; p != end; ++p) {
    if (*p == '.') {
      if (point || p + 1 == end) return false;
      point = true;
      continue;
    }
    if (!is_digit(*p)) return false;
    if (*p != '0') {
      if (first == nullptr) first = p;
      last = p;
    }
  }
  significant = 0;
  if (first != nullptr) {
    significant = static_cast<std::size_t>(last - first) + 1;
    if (point && std::find(first, last, '.') != last) --significant;
  }
  return true;
}

// Most significant digits in the writer's text of a double: 17, but an
// integer that is shorter written in full than with an exponent (below
// 10^22 or so) is written with all its digits ("9223372036854775808").
constexpr std::size_t kMaxShortestDigits = 24;

// A decimal number as its significant digits (without leading and
// trailing zeros) and the power of ten of the first: "0.0120" and "1.2e-02"
// are both "12" and -1 (0.12 * 10^-1). Zero is no digits and 0.
struct DecimalKey {
  std::array<char, kMaxShortestDigits> digits{};
  std::size_t count = 0;
  long exponent = 0;

  bool operator==(const DecimalKey& other) const noexcept {
    return count == other.count && exponent == other.exponent &&
           std::memcmp(digits.data(), other.digits.data(), count) == 0;
  }
};

// The key of `text`, a valid decimal with an optional sign and exponent;
// false when it has more than kMaxShortestDigits significant digits.
bool decimal_key(std::string_view text, DecimalKey& key) noexcept {
  key = DecimalKey();
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  long before_point = 0;  // digits before the point
  long leading = 0;       // zeros before the first other digit
  std::size_t zeros = 0;  // zeros after the last other digit so far
  bool point = false;
  bool started = false;
  for (; i < text.size() && (is_digit(text[i]) || text[i] == '.'); ++i) {
    const char c = text[i];
    if (c == '.') {
      point = true;
      continue;
    }
    if (!point) ++before_point;
    if (c == '0') {
      if (started) {
        ++zeros;
      } else {
        ++leading;
      }
      continue;
    }
    started = true;
    if (key.count + zeros + 1 > kMaxShortestDigits) return false;
    for (; zeros != 0; --zeros) key.digits[key.count++] = '0';
    key.digits[key.count++] = c;
  }
  if (!started) return true;  // zero
  long exponent = 0;
  if (i + 1 < text.size()) {  // 'e' or 'E', a sign, digits
    std::from_chars(text.data() + i + 1 + (text[i + 1] == '+' ? 1 : 0), text.data() + text.size(),
                    exponent);
  }
  key.exponent = before_point - leading + exponent;
  return true;
}

// Whether the decimal texts `a` and `b` are the same number (up to the
// sign, which the callers' values carry) of at most kMaxShortestDigits
// significant digits.
bool same_decimal(std::string_view a, std::string_view b) noexcept {
  DecimalKey ka;
  DecimalKey kb;
  return decimal_key(a, ka) && decimal_key(b, kb) && ka == kb;
}

// As to_float64, but only for a text that the writer's text of the value
// gives back (see ReadOptions::schema): a plain decimal whose every digit
// the double keeps, trailing zeros after the point allowed, or else exactly
// the written text (an exponent, "nan", "inf", "-inf").
bool infer_float64(const Cell& cell, double& v) noexcept {
  const char* begin = cell.begin;
  const char* end = cell.end;
  if (begin == end || !to_float64(begin, end, end, v)) return false;
  char written[64];
  std::size_t significant = 0;
  if (!plain_decimal(begin, end, significant)) {
    const std::size_t n = format_float64(v, written);
    return static_cast<std::size_t>(end - begin) == n && std::memcmp(written, begin, n) == 0;
  }
  // A decimal of at most 15 significant digits is the shortest text of the
  // double nearest it (every such decimal reads back from its double, so
  // no other as short can), while the double is normal.
  const double magnitude = std::fabs(v);
  if (significant <= 15 && (magnitude == 0 || (magnitude > 1e-300 && magnitude < 1e300))) {
    return true;
  }
  if (significant > kMaxShortestDigits) return false;  // more digits than the writer writes
  const std::string_view out(written, format_float64(v, written));
  if (out.find('e') != std::string_view::npos) return same_decimal(cell.raw(), out);
  // Both in plain notation, without leading zeros: the same number when
  // the same text, but for the cell's trailing zeros after the point.
  std::string_view text = cell.raw();
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  return text == out;
}

// Whether an inferred int64 cell `v` read as a double writes back as the
// same number: always up to 2^53, and for larger numbers only when their
// low digits are zeros the double can keep.
bool float_keeps(std::int64_t v) noexcept {
  constexpr std::int64_t kExact = std::int64_t{1} << 53;
  if (v >= -kExact && v <= kExact) return true;
  char text[32];
  char written[64];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  const std::size_t n = format_float64(static_cast<double>(v), written);
  return same_decimal(std::string_view(text, static_cast<std::size_t>(end - text)),
                      std::string_view(written, n));
}

// `text` without the trailing zeros of a timestamp's fraction of a second
// (and without the '.' when none is left), copied to `buf` (64 bytes); the
// text unchanged when it has no fraction before a final 'Z'.
std::string_view without_fraction_zeros(std::string_view text, char* buf) noexcept {
  const std::size_t dot = text.rfind('.');
  if (text.size() > 64 || text.empty() || text.back() != 'Z' || dot == std::string_view::npos) {
    return text;
  }
  std::size_t n = text.size() - 1;
  while (n > dot + 1 && text[n - 1] == '0') --n;
  if (n == dot + 1) n = dot;
  std::memcpy(buf, text.data(), n);
  buf[n] = 'Z';
  return std::string_view(buf, n + 1);
}

// As to_timestamp, but only for the writer's form, whose fraction of a
// second may have fewer digits ("...:59.5Z" for "...:59.500000Z"): not a
// date alone, a time without a zone, an offset, a space for the 'T'.
bool infer_timestamp(const Cell& cell, std::int64_t& v) noexcept {
  if (!to_timestamp(cell, v)) return false;
  char written[detail::kMaxTimestampChars];
  const std::size_t n = detail::format_timestamp_to(written, v);
  char a[64];
  char b[64];
  return without_fraction_zeros(cell.raw(), a) ==
         without_fraction_zeros(std::string_view(written, n), b);
}

// ------------------------------------------------------------- columns

enum class Mode : std::uint8_t {
  declared,        // type given by ReadOptions::schema; a misfit cell is an error
  unknown,         // inferred, no non-null cell seen yet
  inferred,        // inferred, typed by the cells so far
  pending_string,  // inferred as string after converting began; filled by a second pass
  skip,            // not read in this pass
};

struct ColumnState {
  std::string name;
  Mode mode = Mode::unknown;
  ColumnType type = ColumnType::string;
  std::size_t leading_nulls = 0;  // nulls seen while Mode::unknown
  std::optional<ColumnBuilder> builder;
};

class RowReader {
 public:
  RowReader(std::string_view source, std::size_t expected_rows)
      : source_(source), expected_rows_(expected_rows) {}

  // Reads the rows that start before `limit` (every row when it is null)
  // from `scanner` into `columns`.
  std::size_t read_rows(Scanner& scanner, std::vector<ColumnState>& columns,
                        const char* limit = nullptr) {
    const std::size_t n = columns.size();
    std::size_t rows = 0;
    Cell cell;
    while (!scanner.at_end() && (limit == nullptr || scanner.position() < limit)) {
      if (n > 1 && scanner.skip_blank_line()) continue;
      const std::size_t row_line = scanner.line();
      for (std::size_t c = 0;; ++c) {
        const std::size_t cell_line = scanner.line();
        Term term = scanner.next(cell, c + 1);
        if (c < n) {
          ColumnState& col = columns[c];
          if (col.mode != Mode::skip) accept(col, cell, cell_line, c + 1);
        }
        if (term == Term::row_end) {
          if (c + 1 != n) fail_short_row(source_, row_line, c + 1, n);
          break;
        }
        if (c + 1 >= n) fail_long_row(source_, row_line, n);
      }
      ++rows;
    }
    return rows;
  }

 private:
  [[noreturn]] void misfit(const ColumnState& col, const Cell& cell, std::size_t line,
                           std::size_t column) {
    fail_misfit(source_, line, column, cell, col.type, col.name);
  }

  void start_builder(ColumnState& col, ColumnType type) {
    col.type = type;
    col.builder.emplace(col.name, type);
    col.builder->reserve(expected_rows_);
    for (std::size_t i = 0; i < col.leading_nulls; ++i) col.builder->append_null();
  }

  void append_string(ColumnState& col, const Cell& cell) {
    col.builder->append_string(cell_text(cell, scratch_));
  }

  // Rebuilds an inferred int64 column as float64, when every value read so
  // far writes back as the same number as a double (the double nearest its
  // value is what its text reads as); false when one does not, and the
  // column is then left for become_pending_string.
  bool widen_to_float(ColumnState& col) {
    Column ints = col.builder->finish();
    {
      auto values = ints.int64_values();
      for (std::size_t i = 0; i < ints.size(); ++i) {
        if (!ints.is_null(i) && !float_keeps(values[i])) return false;
      }
    }
    col.type = ColumnType::float64;
    col.builder.emplace(col.name, ColumnType::float64);
    col.builder->reserve(expected_rows_);
    auto values = ints.int64_values();
    for (std::size_t i = 0; i < ints.size(); ++i) {
      if (ints.is_null(i)) {
        col.builder->append_null();
      } else {
        col.builder->append_float64(static_cast<double>(values[i]));
      }
    }
    return true;
  }

  void become_pending_string(ColumnState& col) {
    col.mode = Mode::pending_string;
    col.builder.reset();
  }

  void accept(ColumnState& col, const Cell& cell, std::size_t line, std::size_t column) {
    if (cell.is_null()) {
      if (col.mode == Mode::unknown) {
        ++col.leading_nulls;
      } else if (col.mode != Mode::pending_string) {
        col.builder->append_null();
      }
      return;
    }
    std::int64_t i = 0;
    double d = 0;
    bool b = false;
    switch (col.mode) {
      case Mode::declared:
        switch (col.type) {
          case ColumnType::int64:
            if (!to_int64(cell, i)) misfit(col, cell, line, column);
            col.builder->append_int64(i);
            return;
          case ColumnType::float64:
            if (!to_float64(cell, d)) misfit(col, cell, line, column);
            col.builder->append_float64(d);
            return;
          case ColumnType::boolean:
            if (!to_bool(cell, b)) misfit(col, cell, line, column);
            col.builder->append_bool(b);
            return;
          case ColumnType::timestamp:
            if (!to_timestamp(cell, i)) misfit(col, cell, line, column);
            col.builder->append_timestamp(i);
            return;
          case ColumnType::string:
            append_string(col, cell);
            return;
        }
        return;
      case Mode::unknown:
        col.mode = Mode::inferred;
        if (infer_int64(cell, i)) {
          start_builder(col, ColumnType::int64);
          col.builder->append_int64(i);
        } else if (infer_float64(cell, d)) {
          start_builder(col, ColumnType::float64);
          col.builder->append_float64(d);
        } else if (to_bool(cell, b)) {
          start_builder(col, ColumnType::boolean);
          col.builder->append_bool(b);
        } else if (infer_timestamp(cell, i)) {
          start_builder(col, ColumnType::timestamp);
          col.builder->append_timestamp(i);
        } else {
          start_builder(col, ColumnType::string);
          append_string(col, cell);
        }
        return;
      case Mode::inferred:
        switch (col.type) {
          case ColumnType::int64:
            if (infer_int64(cell, i)) {
              col.builder->append_int64(i);
            } else if (infer_float64(cell, d) && widen_to_float(col)) {
              col.builder->append_float64(d);
            } else {
              become_pending_string(col);
            }
            return;
          case ColumnType::float64:
            if (infer_float64(cell, d)) {
              col.builder->append_float64(d);
            } else {
              become_pending_string(col);
            }
            return;
          case ColumnType::boolean:
            if (to_bool(cell, b)) {
              col.builder->append_bool(b);
            } else {
              become_pending_string(col);
            }
            return;
          case ColumnType::timestamp:
            if (infer_timestamp(cell, i)) {
              col.builder->append_timestamp(i);
            } else {
              become_pending_string(col);
            }
            return;
          case ColumnType::string:
            append_string(col, cell);
            return;
        }
        return;
      case Mode::pending_string:
      case Mode::skip:
        return;
    }
  }

  std::string_view source_;
  std::size_t expected_rows_;
  std::string scratch_;
};

// The number of '\n' in [p, end).
std::size_t count_newlines(const char* p, const char* end) noexcept {
  std::size_t n = 0;
#if defined(__SSE2__)
  // Each compare adds 1 (as -1) to a byte lane; lanes are summed before
  // they can overflow (255 blocks).
  const __m128i newline = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const auto blocks = std::min<std::size_t>(static_cast<std::size_t>(end - p) / 16, 255);
    __m128i lanes = _mm_setzero_si128();
    for (std::size_t i = 0; i < blocks; ++i, p += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(v, newline));
    }
    const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
    n += static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) +
         static_cast<std::size_t>(_mm_cvtsi128_si32(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  for (; p != end; ++p) n += *p == '\n' ? 1 : 0;
  return n;
}

// ------------------------------------------- reading declared columns
//
// When every column's type is declared, rows are read by DeclaredReader:
// separators are found through bitmasks of 64-byte blocks, and cells go
// straight into their column's buffers. Its results and errors are those
// of RowReader for the same columns.

// Bit i set where p[i] is ',' or '\n', for the 64 bytes at `p`.
inline std::uint64_t separator_bits(const char* p) noexcept {
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i newline = _mm_set1_epi8('\n');
  std::uint64_t bits = 0;
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, newline));
    bits |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(hit)))
            << (16 * i);
  }
  return bits;
#else
  std::uint64_t bits = 0;
  for (int i = 0; i < 64; ++i) {
    bits |= static_cast<std::uint64_t>(p[i] == ',' || p[i] == '\n') << i;
  }
  return bits;
#endif
}

// Finds the separators (',' and '\n') of a text one 64-byte block at a
// time; the block holding the last position asked about is kept as a
// bitmask, so most cells cost a shift and a count of trailing zeros.
class SeparatorIndex {
 public:
  SeparatorIndex(const char* begin, const char* end) noexcept
      : begin_(begin), size_(static_cast<std::size_t>(end - begin)) {
    load(0);
  }

  // The first separator at or after `p` (which is at or after every
  // position asked about before), or the end of the text.
  const char* find(const char* p) noexcept {
    auto at = static_cast<std::size_t>(p - begin_);
    if (const std::size_t offset = at - base_; offset < 64) {
      const std::uint64_t bits = bits_ & (~std::uint64_t{0} << offset);
      if (bits != 0) return begin_ + base_ + std::countr_zero(bits);
      at = base_ + 64;
    }
    while (at < size_) {
      load(at);
      if (bits_ != 0) return begin_ + base_ + std::countr_zero(bits_);
      at += 64;
    }
    return begin_ + size_;
  }

 private:
  void load(std::size_t at) noexcept {
    base_ = at;
    if (size_ - at >= 64) {
      bits_ = separator_bits(begin_ + at);
    } else {
      // The last block: never read past the text.
      char tail[64] = {};
      std::memcpy(tail, begin_ + at, size_ - at);
      bits_ = separator_bits(tail);
    }
  }

  const char* begin_;
  std::size_t size_;
  std::size_t base_ = 0;    // offset of the block held
  std::uint64_t bits_ = 0;  // its separators
};

}  // namespace
}  // namespace bdp::csv

namespace bdp::detail {

// Direct access to a Column's buffers, for DeclaredColumn.
struct ColumnBuffers {
  static std::string& name(Column& c) noexcept { return c.name_; }
  static ColumnType& type(Column& c) noexcept { return c.type_; }
  static std::size_t& size(Column& c) noexcept { return c.size_; }
  static std::size_t& null_count(Column& c) noexcept { return c.null_count_; }
  static std::vector<std::int64_t>& ints(Column& c) noexcept { return c.ints_; }
  static std::vector<double>& floats(Column& c) noexcept { return c.floats_; }
  static std::vector<std::uint8_t>& bools(Column& c) noexcept { return c.bools_; }
  static std::vector<std::uint64_t>& offsets(Column& c) noexcept { return c.offsets_; }
  static std::string& chars(Column& c) noexcept { return c.chars_; }
  static std::vector<std::uint8_t>& validity(Column& c) noexcept { return c.validity_; }
};

}  // namespace bdp::detail

namespace bdp::csv {
namespace {

using detail::ColumnBuffers;

// Asks the kernel to back the 2 MiB-aligned middle of a large buffer that
// is about to be filled with transparent huge pages: far fewer page faults
// for fresh column buffers. Only advice; failures are ignored.
void advise_huge_pages(const void* data, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(kHuge - 1);
  if (last > first) {
    (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  }
#else
  (void)data;
  (void)bytes;
#endif
}

template <typename T>
void reserve_fresh(std::vector<T>& v, std::size_t n) {
  v.reserve(n);
  advise_huge_pages(v.data(), v.capacity() * sizeof(T));
}

// One declared column being read: cells are appended to the Column's
// buffers without ColumnBuilder's per-cell checks. Null rows are listed
// and turned into validity bytes once, at the end.
class DeclaredColumn {
 public:
  DeclaredColumn(const std::string& name, ColumnType type, std::size_t rows) : type_(type) {
    ColumnBuffers::name(col_) = name;
    ColumnBuffers::type(col_) = type;
    switch (type) {
      case ColumnType::int64:
      case ColumnType::timestamp:
        reserve_fresh(ColumnBuffers::ints(col_), rows);
        break;
      case ColumnType::float64:
        reserve_fresh(ColumnBuffers::floats(col_), rows);
        break;
      case ColumnType::boolean:
        reserve_fresh(ColumnBuffers::bools(col_), rows);
        break;
      case ColumnType::string:
        reserve_fresh(ColumnBuffers::offsets(col_), rows + 1);
        ColumnBuffers::offsets(col_).push_back(0);
        break;
    }
  }

  ColumnType type() const noexcept { return type_; }
  const std::string& name() noexcept { return ColumnBuffers::name(col_); }

  // The cells to come are read from the text [begin, end): a hint for
  // sizing the string buffer.
  void expect_text(const char* begin, const char* end) noexcept {
    text_begin_ = begin;
    text_end_ = end;
  }

  void append_null() {
    switch (type_) {
      case ColumnType::int64:
      case ColumnType::timestamp:
        nulls_.push_back(ColumnBuffers::ints(col_).size());
        ColumnBuffers::ints(col_).push_back(0);
        break;
      case ColumnType::float64:
        nulls_.push_back(ColumnBuffers::floats(col_).size());
        ColumnBuffers::floats(col_).push_back(0.0);
        break;
      case ColumnType::boolean:
        nulls_.push_back(ColumnBuffers::bools(col_).size());
        ColumnBuffers::bools(col_).push_back(0);
        break;
      case ColumnType::string:
        nulls_.push_back(ColumnBuffers::offsets(col_).size() - 1);
        ColumnBuffers::offsets(col_).push_back(chars_used_);
        break;
    }
  }
  void append_int64(std::int64_t v) { ColumnBuffers::ints(col_).push_back(v); }
  void append_float64(double v) { ColumnBuffers::floats(col_).push_back(v); }
  void append_bool(bool v) { ColumnBuffers::bools(col_).push_back(v ? 1 : 0); }

  // Appends the string [s, s + n); `readable_end` ends the memory that may
  // be read from s on (short strings are copied 16 bytes at a time).
  void append_string(const char* s, std::size_t n, const char* readable_end) {
    std::string& chars = ColumnBuffers::chars(col_);
    if (chars.size() - chars_used_ < n + 16) grow_chars(n + 16, s);
    char* out = chars.data() + chars_used_;
    if (n <= 16 && readable_end - s >= 16) {
      std::memcpy(out, s, 16);  // one unaligned 16-byte move
    } else {
      std::memcpy(out, s, n);
    }
    chars_used_ += n;
    ColumnBuffers::offsets(col_).push_back(chars_used_);
  }

  // Appends the cells of `other`, a column of the same type read after
  // this one.
  void append_part(DeclaredColumn& other) {
    Column& src = other.col_;
    const std::size_t rows = row_count();
    for (std::size_t r : other.nulls_) nulls_.push_back(rows + r);
    switch (type_) {
      case ColumnType::int64:
      case ColumnType::timestamp:
        append_values(ColumnBuffers::ints(col_), ColumnBuffers::ints(src));
        break;
      case ColumnType::float64:
        append_values(ColumnBuffers::floats(col_), ColumnBuffers::floats(src));
        break;
      case ColumnType::boolean:
        append_values(ColumnBuffers::bools(col_), ColumnBuffers::bools(src));
        break;
      case ColumnType::string: {
        std::string& chars = ColumnBuffers::chars(col_);
        if (chars.size() - chars_used_ < other.chars_used_) {
          chars.resize(chars_used_ + other.chars_used_);
        }
        if (other.chars_used_ != 0) {
          std::memcpy(chars.data() + chars_used_, ColumnBuffers::chars(src).data(),
                      other.chars_used_);
        }
        auto& offsets = ColumnBuffers::offsets(col_);
        const auto& more = ColumnBuffers::offsets(src);
        offsets.reserve(offsets.size() + more.size() - 1);
        for (std::size_t i = 1; i < more.size(); ++i) offsets.push_back(chars_used_ + more[i]);
        chars_used_ += other.chars_used_;
        break;
      }
    }
  }

  // Hands over the column.
  Column finish() {
    const std::size_t rows = row_count();
    ColumnBuffers::chars(col_).resize(chars_used_);
    ColumnBuffers::size(col_) = rows;
    ColumnBuffers::null_count(col_) = nulls_.size();
    if (!nulls_.empty()) {
      auto& validity = ColumnBuffers::validity(col_);
      validity.assign(rows, 1);
      for (std::size_t r : nulls_) validity[r] = 0;
    }
    return std::move(col_);
  }

 private:
  std::size_t row_count() noexcept {
    switch (type_) {
      case ColumnType::int64:
      case ColumnType::timestamp:
        return ColumnBuffers::ints(col_).size();
      case ColumnType::float64:
        return ColumnBuffers::floats(col_).size();
      case ColumnType::boolean:
        return ColumnBuffers::bools(col_).size();
      case ColumnType::string:
        return ColumnBuffers::offsets(col_).size() - 1;
    }
    return 0;
  }

  template <typename T>
  static void append_values(std::vector<T>& to, const std::vector<T>& from) {
    to.insert(to.end(), from.begin(), from.end());
  }

  // Makes room for `room` more chars. The string's capacity grows by
  // doubling, its size (zero-filled by resize) only a step at a time, so
  // that no page is touched long before it is used.
  // `at` is where the text being read has got to (see expect_text).
  void grow_chars(std::size_t room, const char* at) {
    constexpr std::size_t kStep = std::size_t{64} << 10;
    std::string& chars = ColumnBuffers::chars(col_);
    const std::size_t size = chars_used_ + room + kStep;
    if (size > chars.capacity()) {
      std::size_t capacity = std::max(chars.capacity() * 2, size);
      if (chars_used_ >= (std::size_t{256} << 10) && text_begin_ < at && at <= text_end_) {
        // Enough read to foresee the rest: as many chars per byte of text,
        // and an eighth more, so that the chars are moved once more at most.
        const double per_byte =
            static_cast<double>(chars_used_) / static_cast<double>(at - text_begin_);
        const double rest = per_byte * static_cast<double>(text_end_ - at) * 1.125;
        capacity = std::max(capacity, size + static_cast<std::size_t>(rest));
      }
      chars.reserve(capacity);
      advise_huge_pages(chars.data(), chars.capacity());
    }
    chars.resize(size);
  }

  ColumnType type_;
  Column col_;
  const char* text_begin_ = nullptr;  // see expect_text
  const char* text_end_ = nullptr;
  std::vector<std::size_t> nulls_;  // rows that are null
  std::size_t chars_used_ = 0;      // chars of col_ in use; the rest is room
};

class DeclaredReader {
 public:
  DeclaredReader(const char* begin, const char* end, std::size_t line, std::string_view source)
      : p_(begin), end_(end), line_(line), source_(source), index_(begin, end) {}

  const char* position() const noexcept { return p_; }
  std::size_t line() const noexcept { return line_; }

  // Reads the rows that start before `limit` into `columns`.
  std::size_t read_rows(std::vector<DeclaredColumn>& columns, const char* limit) {
    const std::size_t n = columns.size();
    const char* const end = end_;
    const char* p = p_;
    std::size_t line = line_;
    std::size_t rows = 0;
    SeparatorIndex index = index_;  // a local, kept in registers
    for (auto& col : columns) col.expect_text(p, std::min(limit, end));
    Cell cell;
    while (p != end && p < limit) {
      if (n > 1) {
        if (*p == '\n') {
          ++p;
          ++line;
          continue;
        }
        if (*p == '\r' && p + 1 != end && p[1] == '\n') {
          p += 2;
          ++line;
          continue;
        }
      }
      const std::size_t row_line = line;
      for (std::size_t c = 0;; ++c) {
        const std::size_t cell_line = line;
        Term term;
        if (p != end && *p == '"') {
          term = Scanner::next_quoted(p, end, line, cell, c + 1, source_);
        } else {
          term = Scanner::unquoted(p, index.find(p), end, line, cell);
        }
        accept(columns[c], cell, cell_line, c + 1);
        if (term == Term::row_end) {
          if (c + 1 != n) fail_short_row(source_, row_line, c + 1, n);
          break;
        }
        if (c + 1 >= n) fail_long_row(source_, row_line, n);
      }
      ++rows;
    }
    p_ = p;
    line_ = line;
    index_ = index;
    return rows;
  }

 private:
  [[noreturn]] void misfit(DeclaredColumn& col, const Cell& cell, std::size_t line,
                           std::size_t column) {
    fail_misfit(source_, line, column, cell, col.type(), col.name());
  }

  void accept(DeclaredColumn& col, const Cell& cell, std::size_t line, std::size_t column) {
    if (cell.is_null()) {
      col.append_null();
      return;
    }
    std::int64_t i = 0;
    double d = 0;
    bool b = false;
    switch (col.type()) {
      case ColumnType::int64:
        if (!to_int64(cell.begin, cell.end, i)) misfit(col, cell, line, column);
        col.append_int64(i);
        return;
      case ColumnType::float64:
        if (!to_float64(cell.begin, cell.end, end_, d)) misfit(col, cell, line, column);
        col.append_float64(d);
        return;
      case ColumnType::boolean:
        if (!to_bool(cell, b)) misfit(col, cell, line, column);
        col.append_bool(b);
        return;
      case ColumnType::timestamp:
        if (!to_timestamp(cell, i)) misfit(col, cell, line, column);
        col.append_int64(i);
        return;
      case ColumnType::string:
        if (cell.escaped) {
          const std::string_view text = cell_text(cell, scratch_);
          col.append_string(text.data(), text.size(), text.data() + text.size());
        } else {
          col.append_string(cell.begin, static_cast<std::size_t>(cell.end - cell.begin), end_);
        }
        return;
    }
  }

  const char* p_;
  const char* end_;
  std::size_t line_;
  std::string_view source_;
  SeparatorIndex index_;
  std::string scratch_;
};

// ------------------------------------------------------------- writing

// Characters that force a string cell into quotes.
constexpr std::array<bool, 256> kQuoteChars = [] {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('"')] = true;
  t[static_cast<unsigned char>('\n')] = true;
  t[static_cast<unsigned char>('\r')] = true;
  return t;
}();

bool needs_quotes(std::string_view s) noexcept {
  if (s.empty()) return true;  // "" is the empty string; an empty cell is null
  for (char c : s) {
    if (kQuoteChars[static_cast<unsigned char>(c)]) return true;
  }
  return false;
}

// Longest text of a non-string cell.
constexpr std::size_t kMaxScalarChars = 64;

// Appends to a std::string through a raw cursor: the string is grown ahead
// and cut to length by finish(), so each cell costs no more than a copy.
class OutputBuffer {
 public:
  OutputBuffer(std::string& out, std::size_t expected) : OutputBuffer(out, out.size(), expected) {}

  // Writes from `start` on, over whatever `out` holds there; `out` only
  // grows (so a reused buffer is not cleared again).
  OutputBuffer(std::string& out, std::size_t start, std::size_t expected) : out_(out), pos_(start) {
    if (out_.size() < start + expected + kMaxScalarChars) {
      out_.resize(start + expected + kMaxScalarChars);
    }
  }

  void reserve(std::size_t n) {
    if (out_.size() - pos_ < n) out_.resize(std::max(out_.size() * 2, pos_ + n + 4096));
  }
  char* cursor() noexcept { return out_.data() + pos_; }
  void advance(std::size_t n) noexcept { pos_ += n; }

  void put(char c) {
    reserve(1);
    out_[pos_++] = c;
  }

  // A string cell or header name, quoted when it needs to be or `quote`.
  void put_string(std::string_view s, bool quote = false) {
    if (!quote && !needs_quotes(s)) {
      reserve(s.size());
      std::memcpy(cursor(), s.data(), s.size());
      pos_ += s.size();
      return;
    }
    reserve(2 * s.size() + 2);
    char* p = cursor();
    *p++ = '"';
    for (char c : s) {
      *p++ = c;
      if (c == '"') *p++ = '"';
    }
    *p++ = '"';
    pos_ = static_cast<std::size_t>(p - out_.data());
  }

  // The end of what was written.
  std::size_t position() const noexcept { return pos_; }
  // Cuts `out` to what was written.
  void finish() { out_.resize(pos_); }

 private:
  std::string& out_;
  std::size_t pos_;
};

static_assert(kMaxScalarChars >= detail::kShortestChars);

// The shortest text that reads back as `v` (see format_scalar); `buf` has
// kMaxScalarChars bytes.
std::size_t format_float64(double v, char* buf) noexcept {
  if (std::isnan(v)) {
    std::memcpy(buf, "nan", 3);
    return 3;
  }
  if (std::isinf(v)) {
    if (v < 0) {
      std::memcpy(buf, "-inf", 4);
      return 4;
    }
    std::memcpy(buf, "inf", 3);
    return 3;
  }
  return detail::format_shortest(v, buf);
}

// Writes the non-null cell's unquoted text to `buf` (kMaxScalarChars bytes) and
// returns its length; string cells are not handled here.
std::size_t format_scalar(const Column& column, std::size_t row, char* buf) noexcept {
  constexpr std::size_t kBuf = kMaxScalarChars;
  switch (column.type()) {
    case ColumnType::int64: {
      auto r = std::to_chars(buf, buf + kBuf, column.int64_at(row));
      return static_cast<std::size_t>(r.ptr - buf);
    }
    case ColumnType::float64:
      return format_float64(column.float64_at(row), buf);
    case ColumnType::boolean:
      if (column.bool_at(row)) {
        std::memcpy(buf, "true", 4);
        return 4;
      }
      std::memcpy(buf, "false", 5);
      return 5;
    case ColumnType::timestamp:
      return detail::format_timestamp_to(buf, column.int64_at(row));
    case ColumnType::string:
      break;
  }
  return 0;
}

std::size_t estimate_size(const Table& table) noexcept {
  std::size_t per_row = 1;
  std::size_t total = 0;
  for (const auto& c : table.columns()) {
    switch (c.type()) {
      case ColumnType::int64:
        per_row += 8;
        break;
      case ColumnType::float64:
        per_row += 19;
        break;
      case ColumnType::boolean:
        per_row += 6;
        break;
      case ColumnType::timestamp:
        per_row += 28;
        break;
      case ColumnType::string: {
        per_row += 3;
        std::size_t chars = 0;
        if (c.size() != 0) {
          chars =
              static_cast<std::size_t>(c.string_at(c.size() - 1).data() +
                                       c.string_at(c.size() - 1).size() - c.string_at(0).data());
        }
        total += chars;
        break;
      }
    }
    total += c.name().size() + 3;
  }
  return total + per_row * table.num_rows();
}

}  // namespace

// ------------------------------------------------------ parallel reading

namespace {

// Most threads the codec starts for one table.
constexpr unsigned kMaxThreads = 8;

// The cores this process may run on (its affinity mask where there is one).
unsigned available_cores() noexcept {
#ifdef __linux__
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  }
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

// Texts with every column declared are split for reading in parallel into
// parts of at least this many bytes.
constexpr std::size_t kMinPartBytes = std::size_t{4} << 20;

// A declared column: its name and type.
struct Declared {
  std::string name;
  ColumnType type;
};

std::vector<DeclaredColumn> make_columns(const std::vector<Declared>& declared, std::size_t rows) {
  std::vector<DeclaredColumn> columns;
  columns.reserve(declared.size());
  for (const auto& d : declared) columns.emplace_back(d.name, d.type, rows);
  return columns;
}

// Reads the rows of [data_begin, end), every column declared, on the
// calling thread.
std::vector<Column> read_declared(const std::vector<Declared>& declared, const char* data_begin,
                                  std::size_t data_line, const char* end, std::string_view source) {
  auto columns = make_columns(declared, count_newlines(data_begin, end) + 1);
  DeclaredReader reader(data_begin, end, data_line, source);
  reader.read_rows(columns, end);
  std::vector<Column> result;
  result.reserve(columns.size());
  for (auto& c : columns) result.push_back(c.finish());
  return result;
}

// One piece of the text, read on its own thread.
struct Part {
  const char* begin = nullptr;  // first byte: just after a '\n'
  const char* limit = nullptr;  // rows starting here or later belong to the next part
  std::size_t line = 0;         // line number at `begin`
  std::size_t newlines = 0;     // '\n' in [begin, limit)
  std::vector<DeclaredColumn> columns;
  const char* stopped = nullptr;  // where reading stopped: `limit` unless a row crossed it
  std::size_t stopped_line = 0;
  std::exception_ptr error;
};

void read_part(Part& part, const char* end, std::string_view source) {
  // A part after the first starts at a guessed row start: when the guess
  // was inside a quoted cell its reading is garbage, possibly an error, and
  // is dropped by read_declared_in_parallel, which only keeps the error of
  // a part whose start the previous part confirmed.
  try {
    DeclaredReader reader(part.begin, end, part.line, source);
    reader.read_rows(part.columns, part.limit);
    part.stopped = reader.position();
    part.stopped_line = reader.line();
  } catch (...) {
    part.error = std::current_exception();
  }
}

// Reads the rows of [data_begin, end), every column declared, split at
// line ends into `parts` pieces read on their own threads (the first on
// the calling thread). Each piece but the first is confirmed by the
// previous one stopping exactly at its start; a quoted cell holding a line
// end near a split breaks the chain there, and the rest is then read on
// the calling thread. The result is the same as one sequential read.
std::vector<Column> read_declared_in_parallel(const std::vector<Declared>& declared,
                                              const char* data_begin, std::size_t data_line,
                                              const char* end, std::size_t parts,
                                              std::string_view source) {
  std::vector<Part> pieces;
  const auto length = static_cast<std::size_t>(end - data_begin);
  const char* begin = data_begin;
  std::size_t line = data_line;
  for (std::size_t i = 0; i < parts && begin != end; ++i) {
    Part part;
    part.begin = begin;
    part.line = line;
    part.limit = end;
    if (i + 1 < parts) {
      const char* guess = std::max(begin, data_begin + length / parts * (i + 1));
      const void* nl = std::memchr(guess, '\n', static_cast<std::size_t>(end - guess));
      if (nl != nullptr) part.limit = static_cast<const char*>(nl) + 1;
    }
    part.newlines = count_newlines(part.begin, part.limit);
    line += part.newlines;
    begin = part.limit;
    pieces.push_back(std::move(part));
  }
  // The first part's columns have room for every row, so that the others
  // are appended to them without moving them.
  pieces[0].columns = make_columns(declared, line - data_line + 1);
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    pieces[i].columns = make_columns(declared, pieces[i].newlines + 1);
  }

  std::vector<std::thread> threads;
  threads.reserve(pieces.size());
  struct Joiner {
    std::vector<std::thread>& threads;
    ~Joiner() {
      for (auto& t : threads) t.join();
    }
  } joiner{threads};
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    Part& part = pieces[i];
    try {
      threads.emplace_back([&part, end, source] { read_part(part, end, source); });
    } catch (const std::system_error&) {
      read_part(part, end, source);  // no thread to be had: read it here
    }
  }
  read_part(pieces[0], end, source);
  for (auto& t : threads) t.join();
  threads.clear();

  // The confirmed chain of parts.
  std::size_t kept = 1;
  if (pieces[0].error) std::rethrow_exception(pieces[0].error);
  for (; kept < pieces.size(); ++kept) {
    if (pieces[kept - 1].stopped != pieces[kept].begin) break;
    if (pieces[kept].error) std::rethrow_exception(pieces[kept].error);
  }
  Part& last = pieces[kept - 1];
  if (kept < pieces.size() && last.stopped != end) {
    DeclaredReader reader(last.stopped, end, last.stopped_line, source);
    reader.read_rows(last.columns, end);
  }

  std::vector<Column> result;
  result.reserve(declared.size());
  for (std::size_t c = 0; c < declared.size(); ++c) {
    DeclaredColumn& column = pieces[0].columns[c];
    for (std::size_t i = 1; i < kept; ++i) column.append_part(pieces[i].columns[c]);
    result.push_back(column.finish());
  }
  return result;
}

// How many parts to read a text of `bytes` in with up to `threads` threads
// (0: one per core).
std::size_t reading_parts(std::size_t bytes, unsigned threads) noexcept {
  const std::size_t n = std::min(threads != 0 ? threads : available_cores(), kMaxThreads);
  return std::max<std::size_t>(1, std::min(n, bytes / kMinPartBytes));
}

}  // namespace

// ---------------------------------------------------------------- parse

TablePtr parse(std::string_view text, const ReadOptions& options) {
  return parse(text, options, 0);
}

std::optional<Encoding> parse_encoding(std::string_view name) noexcept {
  static constexpr std::pair<std::string_view, Encoding> kNames[] = {
      {"utf-8", Encoding::utf8},
      {"utf8", Encoding::utf8},
      {"latin1", Encoding::latin1},
      {"iso-8859-1", Encoding::latin1},
      {"windows-1252", Encoding::windows1252},
      {"cp1252", Encoding::windows1252}};
  for (const auto& [known, encoding] : kNames) {
    if (equals_ignoring_case(name, known)) return encoding;
  }
  return std::nullopt;
}

namespace {

// parse(), where `writable` is null or `text.data()`, which may then be
// changed (read_file's own buffer).
TablePtr parse_text(std::string_view text, const ReadOptions& options, unsigned threads,
                    char* writable) {
  const std::string source = options.source_name.empty() ? "<input>" : options.source_name;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const bool bom = text.size() >= 3 && std::memcmp(begin, "\xEF\xBB\xBF", 3) == 0;
  // The text the readers see when it is not `text`: converted to UTF-8, or
  // a copy with lone '\r's made '\n'.
  std::string converted;
  const bool converting =
      options.encoding == Encoding::latin1 || options.encoding == Encoding::windows1252;
  if (converting) {
    if (bom) {
      fail_at(source, 1, 1,
              "the text starts with a UTF-8 byte order mark, so it is UTF-8, not " +
                  std::string(options.encoding == Encoding::latin1 ? "latin1" : "windows-1252") +
                  ": read it as UTF-8");
    }
    converted = to_utf8(begin, end, options.encoding);
    begin = converted.data();
    end = begin + converted.size();
    writable = converted.data();
  } else if (bom) {
    begin += 3;
    if (writable != nullptr) writable += 3;
  }
  if (begin == end) return std::make_shared<const Table>();
  const TextScan scan = scan_text(begin, end, options.encoding != Encoding::as_is);
  if (scan.bad != nullptr) fail_encoding(source, begin, scan.bad, end, converting);
  if (scan.lone_cr) {
    const char* changed = normalise_line_ends(begin, end, [&] {
      if (writable == nullptr) {
        converted.assign(begin, end);
        writable = converted.data();
      }
      return writable;
    });
    if (changed != nullptr) {
      end = changed + (end - begin);
      begin = changed;
    }
  }

  // The header.
  Scanner scanner(begin, end, 1, source);
  std::vector<ColumnState> columns;
  {
    std::unordered_set<std::string> seen;
    std::string scratch;
    Cell cell;
    for (std::size_t c = 0;; ++c) {
      Term term = scanner.next(cell, c + 1);
      std::string name(cell_text(cell, scratch));
      if (name.empty()) fail_at(source, 1, c + 1, "the header names no column here");
      if (!seen.insert(name).second) {
        fail_at(source, 1, c + 1, "the header names column '" + name + "' twice");
      }
      ColumnState col;
      col.name = std::move(name);
      columns.push_back(std::move(col));
      if (term == Term::row_end) break;
    }
  }
  for (const auto& declared : options.schema) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string& name = declared.first;
    auto it = std::find_if(columns.begin(), columns.end(),
                           [&](const ColumnState& c) { return c.name == name; });
    if (it == columns.end()) {
      std::string names;
      for (const auto& c : columns) names += (names.empty() ? "'" : ", '") + c.name + "'";
      throw Error(ErrorCode::invalid_argument,
                  source + ": the schema names column '" + name +
                      "', which the header does not have (columns: " + names + ")");
    }
  }

  const char* data_begin = scanner.position();
  const std::size_t data_line = scanner.line();
  bool all_declared = true;
  for (auto& col : columns) {
    auto declared = options.schema.find(col.name);
    if (declared != options.schema.end()) {
      col.mode = Mode::declared;
      col.type = declared->second;
    } else {
      all_declared = false;
    }
  }
  if (all_declared) {
    std::vector<Declared> declared;
    declared.reserve(columns.size());
    for (const auto& col : columns) declared.push_back(Declared{col.name, col.type});
    const std::size_t parts = reading_parts(static_cast<std::size_t>(end - data_begin), threads);
    return make_table(
        parts > 1 ? read_declared_in_parallel(declared, data_begin, data_line, end, parts, source)
                  : read_declared(declared, data_begin, data_line, end, source));
  }
  const std::size_t expected_rows = count_newlines(data_begin, end) + 1;
  for (auto& col : columns) {
    if (col.mode == Mode::declared) {
      col.builder.emplace(col.name, col.type);
      col.builder->reserve(expected_rows);
    }
  }

  RowReader reader(source, expected_rows);
  const std::size_t rows = reader.read_rows(scanner, columns);

  // Columns that turned out to be strings after converting began: read
  // them again, as strings.
  bool second_pass = false;
  std::vector<ColumnState> strings(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    strings[c].mode = Mode::skip;
    if (columns[c].mode == Mode::pending_string) {
      second_pass = true;
      strings[c].name = columns[c].name;
      strings[c].mode = Mode::declared;
      strings[c].type = ColumnType::string;
      strings[c].builder.emplace(columns[c].name, ColumnType::string);
      strings[c].builder->reserve(expected_rows);
    }
  }
  if (second_pass) {
    Scanner again(data_begin, end, data_line, source);
    reader.read_rows(again, strings);
  }

  std::vector<Column> result;
  result.reserve(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    ColumnState& col = columns[c];
    if (col.mode == Mode::pending_string) {
      result.push_back(strings[c].builder->finish());
    } else if (col.mode == Mode::unknown) {
      // No non-null cell: a column of nulls, typed string.
      ColumnBuilder b(col.name, ColumnType::string);
      b.reserve(rows);
      for (std::size_t i = 0; i < rows; ++i) b.append_null();
      result.push_back(b.finish());
    } else {
      result.push_back(col.builder->finish());
    }
  }
  return std::make_shared<const Table>(std::move(result));
}

}  // namespace

TablePtr parse(std::string_view text, const ReadOptions& options, unsigned threads) {
  return parse_text(text, options, threads, nullptr);
}

// ------------------------------------------------------------ read_file

TablePtr read_file(const std::filesystem::path& path, ReadOptions options) {
  if (options.source_name.empty()) options.source_name = path.string();
  const std::string& name = options.source_name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      throw Error(ErrorCode::not_found, "CSV file '" + name + "' does not exist");
    }
    throw Error(ErrorCode::io, "cannot open CSV file '" + name +
                                   "': " + std::error_code(err, std::generic_category()).message());
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    throw Error(ErrorCode::io, "cannot read CSV file '" + name +
                                   "': " + std::error_code(err, std::generic_category()).message());
  }
  if (S_ISDIR(st.st_mode)) {
    throw Error(ErrorCode::io, "cannot read CSV file '" + name + "': it is a directory");
  }
  std::string text;
  std::size_t capacity = st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 0;
  text.resize(capacity + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) text.resize(text.size() * 2 + 4096);
    ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      throw Error(ErrorCode::io, "cannot read CSV file '" + name + "': " +
                                     std::error_code(err, std::generic_category()).message());
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  text.resize(used);
  if (used == 0 || (used == 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0)) {
    throw Error(ErrorCode::invalid_argument, name + ": empty file (no header line)");
  }
  return parse_text(text, options, 0, text.data());
}

// ---------------------------------------------------------------- write

namespace {

void write_header(const Table& table, std::string& out) {
  const auto& columns = table.columns();
  OutputBuffer sink(out, 64 * columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c != 0) sink.put(',');
    // A first name that starts with a UTF-8 BOM is quoted: the reader drops
    // a BOM at the start of the text, which would take it off the name.
    const std::string& name = columns[c].name();
    sink.put_string(name, c == 0 && name.starts_with("\xEF\xBB\xBF"));
  }
  sink.put('\n');
  sink.finish();
}

// Writes string cell `s` at `p` (room for 2 * size + 2 bytes), quoted when
// it needs to be; returns the end. The common case, a short string without
// special characters, is one pass that copies and checks at once.
inline char* put_string_cell(char* p, std::string_view s) noexcept {
  if (s.empty()) {
    *p++ = '"';
    *p++ = '"';
    return p;
  }
  bool special = false;
  if (s.size() <= 32) {
    for (char c : s) {
      special |= kQuoteChars[static_cast<unsigned char>(c)];
      *p++ = c;
    }
    if (!special) return p;
    p -= s.size();
  } else if (!needs_quotes(s)) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }
  *p++ = '"';
  for (char c : s) {
    *p++ = c;
    if (c == '"') *p++ = '"';
  }
  *p++ = '"';
  return p;
}

// Writes rows [first, last) of `table` into `out` from `used` on (about
// `expected` bytes) and moves `used` past them; `out` may be longer.
void write_rows(const Table& table, std::size_t first, std::size_t last, std::size_t expected,
                std::string& out, std::size_t& used) {
  const auto& columns = table.columns();
  const std::size_t n = columns.size();
  // Room a row needs besides its string cells: scalars and separators.
  std::size_t fixed_bytes = n;
  std::vector<const Column*> strings;
  for (const auto& col : columns) {
    if (col.type() == ColumnType::string) {
      strings.push_back(&col);
      fixed_bytes += 2;
    } else {
      fixed_bytes += kMaxScalarChars;
    }
  }
  OutputBuffer sink(out, used, expected);
  for (std::size_t r = first; r < last; ++r) {
    std::size_t room = fixed_bytes;
    for (const Column* col : strings) room += 2 * col->string_at(r).size();
    sink.reserve(room);
    char* const start = sink.cursor();
    char* p = start;
    for (const Column& col : columns) {
      if (!col.is_null(r)) {
        switch (col.type()) {
          case ColumnType::int64:
            p = std::to_chars(p, p + kMaxScalarChars, col.int64_at(r)).ptr;
            break;
          case ColumnType::string:
            p = put_string_cell(p, col.string_at(r));
            break;
          default:
            p += format_scalar(col, r, p);
            break;
        }
      }
      *p++ = ',';
    }
    p[-1] = '\n';
    sink.advance(static_cast<std::size_t>(p - start));
  }
  used = sink.position();
}

// Pieces handed to a write_chunked sink hold about this many bytes.
constexpr std::size_t kPieceBytes = std::size_t{1} << 20;
// Tables with fewer cells are formatted on the calling thread only.
constexpr std::size_t kMinParallelCells = std::size_t{1} << 18;

unsigned formatting_threads(unsigned requested) noexcept {
  unsigned n = requested != 0 ? requested : available_cores();
  return std::clamp(n, 1u, kMaxThreads);
}

// Formats blocks of rows on `threads` worker threads while the calling
// thread hands the finished blocks, in order, to `sink`. A bounded ring of
// buffers keeps the workers at most two blocks each ahead of the sink.
class ParallelWriter {
 public:
  ParallelWriter(const Table& table, std::size_t block_rows, std::size_t row_bytes,
                 unsigned threads)
      : table_(table),
        block_rows_(block_rows),
        row_bytes_(row_bytes),
        blocks_((table.num_rows() + block_rows - 1) / block_rows),
        threads_(threads),
        ring_(2 * static_cast<std::size_t>(threads)) {}

  ParallelWriter(const ParallelWriter&) = delete;
  ParallelWriter& operator=(const ParallelWriter&) = delete;

  ~ParallelWriter() { stop(); }

  // Starts the workers; false (and none running) when the system has no
  // thread to give.
  bool start() {
    workers_.reserve(threads_);
    try {
      for (unsigned t = 0; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
    } catch (const std::system_error&) {
      stop();
      return false;
    }
    return true;
  }

  // Hands every block to `sink`, in order.
  void drain(const std::function<void(std::string_view)>& sink) {
    for (std::size_t b = 0; b < blocks_; ++b) {
      Slot& slot = ring_[b % ring_.size()];
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return slot.ready || error_; });
        if (error_) std::rethrow_exception(error_);
      }
      sink(std::string_view(slot.text.data(), slot.used));  // may throw: see ~ParallelWriter
      {
        std::lock_guard lock(mutex_);
        slot.ready = false;
        ++consumed_;
      }
      changed_.notify_all();
    }
    stop();
  }

 private:
  struct Slot {
    std::string text;  // its first `used` bytes are the block
    std::size_t used = 0;
    bool ready = false;
  };

  void work(unsigned t) {
    try {
      for (std::size_t b = t; b < blocks_; b += threads_) {
        Slot& slot = ring_[b % ring_.size()];
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [&] { return stopping_ || b < consumed_ + ring_.size(); });
          if (stopping_) return;
        }
        // The slot is this worker's until it marks it ready.
        slot.used = 0;
        const std::size_t first = b * block_rows_;
        const std::size_t last = std::min(first + block_rows_, table_.num_rows());
        write_rows(table_, first, last, (last - first) * row_bytes_, slot.text, slot.used);
        {
          std::lock_guard lock(mutex_);
          slot.ready = true;
        }
        changed_.notify_all();
      }
    } catch (...) {
      // Handed to the calling thread, which rethrows it from run().
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      changed_.notify_all();
    }
  }

  void stop() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& w : workers_) {
      if (w.joinable()) w.join();
    }
    workers_.clear();
  }

  const Table& table_;
  const std::size_t block_rows_;
  const std::size_t row_bytes_;
  const std::size_t blocks_;
  const unsigned threads_;
  std::vector<Slot> ring_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t consumed_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace

void write_chunked(const Table& table, const std::function<void(std::string_view)>& sink,
                   unsigned threads) {
  if (table.num_columns() == 0) return;
  std::string piece;
  write_header(table, piece);
  const std::size_t rows = table.num_rows();
  const std::size_t row_bytes =
      std::max<std::size_t>(1, estimate_size(table) / std::max<std::size_t>(rows, 1));
  const std::size_t block_rows = std::max<std::size_t>(256, kPieceBytes / row_bytes);
  const unsigned workers = formatting_threads(threads);
  if (workers > 1 && rows * table.num_columns() >= kMinParallelCells && rows > block_rows) {
    ParallelWriter writer(table, block_rows, row_bytes, workers);
    if (writer.start()) {
      sink(piece);
      writer.drain(sink);
      return;
    }
  }
  std::size_t used = piece.size();
  for (std::size_t first = 0; first < rows; first += block_rows) {
    const std::size_t last = std::min(first + block_rows, rows);
    write_rows(table, first, last, (last - first) * row_bytes, piece, used);
    if (used >= kPieceBytes) {
      sink(std::string_view(piece.data(), used));
      used = 0;
    }
  }
  if (used != 0) sink(std::string_view(piece.data(), used));
}

void write(const Table& table, std::string& out) {
  if (table.num_columns() == 0) return;
  if (formatting_threads(0) > 1 && table.num_rows() * table.num_columns() >= kMinParallelCells) {
    out.reserve(out.size() + estimate_size(table));
    write_chunked(table, [&](std::string_view piece) { out.append(piece); });
    return;
  }
  write_header(table, out);
  std::size_t used = out.size();
  write_rows(table, 0, table.num_rows(), estimate_size(table), out, used);
  out.resize(used);
}

std::string format_cell(const Column& column, std::size_t row) {
  if (column.is_null(row)) return std::string();
  if (column.type() == ColumnType::string) return std::string(column.string_at(row));
  char buf[kMaxScalarChars];
  return std::string(buf, format_scalar(column, row, buf));
}

}  // namespace bdp::csv
