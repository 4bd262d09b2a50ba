// The pool behind tether/http/pool.h: connection table, LIFO idle list, FIFO
// wait queue, reuse and retry decisions. Loop thread only.
#pragma once

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client_connection.h"
#include "exchange.h"
#include "tether/http/pool.h"
#include "tether/net/tls_client.h"

namespace tether::http::client {

class PoolImpl {
 public:
  PoolImpl(net::EventLoop& loop, const net::SocketAddress& origin, std::string host,
           const PoolOptions& options);
  ~PoolImpl();

  void request(ClientRequest request, Pool::Callback done);
  void cancelAll();
  void closeIdle();
  PoolStats stats() const;

  // --- From connections (loop thread) ---
  void onResponse(ClientConnection& conn, std::unique_ptr<Exchange> ex, bool reusable,
                  std::int64_t hintSeconds);
  void onFailure(ClientConnection& conn, std::unique_ptr<Exchange> ex, const AttemptFailure& f);
  void onIdlePeerClosed(ClientConnection& conn);
  void onIdleExpired(ClientConnection& conn);
  net::EventLoop& loop() noexcept { return loop_; }
  const PoolOptions& options() const noexcept { return options_; }
  const std::string& host() const noexcept { return host_; }
  /// https: the origin that starts each connection's TLS (nullptr for http).
  net::TlsOrigin* tls() noexcept { return tls_.get(); }
  void onTlsHandshake(bool resumed) noexcept {
    ++(resumed ? stats_.tlsResumedHandshakes : stats_.tlsFullHandshakes);
  }
  char* readBuffer() noexcept { return readBuffer_.data(); }
  std::size_t readBufferSize() const noexcept { return readBuffer_.size(); }

 private:
  void dispatch(std::unique_ptr<Exchange> ex);
  ClientConnection* takeIdle();
  void openFor(std::unique_ptr<Exchange> ex);
  void pumpQueue();
  void deliver(std::unique_ptr<Exchange> ex);
  void retire(ClientConnection& conn);
  void pushIdle(ClientConnection& conn);
  void unlinkIdle(ClientConnection& conn);
  void freeRetired();

  net::EventLoop& loop_;
  net::SocketAddress origin_;
  std::string host_;
  PoolOptions options_;
  PoolStats stats_;
  std::unique_ptr<net::TlsOrigin> tls_;  // declared before the connections: outlives them
  std::vector<std::unique_ptr<ClientConnection>> conns_;    // open or connecting
  std::vector<std::unique_ptr<ClientConnection>> retired_;  // freed at iteration end
  ClientConnection* idleHead_ = nullptr;                    // most recently used
  ClientConnection* idleTail_ = nullptr;
  std::deque<std::unique_ptr<Exchange>> queue_;
  std::vector<char> readBuffer_;
  std::mt19937_64 rng_;
  std::uint64_t nextId_ = 1;
  std::shared_ptr<PoolImpl*> alive_;  // read by the loop hook after we are gone
};

}  // namespace tether::http::client
