// Adapter over llhttp for server requests. Streaming: feed bytes as they arrive;
// the parser stops after each complete head and each complete message so the
// connection can act between them (limits, 100-continue, handler, pipelining).
//
// Header names/values are recorded as offsets into the connection's read buffer,
// which must keep the current head's bytes in place (or call shift() when it
// moves them). Trailer fields are discarded (RFC 9110 §6.5.1 allows it): the
// buffer holding them may already have been compacted, so offsets into it
// would be stale. Not thread-safe; one per active connection.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keepalive_policy.h"
#include "tether/http/request.h"

namespace tether::http {

class RequestParser {
 public:
  /// kHeadComplete comes only for requests with a body; a bodiless request
  /// goes straight to kMessageComplete (its head is complete then too).
  enum class Event { kNeedMore, kHeadComplete, kMessageComplete, kError };

  /// Most bytes of chunked framing between two pieces of body data: a chunk-size
  /// line with its extensions, or the trailer section. Without a bound a client
  /// could stream them forever (llhttp skips extensions and leading zeros
  /// whatever their length, and they count against no other limit); 16 KiB as
  /// Node.js (CVE-2024-22019). Over it: 413, or 431 within the trailer section.
  static constexpr std::uint64_t kMaxChunkFraming = 16 * 1024;

  RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  /// Starts over for a new connection.
  void reset(std::uint64_t maxBodySize);

  /// Parses [at, at+len) where `at` lies inside `base` (the buffer start all
  /// offsets are relative to). `consumed` receives how many bytes were used.
  Event execute(const char* base, const char* at, std::size_t len, std::size_t& consumed);

  /// Bytes of the buffer moved down by `delta`: adjust recorded offsets.
  void shift(std::uint32_t delta) noexcept;

  /// After kError: the status to answer (400, 413, 505, ...) and a short reason.
  int errorStatus() const noexcept { return errorStatus_; }
  const char* errorReason() const noexcept { return errorReason_; }

  // Valid from kHeadComplete until the next message begins.
  bool urlComplete() const noexcept { return urlComplete_; }
  /// Buffer offset just past the request target seen so far.
  std::uint32_t urlEnd() const noexcept { return url_.offset + url_.length; }
  bool headComplete() const noexcept { return headComplete_; }
  bool messageInProgress() const noexcept { return inMessage_; }
  bool bodyExpected() const noexcept;
  bool chunked() const noexcept;
  int versionMajor() const noexcept { return parser_.http_major; }
  int versionMinor() const noexcept { return parser_.http_minor; }
  std::string_view method() const noexcept;
  std::string& body() noexcept { return body_; }
  /// Tokens of every `Connection` header of the current request.
  const ConnectionTokens& connectionTokens() const noexcept { return connection_; }

  /// Fills `req` (views into `base` and into this parser's body).
  void fillRequest(const char* base, Request& req) const;

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct HeaderSpan {
    Span name;
    Span value;
  };

  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, std::size_t len);
  static int onUrlComplete(llhttp_t* p);
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t len);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, std::size_t len);
  static int onChunkHeader(llhttp_t* p);
  static int onChunkExtension(llhttp_t* p, const char* at, std::size_t len);
  static int onMessageComplete(llhttp_t* p);

  void extend(Span& span, const char* at, std::size_t len) noexcept;
  int fail(int status, const char* reason) noexcept;
  int checkHeaders() noexcept;
  Event mapError(llhttp_errno_t err) noexcept;
  bool unsupportedVersionBefore(const char* pos) const noexcept;
  int checkFraming(const char* upTo) noexcept;

  llhttp_t parser_;
  llhttp_settings_t settings_;
  const char* base_ = nullptr;
  Span url_;
  std::vector<HeaderSpan> headers_;
  bool inValue_ = false;
  bool urlComplete_ = false;
  bool headComplete_ = false;
  bool inMessage_ = false;
  bool messageComplete_ = false;
  bool inTrailers_ = false;
  // Chunked framing since the last body data: bytes counted in earlier
  // execute() calls, and where the uncounted run starts in this call's input
  // (nullptr outside a chunked body).
  std::uint64_t framing_ = 0;
  const char* framingFrom_ = nullptr;
  std::uint64_t maxBodySize_ = 0;
  std::string body_;
  ConnectionTokens connection_;
  int errorStatus_ = 0;
  const char* errorReason_ = "";
};

}  // namespace tether::http
