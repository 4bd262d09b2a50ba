// Socket addresses and the few socket calls the rest of the code needs.
// Plain functions over file descriptors; thread-safe.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
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

/// Whether a listener may join a port that other sockets already listen on.
enum class PortSharing : std::uint8_t {
  /// Refuse (EADDRINUSE) if any socket listens on the address, even one with
  /// SO_REUSEPORT that this one could silently join: two unrelated servers on
  /// one port would split its connections between them.
  kExclusive,
  /// Join the SO_REUSEPORT group already there: the other workers of this
  /// process, or a new process taking over a port during a restart.
  kJoin,
};

/// Creates a non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT, so
/// every worker can bind its own listener to the same address (the first with
/// kExclusive, the rest with kJoin). Returns the fd, or -1 with errno set.
/// `bound` receives the actual address (port 0 resolved).
int listenTcp(const SocketAddress& addr, int backlog, SocketAddress* bound,
              PortSharing sharing = PortSharing::kExclusive);

/// The local or peer address of a connected socket.
SocketAddress localAddress(int fd);
SocketAddress peerAddress(int fd);

/// TCP_NODELAY: small writes (responses, pings) leave at once. False with errno on failure.
bool setNoDelay(int fd);

/// Sets SO_LINGER {on, 0}: the next close() sends RST and frees buffers at once.
void setLingerReset(int fd);

/// The peer address even after the connection died (ETIMEDOUT, RST), when
/// getpeername() already fails with ENOTCONN: SO_PEERNAME still reports it.
SocketAddress peerAddressEvenIfClosed(int fd);

/// SO_KEEPALIVE on/off, then TCP_KEEPIDLE, TCP_KEEPINTVL (seconds) and
/// TCP_KEEPCNT; a value of 0 leaves that option as it is (the sysctl default).
/// Works on listening sockets: accepted sockets inherit all four. Returns false
/// with errno set on the first failing call.
bool setKeepalive(int fd, bool on, int idleS, int intvlS, int cnt);

/// TCP_USER_TIMEOUT in milliseconds (0: back to the system behaviour). Inherited
/// by accepted sockets. Returns false with errno set on failure.
bool setUserTimeout(int fd, unsigned ms);

/// What a TCP socket has now, for verification. For fields never set the kernel
/// reports its sysctl defaults.
struct KeepaliveSettings {
  bool on = false;
  int idleS = 0, intvlS = 0, cnt = 0;
  unsigned userTimeoutMs = 0;
};
std::optional<KeepaliveSettings> getKeepalive(int fd);

/// The kernel's retransmission counters (TCP_INFO), which survive the socket's
/// death: after ETIMEDOUT, `retransmits`/`backoff` > 0 mean it gave up while
/// retransmitting data or probing a zero window, not on idle keepalive probes.
struct TcpRetransmitState {
  unsigned retransmits = 0, backoff = 0, probes = 0, unacked = 0;
};
std::optional<TcpRetransmitState> getRetransmitState(int fd);

}  // namespace tether::net
