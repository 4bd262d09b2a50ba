// The epoll backend: one epoll instance, edge-triggered registrations, the
// handler pointer carried in epoll_data.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tether/net/event_backend.h"

namespace tether::net {
namespace {

[[noreturn]] void fatal(const char* what) {
  std::perror(what);
  std::abort();
}

class EpollBackend final : public EventBackend {
 public:
  EpollBackend() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) fatal("epoll_create1");
  }
  ~EpollBackend() override { ::close(epfd_); }
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;

  const char* name() const noexcept override { return "epoll"; }

  void add(int fd, std::uint32_t events, IoHandler* handler) override {
    epoll_event ev{};
    ev.events = events | EPOLLET;
    ev.data.ptr = handler;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) fatal("epoll_ctl add");
  }

  void remove(int fd) override { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }
  void closing(int, bool) noexcept override {}  // close() removes it from the interest list

  int wait(int timeoutMs, std::span<ReadyEvent> out) override {
    if (native_.size() < out.size()) native_.resize(out.size());
    int n = epoll_wait(epfd_, native_.data(), static_cast<int>(out.size()), timeoutMs);
    if (n < 0) {
      if (errno != EINTR) fatal("epoll_wait");
      return 0;
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = native_[static_cast<std::size_t>(i)];
      out[static_cast<std::size_t>(i)] = {static_cast<IoHandler*>(ev.data.ptr), ev.events};
    }
    return n;
  }

 private:
  int epfd_;
  std::vector<epoll_event> native_;
};

}  // namespace

std::unique_ptr<EventBackend> makeEpollBackend() { return std::make_unique<EpollBackend>(); }

}  // namespace tether::net
