// Test-only: a NAT with an idle timeout, on the test's loop, in front of a
// heartbeat server. It listens on 127.0.0.1, relays each accepted connection to
// `target`, and forgets a flow that has been idle (no byte in either direction)
// for longer than `idleTimeout` in loop time. The next byte of a forgotten flow
// is answered with an RST to the client (kReset: SO_LINGER 0 close of the
// client's side; the server's side is closed) or dropped like every byte after
// it (kDrop: a blackhole, the client's heartbeat times out). A flow idle for
// exactly `idleTimeout` survives.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tether/core/time.h"
#include "tether/net/acceptor.h"
#include "tether/net/event_loop.h"
#include "tether/net/socket.h"

namespace tether::liveness::testing {

using core::Millis;

class NatModel final : private net::Acceptor::Owner {
 public:
  enum class Expiry { kReset, kDrop };

  NatModel(net::EventLoop& loop, const net::SocketAddress& target, Millis idleTimeout,
           Expiry expiry)
      : loop_(loop), target_(target), idleTimeout_(idleTimeout), expiry_(expiry) {
    auto any = net::parseSocketAddress("127.0.0.1:0");
    int fd = net::listenTcp(*any, 64, &address_);
    EXPECT_GE(fd, 0);
    acceptor_ = std::make_unique<net::Acceptor>(loop_, fd, static_cast<Owner&>(*this), false);
  }
  ~NatModel() {
    for (auto& f : flows_) f->close();
  }
  NatModel(const NatModel&) = delete;
  NatModel& operator=(const NatModel&) = delete;

  /// Where clients connect.
  const net::SocketAddress& address() const noexcept { return address_; }
  /// Flows relayed so far, and how many of them expired.
  int flows() const noexcept { return static_cast<int>(flows_.size()); }
  int expired() const noexcept { return expired_; }

 private:
  struct Flow;
  struct Side final : net::IoHandler {
    Flow* flow = nullptr;
    Side* other = nullptr;
    int fd = -1;
    void onIoEvents(std::uint32_t) override { flow->pump(*this); }
  };
  struct Flow {
    NatModel* nat = nullptr;
    Side client, server;
    Millis lastActivity = 0;
    bool dead = false;  // forgotten in kDrop mode: a blackhole
    bool closed = false;

    void pump(Side& from) {
      char buf[4096];
      while (!closed) {
        ssize_t n = ::read(from.fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) return close();  // EOF or error: end the flow both ways
        Millis now = nat->loop_.now();
        if (!dead && now - lastActivity > nat->idleTimeout_) expire();
        if (closed || dead) continue;
        lastActivity = now;
        ssize_t sent = ::send(from.other->fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
        if (sent != n) return close();  // the other side is gone (or, unexpectedly, full)
      }
    }
    void expire() {
      ++nat->expired_;
      if (nat->expiry_ == Expiry::kDrop) {
        dead = true;
        return;
      }
      net::setLingerReset(client.fd);
      close();
    }
    void close() {
      if (closed) return;
      closed = true;
      for (Side* s : {&client, &server}) {
        nat->loop_.removeFd(s->fd, s);
        ::close(s->fd);
      }
    }
  };

  void onAccepted(int fd) override {
    // A blocking connect to a loopback listener completes at once.
    int up = ::socket(target_.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::connect(up, target_.raw(), target_.length), 0);
    ::fcntl(up, F_SETFL, ::fcntl(up, F_GETFL) | O_NONBLOCK);
    auto flow = std::make_unique<Flow>();
    flow->nat = this;
    flow->lastActivity = loop_.now();
    flow->client.fd = fd;
    flow->server.fd = up;
    for (Side* s : {&flow->client, &flow->server}) s->flow = flow.get();
    flow->client.other = &flow->server;
    flow->server.other = &flow->client;
    loop_.addFd(fd, EPOLLIN | EPOLLRDHUP, &flow->client);
    loop_.addFd(up, EPOLLIN | EPOLLRDHUP, &flow->server);
    flows_.push_back(std::move(flow));
  }

  net::EventLoop& loop_;
  net::SocketAddress target_, address_;
  Millis idleTimeout_;
  Expiry expiry_;
  int expired_ = 0;
  std::unique_ptr<net::Acceptor> acceptor_;
  std::vector<std::unique_ptr<Flow>> flows_;
};

/// Test names for suites parameterized by the expiry: "Reset", "Drop".
inline std::string expiryName(const ::testing::TestParamInfo<NatModel::Expiry>& p) {
  return p.param == NatModel::Expiry::kReset ? "Reset" : "Drop";
}

}  // namespace tether::liveness::testing
