// A parsed HTTP request as a handler sees it.
//
// Lifetime: every string_view points into the connection's buffers and is valid
// only during the handler call. Copy what a deferred response needs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tether::http {

struct Header {
  std::string_view name;   // as received (original case)
  std::string_view value;  // leading/trailing whitespace removed
};

struct Request {
  std::string_view method;
  std::string_view target;  // request-target as received
  std::string_view path;    // target's path (absolute-form: its path part), up to '?'
  std::string_view query;   // after '?', without it
  /// The host the request is for: the authority of an absolute-form target,
  /// else the Host header (validated; empty only for HTTP/1.0 without one).
  std::string_view host;
  int versionMajor = 1;
  int versionMinor = 1;
  std::vector<Header> headers;
  std::string_view body;  // de-chunked

  std::uint64_t connectionId = 0;
  std::uint64_t requestNumber = 0;  // 1 for the first request on a connection

  /// First header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const noexcept;
  /// Value of query parameter `key` (no percent-decoding), or empty.
  std::string_view queryParam(std::string_view key) const noexcept;
  bool isHead() const noexcept { return method == "HEAD"; }
};

/// ASCII case-insensitive equality, for header names and tokens. Inline because
/// it runs several times per request: with a literal operand it unrolls.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned x = static_cast<unsigned char>(a[i]);
    unsigned y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Different bytes match only as the two cases of one letter.
    unsigned lower = x | 0x20u;
    if (lower != (y | 0x20u) || lower < 'a' || lower > 'z') return false;
  }
  return true;
}

namespace detail {
// RFC 9110 §5.6.2 tchar, as a table: token checks run on every header name.
constexpr std::array<bool, 256> makeTcharTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[std::size_t(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[std::size_t(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[std::size_t(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
inline constexpr std::array<bool, 256> kTchar = makeTcharTable();
}  // namespace detail

/// Whether `s` is a token (RFC 9110 §5.6.2): one or more tchar. The one token
/// check of the tree (server rules, request writer, response framer).
inline bool isToken(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!detail::kTchar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

/// `s` without leading and trailing optional whitespace (SP, HTAB; RFC 9110 §5.6.3).
inline std::string_view trimOws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace tether::http
