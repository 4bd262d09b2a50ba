// Pure logic of `tether inspect`: idle estimate (median, "at least"), findings
// and pool recommendations from hand-made probe outcomes, and the JSON shape.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_doc.h"
#include "tether/http/client/response_parser.h"
#include "tether/net/tls.h"
#include "tether/tools/inspect.h"

namespace tether::tools::inspect {
namespace {

ResponseSeen ok(bool reusable = true, std::int64_t kaTimeout = -1) {
  ResponseSeen r;
  r.status = 200;
  r.reusable = reusable;
  r.connectionClose = !reusable;
  r.keepAliveTimeout = kaTimeout;
  return r;
}

ProbeOutcome closedAfter(double ms, CloseStyle style = CloseStyle::kFin, ResponseSeen r = ok()) {
  ProbeOutcome o;
  o.responseCount = 1;
  o.responses = {r};
  o.close = style;
  o.closeAfterMs = ms;
  return o;
}

ProbeOutcome stillOpen(Millis waited, ResponseSeen r = ok()) {
  ProbeOutcome o;
  o.responseCount = 1;
  o.responses = {r};
  o.waitedMs = waited;
  return o;
}

// A server like nginx with keepalive_timeout 2s, keepalive_requests 7.
InspectResult persistentServer(double idleMs, std::int64_t advertised = -1) {
  InspectResult r;
  for (int i = 0; i < 3; ++i) {
    r.idle[i] = closedAfter(idleMs + i * 10, CloseStyle::kFin, ok(true, advertised));
  }
  r.http10 = closedAfter(0.3, CloseStyle::kFin, ok(false));
  r.http10KeepAlive = stillOpen(500);
  r.connectionClose = closedAfter(0.2, CloseStyle::kFin, ok(false));
  r.lingering = closedAfter(0.2, CloseStyle::kFin, ok(false));
  r.pipeline = stillOpen(500);
  r.pipeline.responseCount = 3;
  r.pipeline.responses = {ok(), ok(), ok()};
  r.pipeline.responses[1].status = 404;
  r.maxRequests = closedAfter(0.1, CloseStyle::kFin, ok(false));
  r.maxRequests.responseCount = 7;
  r.maxRequests.responses = {ok(), ok(false)};
  r.persistenceWindowMs = 500;
  return r;
}

TEST(InspectIdleEstimate, MedianOfThreeIgnoresOrder) {
  ProbeOutcome p[3] = {closedAfter(2100), closedAfter(2000), closedAfter(2040)};
  IdleEstimate e = estimateIdle(p, 3);
  EXPECT_TRUE(e.reached);
  EXPECT_DOUBLE_EQ(e.medianMs, 2040);
  EXPECT_DOUBLE_EQ(e.minMs, 2000);
  EXPECT_DOUBLE_EQ(e.maxMs, 2100);
  EXPECT_TRUE(e.consistent);  // spread 100 ms = 2 x precision
}

TEST(InspectIdleEstimate, SpreadBeyondPrecisionIsFlagged) {
  ProbeOutcome p[3] = {closedAfter(2000), closedAfter(2101), closedAfter(2900)};
  IdleEstimate e = estimateIdle(p, 3);
  EXPECT_DOUBLE_EQ(e.medianMs, 2101);
  EXPECT_FALSE(e.consistent);
}

TEST(InspectIdleEstimate, TwoSamplesAverage) {
  ProbeOutcome p[3] = {closedAfter(1000), closedAfter(1200), ProbeOutcome{}};
  p[2].error = "request timed out";
  IdleEstimate e = estimateIdle(p, 3);
  EXPECT_TRUE(e.reached);
  EXPECT_EQ(e.samplesMs.size(), 2u);
  EXPECT_DOUBLE_EQ(e.medianMs, 1100);
}

TEST(InspectIdleEstimate, OpenAtTheCapIsAtLeast) {
  ProbeOutcome p[3] = {stillOpen(120000), stillOpen(120000), stillOpen(120000)};
  IdleEstimate e = estimateIdle(p, 3);
  EXPECT_FALSE(e.reached);
  EXPECT_TRUE(e.samplesMs.empty());
  EXPECT_DOUBLE_EQ(e.atLeastMs, 120000);
}

TEST(InspectIdleEstimate, NonReusableResponsesAreNoSample) {
  ProbeOutcome p[1] = {closedAfter(1, CloseStyle::kFin, ok(false))};
  IdleEstimate e = estimateIdle(p, 1);
  EXPECT_FALSE(e.reached);
  EXPECT_TRUE(e.samplesMs.empty());
}

TEST(InspectReport, PersistentServerFindings) {
  InspectReport rep = buildReport(InspectConfig{}, persistentServer(2003));
  EXPECT_EQ(rep.persistence.http11Default, Tri::kYes);
  EXPECT_EQ(rep.persistence.http10, Tri::kNo);
  EXPECT_EQ(rep.persistence.http10KeepAlive, Tri::kYes);
  EXPECT_EQ(rep.persistence.closeHonoured, Tri::kYes);
  EXPECT_DOUBLE_EQ(rep.idle.medianMs, 2013);
  EXPECT_EQ(rep.idleCloseStyle, CloseStyle::kFin);
  EXPECT_EQ(rep.maxRequests, 7u);
  EXPECT_TRUE(rep.maxRequestsReached);
  EXPECT_TRUE(rep.lastSaidClose);
  EXPECT_EQ(rep.finalResponseSurvives, Tri::kYes);
  EXPECT_EQ(rep.pipelineComplete, Tri::kYes);
  EXPECT_EQ(rep.pipelineInOrder, Tri::kYes);
  EXPECT_TRUE(rep.problems.empty());
}

TEST(InspectReport, IdleAdviceIsMeasuredMinusMargin) {
  InspectReport rep = buildReport(InspectConfig{}, persistentServer(2003));
  EXPECT_TRUE(rep.poolable);
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 1013);
  EXPECT_EQ(rep.recommendedMaxRequests, 7u);
}

TEST(InspectReport, IdleAdviceUsesTheSmallerOfAdvertisedAndMeasured) {
  // tether serve: advertises 2 s, closes at 3 s (grace): the hint wins.
  InspectReport rep = buildReport(InspectConfig{}, persistentServer(3001, 2));
  EXPECT_EQ(rep.advertisedTimeoutS, 2);
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 1000);
  // A server that advertises more than it keeps: the measurement wins (2.51 s
  // measured: 1.51 s after the 1 s margin).
  rep = buildReport(InspectConfig{}, persistentServer(2500, 5));
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 1510);
}

TEST(InspectReport, HintOnlyForKeepAliveRequests) {
  InspectResult r = persistentServer(2000);  // no hint on the HTTP/1.1 probes (Apache)
  r.http10KeepAlive.responses[0].keepAliveTimeout = 2;
  r.http10KeepAlive.responses[0].keepAliveMax = 7;
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_EQ(rep.advertisedTimeoutS, 2);
  EXPECT_EQ(rep.advertisedMax, 7);
  EXPECT_TRUE(rep.advertisedOnlyOnRequest);
  EXPECT_NE(formatText(rep).find("timeout=2, max=7 (only to requests with Connection: keep-alive)"),
            std::string::npos);
}

TEST(InspectReport, IdleAdviceForATimeoutOf2sOrLessIsHalfOfIt) {
  // A 1 s margin would leave nothing of a 310 ms timeout (or 0.5 s of 1.5 s).
  InspectReport rep = buildReport(InspectConfig{}, persistentServer(300));
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 155);
  EXPECT_NE(rep.idleAdvice.find("after 0.155 s (measured 0.310 s halved"), std::string::npos)
      << rep.idleAdvice;
  rep = buildReport(InspectConfig{}, persistentServer(1500));
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 755);
}

TEST(InspectReport, AtLeastWhenTheCapWasReached) {
  InspectResult r = persistentServer(0);
  for (auto& o : r.idle) o = stillOpen(10000);
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_FALSE(rep.idle.reached);
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 9000);
  EXPECT_NE(formatText(rep).find("at least 10.000 s"), std::string::npos);
}

TEST(InspectReport, CapBelowTheHintAdvisesFromTheHintNotTheCap) {
  InspectResult r = persistentServer(0);
  for (auto& o : r.idle) {
    o = stillOpen(10000);
    o.responses[0].keepAliveTimeout = 75;
  }
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_FALSE(rep.idle.reached);
  EXPECT_EQ(rep.advertisedTimeoutS, 75);
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 74000);
  EXPECT_NE(rep.idleAdvice.find("(advertised timeout=75 minus a 1 s margin"), std::string::npos)
      << rep.idleAdvice;
  EXPECT_NE(rep.idleAdvice.find("stopped at --max-idle-wait (open for at least 10.000 s)"),
            std::string::npos)
      << rep.idleAdvice;
}

TEST(InspectReport, MeasuredCloseBeforeTheHintWins) {
  InspectResult r = persistentServer(0);
  for (auto& o : r.idle) {
    o = closedAfter(5000);
    o.responses[0].keepAliveTimeout = 75;
  }
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_TRUE(rep.idle.reached);
  EXPECT_DOUBLE_EQ(rep.recommendedIdleMs, 4000);
}

TEST(InspectReport, ServerThatClosesWithoutSayingSoIsNotPersistent) {
  InspectResult r = persistentServer(2000);
  for (auto& o : r.idle) o = closedAfter(1.5);  // reusable headers, but closed at once
  r.maxRequests.responseCount = 1;
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_EQ(rep.persistence.http11Default, Tri::kNo);
  EXPECT_FALSE(rep.poolable);
  EXPECT_LT(rep.recommendedIdleMs, 0);
  EXPECT_EQ(rep.recommendedMaxRequests, 0u);
}

TEST(InspectReport, MaxRequestsCapNotReached) {
  InspectResult r = persistentServer(2000);
  r.maxRequests = stillOpen(0);
  r.maxRequests.responseCount = 1000;
  r.maxRequests.responses = {ok(), ok()};
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_FALSE(rep.maxRequestsReached);
  EXPECT_EQ(rep.recommendedMaxRequests, 0u);
  EXPECT_NE(formatText(rep).find("at least 1000"), std::string::npos);
}

TEST(InspectReport, SilentCloseAfterMaxRequests) {
  InspectResult r = persistentServer(2000);
  r.maxRequests.responses = {ok(), ok()};  // the last one said nothing
  r.maxRequests.closedWithRequestPending = true;
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_TRUE(rep.maxRequestsReached);
  EXPECT_FALSE(rep.lastSaidClose);
  EXPECT_NE(rep.maxRequestsAdvice.find("without Connection: close"), std::string::npos);
}

TEST(InspectReport, LostFinalResponse) {
  InspectResult r = persistentServer(2000);
  r.lingering = ProbeOutcome{};
  r.lingering.close = CloseStyle::kRst;
  r.lingering.closedMidResponse = true;
  InspectReport rep = buildReport(InspectConfig{}, r);
  EXPECT_EQ(rep.finalResponseSurvives, Tri::kNo);
  EXPECT_EQ(rep.lingeringCloseStyle, CloseStyle::kRst);
}

TEST(InspectReport, PipelineOrder) {
  InspectResult r = persistentServer(2000);
  r.pipeline.responses[1].status = 200;  // missing path answers 200 too
  EXPECT_EQ(buildReport(InspectConfig{}, r).pipelineInOrder, Tri::kUnknown);
  r.pipeline.responses = {ok(), ok(), ok()};
  r.pipeline.responses[0].status = 404;  // swapped
  EXPECT_EQ(buildReport(InspectConfig{}, r).pipelineInOrder, Tri::kNo);
  r.pipeline.responseCount = 2;
  r.pipeline.responses.pop_back();
  r.pipeline.closedMidResponse = true;
  EXPECT_EQ(buildReport(InspectConfig{}, r).pipelineComplete, Tri::kNo);
}

TEST(InspectReport, ProblemsNameTheProbe) {
  InspectResult r = persistentServer(2000);
  r.pipeline.error = "request timed out";
  InspectReport rep = buildReport(InspectConfig{}, r);
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_EQ(rep.problems[0], "pipelining: request timed out");
}

// https: what the handshakes showed, with `ms` for each full handshake.
TlsSeen handshake(bool resumed, double ms) {
  TlsSeen t;
  t.done = true;
  t.version = "TLSv1.3";
  t.alpn = "http/1.1";
  t.cipher = "TLS_AES_256_GCM_SHA384";
  t.resumed = resumed;
  t.handshakeMs = ms;
  return t;
}

TEST(InspectReport, TlsFindingsComeFromTheHandshakeProbes) {
  InspectConfig c;
  c.tls = net::TlsContext::client({"", false});
  InspectResult r = persistentServer(2000);
  for (ProbeOutcome& o : r.idle) {
    o.tls = handshake(false, 9);
    o.tls.peerCloseNotify = true;
  }
  double ms[] = {4, 2, 3};
  for (int i = 0; i < 3; ++i) {
    r.tls.resumed[i].tls = handshake(true, ms[i]);
    r.tls.full[i].tls = handshake(false, 10 * ms[i]);
  }
  r.tls.sessionIdFirst.error = "TLS: the handshake ended with an alert";  // TLS 1.3 only
  InspectReport rep = buildReport(c, r);
  const TlsFindings& t = rep.tls;
  ASSERT_TRUE(t.enabled);
  EXPECT_EQ(t.version, "TLSv1.3");
  EXPECT_EQ(t.closeNotifyAtIdleClose, Tri::kYes);
  EXPECT_EQ(t.resumesWithTicket, Tri::kYes);
  EXPECT_EQ(t.resumesWithSessionId, Tri::kUnknown);
  EXPECT_EQ(t.resumedHandshakeMs, 3);  // medians
  EXPECT_EQ(t.fullHandshakeMs, 30);
  EXPECT_TRUE(rep.problems.empty()) << "a refused TLS 1.2 probe is a finding, not a problem";
  EXPECT_NE(formatText(rep).find("resumes by session ID (TLS 1.2)   unknown (no TLS 1.2"),
            std::string::npos);
  EXPECT_NE(t.advice.find("3.0 ms instead of 30.0 ms"), std::string::npos) << t.advice;

  r.idle[1].tls.peerCloseNotify = false;  // one idle close came without close_notify
  r.tls.resumed[0].tls.resumed = false;   // and the ticket did not resume
  rep = buildReport(c, r);
  EXPECT_EQ(rep.tls.closeNotifyAtIdleClose, Tri::kNo);
  EXPECT_EQ(rep.tls.resumesWithTicket, Tri::kNo);
  EXPECT_NE(rep.tls.advice.find("resumes no session"), std::string::npos) << rep.tls.advice;
  EXPECT_NE(rep.tls.advice.find("without close_notify"), std::string::npos) << rep.tls.advice;

  auto j = jsondoc::parseJsonLine(formatJson(rep));
  EXPECT_EQ(jsondoc::keysOf(j["tls"]),
            (std::vector<std::string>{"version", "alpn", "cipher", "close_notify_at_idle_close",
                                      "resumes_with_ticket", "resumes_with_session_id",
                                      "full_handshake_ms", "resumed_handshake_ms", "advice"}));
  EXPECT_EQ(j["tls"]["close_notify_at_idle_close"], "no");
  EXPECT_EQ(j["tls"]["resumes_with_session_id"], "unknown");
  EXPECT_EQ(j["tls"]["full_handshake_ms"], 30.0);
}

TEST(InspectJson, CarriesTheFindings) {
  using jsondoc::keysOf;
  using Keys = std::vector<std::string>;
  InspectConfig c;
  c.origin = "http://127.0.0.1:8080/";
  InspectResult result = persistentServer(2003, 2);
  result.idle[1].closeAfterMs = 2013.04;  // to a tenth of a millisecond
  result.pipeline.error = "request timed out";
  auto j = jsondoc::parseJsonLine(formatJson(buildReport(c, result)));
  EXPECT_EQ(keysOf(j), (Keys{"origin", "elapsed_ms", "persistence", "keep_alive_header",
                             "idle_timeout", "max_requests", "lingering", "pipelining", "tls",
                             "recommendations", "problems"}));
  EXPECT_TRUE(j["tls"].is_null()) << "http: no TLS findings";
  EXPECT_EQ(j["origin"], "http://127.0.0.1:8080/");
  EXPECT_TRUE(j["elapsed_ms"].is_number_integer());
  EXPECT_EQ(keysOf(j["persistence"]),
            (Keys{"http11_default", "http10", "http10_keep_alive", "connection_close_honoured"}));
  EXPECT_EQ(j["persistence"]["http11_default"], "yes");
  EXPECT_EQ(j["keep_alive_header"],
            jsondoc::Doc::parse(R"({"timeout_s":2,"max":null,"only_on_request":false})"));
  const auto& idle = j["idle_timeout"];
  EXPECT_EQ(keysOf(idle), (Keys{"reached", "median_ms", "samples_ms", "at_least_ms", "consistent",
                                "precision_ms", "close_style"}));
  EXPECT_EQ(idle["samples_ms"], jsondoc::Doc::parse("[2003.0,2013.0,2023.0]"));
  EXPECT_TRUE(idle["median_ms"].is_number_float());
  EXPECT_TRUE(idle["at_least_ms"].is_null());
  EXPECT_TRUE(idle["precision_ms"].is_number_integer());
  EXPECT_EQ(idle["close_style"], "fin");
  EXPECT_EQ(keysOf(j["max_requests"]),
            (Keys{"count", "reached", "last_said_close", "close_style"}));
  EXPECT_EQ(j["max_requests"]["count"], 7);
  EXPECT_EQ(j["max_requests"]["reached"], true);
  EXPECT_EQ(j["max_requests"]["last_said_close"], true);
  EXPECT_EQ(keysOf(j["lingering"]), (Keys{"final_response_survives", "close_style"}));
  EXPECT_EQ(keysOf(j["pipelining"]), (Keys{"complete", "in_order", "statuses", "note"}));
  EXPECT_EQ(j["pipelining"]["statuses"], jsondoc::Doc::parse("[200,404,200]"));
  const auto& advice = j["recommendations"];
  EXPECT_EQ(keysOf(advice), (Keys{"poolable", "idle_timeout_ms", "idle_advice", "retry_idempotent",
                                  "retry_advice", "max_requests", "max_requests_advice"}));
  EXPECT_EQ(advice["idle_timeout_ms"], 1000.0);
  EXPECT_TRUE(advice["idle_timeout_ms"].is_number_float());
  EXPECT_EQ(advice["max_requests"], 7);
  EXPECT_TRUE(advice["idle_advice"].is_string());
  EXPECT_EQ(j["problems"], jsondoc::Doc::parse(R"(["pipelining: request timed out"])"));
}

// The hint inspect reports comes from the shared parser's Keep-Alive parsing.
TEST(InspectKeepAliveHeader, TimeoutAndMax) {
  http::client::KeepAliveHint h;
  http::client::parseKeepAliveHeader("timeout=2, max=7", h);
  EXPECT_EQ(h.timeoutSeconds, 2);
  EXPECT_EQ(h.max, 7);
  http::client::KeepAliveHint q;
  http::client::parseKeepAliveHeader("Timeout=\"5\"", q);
  EXPECT_EQ(q.timeoutSeconds, 5);
  EXPECT_EQ(q.max, -1);
}

}  // namespace
}  // namespace tether::tools::inspect
