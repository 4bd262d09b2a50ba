// Socket addresses and the few socket calls the rest of the code needs.
// Plain functions over file descriptors; thread-safe.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace tether::net {

/// An IPv4 or IPv6 socket address.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* raw() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* raw() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const noexcept { return storage.ss_family; }
  int port() const noexcept;
  void setPort(int port) noexcept;
  /// `127.0.0.1:8080` or `[::1]:8080`.
  std::string toString() const;
};

/// Parses `HOST:PORT` with a numeric IPv4 host, `[IPV6]:PORT`, or `*:PORT`
/// (all IPv4 interfaces). No DNS. Port 0 asks the kernel for a free port.
std::optional<SocketAddress> parseSocketAddress(std::string_view text);

/// Creates a non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT, so
/// every worker can bind its own listener to the same address. Returns the fd,
/// or -1 with errno set. `bound` receives the actual address (port 0 resolved).
int listenTcp(const SocketAddress& addr, int backlog, SocketAddress* bound);

/// The local or peer address of a connected socket.
SocketAddress localAddress(int fd);
SocketAddress peerAddress(int fd);

/// Sets SO_LINGER {on, 0}: the next close() sends RST and frees buffers at once.
void setLingerReset(int fd);

}  // namespace tether::net
