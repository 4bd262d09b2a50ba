// Per-request working memory of a server connection: read buffer, parser,
// request/response objects and the output queue. Pooled per worker and held
// only while a connection has a request in progress, so an idle keep-alive
// connection costs no buffer memory (nginx frees c->buffer the same way).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "request_parser.h"
#include "tether/http/request.h"
#include "tether/http/response.h"

namespace tether::http {

struct ActiveState {
  explicit ActiveState(std::uint32_t bufferSize)
      : buffer(std::make_unique<char[]>(bufferSize)), capacity(bufferSize) {}

  /// Forget the previous connection's bytes (capacities are kept).
  void clear() noexcept {
    start = parsed = end = headEnd = 0;
    out.clear();
    outSent = 0;
    source.reset();
    sourceSent = 0;
  }
  bool outputPending() const noexcept { return outSent < out.size() || source != nullptr; }

  /// Makes room at the end of a full buffer: moves the current message to the
  /// front and tells the parser by how much its recorded offsets moved. Mid-body
  /// it keeps the head (the request refers to it) and drops the body bytes the
  /// parser has already copied out.
  void compact() noexcept;

  std::unique_ptr<char[]> buffer;
  std::uint32_t capacity;
  std::uint32_t start = 0;    // first byte of the current message
  std::uint32_t parsed = 0;   // bytes handed to the parser so far
  std::uint32_t end = 0;      // bytes read into the buffer
  std::uint32_t headEnd = 0;  // end of the current head, once complete

  RequestParser parser;
  Request request;
  Response response;

  std::string out;  // serialized heads and inline bodies, in response order
  std::size_t outSent = 0;
  std::unique_ptr<BodySource> source;  // body that follows `out`, if any
  std::uint64_t sourceSent = 0;

  // Facts about the current request that outlive the handler call.
  bool headRequest = false;
  bool requestPersistent = true;
  bool http10 = false;
  std::string logRequestLine;  // only filled when access logging is on

  ActiveState* nextFree = nullptr;
};

}  // namespace tether::http
