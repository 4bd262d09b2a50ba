// One request travelling through the pool: queued, then on a connection, then
// (possibly) on a second one for the single permitted retry. Owned by whoever
// holds the unique_ptr: the pool's queue or the connection running it.
#pragma once

#include <cstdint>

#include "tether/core/time.h"
#include "tether/http/pool.h"

namespace tether::http::client {

/// Microseconds on a monotonic clock, for per-request stats only (timers use
/// the loop's millisecond time).
inline std::int64_t statsMicros() noexcept { return core::monotonicClock().nanos() / 1000; }

struct Exchange {
  ClientRequest request;
  Pool::Callback done;
  ClientResult result;
  bool replayable = false;
  bool forceFresh = false;  // the retry goes to a new connection
  std::int64_t startUs = 0;
};

}  // namespace tether::http::client
