// The default site's long-lived streams: the WebSocket endpoints /ws/echo and
// /ws/ticker?ms=N, and the event stream /sse?ms=N[&count=K].
#include "default_site_streams.h"

#include <fmt/format.h>

#include <charconv>
#include <memory>
#include <optional>

#include "tether/core/timer_wheel.h"
#include "tether/http/default_site.h"
#include "tether/http/event_stream.h"
#include "tether/http/response.h"
#include "tether/http/websocket.h"
#include "tether/net/event_loop.h"

namespace tether::http {
namespace {

constexpr std::uint64_t kMinTickMs = 1;
constexpr std::uint64_t kMaxTickMs = 3'600'000;
// A reader this far behind misses ticks instead of growing our queue.
constexpr std::size_t kTickerBacklog = 64 * 1024;

class EchoHandler final : public WebSocketHandler {
 public:
  void onMessage(WebSocket& ws, std::string_view data, bool text) override { ws.send(data, text); }
};

// Pushes {"tick":N,"ms":M,"skipped":S} every M ms on the worker's wheel; a
// message from the client is answered the same way as /ws/echo.
class TickerHandler final : public WebSocketHandler {
 public:
  explicit TickerHandler(Millis ms) : ms_(ms) {}
  ~TickerHandler() override { unlink(); }

  void onOpen(WebSocket& ws) override {
    ws_ = &ws;
    wheel_ = &ws.loop().timers();
    wheel_->link(timer_, ws.loop().now() + ms_);
  }
  void onMessage(WebSocket& ws, std::string_view data, bool text) override { ws.send(data, text); }
  void onClose(WebSocket&, std::uint16_t) override {
    unlink();
    ws_ = nullptr;
  }

 private:
  void tick() {
    ++ticks_;
    if (ws_->queuedBytes() > kTickerBacklog) {
      ++skipped_;
    } else {
      ws_->send(fmt::format("{{\"tick\":{},\"ms\":{},\"skipped\":{}}}", ticks_, ms_, skipped_));
    }
    // send() may have closed the connection (a write error): onClose unlinked.
    if (ws_ != nullptr) wheel_->link(timer_, timer_.deadline() + ms_);
  }
  void unlink() noexcept {
    if (wheel_ != nullptr) wheel_->unlink(timer_);
  }

  Millis ms_;
  WebSocket* ws_ = nullptr;
  core::TimerWheel* wheel_ = nullptr;
  core::Timer<TickerHandler, &TickerHandler::tick> timer_{this};
  std::uint64_t ticks_ = 0, skipped_ = 0;
};

// A query parameter that must be a whole number in [min, max] (`fallback`
// when absent); otherwise a 400 naming it, and nullopt.
std::optional<std::uint64_t> param(const Request& req, Response& res, std::string_view key,
                                   std::uint64_t min, std::uint64_t max, std::uint64_t fallback) {
  std::string_view text = req.queryParam(key);
  std::uint64_t value = fallback;
  if (text.empty()) return value;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size() && value >= min && value <= max) {
    return value;
  }
  res.setStatus(400);
  res.setContentType("text/plain");
  res.setBody(fmt::format("Bad Request: {} must be an integer from {} to {}\n", key, min, max));
  return std::nullopt;
}

std::unique_ptr<WebSocketHandler> ticker(const Request& req, Response& res) {
  auto ms = param(req, res, "ms", kMinTickMs, kMaxTickMs, 1000);
  if (!ms) return nullptr;
  return std::make_unique<TickerHandler>(static_cast<Millis>(*ms));
}

// /sse: event K (id K, event "tick") every `ms`; `retry: 1000` first; after
// `count` events (0: never) the server ends the stream, and a client that
// reconnects with Last-Event-ID resumes after it.
class TickStream final : public EventStreamHandler {
 public:
  TickStream(Millis ms, std::uint64_t next, std::uint64_t count)
      : ms_(ms), next_(next), count_(count) {}
  ~TickStream() override { unlink(); }

  void onOpen(EventStream& es) override {
    es_ = &es;
    wheel_ = &es.loop().timers();
    es.retry(kRetryMs);
    wheel_->link(timer_, es.loop().now() + ms_);
  }
  void onClose(EventStream&) override {
    unlink();
    es_ = nullptr;
  }

 private:
  static constexpr Millis kRetryMs = 1000;
  void tick() {
    if (es_->queuedBytes() <= kTickerBacklog) {
      es_->send(fmt::format("{{\"tick\":{},\"ms\":{}}}", next_, ms_), "tick",
                std::to_string(next_));
      ++sent_;
    }
    ++next_;
    if (es_ == nullptr) return;  // a write failed: onClose ran
    if (count_ != 0 && sent_ >= count_) return es_->close();
    wheel_->link(timer_, timer_.deadline() + ms_);
  }
  void unlink() noexcept {
    if (wheel_ != nullptr) wheel_->unlink(timer_);
  }

  Millis ms_;
  std::uint64_t next_, count_, sent_ = 0;
  EventStream* es_ = nullptr;
  core::TimerWheel* wheel_ = nullptr;
  core::Timer<TickStream, &TickStream::tick> timer_{this};
};

std::unique_ptr<EventStreamHandler> tickStream(const Request& req, Response& res) {
  auto ms = param(req, res, "ms", kMinTickMs, kMaxTickMs, 1000);
  if (!ms) return nullptr;
  auto count = param(req, res, "count", 0, 1'000'000, 0);
  if (!count) return nullptr;
  // Resume after the last event the client saw; anything unreadable starts over.
  std::uint64_t next = 1;
  std::string_view last = req.header("last-event-id");
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), id);
  if (!last.empty() && ec == std::errc() && end == last.data() + last.size()) next = id + 1;
  return std::make_unique<TickStream>(static_cast<Millis>(*ms), next, *count);
}

}  // namespace

const std::string_view kStreamDemoHtml = R"html(<h2>Live streams</h2>
<p>WebSocket <code>/ws/ticker?ms=1000</code>: <span id="ws-state">connecting</span>
(<span id="ws-count">0</span> messages; the server pings it when it is quiet and the browser
answers by itself)<br>
Event stream <code>/sse?ms=1000</code>: <span id="sse-state">connecting</span>
(<span id="sse-count">0</span> events; it resumes after the last id when it reconnects)<br>
Echo over <code>/ws/echo</code>: <input id="echo-in" value="hello" size="20">
<button id="echo-send">send</button> <span id="echo-out"></span></p>
<script>
(function () {
  var demo = window.tetherDemo = {ws: 0, sse: 0, lastEventId: null, echoed: null};
  function show(id, text) { document.getElementById(id).textContent = text; }
  var base = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
  var ticker = new WebSocket(base + '/ws/ticker?ms=1000');
  ticker.onopen = function () { show('ws-state', 'open'); };
  ticker.onmessage = function (e) {
    demo.ws++;
    show('ws-count', demo.ws);
    show('ws-state', 'tick ' + JSON.parse(e.data).tick);
  };
  ticker.onclose = function (e) { show('ws-state', 'closed (' + e.code + ')'); };
  var events = new EventSource('/sse?ms=1000');
  events.addEventListener('tick', function (e) {
    demo.sse++;
    demo.lastEventId = e.lastEventId;
    show('sse-count', demo.sse);
    show('sse-state', 'event id ' + e.lastEventId);
  });
  events.onerror = function () { show('sse-state', 'reconnecting'); };
  var echo = new WebSocket(base + '/ws/echo');
  echo.onmessage = function (e) { demo.echoed = e.data; show('echo-out', e.data); };
  document.getElementById('echo-send').onclick = function () {
    echo.send(document.getElementById('echo-in').value);
  };
})();
</script>
)html";

void installStreamDemo(Server& server) {
  server.handle("/ws/echo", "GET", webSocket([](const Request&, Response&) {
                  return std::make_unique<EchoHandler>();
                }));
  server.handle("/ws/ticker", "GET", webSocket(&ticker));
  server.handle("/sse", "GET", eventStream(&tickStream));
}

}  // namespace tether::http
