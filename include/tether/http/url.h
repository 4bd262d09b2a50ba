// http:// and https:// URLs as the tools take them on the command line.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tether::http {

/// An http:// or https:// URL split up. `authority` is the host[:port] text as given (the
/// Host header); `host` has no brackets; `target` is the path and query (the
/// fragment is dropped, a bare "?q" becomes "/?q").
struct Url {
  bool tls = false;  // https
  std::string host;
  int port = 80;  // 443 for https
  std::string authority;
  std::string target = "/";
};

/// Parses `http[s]://host[:port][/path][?query][#fragment]` (scheme case-insensitive) (host: name,
/// IPv4 or [IPv6]; no user info, no spaces or control characters). On failure returns nullopt and
/// sets `*error` to a one-line reason.
std::optional<Url> parseUrl(std::string_view text, std::string* error);

}  // namespace tether::http
