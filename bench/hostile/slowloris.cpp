// slowloris.cpp -- hold N connections to 127.0.0.1:PORT, each trickling one request-header byte
// per second and never finishing its header (the classic slowloris attack).
//
// Used by bench/slowloris_vs_nginx.sh and tests/integration/test_hostile_slowloris.py (built
// with g++ into a temp dir).
//
// Each second the whole set gets one byte per connection in one burst, as the classic tool does
// (a loop over all sockets, then a sleep): the server sees N readable sockets at once, so what it
// spends per event shows up directly as the latency of its other clients. --spread sends the
// bytes evenly over the second instead. A connection the server closes is counted by how it
// ended (a 408 response, another status, a silent FIN, a reset) and reopened at once, so N stay
// open. Every connection binds a source address 127.0.0.(2 + i % 8) with
// IP_BIND_ADDRESS_NO_PORT, so thousands of them do not run out of ephemeral ports.
//
// Usage: slowloris PORT N DURATION_S [--spread]
// Prints, when DURATION_S has passed:
//   {"connections": N, "opened": .., "connect_failed": .., "bytes_sent": ..,
//    "closed_408": .., "closed_other_status": .., "closed_silent": .., "closed_reset": ..,
//    "max_open_s": ..}
// max_open_s: the longest time a connection stayed open before the server closed it.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

const std::string kHead = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " +
                          std::string(4000, 'a');  // never ends: no CRLF CRLF

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Conn {
  int fd = -1;
  std::size_t sent = 0;
  double openedAt = 0;
};

struct Counts {
  long opened = 0, connectFailed = 0, bytesSent = 0;
  long closed408 = 0, closedOther = 0, closedSilent = 0, closedReset = 0;
  double maxOpen = 0;
};

int openOne(int port, int i) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000002 + i % 8);
  bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// The server closed or answered: classify, then close our side.
void finish(Conn& c, Counts& n, double t) {
  char buf[512];
  ssize_t r = recv(c.fd, buf, sizeof buf - 1, 0);
  if (r > 0) {
    buf[r] = 0;
    (strncmp(buf, "HTTP/1.1 408", 12) == 0 ? n.closed408 : n.closedOther)++;
  } else if (r == 0) {
    n.closedSilent++;
  } else {
    n.closedReset++;
  }
  if (t - c.openedAt > n.maxOpen) n.maxOpen = t - c.openedAt;
  close(c.fd);
  c.fd = -1;
}

// Anything readable (a response, FIN or RST) ends the connection; poll in one call.
void reapClosed(std::vector<Conn>& conns, Counts& n) {
  std::vector<pollfd> p(conns.size());
  for (std::size_t i = 0; i < conns.size(); ++i) p[i] = {conns[i].fd, POLLIN, 0};
  if (poll(p.data(), p.size(), 0) <= 0) return;
  double t = now();
  for (std::size_t i = 0; i < conns.size(); ++i)
    if (conns[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) finish(conns[i], n, t);
}

void sendByte(Conn& c, Counts& n) {
  if (c.sent >= kHead.size()) return;  // 4 KB at 1 B/s: longer than any header timeout
  if (send(c.fd, kHead.data() + c.sent, 1, MSG_NOSIGNAL) == 1) {
    c.sent++;
    n.bytesSent++;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: slowloris PORT N DURATION_S [--spread]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int count = atoi(argv[2]);
  double duration = atof(argv[3]);
  bool spread = argc > 4 && strcmp(argv[4], "--spread") == 0;
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::vector<Conn> conns(count);
  Counts n;
  double end = now() + duration;
  while (now() < end) {
    double second = now();
    for (int i = 0; i < count; ++i) {
      Conn& c = conns[i];
      if (c.fd < 0) {
        c.fd = openOne(port, i);
        c.sent = 0;
        c.openedAt = now();
        (c.fd < 0 ? n.connectFailed : n.opened)++;
        continue;
      }
      sendByte(c, n);
      if (spread && i % 64 == 63) usleep(static_cast<useconds_t>(1e6 * 64 / count));
    }
    reapClosed(conns, n);
    double left = second + 1.0 - now();
    if (left > 0 && now() + left < end)
      usleep(static_cast<useconds_t>(left * 1e6));
    else if (left > 0)
      usleep(static_cast<useconds_t>((end - now() > 0 ? end - now() : 0) * 1e6));
  }
  reapClosed(conns, n);
  for (Conn& c : conns)
    if (c.fd >= 0) close(c.fd);
  printf(
      "{\"connections\": %d, \"opened\": %ld, \"connect_failed\": %ld, \"bytes_sent\": %ld, "
      "\"closed_408\": %ld, \"closed_other_status\": %ld, \"closed_silent\": %ld, "
      "\"closed_reset\": %ld, \"max_open_s\": %.3f}\n",
      count, n.opened, n.connectFailed, n.bytesSent, n.closed408, n.closedOther, n.closedSilent,
      n.closedReset, n.maxOpen);
  return 0;
}
