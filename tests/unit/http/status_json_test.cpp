#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_doc.h"
#include "tether/http/default_site.h"

namespace tether::http {
namespace {

using jsondoc::keysOf;
using jsondoc::parseJsonLine;

TEST(StatusJson, DocumentedKeysOrderAndTypes) {
  ServerStatsSnapshot s;
  s.idle = 1;
  s.writing = 2;
  s.accepted = 3;
  s.requests = 5;
  s.reusedRequests = 2;
  s.closes[static_cast<std::size_t>(CloseReason::kClientClosed)] = 2;
  s.websockets = 1;
  s.wsOpened = 2;
  s.wsPingsSent = 7;
  s.wsCloseCodes[wsCloseCodeIndex(1001)] = 1;
  s.wsCloseCodes[wsCloseCodeIndex(4000)] = 1;
  s.eventStreams = 2;
  s.sseHeartbeats = 3;
  ServerOptions o;
  o.workers = 4;
  o.tcpKeepalive = {true, 30, 1, 3, 20'000};
  auto doc = parseJsonLine(statusJson(s, o, 1000));

  EXPECT_EQ(keysOf(doc), (std::vector<std::string>{"connections", "totals", "closes", "tls",
                                                   "websocket", "event_streams", "keepalive_advice",
                                                   "histograms", "settings"}));
  EXPECT_EQ(keysOf(doc["connections"]),
            (std::vector<std::string>{"idle", "reading", "writing", "lingering", "websocket",
                                      "event_stream", "total"}));
  EXPECT_EQ(doc["connections"]["total"], 6) << "open WebSockets and streams are open connections";
  EXPECT_EQ(keysOf(doc["event_streams"]),
            (std::vector<std::string>{"opened", "events_sent", "heartbeats"}));
  EXPECT_EQ(doc["event_streams"]["heartbeats"], 3);
  EXPECT_EQ(keysOf(doc["websocket"]),
            (std::vector<std::string>{"opened", "messages_received", "messages_sent", "pings_sent",
                                      "pongs_received", "closes_by_code"}));
  EXPECT_EQ(doc["websocket"]["pings_sent"], 7);
  EXPECT_EQ(keysOf(doc["websocket"]["closes_by_code"]),
            (std::vector<std::string>{"1000", "1001", "1002", "1003", "1005", "1006", "1007",
                                      "1008", "1009", "1011", "other"}));
  EXPECT_EQ(doc["websocket"]["closes_by_code"]["1001"], 1);
  EXPECT_EQ(doc["websocket"]["closes_by_code"]["other"], 1);
  EXPECT_EQ(keysOf(doc["totals"]),
            (std::vector<std::string>{"accepted", "closed", "requests", "reused_requests",
                                      "requests_per_connection"}));
  EXPECT_TRUE(doc["totals"]["closed"].is_number_integer());
  EXPECT_EQ(doc["totals"]["closed"], 2);
  EXPECT_TRUE(doc["totals"]["requests_per_connection"].is_number_float());
  EXPECT_EQ(doc["totals"]["requests_per_connection"], 1.667);  // 5/3, three decimals

  ASSERT_EQ(doc["closes"].size(), static_cast<std::size_t>(CloseReason::kCount));
  std::size_t i = 0;
  for (const auto& [name, count] : doc["closes"].items()) {
    EXPECT_EQ(name, closeReasonName(static_cast<CloseReason>(i++)));
    EXPECT_TRUE(count.is_number_unsigned()) << name;
  }
  EXPECT_EQ(doc["closes"]["client_closed"], 2);

  // Every setting of ServerOptions, in --help order (server_settings.cpp).
  EXPECT_EQ(keysOf(doc["settings"]), (std::vector<std::string>{"share_port",
                                                               "workers",
                                                               "io_backend",
                                                               "keepalive_timeout_ms",
                                                               "keepalive_grace_ms",
                                                               "keepalive_header",
                                                               "keepalive_requests",
                                                               "keepalive_time_ms",
                                                               "keepalive_jitter_percent",
                                                               "client_header_timeout_ms",
                                                               "client_body_timeout_ms",
                                                               "send_timeout_ms",
                                                               "lingering_close",
                                                               "lingering_time_ms",
                                                               "lingering_timeout_ms",
                                                               "reset_timedout_connection",
                                                               "max_connections",
                                                               "max_header_size",
                                                               "max_body_size",
                                                               "access_log",
                                                               "shutdown_timeout_ms",
                                                               "metrics_listen",
                                                               "so_keepalive",
                                                               "tcp_keepalive_idle_s",
                                                               "tcp_keepalive_interval_s",
                                                               "tcp_keepalive_count",
                                                               "tcp_user_timeout_ms",
                                                               "tls_cert",
                                                               "tls_ciphers",
                                                               "tls_ciphersuites",
                                                               "tls_session_timeout_ms",
                                                               "tls_handshake_timeout_ms",
                                                               "ws_ping_interval_ms",
                                                               "ws_ping_timeout_ms",
                                                               "ws_idle_timeout_ms",
                                                               "ws_min_ping_interval_ms",
                                                               "ws_max_ping_strikes",
                                                               "ws_max_message_size",
                                                               "ws_close_timeout_ms",
                                                               "sse_heartbeat_ms"}));
  EXPECT_EQ(doc["settings"]["max_connections"], 1000);  // the effective limit
  EXPECT_EQ(doc["settings"]["lingering_close"], "on");
  EXPECT_EQ(doc["settings"]["keepalive_header"], true);
  EXPECT_EQ(doc["settings"]["access_log"], "off");
  EXPECT_EQ(doc["settings"]["keepalive_timeout_ms"], o.keepaliveTimeout);
  EXPECT_EQ(doc["settings"]["workers"], 4);
  EXPECT_EQ(doc["settings"]["so_keepalive"], liveness::formatKeepaliveSpec(o.tcpKeepalive));
  EXPECT_EQ(doc["settings"]["tcp_user_timeout_ms"], 20'000);
  EXPECT_TRUE(doc["settings"]["metrics_listen"].is_null());
}

// The live page draws these: per-bucket counts (not cumulative), one more
// than the finite bounds, bounds and sum in the exported unit (seconds).
TEST(StatusJson, HistogramsPerBucketInExportedUnits) {
  ServerStatsSnapshot s;
  HistogramSnapshot& gaps = s.histograms[static_cast<std::size_t>(Distribution::kIdleGapSeconds)];
  gaps.buckets[6] = 3;   // (100, 250] ms
  gaps.buckets[18] = 1;  // above 300 s
  gaps.count = 4;
  gaps.sum = 1500;  // ms
  ServerOptions o;
  o.metricsListen = net::parseSocketAddress("127.0.0.1:9100");
  auto doc = parseJsonLine(statusJson(s, o, 100));
  EXPECT_EQ(keysOf(doc["histograms"]),
            (std::vector<std::string>{"connection_requests", "connection_duration_seconds",
                                      "keepalive_idle_gap_seconds", "keepalive_idle_closed_seconds",
                                      "request_duration_seconds", "websocket_ping_rtt_seconds"}));
  const auto& h = doc["histograms"]["keepalive_idle_gap_seconds"];
  ASSERT_EQ(h["le"].size(), 18u);
  ASSERT_EQ(h["counts"].size(), 19u);
  EXPECT_EQ(h["le"][6], 0.25);
  EXPECT_EQ(h["counts"][6], 3);
  EXPECT_EQ(h["counts"][18], 1);
  EXPECT_EQ(h["counts"][5], 0);
  EXPECT_EQ(h["count"], 4);
  EXPECT_EQ(h["sum"], 1.5);
  EXPECT_EQ(doc["histograms"]["connection_requests"]["le"][0], 1.0);
  EXPECT_EQ(doc["settings"]["metrics_listen"], "127.0.0.1:9100");
}

TEST(StatusJson, NoConnectionsYet) {
  auto doc = parseJsonLine(statusJson(ServerStatsSnapshot{}, ServerOptions{}, 100));
  EXPECT_EQ(doc["totals"]["requests_per_connection"], 0.0);
  EXPECT_EQ(doc["connections"]["total"], 0);
}

}  // namespace
}  // namespace tether::http
