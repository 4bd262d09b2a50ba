// An embeddable HTTP/1.1 server with keep-alive policy (see ServerOptions).
//
// Threading: one worker thread per ServerOptions::workers, each with its own
// epoll loop and SO_REUSEPORT listener; a connection lives on one worker for its
// whole life. Handlers run on worker threads, concurrently across workers, so a
// handler must be safe to call from several threads at once. Configure (handle,
// setFallback) before run(); stop() and stats() are safe from any thread.
//
//   tether::http::Server server(options);
//   server.handle("/hello", [](const Request&, Response& res) { res.setBody("hi\n"); });
//   server.bind();
//   server.run();  // returns after stop() and a graceful drain
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/http/request.h"
#include "tether/http/response.h"
#include "tether/http/server_options.h"
#include "tether/http/server_stats.h"

namespace tether::net {
class EventLoop;
class TlsContext;
}  // namespace tether::net

namespace tether::http {

class Worker;
struct SharedCounters;

using Handler = std::function<void(const Request&, Response&)>;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Routes requests whose path equals `path` exactly, whatever their method
  /// (replaces an earlier route of that path).
  void handle(std::string path, Handler handler);
  /// The same for the methods listed in `allow`, comma-separated as in an Allow
  /// header ("GET, HEAD"); a request with any other method is answered 405
  /// Method Not Allowed with that Allow header, the handler is not called.
  void handle(std::string path, std::string allow, Handler handler);
  /// Handles every request no route matched (default: 404).
  void setFallback(Handler handler);

  /// Resolves ServerOptions::ioBackend (auto: io_uring when the kernel allows
  /// it; std::runtime_error when io_uring was asked for and is refused), then
  /// creates every worker's listening sockets. Throws std::system_error naming
  /// the address on failure: EADDRINUSE also when another process listens on
  /// it with SO_REUSEPORT, unless ServerOptions::sharePort. Port 0 is resolved
  /// once and shared by all workers. With a TLS listener, first builds the TLS
  /// context (std::runtime_error naming the certificate or option at fault).
  void bind();
  /// After bind(), with `auto` resolved to epoll: why io_uring was not taken.
  const std::string& ioBackendFallback() const noexcept { return ioBackendFallback_; }
  /// Addresses actually bound (valid after bind()).
  const std::vector<net::SocketAddress>& boundAddresses() const noexcept { return bound_; }

  /// Runs the workers; blocks until stop() was called and the drain finished
  /// (or ServerOptions::shutdownTimeout expired).
  void run();
  /// Any thread (not from a signal handler): begin a graceful shutdown.
  void stop();

  /// Any thread: counters summed over workers.
  ServerStatsSnapshot stats() const;
  /// Runs `fn` every `period` ms on the first worker's loop thread, from run()
  /// until the shutdown begins: for samplers (keep it short, it delays that
  /// worker's connections). Call before run().
  void every(Millis period, std::function<void()> fn);
  const ServerOptions& options() const noexcept { return options_; }

  /// Worker threads: route a parsed request.
  void dispatch(const Request& req, Response& res) const;
  /// Serve the TLS listeners with `ctx` instead of one bind() builds from
  /// ServerOptions::tls (call before bind()).
  void setTlsContext(std::unique_ptr<net::TlsContext> ctx);
  /// The TLS context of the TLS listeners (built by bind(); nullptr: none).
  const net::TlsContext* tlsContext() const noexcept { return tls_.get(); }
  /// Effective connection limit (options, or derived from RLIMIT_NOFILE).
  std::uint64_t maxConnections() const noexcept { return maxConnections_; }

 private:
  void resolveIoBackend();

  ServerOptions options_;
  std::uint64_t maxConnections_ = 0;
  std::string ioBackendFallback_;
  int accessLogFd_ = -1;
  std::unique_ptr<SharedCounters> shared_;
  std::unique_ptr<net::TlsContext> tls_;
  struct Route {
    std::string path;
    std::string allow;  // empty: every method
    Handler handler;
  };
  // A handful of exact paths: a linear scan beats hashing every request path.
  std::vector<Route> routes_;
  Handler fallback_;
  std::vector<std::pair<Millis, std::function<void()>>> periodic_;
  std::vector<net::SocketAddress> bound_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace tether::http
