#include "request_parser.h"

#include "request_rules.h"

namespace tether::http {
namespace {

RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

}  // namespace

RequestParser::RequestParser() {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &RequestParser::onMessageBegin;
  settings_.on_url = &RequestParser::onUrl;
  settings_.on_url_complete = &RequestParser::onUrlComplete;
  settings_.on_header_field = &RequestParser::onHeaderField;
  settings_.on_header_value = &RequestParser::onHeaderValue;
  settings_.on_headers_complete = &RequestParser::onHeadersComplete;
  settings_.on_body = &RequestParser::onBody;
  settings_.on_chunk_header = &RequestParser::onChunkHeader;
  settings_.on_chunk_extension_name = &RequestParser::onChunkExtension;
  settings_.on_chunk_extension_value = &RequestParser::onChunkExtension;
  settings_.on_message_complete = &RequestParser::onMessageComplete;
  reset(0);
}

void RequestParser::reset(std::uint64_t maxBodySize) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
  maxBodySize_ = maxBodySize;
  inMessage_ = false;
  headComplete_ = false;
  urlComplete_ = false;
  messageComplete_ = false;
  inTrailers_ = false;
  framing_ = 0;
  framingFrom_ = nullptr;
  errorStatus_ = 0;
}

RequestParser::Event RequestParser::execute(const char* base, const char* at, std::size_t len,
                                            std::size_t& consumed) {
  base_ = base;
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  // A chunked body resumes here: its framing run goes on from `at`.
  framingFrom_ = headComplete_ && inMessage_ && chunked() ? at : nullptr;
  llhttp_errno_t err = llhttp_execute(&parser_, at, len);
  if (err == HPE_OK) {
    consumed = len;
    if (checkFraming(at + len) != 0) return Event::kError;
    if (framingFrom_ != nullptr) {
      framing_ += static_cast<std::uint64_t>(at + len - framingFrom_);
      framingFrom_ = at + len;
    }
    return Event::kNeedMore;
  }
  consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - at);
  if (err == HPE_PAUSED) return messageComplete_ ? Event::kMessageComplete : Event::kHeadComplete;
  if (err == HPE_PAUSED_UPGRADE) {
    // Upgrades are not supported: the request was answered as plain HTTP.
    llhttp_resume_after_upgrade(&parser_);
    return Event::kMessageComplete;
  }
  return mapError(err);
}

RequestParser::Event RequestParser::mapError(llhttp_errno_t err) noexcept {
  // A callback chose the status (llhttp reports on_headers_complete failures
  // as HPE_CB_HEADERS_COMPLETE rather than HPE_USER).
  if (errorStatus_ != 0) return Event::kError;
  if (err == HPE_INVALID_VERSION && unsupportedVersionBefore(llhttp_get_error_pos(&parser_))) {
    fail(505, "unsupported HTTP version");
  } else {
    fail(400, llhttp_get_error_reason(&parser_));
  }
  return Event::kError;
}

// llhttp rejects a syntactically valid but unsupported version ("HTTP/3.1") as
// soon as its last digit is read, before the byte after it has arrived: that is
// a 505. Decided from the bytes before `pos` only, so the status is the same
// however the request line is split across reads (the byte at `pos` may not be
// in the buffer yet). A supported version failing means what follows it is
// wrong ("HTTP/1.1 junk"), and anything else malformed ("HTTP/1.x"): 400.
bool RequestParser::unsupportedVersionBefore(const char* pos) const noexcept {
  constexpr std::size_t kLen = 8;  // "HTTP/d.d"
  if (pos == nullptr) return false;
  if (static_cast<std::size_t>(pos - base_) < kLen + url_.offset + url_.length) return false;
  const char* v = pos - kLen;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  bool wellFormed = std::string_view(v, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' &&
                    digit(v[7]) && v[-1] == ' ';
  bool supported = v[5] == '1' && (v[7] == '0' || v[7] == '1');
  return wellFormed && !supported;
}

void RequestParser::shift(std::uint32_t delta) noexcept {
  url_.offset -= delta;
  for (HeaderSpan& h : headers_) {
    h.name.offset -= delta;
    h.value.offset -= delta;
  }
}

bool RequestParser::bodyExpected() const noexcept {
  return chunked() || ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > 0);
}

bool RequestParser::chunked() const noexcept { return (parser_.flags & F_CHUNKED) != 0; }

std::string_view RequestParser::method() const noexcept {
  return llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
}

void RequestParser::fillRequest(const char* base, Request& req) const {
  req.method = method();
  req.target = {base + url_.offset, url_.length};
  // Validated at the head; an absolute-form target names the host itself and
  // routes by its path (RFC 9112 §3.2.2: its authority wins over Host).
  TargetCheck t = checkTarget(req.method, req.target);
  std::string_view pathAndQuery = t.form == TargetForm::kAbsolute ? t.path : req.target;
  std::size_t q = pathAndQuery.find('?');
  req.path = pathAndQuery.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view{} : pathAndQuery.substr(q + 1);
  req.versionMajor = parser_.http_major;
  req.versionMinor = parser_.http_minor;
  req.headers.clear();
  for (const HeaderSpan& h : headers_) {
    req.headers.push_back(
        {{base + h.name.offset, h.name.length}, trimOws({base + h.value.offset, h.value.length})});
  }
  req.host = t.form == TargetForm::kAbsolute ? t.authority : req.header("host");
  req.body = body_;
}

void RequestParser::extend(Span& span, const char* at, std::size_t len) noexcept {
  auto offset = static_cast<std::uint32_t>(at - base_);
  if (span.length == 0) span.offset = offset;
  span.length += static_cast<std::uint32_t>(len);  // pieces are contiguous in the buffer
}

int RequestParser::fail(int status, const char* reason) noexcept {
  errorStatus_ = status;
  errorReason_ = reason;
  return HPE_USER;
}

// The framing run up to `upTo` (within this call's input) must stay under the limit.
int RequestParser::checkFraming(const char* upTo) noexcept {
  if (framingFrom_ == nullptr) return 0;  // not in a chunked body
  if (framing_ + static_cast<std::uint64_t>(upTo - framingFrom_) <= kMaxChunkFraming) return 0;
  return inTrailers_ ? fail(431, "trailer section too large")
                     : fail(413, "chunk size line too long");
}

int RequestParser::onMessageBegin(llhttp_t* p) {
  RequestParser& r = self(p);
  r.url_ = {};
  r.headers_.clear();
  r.body_.clear();
  r.inValue_ = false;
  r.urlComplete_ = false;
  r.headComplete_ = false;
  r.messageComplete_ = false;
  r.inTrailers_ = false;
  r.framing_ = 0;
  r.framingFrom_ = nullptr;
  r.inMessage_ = true;
  return 0;
}

int RequestParser::onUrl(llhttp_t* p, const char* at, std::size_t len) {
  self(p).extend(self(p).url_, at, len);
  return 0;
}

int RequestParser::onUrlComplete(llhttp_t* p) {
  self(p).urlComplete_ = true;
  return 0;
}

int RequestParser::onHeaderField(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser& r = self(p);
  if (r.headComplete_) {  // a trailer field: bounded, then discarded
    r.inTrailers_ = true;
    return r.checkFraming(at + len);
  }
  if (r.inValue_ || r.headers_.empty()) r.headers_.emplace_back();
  r.inValue_ = false;
  r.extend(r.headers_.back().name, at, len);
  return 0;
}

int RequestParser::onHeaderValue(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser& r = self(p);
  if (r.headComplete_) return r.checkFraming(at + len);  // a trailer field
  Span& value = r.headers_.back().value;
  // llhttp delivers an obs-fold continuation as a second, non-adjacent piece.
  if (r.inValue_ && value.length != 0 && at != r.base_ + value.offset + value.length) {
    return r.fail(400, "obsolete line folding");
  }
  r.inValue_ = true;
  r.extend(r.headers_.back().value, at, len);
  return 0;
}

int RequestParser::onHeadersComplete(llhttp_t* p) {
  RequestParser& r = self(p);
  r.headComplete_ = true;
  if (p->http_major != 1) return r.fail(505, "unsupported HTTP version");
  if (int err = r.checkHeaders(); err != 0) return err;
  // CONNECT asks for a tunnel (authority-form target), which this server does
  // not offer: say so rather than route "host:443" as a path.
  if (p->method == HTTP_CONNECT) return r.fail(501, "CONNECT not supported");
  TargetCheck target =
      checkTarget(r.method(), {r.base_ + r.url_.offset, static_cast<std::size_t>(r.url_.length)});
  if (target.status != 0) return r.fail(target.status, target.reason);
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r.maxBodySize_) {
    return r.fail(413, "body too large");
  }
  // Pause so the connection can act on a head before its body (limits,
  // 100-continue). A bodiless request completes in the same call instead: one
  // llhttp_execute per request on the common path.
  return r.bodyExpected() ? HPE_PAUSED : 0;
}

// One pass over the header names: syntax llhttp tolerates, Host rules, and the
// Connection tokens the keep-alive decision needs.
int RequestParser::checkHeaders() noexcept {
  int hosts = 0;
  connection_ = {};
  bool teSeen = false;
  std::string_view te;
  std::string teLines;  // only when TE comes in more than one field line (rare)
  for (const HeaderSpan& h : headers_) {
    std::string_view name{base_ + h.name.offset, h.name.length};
    std::string_view value = trimOws({base_ + h.value.offset, h.value.length});
    // llhttp accepts "Name :"; RFC 9112 §5.1 requires a 400 (a smuggling vector).
    char last = name.empty() ? ' ' : name.back();
    if (last == ' ' || last == '\t') return fail(400, "whitespace in header name");
    if (name.size() == 4 && equalsIgnoreCase(name, "host")) {
      if (++hosts > 1) return fail(400, "duplicate Host header");
      if (!validHost(value)) return fail(400, "invalid Host");
    } else if (name.size() == 10 && equalsIgnoreCase(name, "connection")) {
      addConnectionTokens(value, connection_);
    } else if (name.size() == 17 && equalsIgnoreCase(name, "transfer-encoding")) {
      if (teSeen) {  // several lines form one list (RFC 9110 §5.3)
        teLines.assign(te).append(", ").append(value);
        te = teLines;
      } else {
        te = value;
      }
      teSeen = true;
    }
  }
  if (hosts == 0 && parser_.http_minor >= 1) return fail(400, "missing Host");
  if (teSeen) {
    int status = checkTransferEncoding(te, parser_.http_minor == 0);
    if (status != 0)
      return fail(status,
                  status == 501 ? "unsupported transfer coding" : "invalid Transfer-Encoding");
  }
  return 0;
}

int RequestParser::onBody(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser& r = self(p);
  if (r.body_.size() + len > r.maxBodySize_) return r.fail(413, "body too large");
  r.body_.append(at, len);
  if (r.framingFrom_ != nullptr) {  // data ends the framing run
    r.framing_ = 0;
    r.framingFrom_ = at + len;
  }
  return 0;
}

// A chunk-size line is complete: a chunk that cannot fit is refused now, not
// after the client has sent (or, stalling, never sent) its data.
int RequestParser::onChunkHeader(llhttp_t* p) {
  RequestParser& r = self(p);
  if (p->content_length > r.maxBodySize_ - r.body_.size()) {
    return r.fail(413, "body too large");
  }
  return 0;
}

int RequestParser::onChunkExtension(llhttp_t* p, const char* at, std::size_t len) {
  return self(p).checkFraming(at + len);
}

int RequestParser::onMessageComplete(llhttp_t* p) {
  RequestParser& r = self(p);
  r.messageComplete_ = true;
  r.inMessage_ = false;
  r.framingFrom_ = nullptr;
  return HPE_PAUSED;
}

}  // namespace tether::http
