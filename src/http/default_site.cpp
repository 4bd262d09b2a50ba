#include "tether/http/default_site.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

#include "default_site_streams.h"
#include "json_line.h"
#include "keepalive_advice.h"
#include "server_settings.h"
#include "tether/core/duration.h"
#include "tether/core/round.h"
#include "tether/net/event_loop.h"

namespace tether::http {
namespace {

constexpr std::uint64_t kMaxDelayMs = 60'000;
// The methods of every default-site route but /echo; others get 405 + Allow.
constexpr const char* kReadOnly = "GET, HEAD";
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 30;

bool parseUint(std::string_view text, std::uint64_t max, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

void badRequest(Response& res, std::string_view why) {
  res.setStatus(400);
  res.setContentType("text/plain");
  res.setBody(fmt::format("Bad Request: {}\n", why));
}

// N bytes of a repeating pattern, generated as the socket drains: a 1 GiB body
// costs no memory.
class PatternSource final : public BodySource {
 public:
  explicit PatternSource(std::uint64_t size) : size_(size) {
    for (std::size_t i = 0; i < sizeof block_; ++i) block_[i] = static_cast<char>('a' + i % 26);
  }
  std::uint64_t size() const override { return size_; }
  net::IoResult writeTo(net::Stream& stream, std::uint64_t offset, std::size_t max) override {
    std::size_t phase = static_cast<std::size_t>(offset % 26);
    iovec piece{block_ + phase, std::min(max, sizeof block_ - 26)};
    return stream.writev(&piece, 1);
  }

 private:
  std::uint64_t size_;
  char block_[64 * 1024 + 26];
};

void plaintext(const Request&, Response& res) {
  res.setContentType("text/plain");
  res.setBody("Hello, World!");
}

void echo(const Request& req, Response& res) {
  res.setContentType("text/plain");
  std::string& body = res.body();
  body.append(req.method).append(" ").append(req.target);
  body.append(fmt::format(" HTTP/{}.{}\n", req.versionMajor, req.versionMinor));
  for (const Header& h : req.headers) body.append(h.name).append(": ").append(h.value).append("\n");
  body.append("\n").append(req.body);
}

void delay(const Request& req, Response& res) {
  std::uint64_t ms = 0;
  if (!parseUint(req.queryParam("ms"), kMaxDelayMs, ms)) {
    return badRequest(res, "ms must be an integer from 0 to 60000");
  }
  DeferredResponse later = res.defer();
  res.loop().runAfter(static_cast<Millis>(ms), [later, ms]() mutable {
    if (Response* r = later.response()) {
      r->setContentType("text/plain");
      r->setBody(fmt::format("delayed {} ms\n", ms));
      later.finish();
    }
  });
}

void bytes(const Request& req, Response& res) {
  std::uint64_t n = 0;
  if (!parseUint(req.queryParam("n"), kMaxBytes, n)) {
    return badRequest(res, "n must be an integer from 0 to 1073741824");
  }
  res.setContentType("application/octet-stream");
  res.setBodySource(std::make_unique<PatternSource>(n));
}

std::string settingsTable(const Server& server) {
  std::string rows;
  for (const SettingRow& r : settingRows(server.options(), server.maxConnections())) {
    rows += fmt::format("<tr><td><code>{}</code></td><td>{}</td></tr>\n", r.option, r.text);
  }
  return rows;
}

}  // namespace

void installDefaultSite(Server& server, std::string_view observabilityAt) {
  std::string observability =
      observabilityAt.empty()
          ? fmt::format(
                "<a href=\"{0}\">{0}</a> (live connection counters), "
                "<a href=\"/.tether/\">/.tether/</a> (the live page: charts of the "
                "above, refreshed every second)",
                kStatusPath)
          : fmt::format(
                "the status, metrics and the live page <code>/.tether/</code> on the "
                "admin address {} (<code>--metrics-listen</code>)",
                observabilityAt);
  // Built per request: the effective settings (the connection limit) are known
  // only after bind().
  server.handle("/", kReadOnly, [&server, observability](const Request&, Response& res) {
    const ServerOptions& o = server.options();
    res.setContentType("text/html; charset=utf-8");
    res.setBody(fmt::format(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tether</title></head>"
        "<body>\n<h1>tether serve</h1>\n"
        "<p>An HTTP/1.1 server that keeps connections alive exactly as configured: each response "
        "advertises <code>Keep-Alive: timeout={}</code>, and an idle connection is closed "
        "{} after its last response (timeout plus grace, so a client honouring the hint never "
        "writes into a closing socket).</p>\n"
        "<table>\n{}</table>\n"
        "<p>Endpoints: <a href=\"/plaintext\">/plaintext</a> (13 bytes), "
        "<a href=\"/echo\">/echo</a> (the request as received), "
        "<a href=\"/delay?ms=1000\">/delay?ms=N</a> (answers after N ms), "
        "<a href=\"/bytes?n=1024\">/bytes?n=N</a> (an N-byte body), "
        "<code>/ws/echo</code> and <code>/ws/ticker?ms=N</code> (WebSocket: echo, and a "
        "message every N ms), <a href=\"/sse?ms=1000\">/sse?ms=N</a> (an event stream), "
        "{}.</p>\n{}</body></html>\n",
        o.keepaliveTimeout / 1000, core::formatDuration(o.keepaliveTimeout + o.keepaliveGrace),
        settingsTable(server), observability, kStreamDemoHtml));
  });
  server.handle("/plaintext", kReadOnly, &plaintext);
  server.handle("/echo", &echo);  // answers every method: it shows what arrived
  server.handle("/delay", kReadOnly, &delay);
  server.handle("/bytes", kReadOnly, &bytes);
  installStreamDemo(server);
}

namespace {

// From the observed idle gaps: what shorter timeouts would have kept, and the
// smallest one that keeps 99 % of the reuses seen (src/http/keepalive_advice.h).
json::Value adviceJson(const ServerStatsSnapshot& s, const ServerOptions& o) {
  KeepaliveAdvice a =
      adviseKeepalive(s.histogram(Distribution::kIdleGapSeconds), o.keepaliveTimeout);
  json::Value doc = {{"reuses", a.reuses}};
  json::Value shorter = json::Value::array();
  for (const KeepaliveAdvice::Kept& k : a.shorter) {
    shorter.push_back({{"timeout_s", k.timeout / 1000}, {"kept_percent", k.percent}});
  }
  if (!a.timeoutFor99) {
    doc["summary"] = "no keep-alive reuse seen yet";
    doc["timeout_for_99_percent_s"] = nullptr;
  } else {
    doc["summary"] =
        fmt::format("a keepalive timeout of {} would have kept {} % of the {} reuses seen (now {})",
                    core::formatDuration(*a.timeoutFor99), a.keptAt99, a.reuses,
                    core::formatDuration(o.keepaliveTimeout));
    doc["timeout_for_99_percent_s"] = static_cast<double>(*a.timeoutFor99) / 1000.0;
  }
  doc["shorter"] = std::move(shorter);
  return doc;
}

// Each distribution by its Prometheus name without the prefix: the finite
// bucket bounds `le` in the exported unit and the counts per bucket, not
// cumulative, one more than `le` (the last is everything above).
json::Value histogramsJson(const ServerStatsSnapshot& s) {
  json::Value doc = json::Value::object();
  for (std::size_t i = 0; i < s.histograms.size(); ++i) {
    auto d = static_cast<Distribution>(i);
    const HistogramSpec& spec = histogramSpec(d);
    const HistogramSnapshot& h = s.histogram(d);
    auto unit = [&spec](std::uint64_t v) {
      return static_cast<double>(v) / static_cast<double>(spec.perUnit);
    };
    json::Value le = json::Value::array(), counts = json::Value::array();
    for (std::size_t b = 0; b < spec.size; ++b) le.push_back(unit(spec.bounds[b]));
    for (std::size_t b = 0; b <= spec.size; ++b) counts.push_back(h.buckets[b]);
    std::string_view name = spec.name;
    name.remove_prefix(std::string_view("tether_").size());
    doc[std::string(name)] = {{"le", std::move(le)},
                              {"counts", std::move(counts)},
                              {"count", h.count},
                              {"sum", unit(h.sum)}};
  }
  return doc;
}

json::Value websocketJson(const ServerStatsSnapshot& s) {
  json::Value codes = json::Value::object();
  for (std::size_t i = 0; i <= kWsCountedCloseCodes.size(); ++i) {
    std::string code = wsCloseCodeLabel(i);
    codes[code] = s.wsCloseCodes[i];
  }
  return {{"opened", s.wsOpened},
          {"messages_received", s.wsMessagesIn},
          {"messages_sent", s.wsMessagesOut},
          {"pings_sent", s.wsPingsSent},
          {"pongs_received", s.wsPongsReceived},
          {"closes_by_code", std::move(codes)}};
}

}  // namespace

std::string statusJson(const ServerStatsSnapshot& s, const ServerOptions& o,
                       std::uint64_t maxConnections) {
  json::Value closes = json::Value::object();
  std::uint64_t closed = 0;
  for (std::size_t i = 0; i < s.closes.size(); ++i) {
    closes[std::string(closeReasonName(static_cast<CloseReason>(i)))] = s.closes[i];
    closed += s.closes[i];
  }
  double perConnection = s.accepted ? static_cast<double>(s.requests) / s.accepted : 0.0;
  json::Value doc;
  doc["connections"] = {
      {"idle", s.idle},           {"reading", s.reading},      {"writing", s.writing},
      {"lingering", s.lingering}, {"websocket", s.websockets}, {"event_stream", s.eventStreams},
      {"total", s.open()}};
  doc["totals"] = {{"accepted", s.accepted},
                   {"closed", closed},
                   {"requests", s.requests},
                   {"reused_requests", s.reusedRequests},
                   {"requests_per_connection", core::roundDecimals(perConnection, 3)}};
  doc["closes"] = std::move(closes);
  // Handshake failures are close reasons (tls_*); these count the successes.
  doc["tls"] = {{"full_handshakes", s.tlsFullHandshakes},
                {"resumed_handshakes", s.tlsResumedHandshakes},
                {"tls1_2", s.tls12},
                {"tls1_3", s.tls13},
                {"abandoned_handshakes", s.tlsHandshakesAbandoned}};
  doc["websocket"] = websocketJson(s);
  doc["event_streams"] = {
      {"opened", s.sseOpened}, {"events_sent", s.sseEvents}, {"heartbeats", s.sseHeartbeats}};
  doc["keepalive_advice"] = adviceJson(s, o);
  doc["histograms"] = histogramsJson(s);
  json::Value settings = json::Value::object();
  for (const SettingRow& r : settingRows(o, maxConnections)) {
    for (const auto& [key, value] : r.keys) settings[key] = value;
  }
  doc["settings"] = std::move(settings);
  return json::line(doc);
}

void installStatusEndpoint(Server& host, const Server& observed) {
  host.handle(std::string(kStatusPath), kReadOnly, [&observed](const Request&, Response& res) {
    res.setContentType("application/json");
    res.addHeader("Cache-Control", "no-store");
    res.setBody(statusJson(observed.stats(), observed.options(), observed.maxConnections()));
  });
}

}  // namespace tether::http
