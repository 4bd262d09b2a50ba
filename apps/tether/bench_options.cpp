#include "bench_options.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "commands.h"
#include "help_format.h"
#include "tether/core/duration.h"
#include "tether/http/request.h"
#include "tether/net/connector.h"

namespace tether::app {
namespace {

core::Millis durationOption(const std::string& name, const std::string& value) {
  auto ms = core::parseDuration(value);
  if (!ms) throw UsageError(name + ": invalid duration '" + value + "' (e.g. 500ms, 10s, 1m)");
  return *ms;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("!#$%&'*+-.^_`|~", ch);
    if (!ok) return false;
  }
  return true;
}

void checkHeader(const std::string& h) {
  std::size_t colon = h.find(':');
  if (colon == std::string::npos || !isToken(std::string_view(h).substr(0, colon)) ||
      h.find_first_of("\r\n") != std::string::npos) {
    throw UsageError("--header: expected 'Name: value', got '" + h + "'");
  }
}

std::string readBodyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--body-file: cannot read '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

HttpUrl parseHttpUrl(const std::string& url) {
  std::string error;
  std::optional<http::Url> u = http::parseUrl(url, &error);
  if (!u) throw UsageError(error);
  return *u;
}

bool isWebSocketUrl(std::string_view url) noexcept {
  return http::equalsIgnoreCase(url.substr(0, 5), "ws://") ||
         http::equalsIgnoreCase(url.substr(0, 6), "wss://");
}

HttpUrl parseWebSocketUrl(const std::string& url) {
  if (http::equalsIgnoreCase(std::string_view(url).substr(0, 6), "wss://")) {
    throw UsageError(fmt::format("'{}': wss:// is not supported yet; use ws://", url));
  }
  std::string error;
  std::optional<http::Url> u = http::parseUrl("http://" + url.substr(5), &error);
  if (!u) throw UsageError(fmt::format("invalid URL '{}': {}", url, error));
  return *u;
}

// A name with several addresses gets the first that accepts a connection
// (one probe connection), as curl falls back from ::1 to 127.0.0.1.
net::SocketAddress resolveHttpUrl(const HttpUrl& u) {
  constexpr core::Millis kProbeTimeout = 1000;
  std::string error;
  std::optional<net::SocketAddress> addr =
      net::resolveReachable(u.host, u.port, kProbeTimeout, &error);
  if (!addr) throw std::runtime_error(error);
  return *addr;
}

void addBenchOptions(CLI::App& cmd, BenchArgs& a) {
  addKeepaliveOptions(cmd, a.keepalive, "the load connections");
  addTlsClientOptions(cmd, a.tls);
  cmd.add_flag("--no-tls-resume", a.noTlsResume,
               "Offer no session: every connection makes a full handshake (https)");
  label(cmd.add_option("url", a.url, "The URL to load: http[s]://host[:port][/path]"), "URL")
      ->required();
  label(cmd.add_option("-c,--connections", a.connections, "Open connections, over all threads"),
        "N")
      ->capture_default_str();
  label(cmd.add_option("-d,--duration", a.duration, "Run time (e.g. 30s, 2m)"), "DURATION")
      ->default_str("10s, unless --requests");
  label(cmd.add_option("-n,--requests", a.requests, "Stop after N requests instead of a duration"),
        "N");
  label(cmd.add_option("-t,--threads", a.threads, "Threads, one event loop each"), "N")
      ->capture_default_str();
  label(cmd.add_option("--pipeline", a.pipeline, "Requests written per batch on a connection"), "N")
      ->capture_default_str();
  cmd.add_flag("--no-keepalive", a.noKeepalive,
               "A new connection per request (Connection: close; the server closes first)");
  label(cmd.add_option("-m,--method", a.method, "Request method"), "METHOD")->capture_default_str();
  label(cmd.add_option("-H,--header", a.headers, "Request header 'Name: value', repeatable"),
        "HEADER");
  label(cmd.add_option("--body", a.body, "Request body"), "TEXT");
  label(cmd.add_option("--body-file", a.bodyFile, "Read the request body from FILE"), "FILE");
  label(cmd.add_option("--timeout", a.timeout, "Per-request timeout, from send to last byte"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--rate", a.rate,
                       "Open loop: requests/s over all connections; latency from the intended "
                       "send time (no coordinated omission); 0: closed loop"),
        "REQ/S")
      ->default_str("0");
  label(cmd.add_option("--warmup", a.warmup, "Run this long first, excluded from every statistic"),
        "DURATION")
      ->capture_default_str();
  cmd.add_flag("--json", a.json, "Print the report as one JSON object");
  label(cmd.add_option("--html", a.html,
                       "Also write a one-file HTML report (latency percentiles, throughput "
                       "per second, connection reuse) to FILE"),
        "FILE");
  label(cmd.add_option("--latency-table", a.latencyTable,
                       "Also write the latency percentile table in HdrHistogram's format "
                       "(wrk2 --latency, ms) to FILE, for plotting"),
        "FILE");
}

tools::bench::BenchConfig toBenchConfig(const BenchArgs& a) {
  HttpUrl url = parseHttpUrl(a.url);
  tools::bench::BenchConfig c;
  if (a.connections < 1) throw UsageError("--connections must be at least 1");
  if (a.threads < 1) throw UsageError("--threads must be at least 1");
  if (a.threads > a.connections) throw UsageError("--threads must not exceed --connections");
  if (a.pipeline < 1 || a.pipeline > 1024) throw UsageError("--pipeline must be 1..1024");
  if (a.requests && *a.requests < 1) throw UsageError("--requests must be at least 1");
  if (a.requests && !a.duration.empty()) {
    throw UsageError("--duration and --requests exclude each other");
  }
  if (!std::isfinite(a.rate) || a.rate < 0) throw UsageError("--rate must be a positive number");
  if (a.rate > 0 && a.pipeline > 1) throw UsageError("--rate cannot be combined with --pipeline");
  if (a.noKeepalive && a.pipeline > 1) {
    throw UsageError("--no-keepalive cannot be combined with --pipeline");
  }
  if (!a.body.empty() && !a.bodyFile.empty()) {
    throw UsageError("--body and --body-file exclude each other");
  }
  if (!isToken(a.method)) throw UsageError("--method: invalid method '" + a.method + "'");
  for (const std::string& h : a.headers) checkHeader(h);
  c.connections = a.connections;
  c.threads = a.threads;
  c.pipeline = a.pipeline;
  c.keepAlive = !a.noKeepalive;
  c.requests = a.requests ? std::uint64_t(*a.requests) : 0;
  c.duration = a.duration.empty() ? 10'000 : durationOption("--duration", a.duration);
  if (c.requests == 0 && c.duration <= 0) throw UsageError("--duration must be positive");
  c.timeout = durationOption("--timeout", a.timeout);
  if (c.timeout <= 0) throw UsageError("--timeout must be positive");
  c.warmup = durationOption("--warmup", a.warmup);
  c.rate = a.rate;
  c.url = a.url;

  tools::bench::RequestSpec spec;
  spec.method = a.method;
  spec.target = url.target;
  spec.host = url.authority;
  spec.headers = a.headers;
  spec.body = a.bodyFile.empty() ? a.body : readBodyFile(a.bodyFile);
  spec.keepAlive = c.keepAlive;
  c.request = tools::bench::buildRequest(spec);
  c.target = resolveHttpUrl(url);
  c.tls = toTlsContext(a.tls, url);
  c.tlsServerName = url.host;
  c.tlsResume = !a.noTlsResume;
  std::vector<std::string> warnings;
  c.keepalive = toKeepaliveProfile(a.keepalive, warnings);
  for (const std::string& w : warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  return c;
}

}  // namespace tether::app
