// Test driver for the client pool (tests/integration/test_client_*.py).
//
// Runs N requests over L lanes on one event loop. Each lane owns a pool of one
// connection (so a connection's idle age is exactly the lane's gap) unless
// --shared-pool; after each response the lane waits gap ± jitter ms, then sends
// the next request. With gaps around the server's idle timeout, many requests
// go out just as the server closes: the keep-alive race.
//
// Output, one JSON object per line on stdout: a line per failed request (and
// per request with --per-request), then one "summary" line. Exit 0 when the run
// finished (failures included), 1 on --max-seconds, 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "json_line.h"
#include "tether/http/pool.h"
#include "tether/net/event_loop.h"

namespace {

using namespace tether;
using http::client::ClientResult;

struct Options {
  std::string target;  // ADDR:PORT
  std::string method = "GET";
  std::string path = "/plaintext";
  std::string body;
  long requests = 1000;
  int lanes = 16;
  long gapMs = 0;
  long jitterMs = 0;
  long nearMs = -1;  // report reuses whose idle age is within ±100 ms of this
  long maxSeconds = 120;
  bool sharedPool = false;
  bool perRequest = false;
  bool idempotencyKey = false;
  unsigned seed = 1;
  http::client::PoolOptions pool;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "client_driver: %s\n", msg);
  std::exit(2);
}

long number(const char* s) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0') usage("expected a number");
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  o.pool.maxConnections = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--target")
      o.target = next();
    else if (a == "--method")
      o.method = next();
    else if (a == "--path")
      o.path = next();
    else if (a == "--body")
      o.body = next();
    else if (a == "--requests")
      o.requests = number(next());
    else if (a == "--lanes")
      o.lanes = static_cast<int>(number(next()));
    else if (a == "--gap-ms")
      o.gapMs = number(next());
    else if (a == "--jitter-ms")
      o.jitterMs = number(next());
    else if (a == "--near-ms")
      o.nearMs = number(next());
    else if (a == "--max-seconds")
      o.maxSeconds = number(next());
    else if (a == "--seed")
      o.seed = static_cast<unsigned>(number(next()));
    else if (a == "--shared-pool")
      o.sharedPool = true;
    else if (a == "--per-request")
      o.perRequest = true;
    else if (a == "--idempotency-key")
      o.idempotencyKey = true;
    else if (a == "--idle-timeout-ms")
      o.pool.idleTimeout = number(next());
    else if (a == "--hint-margin-ms")
      o.pool.keepAliveHintMargin = number(next());
    else if (a == "--ignore-hint")
      o.pool.honourKeepAliveHint = false;
    else if (a == "--no-reuse-check")
      o.pool.checkBeforeReuse = false;
    else if (a == "--no-idle-watch")
      o.pool.watchIdle = false;
    else if (a == "--request-timeout-ms")
      o.pool.requestTimeout = number(next());
    else if (a == "--max-connections")
      o.pool.maxConnections = static_cast<std::size_t>(number(next()));
    else
      usage(("unknown option " + a).c_str());
  }
  if (o.target.empty()) usage("--target ADDR:PORT is required");
  if (o.lanes < 1 || o.requests < 1) usage("--lanes and --requests must be >= 1");
  if (o.sharedPool && o.pool.maxConnections == 1) o.pool.maxConnections = o.lanes;
  o.pool.maxIdle = o.pool.maxConnections;
  return o;
}

struct Totals {
  long ok = 0, failed = 0, non2xx = 0, retried = 0, reused = 0, maybeProcessed = 0;
  long notSent = 0, nearTimeout = 0, nearTimeoutFailed = 0;
};

void printResult(long id, const ClientResult& r) {
  const auto& st = r.stats;
  json::Value doc = {{"event", "request"},
                     {"id", id},
                     {"ok", r.ok()},
                     {"status", r.response.status},
                     {"kind", errorKindName(r.error.kind)},
                     {"maybe_processed", r.error.maybeProcessed},
                     {"request_sent", r.error.requestSent},
                     {"errno", r.error.sysErrno},
                     {"detail", r.error.detail},
                     {"reused", st.reused},
                     {"first_attempt_reused", st.firstAttemptReused},
                     {"idle_ms", st.idleBeforeReuseMs},
                     {"first_attempt_idle_ms", st.firstAttemptIdleMs},
                     {"attempts", st.attempts},
                     {"retry_reason", st.retryReason},
                     {"no_retry_reason", st.noRetryReason},
                     {"connection", st.connectionId}};
  std::fputs(json::line(doc).c_str(), stdout);
}

class Driver {
 public:
  Driver(const Options& o, const net::SocketAddress& addr) : o_(o), rng_(o.seed) {
    int pools = o.sharedPool ? 1 : o.lanes;
    for (int i = 0; i < pools; ++i) {
      pools_.push_back(std::make_unique<http::client::Pool>(loop_, addr, o.target, o.pool));
    }
  }

  int run() {
    for (int lane = 0; lane < o_.lanes; ++lane) {
      // Spread the lanes' first requests over one gap so they do not move in step.
      loop_.runAfter(o_.gapMs > 0 ? static_cast<long>(rng_() % o_.gapMs) : 0,
                     [this, lane] { send(lane); });
    }
    loop_.runAfter(o_.maxSeconds * 1000, [this] {
      timedOut_ = true;
      loop_.quit();
    });
    loop_.run();
    for (auto& p : pools_) p->cancelAll();
    summary();
    return timedOut_ ? 1 : 0;
  }

 private:
  void send(int lane) {
    if (issued_ >= o_.requests) return;
    long id = ++issued_;
    http::client::ClientRequest req;
    req.method = o_.method;
    req.target =
        o_.path + (o_.path.find('?') == std::string::npos ? "?id=" : "&id=") + std::to_string(id);
    req.body = o_.body;
    if (o_.idempotencyKey) req.headers.emplace_back("Idempotency-Key", std::to_string(id));
    http::client::Pool& pool = *pools_[o_.sharedPool ? 0 : lane];
    pool.request(std::move(req), [this, lane, id](ClientResult&& r) { done(lane, id, r); });
  }

  void done(int lane, long id, const ClientResult& r) {
    account(r);
    if (o_.perRequest || !r.ok()) printResult(id, r);
    if (++completed_ == o_.requests) return loop_.quit();
    long gap = o_.gapMs;
    if (o_.jitterMs > 0) {
      gap += std::uniform_int_distribution<long>(-o_.jitterMs, o_.jitterMs)(rng_);
    }
    if (gap <= 0) return send(lane);
    loop_.runAfter(gap, [this, lane] { send(lane); });
  }

  void account(const ClientResult& r) {
    const auto& st = r.stats;
    if (r.ok()) {
      ++t_.ok;
      if (r.response.status < 200 || r.response.status > 299) ++t_.non2xx;
    } else {
      ++t_.failed;
      if (r.error.maybeProcessed) ++t_.maybeProcessed;
      if (!r.error.requestSent) ++t_.notSent;
    }
    if (st.attempts > 1) ++t_.retried;
    bool reusedFirst = st.reused || st.firstAttemptReused;
    if (reusedFirst) ++t_.reused;
    if (o_.nearMs >= 0 && reusedFirst && st.idleBeforeReuseMs >= 0 &&
        std::labs(st.idleBeforeReuseMs - o_.nearMs) <= 100) {
      ++t_.nearTimeout;
      if (!r.ok()) ++t_.nearTimeoutFailed;
    }
  }

  void summary() {
    http::client::PoolStats s;
    for (auto& p : pools_) {
      http::client::PoolStats x = p->stats();
      s.retries += x.retries;
      s.reusedAttempts += x.reusedAttempts;
      s.connectionsOpened += x.connectionsOpened;
      s.staleBeforeReuse += x.staleBeforeReuse;
      s.peerClosedWhileIdle += x.peerClosedWhileIdle;
      s.idleExpired += x.idleExpired;
      s.notKept += x.notKept;
    }
    json::Value doc = {{"event", "summary"},
                       {"requests", issued_},
                       {"completed", completed_},
                       {"ok", t_.ok},
                       {"failed", t_.failed},
                       {"non2xx", t_.non2xx},
                       {"maybe_processed_failures", t_.maybeProcessed},
                       {"unsent_failures", t_.notSent},
                       {"retried", t_.retried},
                       {"reused", t_.reused},
                       {"near_timeout", t_.nearTimeout},
                       {"near_timeout_failed", t_.nearTimeoutFailed},
                       {"connections_opened", s.connectionsOpened},
                       {"stale_before_reuse", s.staleBeforeReuse},
                       {"peer_closed_while_idle", s.peerClosedWhileIdle},
                       {"idle_expired", s.idleExpired},
                       {"not_kept", s.notKept},
                       {"timed_out", timedOut_}};
    std::fputs(json::line(doc).c_str(), stdout);
    std::fflush(stdout);
  }

  Options o_;
  net::EventLoop loop_;
  std::vector<std::unique_ptr<http::client::Pool>> pools_;
  std::mt19937 rng_;
  long issued_ = 0;
  long completed_ = 0;
  bool timedOut_ = false;
  Totals t_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  auto addr = net::parseSocketAddress(o.target);
  if (!addr) usage("--target must be a numeric ADDR:PORT");
  Driver driver(o, *addr);
  return driver.run();
}
