// Response framing for load generators: status, end of each response, reusable.
//
// The common response -- a head that arrives whole in one buffer, a body framed
// by Content-Length (or none: HEAD, 204, 304) -- is framed here with one memchr
// per line and no copies. Everything else (chunked, close-delimited, interim 1xx,
// 101, a head split across reads, obs-fold, whitespace before a colon, a list,
// junk or a tab in Content-Length, control bytes in a value, a bare CR or LF,
// Proxy-Connection, a tab in Connection, HTTP/1.0 with both close and
// keep-alive) goes, from the first byte of that response, to ResponseParser
// (llhttp), which frames it exactly or reports the error. The
// next response starts on the fast path again. So the fast path decides only the
// cases it fully understands, and agrees with llhttp on every one of them (a
// differential unit test feeds both the same bytes split at every offset).
// Like ResponseParser, bytes after a response that ends the connection are an error.
//
// Thread: none; one framer per connection, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tether/http/client/response_parser.h"
#include "tether/http/connection_tokens.h"

namespace tether::http::client {

class ResponseFramer {
 public:
  using Event = ResponseParser::Event;

  ResponseFramer();
  ResponseFramer(const ResponseFramer&) = delete;
  ResponseFramer& operator=(const ResponseFramer&) = delete;

  /// Starts over (new connection).
  void reset();

  /// Sticky: the responses framed next answer HEAD requests (no body).
  void setRequestIsHead(bool head) noexcept;

  /// Same contract as ResponseParser::execute(): stops after each final response.
  Event execute(const char* data, std::size_t len, std::size_t& consumed);

  /// The peer closed: kMessageComplete ends a close-delimited body, kNeedMore is
  /// a clean EOF between responses, kError a truncated response.
  Event finish();

  // --- Valid after kMessageComplete ---
  int status() const noexcept { return status_; }
  bool reusable() const noexcept { return reusable_; }

  /// Responses framed by llhttp instead of the fast path over the framer's
  /// lifetime (reset() keeps it): tests, diagnostics.
  std::uint64_t slowResponses() const noexcept { return slowResponses_; }

 private:
  enum class Mode : std::uint8_t { kHead, kBody, kSlow };

  struct HeadFacts {
    bool hasLength = false;
    std::uint64_t length = 0;
    ConnectionTokens connection;
  };

  std::size_t frameHead(const char* p, std::size_t len) noexcept;
  static const char* statusLineEnd(const char* p, std::size_t len, int& status,
                                   int& minor) noexcept;
  static bool scanHeaderLine(const char* line, const char* end, HeadFacts& facts) noexcept;
  Event slowExecute(const char* data, std::size_t len, std::size_t& consumed);

  ResponseParser slow_;
  Mode mode_ = Mode::kHead;
  bool requestIsHead_ = false;
  std::uint64_t remaining_ = 0;  // body bytes still to skip (kBody)
  int status_ = 0;
  bool reusable_ = false;
  // A response was framed on this connection (status_ may be 0: llhttp frames
  // a status line without a code), so reusable_ says whether more may follow.
  bool framed_ = false;
  std::uint64_t slowResponses_ = 0;
};

}  // namespace tether::http::client
