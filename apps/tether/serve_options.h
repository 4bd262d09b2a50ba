// Options of `tether serve`: CLI11 registration and conversion to
// http::ServerOptions, separate from the command so they are unit-tested.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tether/http/server_options.h"

namespace tether::app {

/// Raw option values as typed; validated by toServerOptions().
struct ServeArgs {
  std::vector<std::string> listen;
  bool sharePort = false;
  int workers = 0;
  std::string ioBackend = "auto";
  std::string keepaliveTimeout = "75s", keepaliveGrace = "1s";
  bool noKeepaliveHeader = false;
  long long keepaliveRequests = 1000;
  std::string keepaliveTime = "1h";
  int keepaliveJitter = 10;
  std::string clientHeaderTimeout = "60s", clientBodyTimeout = "60s", sendTimeout = "60s";
  std::string lingeringClose = "on", lingeringTime = "30s", lingeringTimeout = "5s";
  bool resetTimedout = false;
  long long maxConnections = 0;
  std::string maxHeaderSize = "16k", maxBodySize = "1m";
  std::string root;
  std::string accessLog = "off";
  std::string shutdownTimeout = "10s";
  std::string metricsListen;   // empty: /.tether/ on the site's listeners
  std::string soKeepalive;     // empty: leave SO_KEEPALIVE alone (off)
  std::string tcpUserTimeout;  // empty: not set
  // TLS: PEM files or an in-memory certificate; empty cipher lists: OpenSSL's defaults.
  std::string tlsCert, tlsKey;
  bool tlsSelfSigned = false;
  std::string tlsCiphers, tlsCiphersuites;
  std::string tlsSessionTimeout = "5m", tlsHandshakeTimeout = "10s";
  // WebSocket (serve_ws_options.cpp).
  std::string wsPingInterval = "30s", wsPingTimeout = "20s", wsIdleTimeout = "0";
  std::string wsMinPingInterval = "5s", wsCloseTimeout = "5s";
  int wsMaxPingStrikes = 2;
  std::string wsMaxMessageSize = "1m";
  std::string sseHeartbeat = "15s";
};

/// Registers every `serve` option on `cmd`, writing into `args`.
void addServeOptions(CLI::App& cmd, ServeArgs& args);
/// A DURATION or SIZE option's value; UsageError naming `option` otherwise.
core::Millis serveDuration(const std::string& option, const std::string& text);
std::uint64_t serveSize(const std::string& option, const std::string& text);
/// The --ws-* part of them (serve_ws_options.cpp).
void addWebSocketOptions(CLI::App& cmd, ServeArgs& args);
/// Validates the --ws-* values into `o.ws` (UsageError on a bad one).
void toWebSocketOptions(const ServeArgs& args, http::ServerOptions& o);

/// Validates and converts. Throws UsageError (one line naming the option) on a
/// bad value. Notes about accepted values (keepalive ms rounded up to seconds)
/// go to `warnings`, or to stderr (`tether: warning: ...`) when it is null.
http::ServerOptions toServerOptions(const ServeArgs& args,
                                    std::vector<std::string>* warnings = nullptr);

}  // namespace tether::app
