#include "event_stream_session.h"

#include <fmt/format.h>

#include "active_state.h"
#include "server_connection.h"
#include "tether/http/response.h"
#include "worker.h"

namespace tether::http {
namespace {

constexpr core::Millis kNever = core::TimerWheel::kNever;

// A field value ends at the first line break: a newline would start a field
// of its own (the format has no escaping).
std::string_view oneLine(std::string_view s) noexcept {
  return s.substr(0, s.find_first_of("\r\n"));
}

}  // namespace

EventStreamSession::EventStreamSession(ServerConnection& conn,
                                       std::unique_ptr<EventStreamHandler> handler, bool chunked)
    : conn_(conn), handler_(std::move(handler)), chunked_(chunked) {}

core::Millis EventStreamSession::now() const noexcept { return conn_.worker().loop().now(); }
net::EventLoop& EventStreamSession::loop() noexcept { return conn_.worker().loop(); }

std::size_t EventStreamSession::queuedBytes() const noexcept {
  const ActiveState* a = conn_.active();
  return a == nullptr ? 0 : a->out.size() - a->outSent;
}

void EventStreamSession::open() {
  lastWrite_ = now();
  WorkerStats::add(conn_.worker().mutableStats().sseOpened, 1);
  driving_ = true;
  handler_->onOpen(*this);
  driving_ = false;  // the connection's drive() goes on into ours
}

// ---- output -----------------------------------------------------------------------

void EventStreamSession::append(std::string_view text) {
  if (closed_ || ending_) return;
  conn_.acquireActive();
  std::string& out = conn_.active()->out;
  if (chunked_) {
    fmt::format_to(std::back_inserter(out), "{:x}\r\n", text.size());
    out.append(text).append("\r\n");
  } else {
    out.append(text);
  }
  lastWrite_ = now();
  if (!driving_) drive();
}

void EventStreamSession::send(std::string_view data, std::string_view event, std::string_view id) {
  std::string text;
  if (!id.empty()) text.append("id: ").append(oneLine(id)).append("\n");
  if (!event.empty()) text.append("event: ").append(oneLine(event)).append("\n");
  // One data line per line of `data` (the client joins them with \n).
  for (;;) {
    std::size_t nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    text.append("data: ").append(line).append("\n");
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  text.append("\n");
  WorkerStats::add(conn_.worker().mutableStats().sseEvents, 1);
  append(text);
}

void EventStreamSession::retry(core::Millis ms) { append(fmt::format("retry: {}\n\n", ms)); }

// The last chunk, then the close once it is out.
void EventStreamSession::end(CloseReason why) {
  if (closed_ || ending_) return;
  if (chunked_) {
    conn_.acquireActive();
    conn_.active()->out.append("0\r\n\r\n");
  }
  ending_ = true;
  endReason_ = why;
  if (!driving_) drive();
}

void EventStreamSession::close() { end(CloseReason::kSseEnded); }
void EventStreamSession::onShutdown() { end(CloseReason::kShutdown); }

// ---- the loop ---------------------------------------------------------------------

void EventStreamSession::drive() {
  driving_ = true;
  while (!closed_) {
    auto step = conn_.upgradedOutput(ending_, endReason_);
    if (step == ServerConnection::OutputStep::kStop) break;
    if (step == ServerConnection::OutputStep::kFlushed) continue;
    if (!conn_.stream_.readReady() || !readAndDrop()) break;
  }
  driving_ = false;
  if (closed_) return;
  releaseIdleBuffer();
  conn_.armTimer();  // flushed output may have made an earlier deadline the one
}

// A client of an event stream has nothing to say: what it sends is dropped,
// and its FIN or reset ends the stream.
bool EventStreamSession::readAndDrop() {
  net::IoResult r = conn_.stream_.drain(conn_.worker().scratch(), Worker::kScratchSize);
  switch (r.kind) {
    case net::IoResult::Kind::kEof: conn_.close(CloseReason::kClientClosed); return false;
    case net::IoResult::Kind::kFailed: conn_.closeOnError(r.err); return false;
    default: return false;  // drained to empty
  }
}

void EventStreamSession::releaseIdleBuffer() {
  ActiveState* a = conn_.active();
  if (a == nullptr || a->outputPending()) return;
  conn_.worker_->releaseActive(a);
  conn_.active_ = nullptr;
}

// ---- timers -----------------------------------------------------------------------

core::Millis EventStreamSession::deadline() const noexcept {
  const ServerOptions& o = conn_.worker().options();
  if (queuedBytes() > 0) return conn_.lastActivity_ + o.sendTimeout;
  if (ending_ || o.sseHeartbeat <= 0) return kNever;
  return lastWrite_ + o.sseHeartbeat;
}

void EventStreamSession::onTimeout() {
  const ServerOptions& o = conn_.worker().options();
  if (queuedBytes() > 0) {
    if (now() >= conn_.lastActivity_ + o.sendTimeout) conn_.close(CloseReason::kSendTimeout);
    return;
  }
  WorkerStats::add(conn_.worker().mutableStats().sseHeartbeats, 1);
  append(": heartbeat\n\n");
  conn_.armTimer();
}

void EventStreamSession::onConnectionClosed() noexcept {
  if (closed_) return;
  closed_ = true;
  handler_->onClose(*this);
}

}  // namespace tether::http

namespace tether::http {

std::function<void(const Request&, Response&)> eventStream(EventStreamFactory factory) {
  return [factory = std::move(factory)](const Request& req, Response& res) {
    std::unique_ptr<EventStreamHandler> handler = factory(req, res);
    if (handler != nullptr) {
      res.setContentType("text/event-stream");
      res.addHeader("Cache-Control", "no-store");
      res.addHeader("X-Accel-Buffering", "no");
      return res.streamEvents(std::move(handler));
    }
    if (res.status() != 200) return;  // the factory said why
    res.setStatus(403);
    res.setContentType("text/plain");
    res.setBody("Forbidden: the server refused this event stream\n");
  };
}

}  // namespace tether::http
