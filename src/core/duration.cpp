#include "tether/core/duration.h"

#include <cctype>
#include <limits>

namespace tether::core {
namespace {

constexpr std::int64_t kMaxMillis = std::numeric_limits<std::int64_t>::max() / 4;

// Reads a run of decimal digits; false when there is none or it overflows.
bool readNumber(std::string_view text, std::size_t& pos, std::int64_t& value) {
  std::size_t start = pos;
  value = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    if (value > kMaxMillis / 10) return false;
    value = value * 10 + (text[pos] - '0');
    ++pos;
  }
  return pos > start;
}

// Multiplier in milliseconds for the unit starting at `pos`; advances past it.
std::optional<std::int64_t> readUnit(std::string_view text, std::size_t& pos) {
  std::string_view rest = text.substr(pos);
  if (rest.starts_with("ms")) return pos += 2, 1;
  if (rest.empty()) return 1000;  // bare number: seconds
  switch (rest.front()) {
    case 's': return ++pos, 1000;
    case 'm': return ++pos, 60'000;
    case 'h': return ++pos, 3'600'000;
    case 'd': return ++pos, 86'400'000;
    default: return std::nullopt;
  }
}

// Reads an optional decimal fraction (`.5` of `1.5s`) as digits / 10^count.
bool readFraction(std::string_view text, std::size_t& pos, std::int64_t& digits,
                  std::int64_t& scale) {
  digits = 0;
  scale = 1;
  if (pos >= text.size() || text[pos] != '.') return true;
  std::size_t start = ++pos;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    if (pos - start == 9) return false;  // finer than any unit's millisecond
    digits = digits * 10 + (text[pos] - '0');
    scale *= 10;
    ++pos;
  }
  return pos > start;
}

}  // namespace

std::optional<Millis> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t pos = 0;
  std::int64_t total = 0;
  while (pos < text.size()) {
    std::int64_t value, fraction, scale;
    if (!readNumber(text, pos, value) || !readFraction(text, pos, fraction, scale)) {
      return std::nullopt;
    }
    bool bare = pos == text.size();
    auto unit = readUnit(text, pos);
    if (!unit || (bare && total != 0)) return std::nullopt;  // `1m30` is ambiguous
    // The fraction must come out in whole milliseconds: `1.5s` yes, `0.5ms` no.
    if ((fraction * *unit) % scale != 0) return std::nullopt;
    std::int64_t fractionMs = fraction * *unit / scale;
    if (value > (kMaxMillis - total - fractionMs) / *unit) return std::nullopt;
    total += value * *unit + fractionMs;
  }
  return total;
}

std::optional<std::uint64_t> parseSize(std::string_view text) {
  std::size_t pos = 0;
  std::int64_t value;
  if (!readNumber(text, pos, value)) return std::nullopt;
  std::uint64_t shift = 0;
  if (pos < text.size()) {
    switch (std::tolower(static_cast<unsigned char>(text[pos++]))) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      default: return std::nullopt;
    }
  }
  if (pos != text.size()) return std::nullopt;
  auto v = static_cast<std::uint64_t>(value);
  if (v > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return v << shift;
}

std::string formatDuration(Millis ms) {
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace tether::core
