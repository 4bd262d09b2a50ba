#include "tools/bench/bench_timewait.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <unordered_set>

namespace tether::tools::bench {
namespace {

// Kernel TCP states (include/net/tcp_states.h), as /proc prints them in hex.
constexpr unsigned kFinWait1 = 0x04, kFinWait2 = 0x05, kTimeWait = 0x06, kCloseWait = 0x08,
                   kLastAck = 0x09, kClosing = 0x0B;

bool isClosing(unsigned st) {
  return st == kFinWait1 || st == kFinWait2 || st == kCloseWait || st == kLastAck || st == kClosing;
}

std::string_view nextField(std::string_view& line) {
  std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) return line = {}, std::string_view{};
  std::size_t end = line.find(' ', start);
  if (end == std::string_view::npos) end = line.size();
  std::string_view field = line.substr(start, end - start);
  line.remove_prefix(end);
  return field;
}

// "0100007F:1F90" -> 8080; -1 when malformed.
int portOf(std::string_view endpoint) {
  std::size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return -1;
  unsigned port = 0;
  auto [p, ec] =
      std::from_chars(endpoint.data() + colon + 1, endpoint.data() + endpoint.size(), port, 16);
  if (ec != std::errc() || p != endpoint.data() + endpoint.size() || port > 65535) return -1;
  return static_cast<int>(port);
}

// `seen`: the address pairs counted so far. The kernel prints the table in
// pieces (one per read()); a socket that moves in the hash between two reads
// can come out twice, and a socket is one pair of addresses.
void countLine(std::string_view line, int port, PortSocketCounts& out, const PortSet* own,
               std::unordered_set<std::string_view>& seen) {
  std::string_view slot = nextField(line);
  if (slot.empty() || slot.back() != ':') return;  // the header line
  std::string_view localText = nextField(line), remoteText = nextField(line);
  int local = portOf(localText);
  int remote = portOf(remoteText);
  std::string_view stText = nextField(line);
  unsigned st = 0;
  auto [p, ec] = std::from_chars(stText.data(), stText.data() + stText.size(), st, 16);
  if (ec != std::errc() || local < 0 || remote < 0) return;
  if (local != port && remote != port) return;
  // Both fields sit next to each other in the table's text: one view covers the pair.
  std::string_view pair(localText.data(), remoteText.data() + remoteText.size() - localText.data());
  if (!seen.insert(pair).second) return;
  if (local == port && (own == nullptr || own->test(static_cast<std::size_t>(remote)))) {
    if (st == kTimeWait) ++out.serverTimeWait;
    if (isClosing(st)) ++out.serverClosing;
  }
  if (remote == port && (own == nullptr || own->test(static_cast<std::size_t>(local)))) {
    if (st == kTimeWait) ++out.clientTimeWait;
    if (isClosing(st)) ++out.clientClosing;
  }
}

bool readFile(const char* path, std::string& out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
  ::close(fd);
  return n == 0;
}

}  // namespace

void countTcpTable(std::string_view table, int port, PortSocketCounts& out, const PortSet* own) {
  std::unordered_set<std::string_view> seen;
  while (!table.empty()) {
    std::size_t nl = table.find('\n');
    std::string_view line = table.substr(0, nl);
    countLine(line, port, out, own, seen);
    if (nl == std::string_view::npos) break;
    table.remove_prefix(nl + 1);
  }
}

bool readTcpTables(std::string& out) {
  bool any = false;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    if (readFile(path, out)) any = true;
    out.push_back('\n');
  }
  return any;
}

std::optional<PortSocketCounts> readPortSocketCounts(int port, const PortSet* own) {
  std::string text;
  if (!readTcpTables(text)) return std::nullopt;
  PortSocketCounts counts;
  countTcpTable(text, port, counts, own);
  return counts;
}

}  // namespace tether::tools::bench
