// `tether inspect ws://…`: what keeps a quiet WebSocket alive on a path, and
// what ends it.
//
// runWsInspection() opens three WebSocket connections at once, none of which
// sends a message:
//   - a browser: answers the server's pings (as browsers do by themselves);
//   - a mute peer: answers nothing (a hung tab or a dead client);
//   - a pinger: answers pings and pings every `pingInterval` itself;
// and records, for each, the server's pings and how and when the connection
// ended (a close frame with its code, a FIN or reset without one, or still open
// at `maxIdleWait`). buildWsReport() turns that into findings and advice (pure,
// unit-tested); formatWsText()/formatWsJson() print them.
//
// Units: milliseconds. Thread: runWsInspection() runs its own loop on the
// calling thread, which it blocks; the rest is pure.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tether/core/timer_wheel.h"
#include "tether/net/socket.h"

namespace tether::tools::inspect {

using core::Millis;

struct WsProgress {
  Millis elapsedMs = 0;
  int open = 0;  // probe connections still open
  Millis maxIdleWait = 0;
};

struct WsConfig {
  net::SocketAddress target;
  std::string host;              // the Host header (the URL's authority)
  std::string path;              // path and query of the upgrade request
  std::string url;               // as given, for the report
  Millis maxIdleWait = 120'000;  // how long the quiet probes wait at most
  Millis pingInterval = 5'000;   // the pinger's interval
  Millis timeout = 5'000;        // the connect and 101, and each of the pinger's pongs
  std::function<void(const WsProgress&)> progress;  // every kProgressEveryMs; may be empty
};

enum class WsEnd : std::uint8_t {
  kOpen,        // still open at maxIdleWait (we closed it: 1000)
  kCloseFrame,  // the server (or a proxy speaking WebSocket) sent a close frame
  kFin,         // the TCP connection ended without a close frame
  kReset,       // ECONNRESET
  kNoPong,      // the pinger's ping went unanswered for `timeout`
  kFailed,      // no WebSocket: connect error, refused upgrade, protocol error
};
const char* wsEndName(WsEnd end) noexcept;  // "open", "close_frame", "fin", ...

struct WsProbeSeen {
  WsEnd end = WsEnd::kOpen;
  std::string error;                  // kFailed: why, one line
  double openedMs = -1;               // the 101, from the start of the connect
  double endedMs = -1;                // from the 101 to the end (kOpen: how long it was watched)
  std::vector<double> serverPingsMs;  // when the server pinged, from the 101
  std::uint16_t closeCode = 0;        // kCloseFrame (0: the frame had none)
  std::string closeReason;            // kCloseFrame
  int pingsSent = 0, pongs = 0;       // the pinger's
  double rttMs = -1;                  // the pinger's median RTT
};

struct WsResult {
  WsProbeSeen browser, mute, pinger;
  Millis elapsedMs = 0;
};

/// Throws std::runtime_error (one line) when no probe reaches a WebSocket at
/// all (connection refused, a refused upgrade).
WsResult runWsInspection(const WsConfig& config);

// ---------------------------------------------------------------- report (pure)

struct WsReport {
  std::string url;
  double handshakeMs = -1;
  bool serverPings = false;
  double serverPingIntervalMs = -1;  // median gap (the first ping counts from the 101)
  /// How long a quiet connection lasts on this path: the shortest life of the
  /// browser and the mute probes that did not stay open; -1: both outlived the wait.
  double quietLimitMs = -1;
  std::string quietLimitBy;        // who ends it: "server" (close frame) or "path" (FIN/RST)
  bool clientPingsHelp = false;    // the pinger outlived quietLimitMs
  bool clientPingsTested = false;  // the pinger pinged before the quiet limit
  std::vector<std::string> findings, advice;
  Millis maxIdleWait = 0, pingInterval = 0;
  WsResult result;
};

WsReport buildWsReport(const WsConfig& config, const WsResult& result);
std::string formatWsText(const WsReport& report);
std::string formatWsJson(const WsReport& report);

}  // namespace tether::tools::inspect
