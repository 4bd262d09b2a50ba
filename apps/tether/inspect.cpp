// `tether inspect URL`: what an HTTP/1.1 server really does with keep-alive
// (persistence, idle timeout, max requests, close style, pipelining) and what a
// client pool should do about it. The probes live in the library
// (tether/tools/inspect.h); this file parses options and prints.
#include "tether/tools/inspect.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "bench_options.h"
#include "commands.h"
#include "explain_path.h"
#include "help_format.h"
#include "inspect_ws.h"
#include "tether/core/duration.h"

namespace tether::app {
namespace {

struct InspectArgs {
  std::string url;
  std::string maxIdleWait = "120s";
  long long maxRequests = 1000;
  std::string timeout = "5s";
  std::vector<std::string> headers;
  std::vector<std::string> against;  // hops in front of the server, for the ladder check
  bool json = false;
  std::string pingInterval = "5s";  // ws:// only
  KeepaliveArgs keepalive;
  TlsClientArgs tls;
};

constexpr core::Millis kMaxIdleWaitLimit = 3'600'000;

core::Millis positiveDuration(const char* name, const std::string& value) {
  auto ms = core::parseDuration(value);
  if (!ms || *ms <= 0 || *ms > kMaxIdleWaitLimit) {
    throw UsageError(
        fmt::format("{}: invalid duration '{}' (1ms to 1h, e.g. 500ms, 10s, 2m)", name, value));
  }
  return *ms;
}

std::pair<std::string, std::string> splitHeader(const std::string& h) {
  std::size_t colon = h.find(':');
  if (colon == 0 || colon == std::string::npos || h.find_first_of("\r\n") != std::string::npos) {
    throw UsageError("--header: expected 'Name: value', got '" + h + "'");
  }
  std::size_t v = h.find_first_not_of(" \t", colon + 1);
  return {h.substr(0, colon), v == std::string::npos ? "" : h.substr(v)};
}

tools::inspect::InspectConfig toConfig(const InspectArgs& a, HttpUrl& url) {
  tools::inspect::InspectConfig c;
  url = parseHttpUrl(a.url);
  c.host = url.authority;
  c.path = url.target;
  c.origin = (url.tls ? "https://" : "http://") + url.authority + url.target;
  c.tls = toTlsContext(a.tls, url);
  c.tlsServerName = url.host;
  c.maxIdleWait = positiveDuration("--max-idle-wait", a.maxIdleWait);
  c.requestTimeout = positiveDuration("--timeout", a.timeout);
  if (a.maxRequests < 1 || a.maxRequests > 1'000'000) {
    throw UsageError(fmt::format("--max-requests: invalid {} (1 to 1000000)", a.maxRequests));
  }
  c.maxRequests = static_cast<std::uint64_t>(a.maxRequests);
  for (const std::string& h : a.headers) c.headers.push_back(splitHeader(h));
  std::vector<std::string> warnings;
  c.keepalive = toKeepaliveProfile(a.keepalive, warnings);
  for (const std::string& w : warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  return c;
}

// Waits shorter than this go without a word.
constexpr core::Millis kQuietWaitMs = 10'000;

double seconds(core::Millis ms) { return static_cast<double>(ms) / 1000.0; }

// Says on stderr what the inspection waits for: once, as soon as the first
// response tells how long the server keeps idle connections (the inspection
// lasts about that long), and, on a terminal, as a live line (as `bench` has).
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool live) : live_(live) {}
  ~ProgressPrinter() {
    if (shown_) fmt::print(stderr, "\r\033[K");
  }

  void operator()(const tools::inspect::InspectProgress& p) {
    if (!announced_ && p.idleResponseSeen) announce(p);
    if (!live_) return;
    fmt::print(stderr, "\r\033[K  inspecting: {:.0f} s, {} of {} probes still waiting{}",
               seconds(p.elapsedMs), p.running, p.total, expected_);
    shown_ = true;
  }

 private:
  void announce(const tools::inspect::InspectProgress& p) {
    announced_ = true;
    core::Millis wait = p.maxIdleWait;
    std::string why = fmt::format("up to --max-idle-wait {:.0f} s", seconds(p.maxIdleWait));
    if (p.advertisedTimeoutS >= 0 && p.advertisedTimeoutS * 1000 + 1000 < p.maxIdleWait) {
      wait = p.advertisedTimeoutS * 1000 + 1000;  // the hint plus a server's usual grace
      why = fmt::format("the server advertises Keep-Alive: timeout={}", p.advertisedTimeoutS);
    }
    expected_ = fmt::format(" (idle close expected by ~{:.0f} s)", seconds(wait));
    if (wait < kQuietWaitMs) return;
    if (shown_) fmt::print(stderr, "\r\033[K");
    fmt::print(stderr,
               "tether: measuring the idle timeout takes about {:.0f} s ({}); "
               "--max-idle-wait bounds it\n",
               seconds(wait), why);
  }

  bool live_;
  bool announced_ = false;
  bool shown_ = false;
  std::string expected_;
};

// The hops in front of the server, then the server as measured.
std::vector<std::string> againstSpecs(const InspectArgs& a,
                                      const tools::inspect::InspectReport* r) {
  std::vector<std::string> specs = a.against;
  if (r == nullptr) {  // checking the syntax before the (long) inspection
    specs.emplace_back("server");
    return specs;
  }
  std::string keepalive = "off";
  if (r->poolable) {
    keepalive = r->idle.reached ? fmt::format("{:.0f}ms", r->idle.medianMs) : "none";
  }
  std::string hint = r->advertisedTimeoutS >= 0 ? fmt::format("{}s", r->advertisedTimeoutS) : "off";
  specs.push_back(fmt::format("server:keepalive={},hint={}", keepalive, hint));
  return specs;
}

liveness::LadderReport ladderAgainst(const InspectArgs& a, const tools::inspect::InspectReport& r) {
  std::vector<liveness::Hop> hops = liveness::parsePath(againstSpecs(a, &r));
  liveness::Hop& server = hops.back();
  server.name = "server";
  server.source = !r.poolable ? "measured: closes after each response"
                  : r.idle.reached
                      ? fmt::format("measured: idle close after {:.0f} ms (median of {})",
                                    r.idle.medianMs, r.idle.samplesMs.size())
                      : fmt::format("measured: no idle close within {:.0f} s (treated as none)",
                                    r.idle.atLeastMs / 1000);
  if (r.advertisedTimeoutS >= 0)
    server.source += fmt::format("; advertises timeout={}", r.advertisedTimeoutS);
  return liveness::checkLadder(std::move(hops));
}

// ws://: the WebSocket probes; the HTTP-only options are refused, not ignored.
int runWebSocket(const InspectArgs& a) {
  if (!a.against.empty()) throw UsageError("--against: applies to http(s):// URLs only");
  if (!a.headers.empty()) throw UsageError("--header: applies to http(s):// URLs only");
  if (a.maxRequests != 1000) throw UsageError("--max-requests: applies to http(s):// URLs only");
  return runInspectWs({a.url, positiveDuration("--max-idle-wait", a.maxIdleWait),
                       positiveDuration("--timeout", a.timeout),
                       positiveDuration("--ping-interval", a.pingInterval), a.json});
}

int runInspect(const InspectArgs& a) {
  if (isWebSocketUrl(a.url)) return runWebSocket(a);
  if (!a.against.empty()) {
    try {
      liveness::parsePath(againstSpecs(a, nullptr));
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--against: {}", e.what()));
    }
  }
  HttpUrl url;
  tools::inspect::InspectConfig config = toConfig(a, url);
  config.target = resolveHttpUrl(url);  // unknown host: runtime_error, exit 1 (not usage)
  auto printer = std::make_shared<ProgressPrinter>(!a.json && isatty(STDERR_FILENO) == 1);
  config.progress = [printer](const tools::inspect::InspectProgress& p) { (*printer)(p); };
  tools::inspect::InspectResult result = tools::inspect::runInspection(config);
  config.progress = nullptr;
  printer.reset();  // clears the live line before the report
  tools::inspect::InspectReport report = tools::inspect::buildReport(config, result);
  std::string out =
      a.json ? tools::inspect::formatJson(report) : tools::inspect::formatText(report);
  int code = 0;
  if (!a.against.empty()) {
    liveness::LadderReport ladder = ladderAgainst(a, report);
    code = ladder.problems == 0 ? 0 : 1;
    if (a.json) {
      json::Value doc = json::Value::parse(out);
      doc["against"] = ladderJson(ladder);
      out = json::line(doc);
    } else {
      out += "\nThe server behind the given hops (--against):\n" + ladderText(ladder);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return code;
}

}  // namespace

Command addInspectCommand(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Measure what an HTTP/1.1 server does with keep-alive, and advise a client pool (ws://: "
      "what keeps a quiet WebSocket open on the path)");
  label(
      cmd->add_option("url", args->url,
                      "The URL to inspect: http[s]://host[:port][/path], or ws://host[:port]/path "
                      "for a WebSocket"),
      "URL")
      ->required();
  label(cmd->add_option("--max-idle-wait", args->maxIdleWait,
                        "Longest wait for the server's idle close; past it the report says "
                        "'at least'"),
        "DURATION")
      ->capture_default_str();
  label(cmd->add_option("--max-requests", args->maxRequests,
                        "Most sequential requests sent on one connection"),
        "N")
      ->capture_default_str();
  label(cmd->add_option("--timeout", args->timeout, "Per request, and for the connect"), "DURATION")
      ->capture_default_str();
  label(cmd->add_option("-H,--header", args->headers,
                        "Extra request header 'Name: value', repeatable"),
        "HEADER");
  label(cmd->add_option("--against", args->against,
                        "Hops in front of the server, client first, as `tether explain --path` "
                        "takes them (e.g. alb, or client:pool=90s nginx): check the timeout "
                        "ladder with the measured server last; exit 1 on a race or a NAT drop"),
        "HOP...");
  label(cmd->add_option("--ping-interval", args->pingInterval,
                        "For ws:// URLs: the interval of the probe that pings the server"),
        "DURATION")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object instead of text");
  addKeepaliveOptions(*cmd, args->keepalive, "the probe connections");
  addTlsClientOptions(*cmd, args->tls);
  return {cmd, [args] { return runInspect(*args); }};
}

}  // namespace tether::app
