// bare_ping_server.cpp -- the floor for bench/websocket_vs_node.py's ping test.
//
// Not a WebSocket server: it answers any request head ("\r\n\r\n") with a fixed
// 101 (no Sec-WebSocket-Accept check: the bench client does not verify it), then
// every PERIOD ms sends one 10-byte ping frame to every upgraded connection in
// one pass of send() calls, and reads and discards whatever comes back (the
// pongs), counting nothing and parsing nothing. One thread, level-triggered
// epoll, 127.0.0.1 only. What it costs per ping and pong is what the kernel
// charges any server for one small send and one wake-up and read: a server that
// does more cannot cost less on the same machine with the same system calls.
//
// Build: g++ -O2 -std=c++17 -o bare_ping_server bare_ping_server.cpp
// Run:   bare_ping_server PORT PERIOD_MS     (stops on SIGTERM/SIGINT)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char kUpgraded[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: not-checked\r\n\r\n";
const char kPing[] =
    "\x89\x08"
    "12345678";  // FIN + ping, 8-byte payload

volatile sig_atomic_t stop = 0;

struct Conn {
  std::string head;  // request bytes until "\r\n\r\n"
  bool upgraded = false;
};

long long nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int listenOn(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
    std::perror("bare_ping_server: listen");
    std::exit(1);
  }
  return fd;
}

// Reads what `fd` has; false when it closed. Upgrades a connection whose head is complete.
bool onReadable(int fd, Conn& c) {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (!c.upgraded) {
        c.head.append(buf, static_cast<std::size_t>(n));
        if (c.head.find("\r\n\r\n") != std::string::npos) {
          c.upgraded = send(fd, kUpgraded, sizeof kUpgraded - 1, MSG_NOSIGNAL) > 0;
          c.head.clear();
        }
      }
      if (static_cast<std::size_t>(n) < sizeof buf) return true;  // drained
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bare_ping_server PORT PERIOD_MS\n");
    return 2;
  }
  const long long period = std::atoll(argv[2]);
  signal(SIGTERM, [](int) { stop = 1; });
  signal(SIGINT, [](int) { stop = 1; });
  const int lfd = listenOn(std::atoi(argv[1]));
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.fd = lfd}};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<Conn> conns;
  std::vector<int> open;  // fds with a connection, for the ping pass
  long long nextPing = period > 0 ? nowMs() + period : -1;
  epoll_event events[256];
  while (!stop) {
    int timeout = nextPing < 0 ? -1 : static_cast<int>(std::max(0LL, nextPing - nowMs()));
    int n = epoll_wait(ep, events, 256, timeout);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          if (static_cast<std::size_t>(c) >= conns.size()) conns.resize(c + 1);
          conns[c] = Conn{};
          open.push_back(c);
          epoll_event e{EPOLLIN, {.fd = c}};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        }
      } else if (!onReadable(fd, conns[fd])) {
        close(fd);  // removes it from epoll
        conns[fd].upgraded = false;
        for (int& o : open) {
          if (o == fd) {
            o = open.back();
            open.pop_back();
            break;
          }
        }
      }
    }
    if (nextPing >= 0 && nowMs() >= nextPing) {
      for (int fd : open) {
        if (conns[fd].upgraded) send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL);
      }
      nextPing += period;
    }
  }
  return 0;
}
