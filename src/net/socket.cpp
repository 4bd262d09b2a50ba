#include "tether/net/socket.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace tether::net {

int SocketAddress::port() const noexcept {
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

void SocketAddress::setPort(int p) noexcept {
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(static_cast<uint16_t>(p));
  } else {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(static_cast<uint16_t>(p));
  }
}

std::string SocketAddress::toString() const {
  char host[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, host,
              sizeof host);
    return fmt::format("[{}]:{}", host, port());
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, port());
}

std::optional<SocketAddress> parseSocketAddress(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view portText = text.substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  SocketAddress addr;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr.storage);
    in6->sin6_family = AF_INET6;
    std::string h(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) != 1) return std::nullopt;
    addr.length = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&addr.storage);
    in4->sin_family = AF_INET;
    std::string h(host == "*" ? "0.0.0.0" : host);
    if (inet_pton(AF_INET, h.c_str(), &in4->sin_addr) != 1) return std::nullopt;
    addr.length = sizeof(sockaddr_in);
  }
  addr.setPort(port);
  return addr;
}

namespace {

// A bound TCP socket (not yet listening), or -1 with errno set.
int boundSocket(const SocketAddress& addr, bool reusePort) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT leftovers do not block
  if (reusePort) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr.raw(), addr.length) < 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// The kernel refuses a bind without SO_REUSEPORT while any socket listens on the
// port (SO_REUSEADDR only covers TIME_WAIT), so a probe bind tells whether a
// kExclusive listener would be alone. The probe is closed before the real bind:
// a server started in between would still be joined, a window of microseconds.
bool portFree(const SocketAddress& addr) {
  int probe = boundSocket(addr, /*reusePort=*/false);
  if (probe < 0) return false;
  ::close(probe);
  return true;
}

}  // namespace

int listenTcp(const SocketAddress& addr, int backlog, SocketAddress* bound, PortSharing sharing) {
  if (sharing == PortSharing::kExclusive && addr.port() != 0 && !portFree(addr)) return -1;
  int fd = boundSocket(addr, /*reusePort=*/true);
  if (fd < 0) return -1;
  if (listen(fd, backlog) < 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  if (bound) *bound = localAddress(fd);
  return fd;
}

SocketAddress localAddress(int fd) {
  SocketAddress addr;
  addr.length = sizeof addr.storage;
  getsockname(fd, addr.raw(), &addr.length);
  return addr;
}

SocketAddress peerAddress(int fd) {
  SocketAddress addr;
  addr.length = sizeof addr.storage;
  getpeername(fd, addr.raw(), &addr.length);
  return addr;
}

void setLingerReset(int fd) {
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

SocketAddress peerAddressEvenIfClosed(int fd) {
  SocketAddress addr = peerAddress(fd);
  if (addr.family() != AF_UNSPEC) return addr;
  // getpeername() refuses a socket in TCP_CLOSE; SO_PEERNAME asks the stack
  // for the address it still holds, but wants the exact size of the family's
  // address (larger is EINVAL), which getsockname() tells.
  addr.length = localAddress(fd).family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERNAME, addr.raw(), &addr.length) != 0) addr = {};
  return addr;
}

namespace {

bool setInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

bool getInt(int fd, int level, int name, int& value) {
  socklen_t len = sizeof value;
  return getsockopt(fd, level, name, &value, &len) == 0;
}

}  // namespace

bool setKeepalive(int fd, bool on, int idleS, int intvlS, int cnt) {
  if (!setInt(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0)) return false;
  if (idleS > 0 && !setInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, idleS)) return false;
  if (intvlS > 0 && !setInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvlS)) return false;
  return cnt <= 0 || setInt(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt);
}

bool setNoDelay(int fd) { return setInt(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

bool setUserTimeout(int fd, unsigned ms) {
  return setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms) == 0;
}

std::optional<KeepaliveSettings> getKeepalive(int fd) {
  KeepaliveSettings s;
  int on = 0, uto = 0;
  if (!getInt(fd, SOL_SOCKET, SO_KEEPALIVE, on) ||
      !getInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, s.idleS) ||
      !getInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, s.intvlS) ||
      !getInt(fd, IPPROTO_TCP, TCP_KEEPCNT, s.cnt) ||
      !getInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, uto)) {
    return std::nullopt;
  }
  s.on = on != 0;
  s.userTimeoutMs = static_cast<unsigned>(uto);
  return s;
}

std::optional<TcpRetransmitState> getRetransmitState(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  return TcpRetransmitState{info.tcpi_retransmits, info.tcpi_backoff, info.tcpi_probes,
                            info.tcpi_unacked};
}

}  // namespace tether::net
