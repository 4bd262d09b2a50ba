// Application heartbeat engine: decides when to ping, when the peer is dead,
// and whether the peer pings too often. One per connection; no I/O of its own.
//
// Semantics (gRPC A8, simplified; see docs/heartbeat-protocol.md):
//  - "Time since last byte read": any byte received resets the silence clock.
//    A ping is sent only after `interval` (± jitter) without reading anything.
//  - After a ping, the peer must send *some* byte within `timeout`. If it does
//    not, that ping is missed; after `missedPingsAllowed` further pings are
//    also missed the peer is declared dead. Detection bound after the last
//    byte read: interval·(1 + jitter) + (missedPingsAllowed + 1)·timeout.
//  - RTT is measured from a ping to the PONG echoing its opaque id.
//  - Receiving: a ping earlier than `minPingInterval` after the last accepted
//    one is a strike; more than `maxPingStrikes` strikes means too_many_pings.
//    Sending application data resets the strikes (A8: the peer may ping while
//    data flows). 0 disables either limit (as gRPC).
//
// Timers: one intrusive entry on the caller's TimerWheel, one deadline per
// state, re-checked lazily when it fires: reads only record a timestamp (the
// first read after a ping re-links once, since that moves the deadline earlier).
//
// Threading and ownership: loop-thread only. The engine holds references to
// the wheel and the host, which must outlive it. Host callbacks may call stop()
// or any other method but must not destroy the engine inside the callback.
// Times are milliseconds on the wheel's time base.
#pragma once

#include <cstdint>
#include <optional>

#include "tether/core/timer_wheel.h"

namespace tether::liveness {

using core::Millis;

struct HeartbeatConfig {
  Millis interval = 10'000;      // read silence before a ping; 0 = never ping
  Millis timeout = 20'000;       // wait for any byte after a ping
  int missedPingsAllowed = 0;    // pings that may time out before the peer is dead
  int jitterPercent = 0;         // each interval drawn uniformly in ±pct (0..50)
  Millis minPingInterval = 500;  // receiver policy; 0 = accept any rate
  int maxPingStrikes = 2;        // early pings tolerated; 0 = unlimited
  /// Ping deadlines rounded up to a multiple of this on the loop's clock, so
  /// that the pings of many connections go out in one wake-up and their pongs
  /// come back together (a server with 10,000 WebSockets wakes a few times a
  /// second instead of at every millisecond). Adds at most this much to the
  /// time to a ping, and so to the detection bound. 0: exact deadlines.
  Millis batch = 0;
};

/// What the engine asks of its connection. Loop thread.
class HeartbeatHost {
 public:
  /// Write a PING carrying `opaque` (the peer echoes it in its PONG).
  virtual void heartbeatSendPing(std::uint64_t opaque) = 0;
  /// The peer missed its pings: close the connection (reason heartbeat_timeout).
  /// The engine is stopped before this is called.
  virtual void heartbeatPeerDead() = 0;

 protected:
  ~HeartbeatHost() = default;
};

class HeartbeatEngine {
 public:
  enum class PingVerdict : std::uint8_t { kAnswer, kTooManyPings };

  /// `seed` drives the jitter (deterministic for a given seed).
  HeartbeatEngine(core::TimerWheel& wheel, HeartbeatHost& host, const HeartbeatConfig& config,
                  std::uint64_t seed);
  ~HeartbeatEngine() { stop(); }
  HeartbeatEngine(const HeartbeatEngine&) = delete;
  HeartbeatEngine& operator=(const HeartbeatEngine&) = delete;

  /// The connection is established at `now`: the silence clock starts.
  void start(Millis now);
  /// No more pings or timeouts (idempotent). Received pings are still judged.
  void stop() noexcept;

  /// Any bytes were read at `now`. O(1); touches the wheel only while a ping is unanswered.
  void onBytesRead(Millis now);
  /// A PING arrived at `now` (call onBytesRead first). kTooManyPings: send
  /// GOODBYE(too_many_pings) and close; otherwise answer with a PONG.
  PingVerdict onPingReceived(Millis now);
  /// A PONG arrived: its RTT in ms when it echoes the latest ping, else nullopt.
  std::optional<Millis> onPongReceived(std::uint64_t opaque, Millis now);
  /// This side sent application data: the peer's ping strikes are forgiven.
  void onDataSent() noexcept;

  /// Changes the ping interval at run time (adaptive mode); 0 turns pings off.
  /// Takes effect for the current silence period.
  void setInterval(Millis interval);

  bool running() const noexcept { return running_; }
  bool awaitingReply() const noexcept { return probing_; }
  Millis lastRead() const noexcept { return lastRead_; }
  Millis currentInterval() const noexcept { return currentInterval_; }
  int strikes() const noexcept { return strikes_; }
  int missed() const noexcept { return missed_; }
  std::uint64_t pingsSent() const noexcept { return sequence_; }
  /// When the engine will next act (ping or timeout), or TimerWheel::kNever.
  Millis deadline() const noexcept;

 private:
  void onTimer();
  void fire(Millis now);
  void sendPing(Millis now);
  void arm();
  Millis drawInterval() noexcept;

  core::TimerWheel& wheel_;
  HeartbeatHost& host_;
  HeartbeatConfig config_;
  core::Timer<HeartbeatEngine, &HeartbeatEngine::onTimer> timer_{this};
  std::uint64_t rng_;
  Millis currentInterval_ = 0;
  Millis lastRead_ = 0;
  Millis lastPingSent_ = 0;
  Millis lastValidPing_ = 0;
  std::uint64_t sequence_ = 0;     // opaque of the latest ping sent
  std::uint64_t outstanding_ = 0;  // opaque awaiting its PONG (0: none)
  int missed_ = 0;
  int strikes_ = 0;
  bool running_ = false;
  bool probing_ = false;  // a ping was sent and nothing was read since
  bool hasValidPing_ = false;
};

}  // namespace tether::liveness
