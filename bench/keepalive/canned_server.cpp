// canned_server.cpp -- the client-bound reference for bench/bench_vs_wrk.sh.
//
// Not an HTTP server: it answers every "\r\n\r\n" it sees with the same 13-byte
// response, parses nothing else, and writes all the responses owed after one read
// with one send(). One thread, level-triggered epoll, 127.0.0.1 only. It costs so
// little per request that one client thread, not the server, sets the req/s: the
// setting in which two load generators' own speed can be compared. While a
// connection has unsent responses it is not read (interest EPOLLOUT only), so a
// client that sends without reading holds at most one read's worth of responses.
//
// Build: g++ -O2 -std=c++17 -o canned_server canned_server.cpp
// Run:   canned_server PORT        (stops on SIGTERM/SIGINT)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
constexpr std::size_t kResponseLen = sizeof kResponse - 1;

volatile sig_atomic_t stop = 0;

struct Conn {
  int matched = 0;      // how much of "\r\n\r\n" the last bytes matched
  std::string pending;  // responses not yet accepted by the kernel
};

// Counts request ends in [p, p+n), carrying a partial "\r\n\r\n" across reads.
std::size_t countEnds(Conn& c, const char* p, std::size_t n) {
  static const char kEnd[] = "\r\n\r\n";
  std::size_t ends = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == kEnd[c.matched]) {
      if (++c.matched == 4) {
        ++ends;
        c.matched = 0;
      }
    } else {
      c.matched = p[i] == '\r' ? 1 : 0;
    }
  }
  return ends;
}

// false: the connection is finished (error or EOF).
bool flush(int fd, Conn& c) {
  while (!c.pending.empty()) {
    ssize_t w = ::send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
    if (w > 0) {
      c.pending.erase(0, std::size_t(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    return w < 0 && errno == EAGAIN;
  }
  return true;
}

bool onReadable(int fd, Conn& c, std::vector<char>& buf, std::string& out) {
  ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  std::size_t ends = countEnds(c, buf.data(), std::size_t(n));
  if (ends == 0) return true;
  out.clear();
  for (std::size_t i = 0; i < ends; ++i) out.append(kResponse, kResponseLen);
  if (c.pending.empty()) {
    ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (w > 0) out.erase(0, std::size_t(w));
  }
  c.pending += out;
  return flush(fd, c);
}

int listenOn(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(fd, 4096) < 0) {
    std::perror("canned_server: bind/listen");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::atoi(argv[1]) <= 0 || std::atoi(argv[1]) > 65535) {
    std::fprintf(stderr, "usage: canned_server PORT\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop = 1; };
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  int lfd = listenOn(std::atoi(argv[1]));
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<Conn> conns(65536);
  std::vector<char> buf(64 * 1024);
  std::string out;
  epoll_event events[256];
  while (!stop) {
    int n = ::epoll_wait(ep, events, 256, 500);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0 ||
               errno == EINTR) {
          if (c < 0) continue;
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (std::size_t(c) >= conns.size()) {
            ::close(c);
            continue;
          }
          conns[std::size_t(c)] = Conn{};
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        // Out of descriptors: the level-triggered listener would fire again at once.
        if (errno == EMFILE || errno == ENFILE) {
          std::fprintf(stderr, "canned_server: accept: %s\n", std::strerror(errno));
          ::usleep(10000);
        }
        continue;
      }
      Conn& c = conns[std::size_t(fd)];
      bool alive = (events[i].events & EPOLLIN) ? onReadable(fd, c, buf, out) : true;
      if (alive && (events[i].events & EPOLLOUT)) alive = flush(fd, c);
      if (alive && !(events[i].events & (EPOLLERR | EPOLLHUP))) {
        // Change the interest only when "has pending output" changed.
        bool wasWriting = (events[i].events & EPOLLOUT) != 0;
        if (wasWriting == c.pending.empty()) {
          epoll_event mod{};
          mod.events = c.pending.empty() ? EPOLLIN : EPOLLOUT;
          mod.data.fd = fd;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mod);
        }
        continue;
      }
      ::close(fd);  // also leaves the epoll set
      c = Conn{};
    }
  }
  ::close(ep);
  ::close(lfd);
  return 0;
}
