#include "utf8.h"

#include <cstring>

namespace tether::http::ws {

// A lead byte: how many continuation bytes follow and the range the first of
// them must fall in, which excludes overlong forms (E0, F0), surrogates (ED)
// and code points above U+10FFFF (F4) — RFC 3629 §4.
bool Utf8Validator::lead(std::uint8_t b) noexcept {
  lo_ = 0x80;
  hi_ = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need_ = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need_ = 2;
    if (b == 0xE0) lo_ = 0xA0;
    if (b == 0xED) hi_ = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need_ = 3;
    if (b == 0xF0) lo_ = 0x90;
    if (b == 0xF4) hi_ = 0x8F;
  } else {
    return false;  // 80-C1 (continuation or overlong lead), F5-FF
  }
  return true;
}

bool Utf8Validator::feed(std::string_view piece) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(piece.data());
  const std::uint8_t* end = p + piece.size();
  while (ok_ && p < end) {
    if (need_ == 0) {
      // Text is mostly ASCII: skip it eight bytes at a time.
      std::uint64_t word;
      while (end - p >= 8 && (std::memcpy(&word, p, 8), (word & 0x8080808080808080ULL) == 0)) {
        p += 8;
      }
      if (p == end) break;
      std::uint8_t b = *p++;
      if (b >= 0x80) ok_ = lead(b);
      continue;
    }
    std::uint8_t b = *p++;
    if (b < lo_ || b > hi_) {
      ok_ = false;
      break;
    }
    lo_ = 0x80;
    hi_ = 0xBF;
    --need_;
  }
  return ok_;
}

bool validUtf8(std::string_view s) noexcept {
  Utf8Validator v;
  v.feed(s);
  return v.complete();
}

std::string_view truncateUtf8(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s;
  std::size_t n = max;
  // Back off continuation bytes (10xxxxxx) to the start of the cut character.
  while (n > 0 && (static_cast<std::uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace tether::http::ws
