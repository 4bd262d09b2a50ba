// The default site's WebSocket endpoints: /ws/echo and /ws/ticker?ms=N.
#include <fmt/format.h>

#include <charconv>
#include <memory>

#include "tether/core/timer_wheel.h"
#include "tether/http/default_site.h"
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

std::unique_ptr<WebSocketHandler> ticker(const Request& req, Response& res) {
  std::string_view text = req.queryParam("ms");
  std::uint64_t ms = 1000;
  if (!text.empty()) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size() || ms < kMinTickMs ||
        ms > kMaxTickMs) {
      res.setStatus(400);
      res.setContentType("text/plain");
      res.setBody(fmt::format("Bad Request: ms must be an integer from {} to {}\n", kMinTickMs,
                              kMaxTickMs));
      return nullptr;
    }
  }
  return std::make_unique<TickerHandler>(static_cast<Millis>(ms));
}

}  // namespace

void installWebSocketDemo(Server& server) {
  server.handle("/ws/echo", "GET", webSocket([](const Request&, Response&) {
                  return std::make_unique<EchoHandler>();
                }));
  server.handle("/ws/ticker", "GET", webSocket(&ticker));
}

}  // namespace tether::http
