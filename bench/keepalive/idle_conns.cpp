// idle_conns.cpp -- hold N idle HTTP/1.1 keep-alive connections to 127.0.0.1:PORT.
//
// Used by bench/keepalive_vs_nginx.sh (built into its temp dir with g++).
//
// Raises its own RLIMIT_NOFILE soft limit to the hard limit. Each connection is bound to a
// source address 127.0.0.(2 + i % NSRC) with IP_BIND_ADDRESS_NO_PORT (so 19000 connections do
// not run out of ephemeral ports for one destination), connects, sends one GET, reads the whole
// response (Content-Length), and then stays open and idle. When all are open it prints
//   READY <open> failed=<n> connect_s=<seconds>
// and holds them until HOLD_SEC pass or SIGTERM/SIGINT arrives. It then reports how many
// connections the server closed meanwhile (readable = EOF/RST) and closes them all:
//   DONE closed_by_peer=<n>
// The whole connect phase is bounded by CONNECT_BUDGET_SEC (stops early, reports what it has).
//
// Usage: idle_conns PORT N [HOLD_SEC=300] [NSRC=8] [PATH=/plaintext] [CONNECT_BUDGET_SEC=120]
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

volatile sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

double nowSec() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// One connection: connect, one request, full response. Returns fd or -1 (reason on stderr).
int openOne(int idx, int port, int nsrc, const std::string& req) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fprintf(stderr, "conn %d: socket: %s\n", idx, strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  timeval tv{5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(idx % nsrc));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0 ||
      connect(s, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0 ||
      write(s, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    fprintf(stderr, "conn %d: bind/connect/write: %s\n", idx, strerror(errno));
    close(s);
    return -1;
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    ssize_t r = read(s, buf, sizeof buf);
    if (r <= 0) {
      fprintf(stderr, "conn %d: incomplete response (%zu bytes, read=%zd errno=%s)\n", idx,
              resp.size(), r, r < 0 ? strerror(errno) : "EOF");
      close(s);
      return -1;
    }
    resp.append(buf, static_cast<size_t>(r));
    size_t he = resp.find("\r\n\r\n");
    if (he == std::string::npos) continue;
    size_t cl = 0;
    const char* k = strcasestr(resp.c_str(), "\r\ncontent-length:");
    if (k != nullptr) cl = strtoul(k + 17, nullptr, 10);
    if (resp.size() >= he + 4 + cl) break;
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PORT N [HOLD_SEC] [NSRC] [PATH] [CONNECT_BUDGET_SEC]\n", argv[0]);
    return 2;
  }
  const int port = atoi(argv[1]);
  const int n = atoi(argv[2]);
  const int hold = argc > 3 ? atoi(argv[3]) : 300;
  const int nsrc = argc > 4 ? atoi(argv[4]) : 8;
  const char* path = argc > 5 ? argv[5] : "/plaintext";
  const double budget = argc > 6 ? atof(argv[6]) : 120.0;

  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  if (static_cast<rlim_t>(n) + 16 > rl.rlim_cur)
    fprintf(stderr, "warning: N=%d but RLIMIT_NOFILE=%llu\n", n,
            static_cast<unsigned long long>(rl.rlim_cur));

  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  signal(SIGPIPE, SIG_IGN);
  const std::string req =
      std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle_conns\r\n\r\n";

  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(n));
  const double t0 = nowSec();
  int failed = 0;
  for (int i = 0; i < n && !g_stop; i++) {
    if (nowSec() - t0 > budget) {
      fprintf(stderr, "connect budget of %.0f s used up after %d connections\n", budget, i);
      break;
    }
    int s = openOne(i, port, nsrc, req);
    if (s < 0) {
      if (++failed >= 20) break;  // something is wrong; do not hammer
      continue;
    }
    fds.push_back(s);
  }
  printf("READY %zu failed=%d connect_s=%.2f nofile=%llu\n", fds.size(), failed, nowSec() - t0,
         static_cast<unsigned long long>(rl.rlim_cur));
  fflush(stdout);

  const double deadline = nowSec() + hold;
  while (!g_stop && nowSec() < deadline) {
    timespec ts{0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }

  int closedByPeer = 0;
  for (int s : fds) {
    pollfd q{s, POLLIN, 0};
    if (poll(&q, 1, 0) > 0) closedByPeer++;
  }
  for (int s : fds) close(s);
  printf("DONE closed_by_peer=%d\n", closedByPeer);
  fflush(stdout);
  return 0;
}
