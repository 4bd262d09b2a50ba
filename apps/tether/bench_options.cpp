#include "bench_options.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "commands.h"
#include "tether/core/duration.h"

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
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = url;
  if (rest.substr(0, kScheme.size()) != kScheme) {
    throw UsageError("URL must start with http:// (got '" + url + "')");
  }
  rest.remove_prefix(kScheme.size());
  HttpUrl u;
  std::size_t slash = rest.find_first_of("/?");
  u.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
    if (u.target[0] == '?') u.target.insert(0, "/");
  }
  std::size_t fragment = u.target.find('#');
  if (fragment != std::string::npos) u.target.resize(fragment);
  std::string_view auth = u.authority;
  if (auth.find('@') != std::string_view::npos) throw UsageError("URL: user info is not supported");
  std::string_view portText;
  if (!auth.empty() && auth.front() == '[') {
    std::size_t close = auth.find(']');
    if (close == std::string_view::npos) throw UsageError("URL: unterminated [IPv6] host");
    u.host = std::string(auth.substr(1, close - 1));
    if (close + 1 < auth.size()) {
      if (auth[close + 1] != ':') throw UsageError("URL: bad text after [IPv6] host");
      portText = auth.substr(close + 2);
    }
  } else {
    std::size_t colon = auth.rfind(':');
    u.host = std::string(auth.substr(0, colon));
    if (colon != std::string_view::npos) portText = auth.substr(colon + 1);
  }
  if (u.host.empty()) throw UsageError("URL: missing host in '" + url + "'");
  if (u.authority.find_first_of(" \t\r\n") != std::string::npos ||
      u.target.find_first_of(" \t\r\n") != std::string::npos) {
    throw UsageError("URL: must not contain spaces or control characters");
  }
  if (!portText.empty() || u.authority.back() == ':') {
    int port = -1;
    auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || p != portText.data() + portText.size() || port < 1 || port > 65535) {
      throw UsageError("URL: invalid port '" + std::string(portText) + "'");
    }
    u.port = port;
  }
  return u;
}

net::SocketAddress resolveHttpUrl(const HttpUrl& u) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw std::runtime_error("cannot resolve host '" + u.host + "': " + gai_strerror(rc));
  }
  net::SocketAddress addr;
  std::memcpy(&addr.storage, res->ai_addr, res->ai_addrlen);
  addr.length = res->ai_addrlen;
  freeaddrinfo(res);
  return addr;
}

void addBenchOptions(CLI::App& cmd, BenchArgs& a) {
  addKeepaliveOptions(cmd, a.keepalive, "the load connections");
  cmd.add_option("url", a.url, "http://host[:port][/path]")->required();
  cmd.add_option("-c,--connections", a.connections, "Open connections (all threads)")
      ->capture_default_str();
  cmd.add_option("-d,--duration", a.duration, "Run time (default 10s), e.g. 30s, 2m");
  cmd.add_option("-n,--requests", a.requests, "Stop after N requests instead of a duration");
  cmd.add_option("-t,--threads", a.threads, "Threads, one event loop each")->capture_default_str();
  cmd.add_option("--pipeline", a.pipeline, "Requests written per batch on a connection")
      ->capture_default_str();
  cmd.add_flag("--no-keepalive", a.noKeepalive,
               "A new connection per request (Connection: close; the server closes first)");
  cmd.add_option("-m,--method", a.method, "Request method")->capture_default_str();
  cmd.add_option("-H,--header", a.headers, "Request header 'Name: value' (repeatable)");
  cmd.add_option("--body", a.body, "Request body");
  cmd.add_option("--body-file", a.bodyFile, "Read the request body from a file");
  cmd.add_option("--timeout", a.timeout, "Per-request timeout (send to last byte)")
      ->capture_default_str();
  cmd.add_option("--rate", a.rate,
                 "Open loop: requests/s over all connections; latency from the intended "
                 "send time (no coordinated omission)");
  cmd.add_option("--warmup", a.warmup, "Run this long first, excluded from every statistic");
  cmd.add_flag("--json", a.json, "Print the report as one JSON object");
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
  std::vector<std::string> warnings;
  c.keepalive = toKeepaliveProfile(a.keepalive, warnings);
  for (const std::string& w : warnings) fmt::print(stderr, "tether: warning: {}\n", w);
  return c;
}

}  // namespace tether::app
