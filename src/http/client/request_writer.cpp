#include "tether/http/client/request_writer.h"

#include "tether/http/request.h"

namespace tether::http::client {
namespace {

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

// The two shapes of a header field: a (name, value) pair, written "name: value", and a line
// as typed, "Name: value", written as it is. npos as the colon: a line without one.
struct PairField {
  static std::string_view name(const std::pair<std::string, std::string>& h) noexcept {
    return h.first;
  }
  static std::string_view value(const std::pair<std::string, std::string>& h) noexcept {
    return h.second;
  }
  static void write(const std::pair<std::string, std::string>& h, std::string& out) {
    out.append(h.first).append(": ").append(h.second).append("\r\n");
  }
};

struct LineField {
  static std::string_view name(std::string_view line) noexcept {
    std::size_t colon = line.find(':');
    return colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
  }
  static std::string_view value(std::string_view line) noexcept {
    std::size_t colon = line.find(':');
    return colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  }
  static void write(std::string_view line, std::string& out) { out.append(line).append("\r\n"); }
};

template <class Field, class Headers>
const char* serialize(std::string_view method, std::string_view target, const Headers& headers,
                      std::string_view body, std::string_view host, std::string& out,
                      const RequestWriteOptions& options) {
  out.clear();
  if (!isToken(method)) return "method is not a token";
  if (!isVisible(target)) return "target is empty or has whitespace or control bytes";
  bool hasHost = false, hasLength = false, hasConnection = false;
  for (const auto& h : headers) {
    std::string_view name = Field::name(h);
    if (!isToken(name)) return "header name is not a token";
    if (!isFieldValue(Field::value(h))) return "header value contains CR, LF or NUL";
    bool length = equalsIgnoreCase(name, "content-length");
    if (!options.callerFraming && (length || equalsIgnoreCase(name, "transfer-encoding"))) {
      return "framing headers are set by the client";
    }
    hasLength = hasLength || length;
    hasHost = hasHost || equalsIgnoreCase(name, "host");
    hasConnection = hasConnection || equalsIgnoreCase(name, "connection");
  }
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!hasHost) out.append("Host: ").append(host).append("\r\n");
  for (const auto& h : headers) Field::write(h, out);
  if (!hasLength && (!body.empty() || expectsContent(method))) {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  if (options.close && !hasConnection) out.append("Connection: close\r\n");
  out.append("\r\n").append(body);
  return "";
}

}  // namespace

const char* serializeRequest(const ClientRequest& request, std::string_view host, std::string& out,
                             const RequestWriteOptions& options) {
  return serialize<PairField>(request.method, request.target, request.headers, request.body, host,
                              out, options);
}

const char* serializeRequestLines(const RequestLines& request, std::string_view host,
                                  std::string& out, const RequestWriteOptions& options) {
  return serialize<LineField>(request.method, request.target, request.headers, request.body, host,
                              out, options);
}

}  // namespace tether::http::client
