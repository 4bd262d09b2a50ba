// One probe connection of `tether inspect`: connects, writes a scripted request
// (possibly several pipelined in one write), reads the responses with the shared
// ResponseParser, then either repeats a request until the server closes or waits
// for the server's close, timing it from the end of the last response.
//
// Thread: the loop's. Ownership: the runner owns the probes and keeps them alive
// until after the loop stopped running (timer callbacks check a generation).
// Time: the loop's clock, read with sub-millisecond precision for the close timing;
// timeouts are delayed calls on the loop (a ManualClock runs a probe in virtual time).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tether/http/client/response_parser.h"
#include "tether/net/event_loop.h"
#include "tether/net/stream.h"
#include "tether/net/tls_client.h"
#include "tether/tools/inspect.h"

namespace tether::tools::inspect {

namespace client = http::client;

struct ProbeScript {
  std::string first;            // written once connected
  std::vector<bool> headFlags;  // per response to `first`: it answers a HEAD
  std::string again;            // non-empty: sent after each response until close or cap
  std::uint64_t cap = 0;        // total requests in repeat mode
  Millis waitForClose = 0;      // after the last response: how long to wait for the close
  Millis requestTimeout = 5'000;
  std::optional<liveness::KeepaliveProfile> keepalive;  // applied before connect()
  net::TlsOrigin* tls = nullptr;  // https: starts the probe's TLS (outlives the probe)
};

class Probe final : public net::IoHandler {
 public:
  Probe(net::EventLoop& loop, const net::SocketAddress& target, ProbeScript script,
        std::function<void()> onDone);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  void start();
  const ProbeOutcome& outcome() const noexcept { return out_; }

 private:
  enum class State { kConnecting, kAwaiting, kWaitingClose, kDone };

  void onIoEvents(std::uint32_t events) override;
  void onConnected();
  void send(const std::string& bytes, std::size_t responses);
  void flush();
  void readAll();
  void onFailed(const char* what, int err);
  void consume(const char* data, std::size_t len, double nowMs);
  void onResponse(double nowMs);
  void afterResponses(double nowMs);
  void onPeerClosed(CloseStyle style);
  void onTimeout();
  void armTimer(Millis delay);
  void finish(std::string error);
  void noteHandshake();
  bool failedByTls(int err);
  double nowMs() const noexcept { return core::toMillisDouble(loop_.clock().nanos()); }

  net::EventLoop& loop_;
  net::SocketAddress target_;
  ProbeScript script_;
  std::function<void()> onDone_;
  client::ResponseParser parser_;
  ProbeOutcome out_;
  State state_ = State::kConnecting;
  net::Stream stream_;
  std::unique_ptr<net::TlsTransport> tls_;  // https only: the stream's transport
  double connectedMs_ = -1;                 // TCP connection writable (loop clock)
  std::string pending_;                     // bytes to write
  std::size_t written_ = 0;
  std::size_t outstanding_ = 0;  // responses still expected
  std::size_t headIndex_ = 0;    // index into headFlags for the next response
  std::uint64_t sent_ = 0;       // requests sent in repeat mode
  double lastResponseMs_ = -1;   // loop clock, end of the last complete response
  net::DelayedCallId timer_;
};

}  // namespace tether::tools::inspect
