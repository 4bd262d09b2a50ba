#include "tether/http/url.h"

#include <strings.h>

#include <charconv>

namespace tether::http {
namespace {

std::optional<Url> fail(std::string* error, std::string why) {
  *error = std::move(why);
  return std::nullopt;
}

bool hasPrefix(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace

std::optional<Url> parseUrl(std::string_view text, std::string* error) {
  Url u;
  std::string_view rest = text;
  if (hasPrefix(rest, "https://")) {
    u.tls = true;
    u.port = 443;
    rest.remove_prefix(8);
  } else if (hasPrefix(rest, "http://")) {
    rest.remove_prefix(7);
  } else {
    return fail(error, "URL must start with http:// or https:// (got '" + std::string(text) + "')");
  }
  std::size_t slash = rest.find_first_of("/?");
  u.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
    if (u.target[0] == '?') u.target.insert(0, "/");
  }
  std::size_t fragment = u.target.find('#');
  if (fragment != std::string::npos) u.target.resize(fragment);
  std::string_view auth = u.authority;
  if (auth.find('@') != std::string_view::npos)
    return fail(error, "URL: user info is not supported");
  std::string_view portText;
  if (!auth.empty() && auth.front() == '[') {
    std::size_t close = auth.find(']');
    if (close == std::string_view::npos) return fail(error, "URL: unterminated [IPv6] host");
    u.host = std::string(auth.substr(1, close - 1));
    if (close + 1 < auth.size()) {
      if (auth[close + 1] != ':') return fail(error, "URL: bad text after [IPv6] host");
      portText = auth.substr(close + 2);
    }
  } else {
    std::size_t colon = auth.rfind(':');
    u.host = std::string(auth.substr(0, colon));
    if (colon != std::string_view::npos) portText = auth.substr(colon + 1);
  }
  if (u.host.empty()) return fail(error, "URL: missing host in '" + std::string(text) + "'");
  if (u.authority.find_first_of(" \t\r\n") != std::string::npos ||
      u.target.find_first_of(" \t\r\n") != std::string::npos) {
    return fail(error, "URL: must not contain spaces or control characters");
  }
  if (!portText.empty() || u.authority.back() == ':') {
    int port = -1;
    auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || p != portText.data() + portText.size() || port < 1 || port > 65535) {
      return fail(error, "URL: invalid port '" + std::string(portText) + "'");
    }
    u.port = port;
  }
  return u;
}

}  // namespace tether::http
