// Test-only: an EventLoop on the io_uring backend itself (not through
// makeEventBackend()), for the tests of that backend's own paths.
#pragma once

#include <memory>
#include <string>

#include "net/io_uring_backend.h"
#include "tether/net/event_loop.h"

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

}  // namespace tether::net::testing
