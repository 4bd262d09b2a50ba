#include "tether/http/client/request_writer.h"

#include "tether/http/request.h"

namespace tether::http::client {
namespace {

// RFC 9110 §5.6.2 tchar.
bool isToken(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool isVisible(std::string_view s) noexcept {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return !s.empty();
}

bool isFieldValue(std::string_view s) noexcept {
  for (unsigned char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Methods whose requests are defined to carry content: say its length even at 0.
bool expectsContent(std::string_view method) noexcept {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

const char* serializeRequest(const ClientRequest& request, std::string_view host,
                             std::string& out) {
  out.clear();
  if (!isToken(request.method)) return "method is not a token";
  if (!isVisible(request.target)) return "target is empty or has whitespace or control bytes";
  bool hasHost = false;
  for (const auto& [name, value] : request.headers) {
    if (!isToken(name)) return "header name is not a token";
    if (!isFieldValue(value)) return "header value contains CR, LF or NUL";
    if (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding")) {
      return "framing headers are set by the client";
    }
    hasHost = hasHost || equalsIgnoreCase(name, "host");
  }
  out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  if (!hasHost) out.append("Host: ").append(host).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!request.body.empty() || expectsContent(request.method)) {
    out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  out.append("\r\n").append(request.body);
  return "";
}

}  // namespace tether::http::client
