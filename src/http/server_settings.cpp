#include "server_settings.h"

#include <fmt/format.h>

#include "tether/core/duration.h"
#include "tether/liveness/keepalive_profile.h"

namespace tether::http {
namespace {

using core::formatDuration;

const char* lingeringName(LingeringClose l) {
  switch (l) {
    case LingeringClose::kOff: return "off";
    case LingeringClose::kAlways: return "always";
    case LingeringClose::kOn: break;
  }
  return "on";
}

SettingRow duration(const char* option, const char* key, core::Millis ms) {
  return {option, {{key, ms}}, formatDuration(ms)};
}

SettingRow count(const char* option, const char* key, std::uint64_t n, std::string text = {}) {
  return {option, {{key, n}}, text.empty() ? std::to_string(n) : std::move(text)};
}

SettingRow flag(const char* option, const char* key, bool on) {
  return {option, {{key, on}}, on ? "on" : "off"};
}

// TLS: the certificate, and the policy in force (shown even with TLS off, so
// the defaults are visible).
void addTlsRows(std::vector<SettingRow>& rows, const ServerOptions& o) {
  const net::TlsServerConfig& t = o.tls;
  std::string cert = !o.anyTls()    ? std::string("off")
                     : t.selfSigned ? std::string("self-signed (in memory)")
                                    : t.certFile;
  rows.push_back({"--tls-cert", {{"tls_cert", cert}}, cert});
  auto list = [](const std::string& s) { return s.empty() ? std::string("OpenSSL default") : s; };
  rows.push_back({"--tls-ciphers", {{"tls_ciphers", list(t.ciphers)}}, list(t.ciphers)});
  rows.push_back(
      {"--tls-ciphersuites", {{"tls_ciphersuites", list(t.ciphersuites)}}, list(t.ciphersuites)});
  rows.push_back(duration("--tls-session-timeout", "tls_session_timeout_ms", t.sessionTimeout));
  rows.push_back(
      duration("--tls-handshake-timeout", "tls_handshake_timeout_ms", o.tlsHandshakeTimeout));
}

// WebSocket policy (0 turns a limit off).
void addWebSocketRows(std::vector<SettingRow>& rows, const WebSocketOptions& w) {
  auto off = [](const char* option, const char* key, core::Millis ms) {
    SettingRow r = duration(option, key, ms);
    if (ms == 0) r.text = "0 (off)";
    return r;
  };
  rows.push_back(off("--ws-ping-interval", "ws_ping_interval_ms", w.pingInterval));
  rows.push_back(duration("--ws-ping-timeout", "ws_ping_timeout_ms", w.pingTimeout));
  rows.push_back(off("--ws-idle-timeout", "ws_idle_timeout_ms", w.idleTimeout));
  rows.push_back(off("--ws-min-ping-interval", "ws_min_ping_interval_ms", w.minPingInterval));
  rows.push_back(count("--ws-max-ping-strikes", "ws_max_ping_strikes",
                       static_cast<std::uint64_t>(w.maxPingStrikes),
                       w.maxPingStrikes == 0 ? "0 (no limit)" : ""));
  rows.push_back(count("--ws-max-message-size", "ws_max_message_size", w.maxMessageSize,
                       fmt::format("{} bytes", w.maxMessageSize)));
  rows.push_back(duration("--ws-close-timeout", "ws_close_timeout_ms", w.closeTimeout));
}

void addEventStreamRows(std::vector<SettingRow>& rows, const ServerOptions& o) {
  SettingRow r = duration("--sse-heartbeat", "sse_heartbeat_ms", o.sseHeartbeat);
  if (o.sseHeartbeat == 0) r.text = "0 (off)";
  rows.push_back(std::move(r));
}

}  // namespace

std::vector<SettingRow> settingRows(const ServerOptions& o, std::uint64_t maxConnections) {
  const liveness::KeepaliveProfile& k = o.tcpKeepalive;
  std::vector<SettingRow> rows;
  rows.push_back(flag("--share-port", "share_port", o.sharePort));
  rows.push_back(count("--workers", "workers", static_cast<std::uint64_t>(o.workers)));
  rows.push_back({"--io-backend",
                  {{"io_backend", net::ioBackendName(o.ioBackend)}},
                  net::ioBackendName(o.ioBackend)});
  rows.push_back(duration("--keepalive-timeout", "keepalive_timeout_ms", o.keepaliveTimeout));
  rows.push_back(duration("--keepalive-grace", "keepalive_grace_ms", o.keepaliveGrace));
  rows.push_back(flag("--no-keepalive-header", "keepalive_header", o.keepaliveHeader));
  rows.back().text = o.keepaliveHeader ? "off (the header is sent)" : "on (no header)";
  rows.push_back(count("--keepalive-requests", "keepalive_requests", o.keepaliveRequests,
                       o.keepaliveRequests == 0 ? "0 (no limit)" : ""));
  rows.push_back(duration("--keepalive-time", "keepalive_time_ms", o.keepaliveTime));
  rows.push_back(count("--keepalive-jitter", "keepalive_jitter_percent",
                       static_cast<std::uint64_t>(o.keepaliveJitterPercent),
                       fmt::format("&plusmn;{}%", o.keepaliveJitterPercent)));
  rows.push_back(
      duration("--client-header-timeout", "client_header_timeout_ms", o.clientHeaderTimeout));
  rows.push_back(duration("--client-body-timeout", "client_body_timeout_ms", o.clientBodyTimeout));
  rows.push_back(duration("--send-timeout", "send_timeout_ms", o.sendTimeout));
  rows.push_back({"--lingering-close",
                  {{"lingering_close", lingeringName(o.lingeringClose)}},
                  lingeringName(o.lingeringClose)});
  rows.push_back(duration("--lingering-time", "lingering_time_ms", o.lingeringTime));
  rows.push_back(duration("--lingering-timeout", "lingering_timeout_ms", o.lingeringTimeout));
  rows.push_back(
      flag("--reset-timedout-connection", "reset_timedout_connection", o.resetTimedoutConnection));
  rows.push_back(count("--max-connections", "max_connections", maxConnections,
                       o.maxConnections == 0
                           ? fmt::format("{} (from the file descriptor limit)", maxConnections)
                           : ""));
  rows.push_back(count("--max-header-size", "max_header_size", o.maxHeaderSize,
                       fmt::format("{} bytes", o.maxHeaderSize)));
  rows.push_back(count("--max-body-size", "max_body_size", o.maxBodySize,
                       fmt::format("{} bytes", o.maxBodySize)));
  std::string log = o.accessLog.empty() ? "off" : o.accessLog;
  rows.push_back({"--access-log", {{"access_log", log}}, log == "-" ? "- (stdout)" : log});
  rows.push_back(duration("--shutdown-timeout", "shutdown_timeout_ms", o.shutdownTimeout));
  if (o.metricsListen) {
    std::string at = o.metricsListen->toString();
    rows.push_back({"--metrics-listen", {{"metrics_listen", at}}, at});
  } else {
    rows.push_back({"--metrics-listen",
                    {{"metrics_listen", nullptr}},
                    "off (/.tether/ on the site's listeners)"});
  }
  rows.push_back({"--so-keepalive",
                  {{"so_keepalive", liveness::formatKeepaliveSpec(k)},
                   {"tcp_keepalive_idle_s", k.idleS},
                   {"tcp_keepalive_interval_s", k.intervalS},
                   {"tcp_keepalive_count", k.count}},
                  liveness::formatKeepaliveSpec(k)});
  rows.push_back({"--tcp-user-timeout",
                  {{"tcp_user_timeout_ms", k.userTimeout}},
                  k.userTimeout > 0 ? formatDuration(k.userTimeout) : std::string("not set")});
  addTlsRows(rows, o);
  addWebSocketRows(rows, o.ws);
  addEventStreamRows(rows, o);
  return rows;
}

}  // namespace tether::http
