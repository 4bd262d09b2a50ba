#include "tether/http/metrics.h"

#include <fmt/format.h>

#include <iterator>

#include "tether/http/prometheus_text.h"

namespace tether::http {
namespace {

void connections(PrometheusText& e, const ServerStatsSnapshot& s, std::uint64_t maxConnections) {
  e.family("tether_connections", "gauge", "Connections open now, by state.");
  e.sample("tether_connections", "state", "idle", s.idle);
  e.sample("tether_connections", "state", "reading", s.reading);
  e.sample("tether_connections", "state", "writing", s.writing);
  e.sample("tether_connections", "state", "lingering", s.lingering);
  e.sample("tether_connections", "state", "websocket", s.websockets);
  e.sample("tether_connections", "state", "event_stream", s.eventStreams);
  e.family("tether_connections_max", "gauge",
           "Connections the server keeps open at most (--max-connections, or what the "
           "descriptor limit allows).");
  e.sample("tether_connections_max", maxConnections);
  e.family("tether_connections_accepted_total", "counter", "Connections accepted.");
  e.sample("tether_connections_accepted_total", s.accepted);
  e.family("tether_connections_closed_total", "counter",
           "Connections closed, by reason (exactly one reason per connection).");
  for (std::size_t i = 0; i < s.closes.size(); ++i) {
    e.sample("tether_connections_closed_total", "reason",
             closeReasonName(static_cast<CloseReason>(i)), s.closes[i]);
  }
}

void requests(PrometheusText& e, const ServerStatsSnapshot& s) {
  e.family("tether_requests_total", "counter", "Requests whose head was completely received.");
  e.sample("tether_requests_total", s.requests);
  e.family("tether_requests_reused_total", "counter",
           "Requests that were not the first on their connection (keep-alive reuse).");
  e.sample("tether_requests_reused_total", s.reusedRequests);
}

void tls(PrometheusText& e, const ServerStatsSnapshot& s) {
  e.family("tether_tls_handshakes_total", "counter",
           "Finished TLS handshakes, full or resumed (failures are close reasons tls_*).");
  e.sample("tether_tls_handshakes_total", "resumed", "false", s.tlsFullHandshakes);
  e.sample("tether_tls_handshakes_total", "resumed", "true", s.tlsResumedHandshakes);
  e.family("tether_tls_handshakes_by_version_total", "counter",
           "Finished TLS handshakes, by protocol version.");
  e.sample("tether_tls_handshakes_by_version_total", "version", "1.2", s.tls12);
  e.sample("tether_tls_handshakes_by_version_total", "version", "1.3", s.tls13);
  e.family("tether_tls_handshakes_abandoned_total", "counter",
           "TLS handshakes the client ended by closing before they finished.");
  e.sample("tether_tls_handshakes_abandoned_total", s.tlsHandshakesAbandoned);
}

// The heartbeat figures of WebSocket connections (the RTT is a histogram).
void websockets(PrometheusText& e, const ServerStatsSnapshot& s) {
  e.family("tether_websocket_opened_total", "counter", "WebSocket handshakes accepted (101).");
  e.sample("tether_websocket_opened_total", s.wsOpened);
  e.family("tether_websocket_messages_total", "counter", "WebSocket data messages, by direction.");
  e.sample("tether_websocket_messages_total", "direction", "received", s.wsMessagesIn);
  e.sample("tether_websocket_messages_total", "direction", "sent", s.wsMessagesOut);
  e.family("tether_websocket_pings_sent_total", "counter",
           "Pings the server sent to quiet WebSocket peers.");
  e.sample("tether_websocket_pings_sent_total", s.wsPingsSent);
  e.family("tether_websocket_pongs_received_total", "counter",
           "Pongs received (answers to our pings and unsolicited ones).");
  e.sample("tether_websocket_pongs_received_total", s.wsPongsReceived);
  e.family("tether_websocket_closes_total", "counter",
           "Closed WebSocket connections by close code: the peer's if it closed first, else "
           "ours; 1006: no close frame was exchanged.");
  for (std::size_t i = 0; i <= kWsCountedCloseCodes.size(); ++i) {
    std::string code = wsCloseCodeLabel(i);
    e.sample("tether_websocket_closes_total", "code", code, s.wsCloseCodes[i]);
  }
}

void eventStreams(PrometheusText& e, const ServerStatsSnapshot& s) {
  e.family("tether_sse_opened_total", "counter", "Event streams opened.");
  e.sample("tether_sse_opened_total", s.sseOpened);
  e.family("tether_sse_events_total", "counter", "Events sent on event streams.");
  e.sample("tether_sse_events_total", s.sseEvents);
  e.family("tether_sse_heartbeats_total", "counter",
           "Heartbeat comments sent on quiet event streams.");
  e.sample("tether_sse_heartbeats_total", s.sseHeartbeats);
}

}  // namespace

std::string prometheusText(const ServerStatsSnapshot& s, std::uint64_t maxConnections) {
  PrometheusText e;
  connections(e, s, maxConnections);
  requests(e, s);
  tls(e, s);
  websockets(e, s);
  eventStreams(e, s);
  for (std::size_t i = 0; i < s.histograms.size(); ++i) {
    auto d = static_cast<Distribution>(i);
    e.histogram(histogramSpec(d), s.histogram(d));
  }
  return e.take();
}

void installMetricsEndpoint(Server& host, const Server& observed) {
  host.handle(std::string(kMetricsPath), "GET, HEAD", [&observed](const Request&, Response& res) {
    res.setContentType(kMetricsContentType);
    res.addHeader("Cache-Control", "no-store");
    res.setBody(prometheusText(observed.stats(), observed.maxConnections()));
  });
}

}  // namespace tether::http
