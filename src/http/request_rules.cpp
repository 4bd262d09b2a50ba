#include "request_rules.h"

#include "tether/http/request.h"

namespace tether::http {
namespace {

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
bool isAlpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isHex(char c) noexcept { return isDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

// reg-name characters (RFC 3986 §3.2.2) without ',': unreserved / sub-delims.
bool isNameChar(char c) noexcept {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ';':
    case '=': return true;
    default: return false;
  }
}

bool validRegName(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) return false;
      i += 2;
    } else if (!isNameChar(s[i])) {
      return false;
    }
  }
  return true;
}

// "[v6 or vFuture]": hex digits, ':' and '.' inside (zone ids are not sent on the wire).
bool validIpLiteral(std::string_view s) noexcept {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  for (char c : s.substr(1, s.size() - 2)) {
    if (!isHex(c) && c != ':' && c != '.' && c != 'v' && c != 'V') return false;
  }
  return true;
}

bool validPort(std::string_view s) noexcept {
  if (s.size() > 5) return false;
  for (char c : s) {
    if (!isDigit(c)) return false;
  }
  return true;
}

// Visible ASCII only (RFC 3986 allows no other byte unescaped), and no fragment:
// a client MUST NOT send one (RFC 9110 §7.1).
bool cleanTargetBytes(std::string_view t) noexcept {
  for (char c : t) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return false;
  }
  return true;
}

TargetCheck reject(const char* reason) noexcept {
  TargetCheck t;
  t.status = 400;
  t.reason = reason;
  return t;
}

}  // namespace

bool validHost(std::string_view host) noexcept {
  if (host.empty()) return false;
  std::string_view name = host;
  if (host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(0, close + 1);
    if (!validIpLiteral(name)) return false;
    std::string_view rest = host.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && validPort(rest.substr(1)));
  }
  std::size_t colon = host.find(':');
  if (colon != std::string_view::npos) {
    if (!validPort(host.substr(colon + 1))) return false;
    name = host.substr(0, colon);
  }
  return !name.empty() && validRegName(name);
}

TargetCheck checkTarget(std::string_view method, std::string_view target) noexcept {
  if (target.empty()) return reject("empty request target");
  if (!cleanTargetBytes(target)) return reject("invalid byte or fragment in request target");
  if (target == "*") {
    if (method != "OPTIONS") return reject("asterisk-form target without OPTIONS");
    TargetCheck t;
    t.form = TargetForm::kAsterisk;
    t.path = target;
    return t;
  }
  if (target.front() == '/') return {};
  // absolute-form: scheme "://" authority path-abempty [ "?" query ]
  std::size_t sep = target.find("://");
  if (sep == std::string_view::npos) return reject("request target in no known form");
  std::string_view scheme = target.substr(0, sep);
  if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")) {
    return reject("absolute-form target with a scheme other than http(s)");
  }
  std::string_view rest = target.substr(sep + 3);
  std::size_t end = rest.find_first_of("/?");
  TargetCheck t;
  t.form = TargetForm::kAbsolute;
  t.authority = rest.substr(0, end);
  if (!validHost(t.authority)) return reject("invalid authority in absolute-form target");
  t.path = end == std::string_view::npos ? std::string_view("/") : rest.substr(end);
  if (t.path.front() == '?') return reject("absolute-form target with a query but no path");
  return t;
}

int checkTransferEncoding(std::string_view values, bool http10) noexcept {
  if (http10) return 400;  // RFC 9112 §6.1: the framing of such a message is faulty
  bool chunkedSeen = false, unknown = false;
  while (true) {
    std::size_t comma = values.find(',');
    std::string_view element = trimOws(values.substr(0, comma));
    std::string_view coding = trimOws(element.substr(0, element.find(';')));
    if (coding.empty() || !isToken(coding)) return 400;
    if (chunkedSeen) return 400;  // chunked twice, or a coding after chunked
    if (equalsIgnoreCase(coding, "chunked")) {
      chunkedSeen = true;
    } else {
      unknown = true;
    }
    if (comma == std::string_view::npos) break;
    values.remove_prefix(comma + 1);
  }
  if (unknown) return 501;
  return 0;
}

}  // namespace tether::http
