// TIME_WAIT accounting for `tether bench`: counts the TCP sockets of this host
// (its network namespace) that involve one port, by side, from /proc/net/tcp and
// /proc/net/tcp6.
//
// Side: a socket whose LOCAL port is the server's port is a server-side socket
// (the server's end of a connection); one whose REMOTE port is the server's port
// is a client-side one. Loopback runs see both sides. With a set of the run's own
// client ports, only the run's connections count: bind(0) with SO_REUSEADDR may
// hand a server a port that other processes' outgoing connections also use, and
// their TIME_WAIT would otherwise be counted as the server's. Pure parsing plus
// reading functions; thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tether::tools::bench {

/// Local ports of the run's own connections.
using PortSet = std::bitset<65536>;

struct PortSocketCounts {
  std::uint64_t serverTimeWait = 0;
  std::uint64_t clientTimeWait = 0;
  /// Client-side sockets still closing (FIN_WAIT1/2, CLOSING, LAST_ACK,
  /// CLOSE_WAIT): their TIME_WAIT (if any) is yet to come.
  std::uint64_t clientClosing = 0;
  /// Server-side sockets still closing (same states, local port = the port).
  std::uint64_t serverClosing = 0;
};

/// Adds the sockets of one /proc/net/tcp or /proc/net/tcp6 table text that
/// involve `port` to `out`; with `own`, only those whose client port is in it.
/// Malformed lines are skipped.
void countTcpTable(std::string_view table, int port, PortSocketCounts& out,
                   const PortSet* own = nullptr);

/// Appends both tables' text to `out`; false when neither can be read.
bool readTcpTables(std::string& out);

/// Reads both tables; nullopt when neither can be read.
std::optional<PortSocketCounts> readPortSocketCounts(int port, const PortSet* own = nullptr);

}  // namespace tether::tools::bench
