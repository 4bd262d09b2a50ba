// Incremental UTF-8 validation (RFC 3629 §4) for WebSocket text messages,
// which arrive in fragments and reads that may split a character: the state
// carries a partial character from one piece to the next, and a message is
// valid when its last piece leaves no character open (RFC 6455 §8.1).
//
// Why not a library: none in Debian validates across piece boundaries
// (utf8proc and glib check whole strings), and the rules are one table.
#pragma once

#include <cstdint>
#include <string_view>

namespace tether::http::ws {

class Utf8Validator {
 public:
  /// Feeds the next piece. False once any byte broke the rules (then stays false).
  bool feed(std::string_view piece) noexcept;
  /// The input so far ends at a character boundary (and broke no rule).
  bool complete() const noexcept { return ok_ && need_ == 0; }
  bool ok() const noexcept { return ok_; }
  void reset() noexcept { *this = Utf8Validator(); }

 private:
  bool lead(std::uint8_t b) noexcept;
  std::uint8_t need_ = 0;               // continuation bytes still expected
  std::uint8_t lo_ = 0x80, hi_ = 0xBF;  // range of the next continuation byte
  bool ok_ = true;
};

/// Whole-string check.
bool validUtf8(std::string_view s) noexcept;
/// The longest prefix of valid UTF-8 `s` at most `max` bytes long that ends at
/// a character boundary.
std::string_view truncateUtf8(std::string_view s, std::size_t max) noexcept;

}  // namespace tether::http::ws
