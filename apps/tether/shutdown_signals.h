// The process-wide signal set-up shared by every long-running command.
#pragma once

#include <signal.h>

namespace tether::app {

/// Blocks SIGINT and SIGTERM in the calling thread (threads created later inherit
/// the mask) and ignores SIGPIPE, so shutdown is taken synchronously (sigwait or
/// signalfd) as ordinary code. Call before starting any other thread. Returns the
/// blocked set.
sigset_t blockShutdownSignals() noexcept;

}  // namespace tether::app
