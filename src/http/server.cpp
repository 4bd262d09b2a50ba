#include "tether/http/server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "tether/net/tls.h"
#include "worker.h"

namespace tether::http {
namespace {

// Descriptors kept back for listeners, log files and files being served.
constexpr std::uint64_t kReservedFds = 64;

// The soft descriptor limit, as the process has it (the library does not change
// it: raising it is the program's choice, as `tether serve` does).
std::uint64_t softFdLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  return lim.rlim_cur;
}

// Whether the comma-separated `list` ("GET, HEAD") names `method` (methods are
// case-sensitive tokens, RFC 9110 9.1).
bool listsMethod(std::string_view list, std::string_view method) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (trimOws(list.substr(0, comma)) == method) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void notFound(const Request&, Response& res) {
  res.setStatus(404);
  res.setContentType("text/plain");
  res.setBody("Not Found\n");
}

}  // namespace

std::string_view closeReasonName(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::kClientClosed: return "client_closed";
    case CloseReason::kClientRequested: return "client_requested";
    case CloseReason::kKeepaliveDisabled: return "keepalive_disabled";
    case CloseReason::kIdleTimeout: return "idle_timeout";
    case CloseReason::kMaxRequests: return "max_requests";
    case CloseReason::kLifetime: return "lifetime";
    case CloseReason::kHeaderTimeout: return "header_timeout";
    case CloseReason::kBodyTimeout: return "body_timeout";
    case CloseReason::kSendTimeout: return "send_timeout";
    case CloseReason::kBadRequest: return "bad_request";
    case CloseReason::kError: return "error";
    case CloseReason::kEviction: return "eviction";
    case CloseReason::kShutdown: return "shutdown";
    case CloseReason::kKeepaliveTimeout: return "keepalive_timeout";
    case CloseReason::kUserTimeout: return "user_timeout";
    case CloseReason::kClientReset: return "client_reset";
    case CloseReason::kTlsHandshakeTimeout: return "tls_handshake_timeout";
    case CloseReason::kTlsPlainHttp: return "tls_plain_http";
    case CloseReason::kTlsAlert: return "tls_alert";
    case CloseReason::kTlsProtocolError: return "tls_protocol_error";
    case CloseReason::kWsClosed: return "ws_closed";
    case CloseReason::kWsProtocolError: return "ws_protocol_error";
    case CloseReason::kWsPingTimeout: return "ws_ping_timeout";
    case CloseReason::kWsTooManyPings: return "ws_too_many_pings";
    case CloseReason::kWsIdleTimeout: return "ws_idle_timeout";
    case CloseReason::kWsCloseTimeout: return "ws_close_timeout";
    case CloseReason::kSseEnded: return "sse_ended";
    case CloseReason::kCount: break;
  }
  return "unknown";
}

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      maxConnections_(options_.maxConnections),  // bind() derives it when 0
      shared_(std::make_unique<SharedCounters>()),
      fallback_(&notFound) {
  if (options_.listen.empty())
    options_.listen.push_back(*net::parseSocketAddress("127.0.0.1:8080"));
  if (options_.workers <= 0) {
    options_.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
}

Server::~Server() {
  workers_.clear();  // before the TLS context their connections use
  if (accessLogFd_ > 1) ::close(accessLogFd_);
}

void Server::handle(std::string path, Handler handler) {
  handle(std::move(path), std::string(), std::move(handler));
}

void Server::handle(std::string path, std::string allow, Handler handler) {
  for (Route& r : routes_) {
    if (r.path == path) {
      r.allow = std::move(allow);
      r.handler = std::move(handler);
      return;
    }
  }
  routes_.push_back({std::move(path), std::move(allow), std::move(handler)});
}

void Server::setFallback(Handler handler) { fallback_ = std::move(handler); }

void Server::dispatch(const Request& req, Response& res) const {
  // "OPTIONS *" (RFC 9110 §9.3.7) asks about the server, not a resource: the
  // request parser lets "*" through with OPTIONS only.
  if (req.path == "*") return res.setStatus(200);
  for (const Route& r : routes_) {
    if (r.path != req.path) continue;
    if (r.allow.empty() || listsMethod(r.allow, req.method)) return r.handler(req, res);
    res.setStatus(405);
    res.addHeader("Allow", r.allow);
    res.setContentType("text/plain");
    return res.setBody("Method Not Allowed\n");
  }
  fallback_(req, res);
}

void Server::setTlsContext(std::unique_ptr<net::TlsContext> ctx) { tls_ = std::move(ctx); }

void Server::bind() {
  resolveIoBackend();
  if (options_.anyTls() && !tls_) tls_ = net::TlsContext::server(options_.tls);
  std::uint64_t fdLimit = softFdLimit();
  maxConnections_ = options_.maxConnections != 0
                        ? options_.maxConnections
                        : (fdLimit > 2 * kReservedFds ? fdLimit - kReservedFds : fdLimit / 2);
  if (!options_.accessLog.empty() && options_.accessLog != "off") {
    accessLogFd_ =
        options_.accessLog == "-"
            ? STDOUT_FILENO
            : ::open(options_.accessLog.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (accessLogFd_ < 0) {
      throw std::system_error(errno, std::generic_category(), "access log " + options_.accessLog);
    }
  }
  std::vector<std::vector<int>> fds(static_cast<std::size_t>(options_.workers));
  for (const net::SocketAddress& requested : options_.listen) {
    net::SocketAddress addr = requested;
    // The first worker's listener must be alone on the port (unless sharing was
    // asked for); the other workers join it.
    net::PortSharing sharing =
        options_.sharePort ? net::PortSharing::kJoin : net::PortSharing::kExclusive;
    for (auto& workerFds : fds) {
      net::SocketAddress bound;
      int fd = net::listenTcp(addr, options_.listenBacklog, &bound, sharing);
      if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "listen " + addr.toString());
      }
      sharing = net::PortSharing::kJoin;
      workerFds.push_back(fd);
      if (!liveness::applyKeepaliveProfile(fd, options_.tcpKeepalive)) {
        throw std::system_error(errno, std::generic_category(),
                                "TCP keepalive options on " + addr.toString());
      }
      addr = bound;  // port 0 resolved: the other workers join the same port
    }
    bound_.push_back(addr);
  }
  for (auto& workerFds : fds) {
    workers_.push_back(
        std::make_unique<Worker>(*this, std::move(workerFds), *shared_, accessLogFd_));
  }
}

// Before any socket exists: a refused io_uring is an error of the options, not
// of a worker half-built.
void Server::resolveIoBackend() {
  std::string why;
  if (options_.ioBackend == net::IoBackend::kIoUring && !net::makeIoUringBackend(&why)) {
    throw std::runtime_error("--io-backend io_uring: the kernel refuses io_uring (" + why +
                             "); use --io-backend epoll or auto");
  }
  options_.ioBackend = net::resolveIoBackend(options_.ioBackend, &why);
  if (options_.ioBackend == net::IoBackend::kEpoll) ioBackendFallback_ = why;
}

void Server::every(Millis period, std::function<void()> fn) {
  periodic_.emplace_back(period, std::move(fn));
}

void Server::run() {
  if (workers_.empty()) bind();
  for (auto& [period, fn] : periodic_) workers_.front()->addPeriodic(period, fn);
  for (auto& w : workers_) w->start();
  for (auto& w : workers_) w->join();
}

void Server::stop() {
  for (auto& w : workers_) w->requestShutdown();
}

ServerStatsSnapshot Server::stats() const {
  ServerStatsSnapshot s;
  for (const auto& w : workers_) w->stats().addTo(s);
  return s;
}

}  // namespace tether::http
