#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_doc.h"
#include "tether/tools/bench.h"

namespace tether::tools::bench {
namespace {

using jsondoc::keysOf;
using jsondoc::parseJsonLine;

TEST(BenchJson, DocumentedKeysOrderAndTypes) {
  BenchConfig c;
  c.target = *net::parseSocketAddress("127.0.0.1:8080");
  c.url = "http://127.0.0.1:8080/plaintext?q=\"x\"";
  c.connections = 8;
  c.rate = 250;
  c.duration = 1'500;
  BenchResult r;
  r.elapsedS = 1.23456789;
  r.requests = 1000;
  r.bytesRead = 123'457;
  r.bytesWritten = 50'000;
  r.statusClasses = {1, 0, 990, 0, 9, 0};
  r.errors.timeout = 2;
  r.connectionsOpened = 8;
  r.connectionsUsed = 3;
  r.reusedRequests = 992;
  r.latency = {1000, 81'234, 100'000, 200'000, 300'000, 400'000, 512'345, 123'456.7891};
  r.timeWait = {true, 5, 3, 1, 9};
  auto doc = parseJsonLine(formatJson(c, r));

  EXPECT_EQ(keysOf(doc), (std::vector<std::string>{"url",
                                                   "connections",
                                                   "threads",
                                                   "pipeline",
                                                   "keepalive",
                                                   "rate",
                                                   "duration_s",
                                                   "requests_limit",
                                                   "warmup_s",
                                                   "interrupted",
                                                   "elapsed_s",
                                                   "requests",
                                                   "requests_per_s",
                                                   "bytes_read",
                                                   "bytes_read_per_s",
                                                   "bytes_written",
                                                   "latency_ms",
                                                   "status",
                                                   "errors",
                                                   "tls",
                                                   "connections_opened",
                                                   "connections_used",
                                                   "requests_per_connection",
                                                   "reused_requests",
                                                   "reused_share",
                                                   "time_wait"}));
  EXPECT_EQ(doc["url"], c.url);
  EXPECT_TRUE(doc["connections"].is_number_integer());
  EXPECT_EQ(doc["keepalive"], true);
  EXPECT_EQ(doc["rate"], 250.0);
  EXPECT_EQ(doc["duration_s"], 1.5);
  EXPECT_TRUE(doc["requests_limit"].is_number_integer());
  EXPECT_EQ(doc["elapsed_s"], 1.234568);          // 6 decimals
  EXPECT_EQ(doc["requests_per_s"], 810.0);        // 1 decimal
  EXPECT_EQ(doc["bytes_read_per_s"], 100'000.2);  // 1 decimal

  const auto& l = doc["latency_ms"];
  EXPECT_EQ(keysOf(l), (std::vector<std::string>{"count", "min", "p50", "p90", "p99", "p99_9",
                                                 "max", "mean", "from_intended_send"}));
  EXPECT_TRUE(l["count"].is_number_integer());
  EXPECT_EQ(l["min"], 0.081234);
  EXPECT_EQ(l["max"], 0.512345);
  EXPECT_EQ(l["mean"], 0.123457);  // 6 decimals
  EXPECT_EQ(l["from_intended_send"], true);

  EXPECT_EQ(keysOf(doc["status"]),
            (std::vector<std::string>{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}));
  EXPECT_EQ(doc["status"]["2xx"], 990);
  EXPECT_EQ(doc["status"]["other"], 1);
  EXPECT_EQ(
      keysOf(doc["errors"]),
      (std::vector<std::string>{"total", "connect", "reset", "timeout", "read", "parse",
                                "status_4xx", "status_5xx", "connect_error", "tls", "tls_error"}));
  EXPECT_TRUE(doc["errors"]["tls_error"].is_null());
  EXPECT_TRUE(doc["tls"].is_null()) << "http: no TLS section";
  EXPECT_EQ(doc["errors"]["total"], 2);
  EXPECT_EQ(doc["requests_per_connection"], 333.333);  // 3 decimals
  EXPECT_EQ(doc["reused_share"], 0.992);

  const auto& t = doc["time_wait"];
  EXPECT_EQ(keysOf(t),
            (std::vector<std::string>{"available", "port", "server_side", "client_side", "note"}));
  EXPECT_EQ(t["port"], 8080);
  EXPECT_EQ(keysOf(t["server_side"]), (std::vector<std::string>{"before", "after", "delta"}));
  EXPECT_EQ(t["server_side"]["delta"], -2);  // 5 -> 3
  EXPECT_EQ(t["client_side"]["delta"], 8);   // 1 -> 9
  EXPECT_TRUE(t["note"].is_string());
}

TEST(BenchReport, HttpsShowsHandshakesFullAndResumedAndTheirLatency) {
  BenchConfig c;
  c.target = *net::parseSocketAddress("127.0.0.1:8443");
  c.url = "https://127.0.0.1:8443/";
  BenchResult r;
  r.elapsedS = 2;
  r.requests = 100;
  r.tls.enabled = true;
  r.tls.version = "TLSv1.3";
  r.tls.full = 4;
  r.tls.resumed = 96;
  r.tls.handshake = {100, 200'000, 400'000, 900'000, 1'500'000, 2'000'000, 2'500'000, 500'000};
  r.errors.tls = 3;
  r.errors.tlsError = "certificate has expired";
  std::string text = formatReport(c, r);
  EXPECT_NE(text.find("TLS          TLSv1.3, 100 handshakes (4 full, 96 resumed), 50.0 "
                      "handshakes/s, handshake ms p50 0.400  p99 1.500  max 2.500"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tls 3: certificate has expired"), std::string::npos) << text;

  auto doc = parseJsonLine(formatJson(c, r));
  const auto& t = doc["tls"];
  EXPECT_EQ(keysOf(t), (std::vector<std::string>{"version", "handshakes", "full", "resumed",
                                                 "handshakes_per_s", "handshake_ms"}));
  EXPECT_EQ(t["handshakes"], 100);
  EXPECT_EQ(t["resumed"], 96);
  EXPECT_EQ(t["handshakes_per_s"], 50.0);
  EXPECT_EQ(t["handshake_ms"]["p99"], 1.5);
  EXPECT_EQ(doc["errors"]["tls"], 3);
  EXPECT_EQ(doc["errors"]["total"], 3);
  EXPECT_EQ(doc["errors"]["tls_error"], "certificate has expired");
}

TEST(BenchJson, EmptyRunHasZerosNotNan) {
  BenchConfig c;
  c.target = *net::parseSocketAddress("127.0.0.1:1");
  auto doc = parseJsonLine(formatJson(c, BenchResult{}));
  EXPECT_EQ(doc["requests_per_s"], 0.0);
  EXPECT_EQ(doc["requests_per_connection"], 0.0);
  EXPECT_EQ(doc["reused_share"], 0.0);
  EXPECT_EQ(doc["time_wait"]["available"], false);
}

}  // namespace
}  // namespace tether::tools::bench
