#include "serve_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commands.h"

namespace tether::app {
namespace {

// Parses a `serve` command line the way main() does.
http::ServerOptions parse(std::vector<std::string> argv) {
  CLI::App cmd;
  ServeArgs args;
  addServeOptions(cmd, args);
  std::reverse(argv.begin(), argv.end());  // CLI11 takes a reversed vector
  cmd.parse(argv);
  return toServerOptions(args);
}

TEST(ServeOptions, DefaultsFollowNginx) {
  http::ServerOptions o = parse({});
  ASSERT_EQ(o.listen.size(), 1u);
  EXPECT_EQ(o.listen[0].toString(), "127.0.0.1:8080");
  EXPECT_EQ(o.keepaliveTimeout, 75'000);
  EXPECT_EQ(o.keepaliveGrace, 1'000);
  EXPECT_TRUE(o.keepaliveHeader);
  EXPECT_EQ(o.keepaliveRequests, 1000u);
  EXPECT_EQ(o.keepaliveTime, 3'600'000);
  EXPECT_EQ(o.keepaliveJitterPercent, 10);
  EXPECT_EQ(o.clientHeaderTimeout, 60'000);
  EXPECT_EQ(o.clientBodyTimeout, 60'000);
  EXPECT_EQ(o.sendTimeout, 60'000);
  EXPECT_EQ(o.lingeringClose, http::LingeringClose::kOn);
  EXPECT_EQ(o.lingeringTime, 30'000);
  EXPECT_EQ(o.lingeringTimeout, 5'000);
  EXPECT_FALSE(o.resetTimedoutConnection);
  EXPECT_EQ(o.maxHeaderSize, 16u * 1024);
  EXPECT_EQ(o.maxBodySize, 1024u * 1024);
  EXPECT_EQ(o.shutdownTimeout, 10'000);
}

TEST(ServeOptions, ParsesEveryOption) {
  // Options with their values kept together on a line (clang-format would put each
  // string on its own line).
  // clang-format off
  http::ServerOptions o = parse(
      {"--listen", "127.0.0.1:0", "--listen", "[::1]:9000", "--workers", "3",
       "--keepalive-timeout", "1500ms", "--keepalive-grace", "0", "--no-keepalive-header",
       "--keepalive-requests", "0", "--keepalive-time", "2m", "--keepalive-jitter", "0",
       "--client-header-timeout", "5s", "--client-body-timeout", "6s", "--send-timeout", "7s",
       "--lingering-close", "always", "--lingering-time", "1m", "--lingering-timeout", "2s",
       "--reset-timedout-connection", "--max-connections", "100", "--max-header-size", "8k",
       "--max-body-size", "2m", "--access-log", "-", "--shutdown-timeout", "1h"});
  // clang-format on
  ASSERT_EQ(o.listen.size(), 2u);
  EXPECT_EQ(o.listen[1].toString(), "[::1]:9000");
  EXPECT_EQ(o.workers, 3);
  EXPECT_EQ(o.keepaliveTimeout, 1500);
  EXPECT_EQ(o.keepaliveGrace, 0);
  EXPECT_FALSE(o.keepaliveHeader);
  EXPECT_EQ(o.keepaliveRequests, 0u);
  EXPECT_EQ(o.keepaliveTime, 120'000);
  EXPECT_EQ(o.keepaliveJitterPercent, 0);
  EXPECT_EQ(o.clientHeaderTimeout, 5'000);
  EXPECT_EQ(o.clientBodyTimeout, 6'000);
  EXPECT_EQ(o.sendTimeout, 7'000);
  EXPECT_EQ(o.lingeringClose, http::LingeringClose::kAlways);
  EXPECT_EQ(o.lingeringTime, 60'000);
  EXPECT_EQ(o.lingeringTimeout, 2'000);
  EXPECT_TRUE(o.resetTimedoutConnection);
  EXPECT_EQ(o.maxConnections, 100u);
  EXPECT_EQ(o.maxHeaderSize, 8u * 1024);
  EXPECT_EQ(o.maxBodySize, 2u * 1024 * 1024);
  EXPECT_EQ(o.accessLog, "-");
  EXPECT_EQ(o.shutdownTimeout, 3'600'000);
}

// A bad value must produce one message that names the option (main prints it
// on one line and exits 2).
TEST(ServeOptions, BadValuesNameTheOption) {
  struct Case {
    std::vector<std::string> argv;
    std::string option;
  };
  const Case cases[] = {
      {{"--keepalive-timeout", "abc"}, "--keepalive-timeout"},
      {{"--keepalive-grace", "-1s"}, "--keepalive-grace"},
      {{"--client-header-timeout", "5x"}, "--client-header-timeout"},
      {{"--listen", "nonsense"}, "--listen"},
      {{"--listen", "127.0.0.1:70000"}, "--listen"},
      {{"--max-body-size", "lots"}, "--max-body-size"},
      {{"--max-header-size", "0"}, "--max-header-size"},
      {{"--metrics-listen", "nowhere"}, "--metrics-listen"},
      {{"--metrics-listen", "127.0.0.1:8080"}, "--metrics-listen"},  // the site's default
      {{"--ws-ping-interval", "often"}, "--ws-ping-interval"},
      {{"--ws-ping-timeout", "0"}, "--ws-ping-timeout"},  // pings on, no time to answer
      {{"--ws-close-timeout", "0"}, "--ws-close-timeout"},
      {{"--ws-max-message-size", "0"}, "--ws-max-message-size"},
      {{"--sse-heartbeat", "1 s"}, "--sse-heartbeat"},
  };
  for (const Case& c : cases) {
    try {
      parse(c.argv);
      ADD_FAILURE() << c.argv[0] << " " << c.argv[1] << " was accepted";
    } catch (const UsageError& e) {
      std::string message = e.what();
      EXPECT_NE(message.find(c.option), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(ServeOptions, WebSocketAndEventStreamPolicy) {
  http::ServerOptions d = parse({});
  EXPECT_EQ(d.ws.pingInterval, 30'000);
  EXPECT_EQ(d.ws.pingTimeout, 20'000);
  EXPECT_EQ(d.ws.idleTimeout, 0);
  EXPECT_EQ(d.ws.minPingInterval, 5'000);
  EXPECT_EQ(d.ws.maxPingStrikes, 2);
  EXPECT_EQ(d.ws.maxMessageSize, 1024u * 1024);
  EXPECT_EQ(d.ws.closeTimeout, 5'000);
  EXPECT_EQ(d.sseHeartbeat, 15'000);
  http::ServerOptions o =
      parse({"--ws-ping-interval", "0", "--ws-ping-timeout", "0", "--ws-idle-timeout", "2m",
             "--ws-min-ping-interval", "0", "--ws-max-ping-strikes", "0", "--ws-max-message-size",
             "64k", "--ws-close-timeout", "1s", "--sse-heartbeat", "0"});
  EXPECT_EQ(o.ws.pingInterval, 0) << "pings off: no timeout needed";
  EXPECT_EQ(o.ws.idleTimeout, 120'000);
  EXPECT_EQ(o.ws.maxPingStrikes, 0);
  EXPECT_EQ(o.ws.maxMessageSize, 64u * 1024);
  EXPECT_EQ(o.ws.closeTimeout, 1'000);
  EXPECT_EQ(o.sseHeartbeat, 0);
}

TEST(ServeOptions, MetricsListenIsOffOrOneAddress) {
  EXPECT_FALSE(parse({}).metricsListen);
  EXPECT_FALSE(parse({"--metrics-listen", "off"}).metricsListen);
  auto o = parse({"--listen", "127.0.0.1:8080", "--metrics-listen", "127.0.0.1:9100"});
  ASSERT_TRUE(o.metricsListen);
  EXPECT_EQ(o.metricsListen->toString(), "127.0.0.1:9100");
  EXPECT_EQ(o.listen.size(), 1u);
}

TEST(ServeOptions, ValidatorsRejectOutOfRange) {
  EXPECT_THROW(parse({"--lingering-close", "maybe"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--keepalive-jitter", "101"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--keepalive-requests", "-1"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--workers", "-1"}), CLI::ValidationError);
}

TEST(ServeOptions, TcpKeepaliveIsUntouchedByDefault) {
  EXPECT_EQ(parse({}).tcpKeepalive, liveness::KeepaliveProfile{});
}

TEST(ServeOptions, SoKeepaliveAndUserTimeout) {
  liveness::KeepaliveProfile p =
      parse({"--so-keepalive", "2:1:3", "--tcp-user-timeout", "4s"}).tcpKeepalive;
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.idleS, 2);
  EXPECT_EQ(p.intervalS, 1);
  EXPECT_EQ(p.count, 3);
  EXPECT_EQ(p.userTimeout, 4000);
  p = parse({"--so-keepalive", "30m::10"}).tcpKeepalive;
  EXPECT_EQ(p.idleS, 1800);
  EXPECT_EQ(p.intervalS, 0);
  EXPECT_EQ(p.userTimeout, 0);
  EXPECT_FALSE(parse({"--so-keepalive", "off"}).tcpKeepalive.enabled);
}

TEST(ServeOptions, SoKeepaliveRoundingIsReported) {
  CLI::App cmd;
  ServeArgs args;
  addServeOptions(cmd, args);
  cmd.parse(std::vector<std::string>{"2500ms::3", "--so-keepalive"});
  std::vector<std::string> warnings;
  http::ServerOptions o = toServerOptions(args, &warnings);
  EXPECT_EQ(o.tcpKeepalive.idleS, 3);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("rounded up to 3s"), std::string::npos) << warnings[0];
}

// Each command line is refused with one line that starts with its first option.
void expectRejectedNamingTheOption(const std::vector<std::vector<std::string>>& cases) {
  for (const auto& argv : cases) {
    try {
      parse(argv);
      ADD_FAILURE() << argv[0] << " " << argv[1] << " was accepted";
    } catch (const UsageError& e) {
      std::string message = e.what();
      EXPECT_EQ(message.rfind(argv[0] + ": ", 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(ServeOptions, BadKeepaliveValuesNameTheOption) {
  expectRejectedNamingTheOption({
      {"--so-keepalive", "40000:1:3"},
      {"--so-keepalive", "1:1:200"},
      {"--so-keepalive", "x"},
      {"--so-keepalive", "1:2:3:4"},
      {"--tcp-user-timeout", "soon"},
      {"--tcp-user-timeout", "30d"},
  });
}

TEST(ServeOptions, TlsDefaultsAndEveryListenerWithACertificate) {
  http::ServerOptions plain = parse({});
  EXPECT_FALSE(plain.anyTls());
  EXPECT_EQ(plain.tls.sessionTimeout, 300'000);
  EXPECT_EQ(plain.tlsHandshakeTimeout, 10'000);
  http::ServerOptions o =
      parse({"--tls-self-signed", "--listen", "127.0.0.1:0", "--listen", "[::1]:0",
             "--tls-session-timeout", "1m", "--tls-handshake-timeout", "3s", "--tls-ciphers",
             "HIGH", "--tls-ciphersuites", "TLS_AES_128_GCM_SHA256"});
  EXPECT_EQ(o.tlsListen, (std::vector<bool>{true, true}));
  EXPECT_TRUE(o.tls.selfSigned);
  EXPECT_EQ(o.tls.sessionTimeout, 60'000);
  EXPECT_EQ(o.tlsHandshakeTimeout, 3'000);
  EXPECT_EQ(o.tls.ciphers, "HIGH");
  EXPECT_EQ(o.tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
}

TEST(ServeOptions, TlsMarkerSelectsTheTlsListeners) {
  http::ServerOptions o =
      parse({"--tls-self-signed", "--listen", "127.0.0.1:8080", "--listen", "tls:127.0.0.1:8443"});
  ASSERT_EQ(o.listen.size(), 2u);
  EXPECT_EQ(o.listen[1].toString(), "127.0.0.1:8443");
  EXPECT_EQ(o.tlsListen, (std::vector<bool>{false, true}));
}

TEST(ServeOptions, BadTlsCombinationsNameTheOption) {
  expectRejectedNamingTheOption({
      {"--listen", "tls:127.0.0.1:0"},
      {"--tls-handshake-timeout", "0"},
      {"--tls-session-timeout", "never"},
  });
}

}  // namespace
}  // namespace tether::app
