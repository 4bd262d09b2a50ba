// `tether serve --ws-*` and `--sse-*`: the policy of long-lived streams
// (http::WebSocketOptions, ServerOptions::sseHeartbeat).
#include <fmt/format.h>

#include "commands.h"
#include "help_format.h"
#include "serve_options.h"

namespace tether::app {

void toWebSocketOptions(const ServeArgs& a, http::ServerOptions& o) {
  http::WebSocketOptions& w = o.ws;
  w.pingInterval = serveDuration("--ws-ping-interval", a.wsPingInterval);
  w.pingTimeout = serveDuration("--ws-ping-timeout", a.wsPingTimeout);
  w.idleTimeout = serveDuration("--ws-idle-timeout", a.wsIdleTimeout);
  w.minPingInterval = serveDuration("--ws-min-ping-interval", a.wsMinPingInterval);
  w.closeTimeout = serveDuration("--ws-close-timeout", a.wsCloseTimeout);
  w.maxPingStrikes = a.wsMaxPingStrikes;
  w.maxMessageSize = serveSize("--ws-max-message-size", a.wsMaxMessageSize);
  // The engine waits for an answer before it pings again, so any interval and
  // timeout go together; only pings without a timeout cannot.
  if (w.pingInterval > 0 && w.pingTimeout <= 0) {
    throw UsageError("--ws-ping-timeout: must be positive while --ws-ping-interval is on");
  }
  if (w.closeTimeout <= 0) throw UsageError("--ws-close-timeout: must be positive");
  o.sseHeartbeat = serveDuration("--sse-heartbeat", a.sseHeartbeat);
}

void addWebSocketOptions(CLI::App& cmd, ServeArgs& args) {
  auto duration = [&cmd](const char* name, std::string& value, const char* help) {
    label(cmd.add_option(name, value, help), "DURATION")->capture_default_str();
  };
  duration("--ws-ping-interval", args.wsPingInterval,
           "WebSocket: ping after this long without a frame from the peer (keeps proxies' read "
           "timeouts from firing); 0: never");
  duration("--ws-ping-timeout", args.wsPingTimeout,
           "WebSocket: after a ping, close (1001, ws_ping_timeout) when no frame arrives for "
           "this long");
  duration("--ws-idle-timeout", args.wsIdleTimeout,
           "WebSocket: close (1001) after this long without a data message either way; pings "
           "do not count; 0: never");
  duration("--ws-min-ping-interval", args.wsMinPingInterval,
           "WebSocket: a peer's ping sooner than this after its previous one is a strike; 0: "
           "any rate");
  label(cmd.add_option("--ws-max-ping-strikes", args.wsMaxPingStrikes,
                       "WebSocket: close (1008) a peer with more strikes than this; data we "
                       "send forgives them; 0: no limit"),
        "N")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  label(cmd.add_option("--ws-max-message-size", args.wsMaxMessageSize,
                       "WebSocket: largest message received, fragments joined, else close 1009"),
        "SIZE")
      ->capture_default_str();
  duration("--ws-close-timeout", args.wsCloseTimeout,
           "WebSocket: wait this long for the peer's close frame after ours");
  duration("--sse-heartbeat", args.sseHeartbeat,
           "Event streams: a ': heartbeat' comment after this long without an event (keeps "
           "proxies' read timeouts from firing); 0: never");
}

}  // namespace tether::app
