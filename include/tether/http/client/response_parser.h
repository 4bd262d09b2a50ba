// Incremental HTTP/1.1 response framer over llhttp (HTTP_RESPONSE mode), for the
// client connection and for load generators.
//
// Feed bytes as they arrive with execute(); it stops after every complete final
// response so the caller can act between pipelined responses that share one
// buffer. Framing: Content-Length, chunked, close-delimited (completed by
// finish() at EOF), no body for HEAD (the caller says so) and 1xx/204/304.
// Interim 1xx responses are skipped (counted); 101 is reported as the final one.
//
// Header names, values and the reason phrase are copied into storage the parser
// keeps (capacity retained), so the caller may reuse its read buffer at once;
// after warm-up a response costs no allocation. Body bytes are passed to an
// optional sink as views into the fed buffer, and copied only if asked.
//
// Thread: none; one parser per connection, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/http/connection_tokens.h"

namespace tether::http::client {

/// The parameters of a `Keep-Alive` response header (RFC 2068 §19.7.1.1);
/// -1 when absent or not a non-negative integer.
struct KeepAliveHint {
  std::int64_t timeoutSeconds = -1;
  std::int64_t max = -1;
};

/// Adds the parameters of one `Keep-Alive` header value to `hint`
/// ("timeout=5, max=100"; names case-insensitive, values may be quoted).
void parseKeepAliveHeader(std::string_view value, KeepAliveHint& hint) noexcept;

class ResponseParser {
 public:
  enum class Event {
    kNeedMore,         // all bytes consumed; feed more (or finish() at EOF)
    kMessageComplete,  // a final response ended; `consumed` stops right after it
    kError,            // malformed; errorReason() says why; reset() before reuse
  };

  /// Receives body bytes (a view into the buffer passed to execute()).
  using BodySink = void (*)(void* context, std::string_view bytes);

  struct Limits {
    std::size_t maxHeadBytes = 64 * 1024;  // status line text + header names and values
    std::size_t maxHeaders = 128;
  };

  ResponseParser();
  explicit ResponseParser(const Limits& limits);
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  /// Starts over (new connection). Keeps the settings below and the storage.
  void reset();

  /// Sticky until changed: the responses parsed next answer a HEAD request, so
  /// they carry no body whatever their Content-Length says. With pipelining, set
  /// it before the execute() call that reaches each response's head.
  void setRequestIsHead(bool head) noexcept { requestIsHead_ = head; }
  void setBodySink(BodySink sink, void* context) noexcept;
  /// Copy up to `maxBytes` of each body into body(); more is an error. 0: no copy.
  void setKeepBody(std::size_t maxBytes) noexcept { keepBodyMax_ = maxBytes; }
  /// Framing only (load generators): status, framing and reusable() stay exact,
  /// but the reason phrase and headers are neither copied nor checked, so
  /// header(), connectionTokens() and keepAliveHint() are empty. Saves the
  /// per-header callbacks and copies.
  void setFramingOnly(bool on) noexcept;

  /// Parses [data, data+len). `consumed` receives the bytes used: all of them on
  /// kNeedMore, up to the end of the response on kMessageComplete (call again
  /// with the rest), up to the offending byte on kError.
  Event execute(const char* data, std::size_t len, std::size_t& consumed);

  /// The peer closed. kMessageComplete: it ended a close-delimited body.
  /// kNeedMore: clean EOF between responses. kError: truncated response.
  Event finish();

  // --- State of the response in progress, then of the last complete one ---
  /// True from the first byte of a response (interim or final) until it ends.
  bool messageInProgress() const noexcept { return inMessage_; }
  /// True once the final response's head is complete (status and headers valid).
  bool headComplete() const noexcept { return headComplete_; }
  int status() const noexcept { return status_; }
  int versionMajor() const noexcept { return versionMajor_; }
  int versionMinor() const noexcept { return versionMinor_; }
  std::string_view reason() const noexcept;
  std::size_t headerCount() const noexcept { return headers_.size(); }
  std::string_view headerName(std::size_t i) const noexcept;
  std::string_view headerValue(std::size_t i) const noexcept;
  /// First value of header `name` (case-insensitive); empty if absent.
  std::string_view header(std::string_view name) const noexcept;
  const ConnectionTokens& connectionTokens() const noexcept { return connection_; }
  const KeepAliveHint& keepAliveHint() const noexcept { return keepAlive_; }
  bool hasContentLength() const noexcept { return hasContentLength_; }
  std::uint64_t contentLength() const noexcept { return contentLength_; }
  bool chunked() const noexcept { return chunked_; }
  /// The body ends at EOF (no length, not chunked): the connection cannot be reused.
  bool closeDelimited() const noexcept { return closeDelimited_; }
  /// Interim (1xx other than 101) responses skipped before this one.
  int interimResponses() const noexcept { return interim_; }
  std::uint64_t bodyBytes() const noexcept { return bodyBytes_; }
  const std::string& body() const noexcept { return body_; }

  // --- Valid after kMessageComplete ---
  /// RFC 9112 §9.3 and framing: the connection may carry another request.
  bool reusable() const noexcept { return reusable_; }
  /// A 101 with Upgrade: the bytes after `consumed` belong to the new protocol.
  bool upgraded() const noexcept { return upgraded_; }

  const char* errorReason() const noexcept { return errorReason_; }
  /// Bytes of storage held (all of it reused); lets tests prove no growth.
  std::size_t storageCapacity() const noexcept;

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct HeaderSpan {
    Span name;
    Span value;
  };

  // llhttp's parser state, its settings and the callbacks, defined in
  // response_parser.cpp so that this header does not need <llhttp.h>.
  struct Llhttp;

  int append(Span& span, const char* at, std::size_t len);
  int fail(const char* reason) noexcept;
  int scanHeaders() noexcept;
  std::string_view view(Span s) const noexcept { return {head_.data() + s.offset, s.length}; }

  std::unique_ptr<Llhttp> llhttp_;  // allocated once, with the parser
  Limits limits_;
  BodySink sink_ = nullptr;
  void* sinkContext_ = nullptr;
  std::size_t keepBodyMax_ = 0;
  bool requestIsHead_ = false;
  bool framingOnly_ = false;

  std::string head_;  // reason phrase, header names and values, back to back
  std::vector<HeaderSpan> headers_;
  std::string body_;
  Span reason_;
  bool inName_ = false;     // inside a header name (it may arrive in pieces)
  bool afterFinal_ = true;  // the next message starts a new exchange
  bool inMessage_ = false;
  bool headComplete_ = false;
  bool messageComplete_ = false;
  int status_ = 0;
  int versionMajor_ = 0;
  int versionMinor_ = 0;
  int interim_ = 0;
  ConnectionTokens connection_;
  KeepAliveHint keepAlive_;
  bool hasContentLength_ = false;
  std::uint64_t contentLength_ = 0;
  bool chunked_ = false;
  bool closeDelimited_ = false;
  std::uint64_t bodyBytes_ = 0;
  bool reusable_ = false;
  bool closed_ = false;  // a final response ended the connection
  bool upgraded_ = false;
  const char* errorReason_ = "";
};

}  // namespace tether::http::client
