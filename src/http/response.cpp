#include "tether/http/response.h"

#include <charconv>
#include <cstring>

#include "active_state.h"
#include "response_head.h"
#include "server_connection.h"
#include "worker.h"

namespace tether::http {
namespace {

// Unchecked writes into space the caller reserved.
struct HeadWriter {
  char* pos;
  HeadWriter& put(std::string_view s) noexcept {
    if (s.empty()) return *this;  // an empty view may carry a null data()
    std::memcpy(pos, s.data(), s.size());
    pos += s.size();
    return *this;
  }
  HeadWriter& number(std::uint64_t value) noexcept {
    pos = std::to_chars(pos, pos + 20, value).ptr;  // 20 digits hold any uint64
    return *this;
  }
};

}  // namespace

void Response::addHeader(std::string_view name, std::string_view value) {
  headers_.append(name).append(": ").append(value).append("\r\n");
}

DeferredResponse Response::defer() noexcept {
  deferred_ = true;
  return DeferredResponse(conn_, conn_ ? conn_->generation() : 0);
}

void Response::upgradeToWebSocket(std::unique_ptr<WebSocketHandler> handler) noexcept {
  status_ = 101;
  upgrade_ = std::move(handler);
}

void Response::streamEvents(std::unique_ptr<EventStreamHandler> handler) noexcept {
  status_ = 200;
  events_ = std::move(handler);
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
  upgrade_.reset();
  events_.reset();
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

// Writes the head straight into `out`: it is grown once to an upper bound and
// trimmed after, instead of a capacity check per append (this runs per response).
void appendResponseHead(std::string& out, int status, std::string_view contentType,
                        std::string_view extraHeaders, std::uint64_t bodySize,
                        const HeadFraming& framing) {
  constexpr std::size_t kFixedMax = 256;  // every literal and number below
  std::string_view reason = reasonPhrase(status);
  std::size_t old = out.size();
  out.resize(old + kFixedMax + reason.size() + framing.date.size() + contentType.size() +
             extraHeaders.size());
  HeadWriter w{out.data() + old};
  w.put("HTTP/1.1 ").number(static_cast<std::uint64_t>(status)).put(" ").put(reason);
  w.put("\r\nServer: tether\r\nDate: ").put(framing.date).put("\r\n");
  if (!contentType.empty()) w.put("Content-Type: ").put(contentType).put("\r\n");
  if (framing.stream) {
    // An open-ended body: chunked where HTTP/1.1 allows, else ended by the close.
    if (!framing.http10) w.put("Transfer-Encoding: chunked\r\n");
  } else if (statusHasBody(status)) {
    w.put("Content-Length: ").number(bodySize).put("\r\n");
  }
  if (framing.upgrade) {
    w.put("Connection: Upgrade\r\n");
  } else if (!framing.keepAlive) {
    w.put("Connection: close\r\n");
  } else if (framing.advertise) {
    w.put("Connection: keep-alive\r\nKeep-Alive: timeout=");
    w.number(static_cast<std::uint64_t>(framing.timeoutSeconds));
    if (framing.remaining != 0) w.put(", max=").number(framing.remaining);
    w.put("\r\n");
  } else if (framing.http10) {
    w.put("Connection: keep-alive\r\n");
  }
  w.put(extraHeaders).put("\r\n");
  out.resize(static_cast<std::size_t>(w.pos - out.data()));
}

std::string_view reasonPhrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
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
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace tether::http
