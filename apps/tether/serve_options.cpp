#include "serve_options.h"

#include <fmt/format.h>

#include "commands.h"
#include "keepalive_options.h"
#include "tether/core/duration.h"
#include "tether/liveness/keepalive_profile.h"

namespace tether::app {
namespace {

core::Millis duration(const std::string& option, const std::string& text) {
  auto ms = core::parseDuration(text);
  if (!ms) {
    throw UsageError(
        fmt::format("{}: invalid duration '{}' (examples: 500ms, 30s, 5m, 1h)", option, text));
  }
  return *ms;
}

std::uint64_t size(const std::string& option, const std::string& text) {
  auto bytes = core::parseSize(text);
  if (!bytes || *bytes == 0) {
    throw UsageError(fmt::format("{}: invalid size '{}' (examples: 8192, 16k, 1m)", option, text));
  }
  return *bytes;
}

// --so-keepalive and --tcp-user-timeout (shared syntax, see keepalive_profile.h).
liveness::KeepaliveProfile tcpKeepalive(const ServeArgs& a, std::vector<std::string>* warnings) {
  std::vector<std::string> notes;
  auto p = toKeepaliveProfile({a.soKeepalive, a.tcpUserTimeout}, notes);
  for (std::string& n : notes) {
    if (warnings == nullptr) {
      fmt::print(stderr, "tether: warning: --so-keepalive: {}\n", n);
    } else {
      warnings->push_back(std::move(n));
    }
  }
  return p.value_or(liveness::KeepaliveProfile{});
}

}  // namespace

http::ServerOptions toServerOptions(const ServeArgs& a, std::vector<std::string>* warnings) {
  http::ServerOptions o;
  for (const std::string& text :
       a.listen.empty() ? std::vector<std::string>{"127.0.0.1:8080"} : a.listen) {
    auto addr = net::parseSocketAddress(text);
    if (!addr) {
      throw UsageError(
          fmt::format("--listen: invalid address '{}' (examples: 127.0.0.1:8080, "
                      "[::1]:8080, *:8080)",
                      text));
    }
    o.listen.push_back(*addr);
  }
  o.sharePort = a.sharePort;
  o.workers = a.workers;
  o.keepaliveTimeout = duration("--keepalive-timeout", a.keepaliveTimeout);
  o.keepaliveGrace = duration("--keepalive-grace", a.keepaliveGrace);
  o.keepaliveHeader = !a.noKeepaliveHeader;
  o.keepaliveRequests = static_cast<std::uint64_t>(a.keepaliveRequests);
  o.keepaliveTime = duration("--keepalive-time", a.keepaliveTime);
  o.keepaliveJitterPercent = a.keepaliveJitter;
  o.clientHeaderTimeout = duration("--client-header-timeout", a.clientHeaderTimeout);
  o.clientBodyTimeout = duration("--client-body-timeout", a.clientBodyTimeout);
  o.sendTimeout = duration("--send-timeout", a.sendTimeout);
  o.lingeringClose = a.lingeringClose == "off"      ? http::LingeringClose::kOff
                     : a.lingeringClose == "always" ? http::LingeringClose::kAlways
                                                    : http::LingeringClose::kOn;
  o.lingeringTime = duration("--lingering-time", a.lingeringTime);
  o.lingeringTimeout = duration("--lingering-timeout", a.lingeringTimeout);
  o.resetTimedoutConnection = a.resetTimedout;
  o.maxConnections = static_cast<std::uint64_t>(a.maxConnections);
  o.maxHeaderSize = size("--max-header-size", a.maxHeaderSize);
  o.maxBodySize = size("--max-body-size", a.maxBodySize);
  o.accessLog = a.accessLog;
  o.shutdownTimeout = duration("--shutdown-timeout", a.shutdownTimeout);
  o.tcpKeepalive = tcpKeepalive(a, warnings);
  return o;
}

void addServeOptions(CLI::App& cmd, ServeArgs& args) {
  cmd.add_option("--listen", args.listen, "ADDR:PORT to listen on (repeatable; [::1]:8080)")
      ->default_str("127.0.0.1:8080");
  cmd.add_flag("--share-port", args.sharePort,
               "join a port another process already listens on with SO_REUSEPORT (a restart "
               "handing the port over) instead of refusing it as in use");
  cmd.add_option("--workers", args.workers, "worker threads, one epoll loop each (0: cores)")
      ->check(CLI::Range(0, 1024));
  cmd.add_option("--keepalive-timeout", args.keepaliveTimeout,
                 "idle time after a response before closing; 0 disables keep-alive")
      ->capture_default_str();
  cmd.add_option("--keepalive-grace", args.keepaliveGrace,
                 "extra wait beyond the advertised timeout before the idle close")
      ->capture_default_str();
  cmd.add_flag("--no-keepalive-header", args.noKeepaliveHeader,
               "do not send the Keep-Alive: timeout=N, max=R header");
  cmd.add_option("--keepalive-requests", args.keepaliveRequests,
                 "requests per connection; the last one carries Connection: close (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--keepalive-time", args.keepaliveTime,
                 "maximum connection lifetime; closes after the request that crosses it")
      ->capture_default_str();
  cmd.add_option("--keepalive-jitter", args.keepaliveJitter, "spread of the lifetime, +-percent")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd.add_option("--client-header-timeout", args.clientHeaderTimeout,
                 "time for the whole request header, else 408")
      ->capture_default_str();
  cmd.add_option("--client-body-timeout", args.clientBodyTimeout,
                 "time between two reads of a request body")
      ->capture_default_str();
  cmd.add_option("--send-timeout", args.sendTimeout, "time between two writes of a response")
      ->capture_default_str();
  cmd.add_option("--lingering-close", args.lingeringClose,
                 "drain input before closing: on (when the client may send more), off, always")
      ->check(CLI::IsMember({"on", "off", "always"}))
      ->capture_default_str();
  cmd.add_option("--lingering-time", args.lingeringTime, "total time to drain when lingering")
      ->capture_default_str();
  cmd.add_option("--lingering-timeout", args.lingeringTimeout,
                 "maximum wait for more input while lingering")
      ->capture_default_str();
  cmd.add_flag("--reset-timedout-connection", args.resetTimedout,
               "close timed-out connections with RST (idle keep-alive closes stay FIN)");
  cmd.add_option("--max-connections", args.maxConnections,
                 "open connection limit; at it, the oldest idle ones close first (0: fd limit)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--max-header-size", args.maxHeaderSize, "request header limit (431/414)")
      ->capture_default_str();
  cmd.add_option("--max-body-size", args.maxBodySize, "request body limit (413)")
      ->capture_default_str();
  cmd.add_option("--root", args.root, "serve static files from DIR instead of the default site")
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--access-log", args.accessLog, "FILE, - (stdout) or off")->capture_default_str();
  cmd.add_option("--shutdown-timeout", args.shutdownTimeout,
                 "SIGTERM/SIGINT: time to finish in-flight requests before forcing closes")
      ->capture_default_str();
  cmd.add_option("--so-keepalive", args.soKeepalive,
                 "TCP keepalive on accepted sockets: on, off or IDLE:INTVL:CNT (30m::10)");
  cmd.add_option("--tcp-user-timeout", args.tcpUserTimeout,
                 "TCP_USER_TIMEOUT on accepted sockets: unacknowledged data older than this "
                 "kills the connection");
}

}  // namespace tether::app
