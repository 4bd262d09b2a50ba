#include "tether/http/client/response_framer.h"

#include <array>
#include <cstring>
#include <string_view>

#include "tether/http/connection_tokens.h"
#include "tether/http/request.h"

namespace tether::http::client {
namespace {

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
bool isOws(char c) noexcept { return c == ' ' || c == '\t'; }

// reason-phrase = *( HTAB / SP / VCHAR / obs-text )
bool isReason(const char* p, const char* end) noexcept {
  for (; p < end; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// 1*DIGIT, at most 18 digits (no overflow); false for anything else ("1, 1", "+1").
bool parseLength(const char* p, const char* end, std::uint64_t& out) noexcept {
  if (p == end || end - p > 18) return false;
  std::uint64_t v = 0;
  for (; p < end; ++p) {
    if (!isDigit(*p)) return false;
    v = v * 10 + std::uint64_t(*p - '0');
  }
  out = v;
  return true;
}

// True if [p, end) holds a control byte other than HTAB (CR and NUL included) or
// DEL: llhttp rejects those in field values. Eight bytes at a time: values are
// most of a head's bytes.
bool hasControlByte(const char* p, const char* end) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  while (end - p >= 8) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    std::uint64_t ctl = (x - kOnes * 0x20) & ~x & kHigh;  // some byte < 0x20
    std::uint64_t x7f = x ^ (kOnes * 0x7f);
    std::uint64_t del = (x7f - kOnes) & ~x7f & kHigh;  // some byte == 0x7f
    if ((ctl | del) != 0) break;                       // find it (or a tab) byte by byte
    p += 8;
  }
  for (; p < end; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

ResponseFramer::ResponseFramer() { slow_.setFramingOnly(true); }

void ResponseFramer::reset() {
  slow_.reset();
  mode_ = Mode::kHead;
  remaining_ = 0;
  status_ = 0;
  reusable_ = false;
  framed_ = false;
}

void ResponseFramer::setRequestIsHead(bool head) noexcept {
  requestIsHead_ = head;
  slow_.setRequestIsHead(head);
}

ResponseFramer::Event ResponseFramer::execute(const char* data, std::size_t len,
                                              std::size_t& consumed) {
  consumed = 0;
  if (mode_ == Mode::kHead) {
    if (len == 0) return Event::kNeedMore;
    if (framed_ && !reusable_) return Event::kError;  // bytes after a closing response
    std::size_t head = frameHead(data, len);
    if (head == 0) {
      mode_ = Mode::kSlow;
      ++slowResponses_;
      return slowExecute(data, len, consumed);
    }
    consumed = head;
    mode_ = Mode::kBody;
  }
  if (mode_ == Mode::kSlow) return slowExecute(data, len, consumed);
  std::uint64_t available = len - consumed;
  std::uint64_t take = remaining_ < available ? remaining_ : available;
  remaining_ -= take;
  consumed += std::size_t(take);
  if (remaining_ > 0) return Event::kNeedMore;
  mode_ = Mode::kHead;
  return Event::kMessageComplete;
}

ResponseFramer::Event ResponseFramer::slowExecute(const char* data, std::size_t len,
                                                  std::size_t& consumed) {
  std::size_t used = 0;
  Event ev = slow_.execute(data + consumed, len - consumed, used);
  consumed += used;
  if (ev == Event::kMessageComplete) {
    status_ = slow_.status();
    reusable_ = slow_.reusable();
    framed_ = true;
    mode_ = Mode::kHead;
  }
  return ev;
}

// "HTTP/1.x NNN[ reason]\r\n" with a final status: the first header line, or
// nullptr (interim 1xx and 101 go to llhttp too).
const char* ResponseFramer::statusLineEnd(const char* p, std::size_t len, int& status,
                                          int& minor) noexcept {
  if (len < 14 || std::memcmp(p, "HTTP/1.", 7) != 0) return nullptr;
  if ((p[7] != '0' && p[7] != '1') || p[8] != ' ') return nullptr;
  if (!isDigit(p[9]) || !isDigit(p[10]) || !isDigit(p[11])) return nullptr;
  if (p[12] != ' ' && p[12] != '\r') return nullptr;
  minor = p[7] - '0';
  status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  if (status < 200) return nullptr;
  auto* nl = static_cast<const char*>(std::memchr(p + 12, '\n', len - 12));
  if (nl == nullptr || nl[-1] != '\r' || !isReason(p + 12, nl - 1)) return nullptr;
  return nl + 1;
}

// One header line [line, end) (CRLF excluded). Records what framing and reuse
// need; false hands the response to llhttp: a name that is not a token (also
// obs-fold and "Name :"), a control byte in the value, Transfer-Encoding, a
// second or non-numeric Content-Length, and the two headers whose llhttp reading
// differs from a plain token scan (Proxy-Connection, a tab in Connection).
bool ResponseFramer::scanHeaderLine(const char* line, const char* end, HeadFacts& facts) noexcept {
  auto* colon = static_cast<const char*>(std::memchr(line, ':', std::size_t(end - line)));
  if (colon == nullptr || !isToken(std::string_view(line, std::size_t(colon - line)))) return false;
  const char* value = colon + 1;
  if (hasControlByte(value, end)) return false;
  while (value < end && isOws(*value)) ++value;
  std::string_view name(line, std::size_t(colon - line));
  if (name.size() == 14 && equalsIgnoreCase(name, "content-length")) {
    const char* digitsEnd = end;
    while (digitsEnd > value && digitsEnd[-1] == ' ') --digitsEnd;  // llhttp: spaces only
    std::uint64_t v = 0;
    if (facts.hasLength || !parseLength(value, digitsEnd, v)) return false;  // llhttp: errors
    facts.hasLength = true;
    facts.length = v;
  } else if (name.size() == 10 && equalsIgnoreCase(name, "connection")) {
    std::string_view tokens(value, std::size_t(end - value));
    if (tokens.find('\t') != std::string_view::npos) return false;
    addConnectionTokens(tokens, facts.connection);
  } else if ((name.size() == 17 && equalsIgnoreCase(name, "transfer-encoding")) ||
             (name.size() == 16 && equalsIgnoreCase(name, "proxy-connection"))) {
    return false;
  }
  return true;
}

ResponseFramer::Event ResponseFramer::finish() {
  switch (mode_) {
    case Mode::kHead: return Event::kNeedMore;
    case Mode::kBody: return Event::kError;  // EOF inside a Content-Length body
    case Mode::kSlow: break;
  }
  Event ev = slow_.finish();
  if (ev == Event::kMessageComplete) {
    status_ = slow_.status();
    reusable_ = slow_.reusable();
    framed_ = true;
    mode_ = Mode::kHead;
  }
  return ev;
}

// The length of a complete head the fast path frames, or 0: not one (incomplete,
// interim, no length, chunked, unusual): the slow path decides. On success
// status_, reusable_ and remaining_ describe the response.
std::size_t ResponseFramer::frameHead(const char* p, std::size_t len) noexcept {
  int status = 0;
  int minor = 0;
  const char* line = statusLineEnd(p, len, status, minor);
  if (line == nullptr) return 0;
  const char* end = p + len;
  HeadFacts facts;
  for (;;) {
    if (end - line < 2) return 0;  // incomplete
    if (line[0] == '\r') {
      if (line[1] != '\n') return 0;
      line += 2;
      break;
    }
    auto* nl = static_cast<const char*>(std::memchr(line, '\n', std::size_t(end - line)));
    if (nl == nullptr || nl[-1] != '\r' || !scanHeaderLine(line, nl - 1, facts)) return 0;
    line = nl + 1;
  }
  // RFC 9110 §6.4.1: no body after HEAD, 204 and 304, whatever the headers say.
  bool noBody = requestIsHead_ || status == 204 || status == 304;
  if (!noBody && !facts.hasLength) return 0;  // close-delimited
  // llhttp (and so ResponseParser) keeps an HTTP/1.0 connection that says both
  // close and keep-alive; RFC 9112 §9.3 closes it. Leave that one to llhttp.
  if (minor == 0 && facts.connection.close && facts.connection.keepAlive) return 0;
  status_ = status;
  remaining_ = noBody ? 0 : facts.length;
  reusable_ = requestWantsPersistence(1, minor, facts.connection);
  framed_ = true;
  return std::size_t(line - p);
}

}  // namespace tether::http::client
