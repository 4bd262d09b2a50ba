#include "serve_options.h"

#include <fmt/format.h>

#include "commands.h"
#include "help_format.h"
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
  label(cmd.add_option("--listen", args.listen,
                       "Address to listen on, repeatable: 127.0.0.1:8080, [::1]:8080, *:8080 "
                       "(port 0: a free port)"),
        "ADDR:PORT")
      ->default_str("127.0.0.1:8080");
  cmd.add_flag("--share-port", args.sharePort,
               "Join a port another process already listens on with SO_REUSEPORT (a restart "
               "handing the port over) instead of refusing it as in use");
  label(cmd.add_option("--workers", args.workers,
                       "Worker threads, one epoll loop each; 0: one per core"),
        "N")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  label(
      cmd.add_option("--keepalive-timeout", args.keepaliveTimeout,
                     "Idle time after a response before the server closes; 0 disables keep-alive"),
      "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--keepalive-grace", args.keepaliveGrace,
                       "Wait beyond the advertised Keep-Alive timeout before the idle close"),
        "DURATION")
      ->capture_default_str();
  cmd.add_flag("--no-keepalive-header", args.noKeepaliveHeader,
               "Do not send the Keep-Alive: timeout=N, max=R header");
  label(cmd.add_option("--keepalive-requests", args.keepaliveRequests,
                       "Requests per connection, the last one with Connection: close; 0: no limit"),
        "N")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  label(cmd.add_option("--keepalive-time", args.keepaliveTime,
                       "Maximum connection lifetime; it closes after the request that crosses it"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--keepalive-jitter", args.keepaliveJitter,
                       "Spread of the lifetime per connection, +- percent (0-100)"),
        "PCT")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  label(cmd.add_option("--client-header-timeout", args.clientHeaderTimeout,
                       "Time for the whole request header, else 408"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--client-body-timeout", args.clientBodyTimeout,
                       "Maximum time between two reads of a request body, else 408"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--send-timeout", args.sendTimeout,
                       "Maximum time between two writes of a response"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--lingering-close", args.lingeringClose,
                       "Drain input before closing: on (when the client may still be sending), "
                       "off, always"),
        "on|off|always")
      ->check(CLI::IsMember({"on", "off", "always"}))
      ->capture_default_str();
  label(
      cmd.add_option("--lingering-time", args.lingeringTime, "Total time to drain when lingering"),
      "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--lingering-timeout", args.lingeringTimeout,
                       "Maximum wait for more input while lingering"),
        "DURATION")
      ->capture_default_str();
  cmd.add_flag("--reset-timedout-connection", args.resetTimedout,
               "Close timed-out connections with RST (idle keep-alive closes stay FIN)");
  label(cmd.add_option("--max-connections", args.maxConnections,
                       "Open connection limit; at it, the connection waiting longest for its "
                       "request (idle or a slow header) closes for a new one; 0: the file "
                       "descriptor limit minus 64"),
        "N")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  label(cmd.add_option("--max-header-size", args.maxHeaderSize,
                       "Request header limit, else 431 (414 within the request line)"),
        "SIZE")
      ->capture_default_str();
  label(cmd.add_option("--max-body-size", args.maxBodySize, "Request body limit, else 413"), "SIZE")
      ->capture_default_str();
  label(cmd.add_option("--root", args.root,
                       "Serve static files from DIR instead of the default site"),
        "DIR")
      ->check(CLI::ExistingDirectory);
  label(cmd.add_option("--access-log", args.accessLog,
                       "One line per request to FILE, or to stdout (-); off: none"),
        "FILE|-|off")
      ->capture_default_str();
  label(cmd.add_option("--shutdown-timeout", args.shutdownTimeout,
                       "On SIGTERM/SIGINT, time to finish in-flight requests before closing "
                       "the rest"),
        "DURATION")
      ->capture_default_str();
  addKeepaliveOptions(cmd, args.soKeepalive, args.tcpUserTimeout, "accepted sockets");
}

}  // namespace tether::app
