// Incoming TCP connections: the one accept loop in the tree.
//
// Accepts until the queue is empty (edge-triggered), hands each non-blocking
// socket to the owner, and keeps serving when the process runs out of
// descriptors (EMFILE/ENFILE): the owner may free one (e.g. close its oldest
// idle connection), else the acceptor comes back after a pause, since the
// edge that announced the waiting connections is already consumed.
//
// Threading: loop-thread only. Ownership: the acceptor owns the listening fd.
#pragma once

#include <cstdint>

#include "tether/net/event_loop.h"

namespace tether::net {

class Acceptor final : public IoHandler {
 public:
  class Owner {
   public:
    /// A new connection (non-blocking, close-on-exec); the owner owns `fd`.
    virtual void onAccepted(int fd) = 0;
    /// Out of descriptors: return true after freeing one to accept again at
    /// once, false to retry after kRetryDelay.
    virtual bool onOutOfDescriptors() { return false; }

   protected:
    ~Owner() = default;
  };

  static constexpr Millis kRetryDelay = 100;

  /// Takes `listenFd` (non-blocking, listening) and registers it.
  Acceptor(EventLoop& loop, int listenFd, Owner& owner, bool noDelay);
  ~Acceptor() { close(); }
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  /// Accepts everything already queued (used before closing at shutdown).
  void acceptPending();
  /// Stops accepting and closes the listening socket. Idempotent.
  void close() noexcept;
  /// Accepts what the kernel has queued, then closes (a listener closed with
  /// connections in its queue resets them). The backend lets go of the socket
  /// first, so it leaves the port's SO_REUSEPORT group the moment close()
  /// returns, right after the last accept: the window in which a new
  /// connection can still land in this queue is one syscall wide.
  void acceptPendingAndClose();
  int fd() const noexcept { return fd_; }

  void onIoEvents(std::uint32_t) override { acceptPending(); }

 private:
  EventLoop& loop_;
  Owner& owner_;
  DelayedCallId retry_;
  int fd_;
  bool noDelay_;
};

}  // namespace tether::net
