#include "tether/http/response.h"

#include <charconv>

#include "active_state.h"
#include "response_head.h"
#include "server_connection.h"
#include "worker.h"

namespace tether::http {
namespace {

void appendNumber(std::string& out, std::uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

}  // namespace

void Response::addHeader(std::string_view name, std::string_view value) {
  headers_.append(name).append(": ").append(value).append("\r\n");
}

DeferredResponse Response::defer() noexcept {
  deferred_ = true;
  return DeferredResponse(conn_, conn_ ? conn_->generation() : 0);
}

net::EventLoop& Response::loop() const noexcept { return conn_->worker().loop(); }

std::uint64_t Response::bodySize() const noexcept {
  return source_ ? source_->size() : body_.size();
}

void Response::reset() noexcept {
  status_ = 200;
  forceClose_ = false;
  deferred_ = false;
  contentType_.clear();
  headers_.clear();
  body_.clear();
  source_.reset();
}

Response* DeferredResponse::response() const noexcept {
  if (conn_ == nullptr || conn_->generation() != generation_) return nullptr;
  if (conn_->state() != ServerConnection::State::kHandling) return nullptr;
  return &conn_->active()->response;
}

void DeferredResponse::finish() {
  if (response() != nullptr) conn_->finishDeferred();
  conn_ = nullptr;
}

bool statusHasBody(int status) noexcept { return status >= 200 && status != 204 && status != 304; }

void appendResponseHead(std::string& out, int status, std::string_view contentType,
                        std::string_view extraHeaders, std::uint64_t bodySize,
                        const HeadFraming& framing) {
  out.append("HTTP/1.1 ");
  appendNumber(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reasonPhrase(status));
  out.append("\r\nServer: tether\r\nDate: ");
  out.append(framing.date);
  out.append("\r\n");
  if (!contentType.empty()) out.append("Content-Type: ").append(contentType).append("\r\n");
  if (statusHasBody(status)) {
    out.append("Content-Length: ");
    appendNumber(out, bodySize);
    out.append("\r\n");
  }
  if (!framing.keepAlive) {
    out.append("Connection: close\r\n");
  } else if (framing.advertise) {
    out.append("Connection: keep-alive\r\nKeep-Alive: timeout=");
    appendNumber(out, static_cast<std::uint64_t>(framing.timeoutSeconds));
    if (framing.remaining != 0) {
      out.append(", max=");
      appendNumber(out, framing.remaining);
    }
    out.append("\r\n");
  } else if (framing.http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append(extraHeaders);
  out.append("\r\n");
}

std::string_view reasonPhrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace tether::http
