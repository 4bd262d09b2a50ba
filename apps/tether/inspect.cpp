// `tether inspect URL`: what an HTTP/1.1 server really does with keep-alive
// (persistence, idle timeout, max requests, close style, pipelining) and what a
// client pool should do about it. The probes live in the library
// (tether/tools/inspect.h); this file parses options and prints.
#include "tether/tools/inspect.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "bench_options.h"
#include "commands.h"
#include "tether/core/duration.h"

namespace tether::app {
namespace {

struct InspectArgs {
  std::string url;
  std::string maxIdleWait = "120s";
  long long maxRequests = 1000;
  std::string timeout = "5s";
  std::vector<std::string> headers;
  bool json = false;
  KeepaliveArgs keepalive;
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
  c.origin = "http://" + url.authority + url.target;
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

int runInspect(const InspectArgs& a) {
  HttpUrl url;
  tools::inspect::InspectConfig config = toConfig(a, url);
  config.target = resolveHttpUrl(url);  // unknown host: runtime_error, exit 1 (not usage)
  tools::inspect::InspectResult result = tools::inspect::runInspection(config);
  tools::inspect::InspectReport report = tools::inspect::buildReport(config, result);
  std::string out =
      a.json ? tools::inspect::formatJson(report) : tools::inspect::formatText(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

Command addInspectCommand(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Measure what an HTTP/1.1 server does with keep-alive, and advise a client pool");
  cmd->add_option("url", args->url, "http://host[:port][/path]")->required();
  cmd->add_option("--max-idle-wait", args->maxIdleWait,
                  "Longest wait for the server's idle close (then 'at least')")
      ->capture_default_str();
  cmd->add_option("--max-requests", args->maxRequests,
                  "Most sequential requests sent on one connection")
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout, "Per request (and connect)")->capture_default_str();
  cmd->add_option("-H,--header", args->headers, "Extra request header 'Name: value' (repeatable)");
  cmd->add_flag("--json", args->json, "One JSON object instead of text");
  addKeepaliveOptions(*cmd, args->keepalive, "the probe connections");
  return {cmd, [args] { return runInspect(*args); }};
}

}  // namespace tether::app
