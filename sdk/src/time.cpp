// Timestamps: the clock, and ISO 8601 formatting and parsing in UTC. Dates
// are converted with Howard Hinnant's days-from-civil arithmetic (proleptic
// Gregorian calendar), which needs neither the C library's time zone state
// nor a locale and works for any year an int64 of microseconds can hold.
#include <bdp/sdk/time.hpp>

#include "internal.hpp"

#include <chrono>
#include <limits>

namespace bdp {

namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Days since 1970-01-01 of the civil date y-m-d.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// The civil date of `z` days since 1970-01-01.
constexpr Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                    // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11]
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;               // [1, 31]
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;                  // [1, 12]
  return Civil{y + (m <= 2 ? 1 : 0), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);

constexpr bool is_leap(std::int64_t y) noexcept {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

char* put_digits(char* out, std::uint64_t value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

// Reads exactly `n` digits at text[pos]; false if they are not all digits.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t n,
                 std::int64_t& value) noexcept {
  if (text.size() - pos < n) return false;
  std::int64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  value = v;
  pos += n;
  return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) noexcept {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::int64_t now_micros() noexcept {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::size_t detail::format_timestamp_to(char* out, std::int64_t micros) noexcept {
  // Floor division, so that times before 1970 count back from midnight.
  std::int64_t days = micros / kMicrosPerDay;
  std::int64_t rem = micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  const Civil date = civil_from_days(days);
  const auto secs = static_cast<std::uint64_t>(rem / kMicrosPerSecond);
  const auto frac = static_cast<std::uint64_t>(rem % kMicrosPerSecond);

  char* p = out;
  if (date.year >= 0 && date.year <= 9999) {
    p = put_digits(p, static_cast<std::uint64_t>(date.year), 4);
  } else {
    // ISO 8601 expanded years: a sign and at least four digits.
    *p++ = date.year < 0 ? '-' : '+';
    std::uint64_t y = date.year < 0 ? static_cast<std::uint64_t>(-date.year)
                                    : static_cast<std::uint64_t>(date.year);
    int width = 4;
    for (std::uint64_t t = y / 10000; t != 0; t /= 10) ++width;
    p = put_digits(p, y, width);
  }
  *p++ = '-';
  p = put_digits(p, date.month, 2);
  *p++ = '-';
  p = put_digits(p, date.day, 2);
  *p++ = 'T';
  p = put_digits(p, secs / 3600, 2);
  *p++ = ':';
  p = put_digits(p, secs / 60 % 60, 2);
  *p++ = ':';
  p = put_digits(p, secs % 60, 2);
  if (frac != 0) {
    *p++ = '.';
    p = put_digits(p, frac, 6);
  }
  *p++ = 'Z';
  return static_cast<std::size_t>(p - out);
}

std::string format_timestamp(std::int64_t micros) {
  char buf[detail::kMaxTimestampChars];
  return std::string(buf, detail::format_timestamp_to(buf, micros));
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept {
  std::size_t pos = 0;
  std::int64_t year = 0;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    // Expanded year: a sign and 4 to 6 digits.
    bool negative = text[0] == '-';
    pos = 1;
    std::size_t digits = 0;
    while (pos + digits < text.size() && text[pos + digits] >= '0' && text[pos + digits] <= '9') {
      ++digits;
    }
    if (digits < 4 || digits > 6 || !read_digits(text, pos, digits, year)) return std::nullopt;
    if (negative) year = -year;
  } else if (!read_digits(text, pos, 4, year)) {
    return std::nullopt;
  }
  std::int64_t month = 0;
  std::int64_t day = 0;
  if (!expect(text, pos, '-') || !read_digits(text, pos, 2, month) || !expect(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }

  std::int64_t hour = 0;
  std::int64_t minute = 0;
  std::int64_t second = 0;
  std::int64_t frac = 0;
  std::int64_t offset_seconds = 0;
  if (pos < text.size()) {
    char sep = text[pos];
    if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 2, hour) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, minute) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, second)) {
      return std::nullopt;
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
    if (expect(text, pos, '.')) {
      std::size_t digits = 0;
      while (pos + digits < text.size() && text[pos + digits] >= '0' && text[pos + digits] <= '9') {
        ++digits;
      }
      if (digits < 1 || digits > 6 || !read_digits(text, pos, digits, frac)) return std::nullopt;
      for (std::size_t i = digits; i < 6; ++i) frac *= 10;
    }
    if (pos < text.size()) {
      char zone = text[pos];
      if (zone == 'Z' || zone == 'z') {
        ++pos;
      } else if (zone == '+' || zone == '-') {
        ++pos;
        std::int64_t oh = 0;
        std::int64_t om = 0;
        if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ':') ||
            !read_digits(text, pos, 2, om) || oh > 23 || om > 59) {
          return std::nullopt;
        }
        offset_seconds = (oh * 3600 + om * 60) * (zone == '-' ? -1 : 1);
      } else {
        return std::nullopt;
      }
    }
    if (pos != text.size()) return std::nullopt;
  }

  // Local time minus its offset is UTC. 128-bit arithmetic: the day's
  // start can be out of range while the instant itself is not (int64 min).
  __extension__ typedef __int128 Wide;
  const Wide days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const Wide seconds_of_day = hour * 3600 + minute * 60 + second - offset_seconds;
  const Wide wide = days * kMicrosPerDay + seconds_of_day * kMicrosPerSecond + frac;
  if (wide < std::numeric_limits<std::int64_t>::min() ||
      wide > std::numeric_limits<std::int64_t>::max()) {
    return std::nullopt;
  }
  const auto result = static_cast<std::int64_t>(wide);
  return result;
}

}  // namespace bdp
