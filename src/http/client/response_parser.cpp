#include "tether/http/client/response_parser.h"

#include <llhttp.h>

#include <charconv>

#include "tether/http/request.h"

namespace tether::http::client {
namespace {

ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }

std::int64_t nonNegativeInteger(std::string_view s) noexcept {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  std::int64_t v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 0) return -1;
  return v;
}

constexpr int kPaused = HPE_PAUSED;
constexpr int kSkipBody = 1;  // on_headers_complete: "assume no body" (HEAD)

}  // namespace

struct ResponseParser::Llhttp {
  llhttp_t parser;
  llhttp_settings_t settings;

  static int onMessageBegin(llhttp_t* p);
  static int onStatus(llhttp_t* p, const char* at, std::size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, std::size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, std::size_t len);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, std::size_t len);
  static int onMessageComplete(llhttp_t* p);
};

void parseKeepAliveHeader(std::string_view value, KeepAliveHint& hint) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view param = trimOws(value.substr(0, comma));
    std::size_t eq = param.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = trimOws(param.substr(0, eq));
      std::string_view v = trimOws(param.substr(eq + 1));
      if (equalsIgnoreCase(name, "timeout")) hint.timeoutSeconds = nonNegativeInteger(v);
      if (equalsIgnoreCase(name, "max")) hint.max = nonNegativeInteger(v);
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

ResponseParser::ResponseParser() : ResponseParser(Limits{}) {}

ResponseParser::ResponseParser(const Limits& limits)
    : llhttp_(std::make_unique<Llhttp>()), limits_(limits) {
  llhttp_settings_init(&llhttp_->settings);
  llhttp_->settings.on_message_begin = &Llhttp::onMessageBegin;
  setFramingOnly(false);  // the header callbacks
  llhttp_->settings.on_headers_complete = &Llhttp::onHeadersComplete;
  llhttp_->settings.on_body = &Llhttp::onBody;
  llhttp_->settings.on_message_complete = &Llhttp::onMessageComplete;
  head_.reserve(1024);
  headers_.reserve(16);
  reset();
}

ResponseParser::~ResponseParser() = default;

void ResponseParser::reset() {
  llhttp_init(&llhttp_->parser, HTTP_RESPONSE, &llhttp_->settings);
  llhttp_->parser.data = this;
  inMessage_ = false;
  headComplete_ = false;
  messageComplete_ = false;
  afterFinal_ = true;
  closed_ = false;
  interim_ = 0;
  errorReason_ = "";
}

void ResponseParser::setFramingOnly(bool on) noexcept {
  // llhttp reads the settings through a pointer at every callback, so this
  // takes effect at once, even mid-connection.
  framingOnly_ = on;
  llhttp_->settings.on_status = on ? nullptr : &Llhttp::onStatus;
  llhttp_->settings.on_header_field = on ? nullptr : &Llhttp::onHeaderField;
  llhttp_cb fieldDone = [](llhttp_t* p) {
    self(p).inName_ = false;
    return 0;
  };
  llhttp_->settings.on_header_field_complete = on ? nullptr : fieldDone;
  llhttp_->settings.on_header_value = on ? nullptr : &Llhttp::onHeaderValue;
}

void ResponseParser::setBodySink(BodySink sink, void* context) noexcept {
  sink_ = sink;
  sinkContext_ = context;
}

ResponseParser::Event ResponseParser::execute(const char* data, std::size_t len,
                                              std::size_t& consumed) {
  consumed = 0;
  if (llhttp_get_errno(&llhttp_->parser) == HPE_PAUSED) llhttp_resume(&llhttp_->parser);
  if (len == 0) return Event::kNeedMore;
  // The non-strict llhttp build discards bytes after a closing response silently.
  if (closed_) return fail("bytes after a response that closes the connection"), Event::kError;
  llhttp_errno_t err = llhttp_execute(&llhttp_->parser, data, len);
  if (err == HPE_OK) {
    consumed = len;
    return Event::kNeedMore;
  }
  consumed = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_->parser) - data);
  if (err == HPE_PAUSED && messageComplete_) return Event::kMessageComplete;
  if (err == HPE_PAUSED_UPGRADE) return fail("bytes after a protocol upgrade"), Event::kError;
  if (*errorReason_ == '\0') errorReason_ = llhttp_get_error_reason(&llhttp_->parser);
  return Event::kError;
}

ResponseParser::Event ResponseParser::finish() {
  if (*errorReason_ != '\0') return Event::kError;
  if (!inMessage_) return Event::kNeedMore;  // clean EOF between responses
  llhttp_errno_t err = llhttp_finish(&llhttp_->parser);
  if (err == HPE_PAUSED && messageComplete_) {
    reusable_ = false;  // the body ended with the connection
    return Event::kMessageComplete;
  }
  fail("connection closed before the response was complete");
  return Event::kError;
}

std::string_view ResponseParser::reason() const noexcept { return view(reason_); }

std::string_view ResponseParser::headerName(std::size_t i) const noexcept {
  return view(headers_[i].name);
}

std::string_view ResponseParser::headerValue(std::size_t i) const noexcept {
  return trimOws(view(headers_[i].value));
}

std::string_view ResponseParser::header(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    if (equalsIgnoreCase(headerName(i), name)) return headerValue(i);
  }
  return {};
}

std::size_t ResponseParser::storageCapacity() const noexcept {
  return head_.capacity() + headers_.capacity() * sizeof(HeaderSpan) + body_.capacity();
}

int ResponseParser::append(Span& span, const char* at, std::size_t len) {
  if (head_.size() + len > limits_.maxHeadBytes) return fail("response head too large");
  if (span.length == 0) span.offset = static_cast<std::uint32_t>(head_.size());
  head_.append(at, len);  // pieces of one span arrive back to back
  span.length += static_cast<std::uint32_t>(len);
  return 0;
}

int ResponseParser::fail(const char* reason) noexcept {
  errorReason_ = reason;
  return HPE_USER;
}

int ResponseParser::Llhttp::onMessageBegin(llhttp_t* p) {
  ResponseParser& r = self(p);
  if (r.afterFinal_) r.interim_ = 0;
  r.afterFinal_ = false;
  r.head_.clear();
  r.headers_.clear();
  r.body_.clear();
  r.reason_ = {};
  r.inName_ = false;
  r.inMessage_ = true;
  r.headComplete_ = false;
  r.messageComplete_ = false;
  r.status_ = 0;
  r.connection_ = {};
  r.keepAlive_ = {};
  r.hasContentLength_ = false;
  r.contentLength_ = 0;
  r.chunked_ = false;
  r.closeDelimited_ = false;
  r.bodyBytes_ = 0;
  r.reusable_ = false;
  r.upgraded_ = false;
  return 0;
}

int ResponseParser::Llhttp::onStatus(llhttp_t* p, const char* at, std::size_t len) {
  ResponseParser& r = self(p);
  return r.append(r.reason_, at, len);
}

int ResponseParser::Llhttp::onHeaderField(llhttp_t* p, const char* at, std::size_t len) {
  ResponseParser& r = self(p);
  if (!r.inName_) {
    if (r.headers_.size() >= r.limits_.maxHeaders) return r.fail("too many response headers");
    r.headers_.emplace_back();
    r.inName_ = true;
  }
  return r.append(r.headers_.back().name, at, len);
}

int ResponseParser::Llhttp::onHeaderValue(llhttp_t* p, const char* at, std::size_t len) {
  ResponseParser& r = self(p);
  return r.append(r.headers_.back().value, at, len);
}

int ResponseParser::Llhttp::onHeadersComplete(llhttp_t* p) {
  ResponseParser& r = self(p);
  if (p->http_major != 1) return r.fail("unsupported HTTP version in response");
  r.status_ = p->status_code;
  r.versionMajor_ = p->http_major;
  r.versionMinor_ = p->http_minor;
  r.headComplete_ = r.status_ >= 200 || r.status_ == 101;  // not for an interim 1xx
  r.hasContentLength_ = (p->flags & F_CONTENT_LENGTH) != 0;
  r.contentLength_ = p->content_length;  // llhttp counts it down while reading the body
  r.chunked_ = (p->flags & F_CHUNKED) != 0;
  if (int err = r.framingOnly_ ? 0 : r.scanHeaders(); err != 0) return err;
  // RFC 9110 §6.4.1: no body after HEAD, 1xx, 204, 304 whatever the headers say.
  int s = r.status_;
  bool noBody = r.requestIsHead_ || (s >= 100 && s < 200) || s == 204 || s == 304;
  r.closeDelimited_ = !noBody && llhttp_message_needs_eof(p) != 0;
  return noBody ? kSkipBody : 0;
}

// Connection management needs two headers; one pass over the names.
int ResponseParser::scanHeaders() noexcept {
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    std::string_view name = headerName(i);
    // llhttp (non-strict build) lets "Bad Name:" through; RFC 9112 §5.1 forbids it.
    if (name.find_first_of(" \t") != std::string_view::npos) {
      return fail("whitespace in a response header name");
    }
    if (name.size() == 10 && equalsIgnoreCase(name, "connection")) {
      addConnectionTokens(headerValue(i), connection_);
    } else if (name.size() == 10 && equalsIgnoreCase(name, "keep-alive")) {
      parseKeepAliveHeader(headerValue(i), keepAlive_);
    }
  }
  return 0;
}

int ResponseParser::Llhttp::onBody(llhttp_t* p, const char* at, std::size_t len) {
  ResponseParser& r = self(p);
  r.bodyBytes_ += len;
  if (r.keepBodyMax_ != 0) {
    if (r.body_.size() + len > r.keepBodyMax_) return r.fail("response body too large");
    r.body_.append(at, len);
  }
  if (r.sink_ != nullptr) r.sink_(r.sinkContext_, {at, len});
  return 0;
}

int ResponseParser::Llhttp::onMessageComplete(llhttp_t* p) {
  ResponseParser& r = self(p);
  r.inMessage_ = false;
  if (r.status_ >= 100 && r.status_ < 200 && r.status_ != 101) {
    ++r.interim_;  // 100 Continue, 103 Early Hints: the final response follows
    return 0;
  }
  r.afterFinal_ = true;
  r.messageComplete_ = true;
  r.upgraded_ = p->upgrade != 0;
  r.reusable_ = !r.upgraded_ && llhttp_should_keep_alive(p) != 0;
  r.closed_ = !r.reusable_ && !r.upgraded_;
  return kPaused;
}

}  // namespace tether::http::client
