#include "serve_options.h"

#include <fmt/format.h>

#include "commands.h"
#include "help_format.h"
#include "keepalive_options.h"
#include "tether/core/duration.h"
#include "tether/liveness/keepalive_profile.h"

namespace tether::app {

core::Millis serveDuration(const std::string& option, const std::string& text) {
  auto ms = core::parseDuration(text);
  if (!ms) {
    throw UsageError(
        fmt::format("{}: invalid duration '{}' (examples: 500ms, 30s, 5m, 1h)", option, text));
  }
  return *ms;
}

std::uint64_t serveSize(const std::string& option, const std::string& text) {
  auto bytes = core::parseSize(text);
  if (!bytes || *bytes == 0) {
    throw UsageError(fmt::format("{}: invalid size '{}' (examples: 8192, 16k, 1m)", option, text));
  }
  return *bytes;
}

namespace {

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

constexpr std::string_view kTlsMarker = "tls:";

void tlsOptions(const ServeArgs& a, http::ServerOptions& o) {
  if (a.tlsSelfSigned && (!a.tlsCert.empty() || !a.tlsKey.empty())) {
    throw UsageError("--tls-self-signed: not with --tls-cert/--tls-key (it makes its own)");
  }
  if (a.tlsCert.empty() != a.tlsKey.empty()) {
    throw UsageError(a.tlsCert.empty() ? "--tls-key: needs --tls-cert"
                                       : "--tls-cert: needs --tls-key");
  }
  o.tls.certFile = a.tlsCert;
  o.tls.keyFile = a.tlsKey;
  o.tls.selfSigned = a.tlsSelfSigned;
  o.tls.ciphers = a.tlsCiphers;
  o.tls.ciphersuites = a.tlsCiphersuites;
  o.tls.sessionTimeout = serveDuration("--tls-session-timeout", a.tlsSessionTimeout);
  o.tlsHandshakeTimeout = serveDuration("--tls-handshake-timeout", a.tlsHandshakeTimeout);
  if (o.tls.sessionTimeout <= 0) throw UsageError("--tls-session-timeout: must be positive");
  if (o.tlsHandshakeTimeout <= 0) throw UsageError("--tls-handshake-timeout: must be positive");
}

// --metrics-listen: one plain-HTTP address, not one of the site's (the admin
// port must be a listener of its own).
std::optional<net::SocketAddress> metricsListen(const std::string& text,
                                                const std::vector<net::SocketAddress>& site) {
  if (text.empty() || text == "off") return std::nullopt;
  auto addr = net::parseSocketAddress(text);
  if (!addr) {
    throw UsageError(fmt::format(
        "--metrics-listen: invalid address '{}' (examples: 127.0.0.1:9100, [::1]:9100)", text));
  }
  for (const net::SocketAddress& s : site) {
    if (addr->port() != 0 && s.toString() == addr->toString()) {
      throw UsageError(fmt::format("--metrics-listen: {} is also a --listen address", text));
    }
  }
  return addr;
}

}  // namespace

http::ServerOptions toServerOptions(const ServeArgs& a, std::vector<std::string>* warnings) {
  http::ServerOptions o;
  tlsOptions(a, o);
  bool marked = false;  // some --listen has the tls: prefix: only those serve TLS
  for (const std::string& text : a.listen) marked = marked || text.starts_with(kTlsMarker);
  for (std::string text :
       a.listen.empty() ? std::vector<std::string>{"127.0.0.1:8080"} : a.listen) {
    bool tls = text.starts_with(kTlsMarker);
    if (tls) text.erase(0, kTlsMarker.size());
    if (tls && !o.tls.enabled()) {
      throw UsageError(fmt::format(
          "--listen: tls:{} needs a certificate (--tls-cert and --tls-key, or --tls-self-signed)",
          text));
    }
    o.tlsListen.push_back(marked ? tls : o.tls.enabled());
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
  o.ioBackend = *net::parseIoBackend(a.ioBackend);  // the option's check allows only the three
  o.keepaliveTimeout = serveDuration("--keepalive-timeout", a.keepaliveTimeout);
  o.keepaliveGrace = serveDuration("--keepalive-grace", a.keepaliveGrace);
  o.keepaliveHeader = !a.noKeepaliveHeader;
  o.keepaliveRequests = static_cast<std::uint64_t>(a.keepaliveRequests);
  o.keepaliveTime = serveDuration("--keepalive-time", a.keepaliveTime);
  o.keepaliveJitterPercent = a.keepaliveJitter;
  o.clientHeaderTimeout = serveDuration("--client-header-timeout", a.clientHeaderTimeout);
  o.clientBodyTimeout = serveDuration("--client-body-timeout", a.clientBodyTimeout);
  o.sendTimeout = serveDuration("--send-timeout", a.sendTimeout);
  o.lingeringClose = a.lingeringClose == "off"      ? http::LingeringClose::kOff
                     : a.lingeringClose == "always" ? http::LingeringClose::kAlways
                                                    : http::LingeringClose::kOn;
  o.lingeringTime = serveDuration("--lingering-time", a.lingeringTime);
  o.lingeringTimeout = serveDuration("--lingering-timeout", a.lingeringTimeout);
  o.resetTimedoutConnection = a.resetTimedout;
  o.maxConnections = static_cast<std::uint64_t>(a.maxConnections);
  o.maxHeaderSize = serveSize("--max-header-size", a.maxHeaderSize);
  o.maxBodySize = serveSize("--max-body-size", a.maxBodySize);
  o.accessLog = a.accessLog;
  o.shutdownTimeout = serveDuration("--shutdown-timeout", a.shutdownTimeout);
  o.tcpKeepalive = tcpKeepalive(a, warnings);
  o.metricsListen = metricsListen(a.metricsListen, o.listen);
  toWebSocketOptions(a, o);
  return o;
}

namespace {

void addTlsOptions(CLI::App& cmd, ServeArgs& args) {
  label(cmd.add_option("--tls-cert", args.tlsCert,
                       "Serve TLS with this PEM certificate chain (leaf first), with --tls-key"),
        "FILE")
      ->check(CLI::ExistingFile);
  label(cmd.add_option("--tls-key", args.tlsKey, "PEM private key of --tls-cert"), "FILE")
      ->check(CLI::ExistingFile);
  cmd.add_flag("--tls-self-signed", args.tlsSelfSigned,
               "Serve TLS with an in-memory self-signed certificate for localhost, 127.0.0.1 "
               "and ::1 (valid 7 days); prints its SHA-256 fingerprint");
  label(cmd.add_option("--tls-ciphers", args.tlsCiphers,
                       "TLS 1.2 cipher list (OpenSSL syntax); default: OpenSSL's"),
        "LIST");
  label(cmd.add_option("--tls-ciphersuites", args.tlsCiphersuites,
                       "TLS 1.3 cipher suites (OpenSSL syntax); default: OpenSSL's"),
        "LIST");
  label(cmd.add_option("--tls-session-timeout", args.tlsSessionTimeout,
                       "Lifetime of cached TLS sessions; session ticket keys rotate as often"),
        "DURATION")
      ->capture_default_str();
  label(cmd.add_option("--tls-handshake-timeout", args.tlsHandshakeTimeout,
                       "Time for the TLS handshake after the accept, else close"),
        "DURATION")
      ->capture_default_str();
}

}  // namespace

void addServeOptions(CLI::App& cmd, ServeArgs& args) {
  label(cmd.add_option("--listen", args.listen,
                       "Address to listen on, repeatable: 127.0.0.1:8080, [::1]:8080, *:8080 "
                       "(port 0: a free port). With a certificate every address serves TLS, "
                       "unless some are marked tls:ADDR:PORT: then only those"),
        "ADDR:PORT")
      ->default_str("127.0.0.1:8080");
  cmd.add_flag("--share-port", args.sharePort,
               "Join a port another process already listens on with SO_REUSEPORT (a restart "
               "handing the port over) instead of refusing it as in use");
  label(cmd.add_option("--workers", args.workers,
                       "Worker threads, one event loop each; 0: one per core"),
        "N")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  label(cmd.add_option("--io-backend", args.ioBackend,
                       "Event loop: epoll, io_uring, or auto (io_uring when the kernel allows "
                       "it, else epoll). Default from TETHER_IO_BACKEND when set"),
        "epoll|io_uring|auto")
      ->check(CLI::IsMember({"epoll", "io_uring", "auto"}))
      ->envname("TETHER_IO_BACKEND")
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
  label(cmd.add_option("--metrics-listen", args.metricsListen,
                       "Serve /.tether/metrics, /.tether/status and the live page /.tether/ on "
                       "this address instead of the site's listeners (an admin port, as "
                       "HAProxy's stats or Envoy's admin)"),
        "ADDR:PORT")
      ->default_str("off");
  addKeepaliveOptions(cmd, args.soKeepalive, args.tcpUserTimeout, "accepted sockets");
  addTlsOptions(cmd, args);
  addWebSocketOptions(cmd, args);
}

}  // namespace tether::app
