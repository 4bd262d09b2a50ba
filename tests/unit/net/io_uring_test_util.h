// Test-only: an EventLoop on the io_uring backend itself (not through
// makeEventBackend()), for the tests of that backend's own paths; a stream
// owner that counts write-side events; the requests a ring has armed.
#pragma once

#include <sys/epoll.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "net/io_uring_backend.h"
#include "tether/net/event_loop.h"
#include "tether/net/stream.h"

namespace tether::net::testing {

/// The loop, or nullptr with the kernel's refusal (an errno number, for
/// TETHER_SKIP_IF_REFUSED) in `*refused`. `*backend`, when asked for, is the
/// loop's backend.
inline std::unique_ptr<EventLoop> ioUringLoop(core::Clock& clock, std::string* refused,
                                              IoUringBackend** backend = nullptr) {
  auto b = std::make_unique<IoUringBackend>();
  if (int rc = b->init(); rc != 0) {
    *refused = std::to_string(-rc);
    return nullptr;
  }
  if (backend != nullptr) *backend = b.get();
  return std::make_unique<EventLoop>(clock, std::move(b));
}

/// An owner of a stream that counts the write-side events it is told of.
struct Writer final : IoHandler {
  Stream stream;
  int writable = 0;  // EPOLLOUT events seen
  int errors = 0;    // EPOLLERR events seen
  void onIoEvents(std::uint32_t e) override {
    if (e & EPOLLOUT) ++writable;
    if (e & EPOLLERR) ++errors;
    stream.onEvents(e);
  }
};

/// Requests armed in a ring, by kind, as the kernel lists them in the ring's
/// fdinfo ("PollList": every request waiting on a socket's wait queue).
struct ArmedRequests {
  int polls = 0;     // IORING_OP_POLL_ADD
  int receives = 0;  // IORING_OP_RECV
  int other = 0;
};
/// nullopt when this kernel's fdinfo has no PollList.
inline std::optional<ArmedRequests> armedRequests(const IoUringBackend& backend) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(backend.ringFd()));
  std::string line;
  while (std::getline(in, line) && line != "PollList:") {
  }
  if (!in) return std::nullopt;
  ArmedRequests armed;
  int op = 0;
  while (std::getline(in, line) && std::sscanf(line.c_str(), " op=%d,", &op) == 1) {
    if (op == IORING_OP_POLL_ADD)
      ++armed.polls;
    else if (op == IORING_OP_RECV)
      ++armed.receives;
    else
      ++armed.other;
  }
  return armed;
}

}  // namespace tether::net::testing
