// A parsed HTTP request as a handler sees it.
//
// Lifetime: every string_view points into the connection's buffers and is valid
// only during the handler call. Copy what a deferred response needs.
#pragma once

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
  std::string_view path;    // target up to '?'
  std::string_view query;   // after '?', without it
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

/// ASCII case-insensitive equality, for header names and tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;

}  // namespace tether::http
