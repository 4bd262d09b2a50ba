// One load-generating connection of `tether bench`, on its worker's loop thread.
//
// States: closed -> connecting -> ready (idle) <-> busy (requests in flight);
// without keep-alive, busy -> draining (response read, waiting for the server's
// FIN so that the server closes first, as with ab) -> closed.
//
// The socket is registered once, edge-triggered, for IN|OUT|RDHUP and never
// modified: no epoll_ctl per request (wrk adds and removes the writable event for
// every request). A batch is written with one send(); reads go into the worker's
// shared buffer until a short read (edge-triggered: a short read drained the
// socket, later data raises a new edge). One lazily re-armed timer entry per
// connection: per-request work only updates a timestamp.
#pragma once

#include <cstdint>

#include "tether/core/timer_wheel.h"
#include "tether/http/client/response_framer.h"
#include "tether/net/event_loop.h"
#include "tether/net/stream.h"
#include "tether/net/tls.h"

namespace tether::tools::bench {

namespace client = http::client;

class BenchWorker;

class BenchConnection final : public net::IoHandler {
 public:
  enum class State : std::uint8_t { kClosed, kConnecting, kReady, kBusy, kDraining, kBackoff };

  explicit BenchConnection(BenchWorker& worker);
  ~BenchConnection();
  BenchConnection(const BenchConnection&) = delete;
  BenchConnection& operator=(const BenchConnection&) = delete;

  /// Sends `count` requests (one batch) whose latency counts from `startNs`;
  /// connects first when closed. The timeout counts from now (an open-loop
  /// request issued late is not already expired). `fromWrite`: restart the clock at the write
  /// (closed loop: connect time is not request latency). `charged`: the batch was
  /// taken from the worker's -n budget (requests the server never processes go back).
  void issue(std::uint32_t count, std::uint64_t startNs, bool fromWrite, bool charged);
  /// Closes without counting anything (end of run). In-flight requests are dropped.
  void close();

  State state() const noexcept { return state_; }
  /// No request in flight, not waiting for anything.
  bool quiescent() const noexcept {
    return state_ == State::kClosed || state_ == State::kReady || state_ == State::kBackoff;
  }
  std::uint32_t inFlight() const noexcept { return inFlight_; }

  /// Open loop: waiting in the worker's list of free connections (worker-owned flag).
  bool parked = false;

  void onIoEvents(std::uint32_t events) override;

 private:
  enum class Failure : std::uint8_t { kConnect, kTls, kReset, kTimeout, kRead, kParse };

  void connect();
  void onConnected();
  void flush();
  void readAll(bool peerClosed);
  void consume(const char* data, std::size_t len, std::uint64_t nowNs);
  void recordResponse(std::uint64_t nowNs);
  void giveBackUnanswered();
  void onEof();
  void fail(Failure why, int err);
  void failOnError(int err);
  void closeFd();
  void noteHandshake();
  bool tlsFailed(int err) const noexcept;
  void becomeIdle(std::uint64_t nowNs);
  void armTimer(core::Millis deadline);
  core::Millis deadline() const noexcept;
  void onTimer();

  BenchWorker& worker_;
  net::Stream stream_;
  std::unique_ptr<net::TlsTransport> tls_;  // https only: the stream's transport
  State state_ = State::kClosed;
  bool handshakeCounted_ = false;
  std::uint64_t connectedNs_ = 0;  // TCP connection writable: the handshake clock starts
  bool fromWrite_ = false;
  bool charged_ = false;           // the batch in flight counts against -n
  bool countedUsed_ = false;       // counted in connectionsUsed
  std::uint32_t inFlight_ = 0;     // responses still expected
  std::size_t writeOffset_ = 0;    // into worker.batch()
  std::size_t writeEnd_ = 0;       // batch bytes to write
  std::uint64_t startNs_ = 0;      // latency clock of the batch in flight
  core::Millis issuedMs_ = 0;      // when it was really issued: the timeout counts from here
  std::uint64_t responses_ = 0;    // complete responses on this connection
  core::Millis stateSinceMs_ = 0;  // connect start, drain start, backoff start
  std::uint32_t generation_ = 0;   // changes on every close
  core::Timer<BenchConnection, &BenchConnection::onTimer> timer_{this};
  client::ResponseFramer framer_;
};

}  // namespace tether::tools::bench
