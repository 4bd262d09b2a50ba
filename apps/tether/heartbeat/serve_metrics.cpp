#include "heartbeat/serve_metrics.h"

#include "tether/http/metrics.h"
#include "tether/http/prometheus_text.h"

namespace tether::app::heartbeat {
namespace {

std::uint64_t get(const ServeCounters::Counter& c) { return c.load(std::memory_order_relaxed); }

}  // namespace

const http::HistogramSpec& heartbeatRttSpec() {
  // Loopback answers in tens of microseconds; a congested path in seconds.
  static const http::HistogramSpec spec = {
      "tether_heartbeat_rtt_seconds",
      "Heartbeat round trip: our ping to the pong that echoes it.",
      1'000'000,
      {50, 100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000,
       1'000'000, 2'500'000, 5'000'000},
      16};
  return spec;
}

std::string serveMetricsText(const ServeCounters& c) {
  http::PrometheusText e;
  e.family("tether_heartbeat_sessions", "gauge", "Heartbeat sessions open now.");
  e.sample("tether_heartbeat_sessions", get(c.open));
  e.family("tether_heartbeat_sessions_accepted_total", "counter", "Heartbeat clients accepted.");
  e.sample("tether_heartbeat_sessions_accepted_total", get(c.accepted));
  e.family("tether_heartbeat_pings_sent_total", "counter", "Pings sent to quiet clients.");
  e.sample("tether_heartbeat_pings_sent_total", get(c.pingsSent));
  e.family("tether_heartbeat_pongs_received_total", "counter",
           "Pongs answering our latest ping (each one has an RTT).");
  e.sample("tether_heartbeat_pongs_received_total", get(c.pongs));
  e.family("tether_heartbeat_sessions_closed_total", "counter",
           "Heartbeat sessions closed, by reason (heartbeat_timeout: the client missed its "
           "pings).");
  for (std::size_t i = 0; i < c.closes.size(); ++i) {
    auto reason = static_cast<liveness::SessionCloseReason>(i);
    e.sample("tether_heartbeat_sessions_closed_total", "reason",
             liveness::sessionCloseReasonName(reason), get(c.closes[i]));
  }
  http::HistogramSnapshot rtt;
  c.rtt.addTo(rtt);
  e.histogram(heartbeatRttSpec(), rtt);
  return e.take();
}

std::unique_ptr<http::Server> metricsServer(const net::SocketAddress& at, const ServeCounters& c) {
  http::ServerOptions o;
  o.listen = {at};
  o.workers = 1;
  o.shutdownTimeout = 1000;
  auto server = std::make_unique<http::Server>(std::move(o));
  server->handle(std::string(http::kMetricsPath), "GET, HEAD",
                 [&c](const http::Request&, http::Response& res) {
                   res.setContentType(http::kMetricsContentType);
                   res.addHeader("Cache-Control", "no-store");
                   res.setBody(serveMetricsText(c));
                 });
  return server;
}

}  // namespace tether::app::heartbeat
