// `tether bench`: an HTTP/1.1 load generator (wrk's model, coordinated-omission-free
// --rate mode, connection and TIME_WAIT accounting).
//
// Threading: runBench() starts `threads` worker threads, each with its own
// net::EventLoop, connections, histogram and counters (shared-nothing), and merges
// them at the end. It blocks the calling thread until the run ends. Runs share no
// state: several may run at once, on different threads. It neither installs signal
// handlers nor changes signal masks; to stop a run early (e.g. on Ctrl-C), the
// caller requests a stop on BenchConfig::stop. Units: durations in ms, latencies
// in ns, sizes in bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "tether/core/timer_wheel.h"
#include "tether/liveness/keepalive_profile.h"
#include "tether/net/socket.h"

namespace tether::net {
class TlsContext;
}

namespace tether::tools::bench {

using core::Millis;

/// The request every connection sends, serialized once before the run (a
/// pipelined batch is N copies written with one send).
struct RequestSpec {
  std::string method = "GET";
  std::string target = "/";          // origin-form: path and query
  std::string host;                  // Host header value, unless `headers` has one
  std::vector<std::string> headers;  // "Name: value", as given
  std::string body;
  bool keepAlive = true;  // false: adds `Connection: close`
};

/// The request line, Host (unless `headers` has one), the user's header lines as typed,
/// Content-Length when there is a body (or the method is POST/PUT/PATCH) and `headers` has
/// none, `Connection: close` when !keepAlive (unless `headers` has a Connection header), the
/// blank line and the body: http::client::serializeRequestLines(). Pure. Throws
/// std::invalid_argument when the request cannot be sent (a method that is not a token, a
/// target with whitespace or control bytes, a header line that is not "Name: value").
std::string buildRequest(const RequestSpec& spec);

struct Progress {
  double elapsedS = 0;
  std::uint64_t requests = 0;  // responses so far (after warm-up)
  std::uint64_t errors = 0;
  double recentRps = 0;  // since the previous call
};

struct BenchConfig {
  net::SocketAddress target;  // resolved before the run
  std::string url;            // as given, for the report
  /// Bytes of ONE request (request line, headers, blank line, body), as sent.
  std::string request;
  int connections = 64;
  int threads = 1;
  int pipeline = 1;            // requests written per batch (one send); 1 = no pipelining
  bool keepAlive = true;       // false: one connection per request, the server closes
  Millis duration = 10'000;    // used when requests == 0
  std::uint64_t requests = 0;  // > 0: stop after this many requests (all threads)
  Millis timeout = 2'000;      // per request: from send (or intended send) to the last byte
  double rate = 0;             // > 0: open loop, requests/s over all connections
  Millis warmup = 0;           // excluded from every statistic
  /// https: the client context (verification, CA file) and the name for SNI
  /// and the certificate check; null for http. Each thread keeps its own
  /// sessions, so its later connections resume.
  std::shared_ptr<const net::TlsContext> tls;
  std::string tlsServerName;
  bool tlsResume = true;  // false: every connection makes a full handshake
  /// TCP keepalive / TCP_USER_TIMEOUT for every connection (none: system default).
  std::optional<liveness::KeepaliveProfile> keepalive;
  /// Called about once a second from the calling thread while the run is in
  /// progress (for a live progress line); may be empty.
  std::function<void(const Progress&)> onProgress;
  /// request_stop() on its std::stop_source, from any thread, ends the run early
  /// with the results so far (BenchResult::interrupted). Default: never stopped.
  std::stop_token stop;
};

/// Errors by kind. A request that fails is counted once, under its first cause.
struct ErrorCounts {
  std::uint64_t connect = 0;  // connect() failed (refused, unreachable, no port, timeout)
  std::uint64_t reset = 0;    // ECONNRESET / EPIPE while a request was in flight
  std::uint64_t timeout = 0;  // no complete response within `timeout`
  std::uint64_t read = 0;     // peer closed (or another read/write error) mid-request
  std::uint64_t parse = 0;    // malformed response
  std::uint64_t tls = 0;      // https: handshake failed or the certificate was refused
  std::uint64_t status4xx = 0;
  std::uint64_t status5xx = 0;
  int connectErrno = 0;  // why the first failed connect failed (ECONNREFUSED...), 0 if none
  const char* tlsError = nullptr;  // why the first TLS failure happened (static text), or null
  bool tlsRefused = false;         // that failure was the certificate check
  std::uint64_t total() const noexcept {
    return connect + reset + timeout + read + parse + tls + status4xx + status5xx;
  }
};

/// Latency percentiles in ns; `count` samples. Values are upper bucket edges
/// (relative error < 1%), except `max` and `min`, which are exact.
struct LatencySummary {
  std::uint64_t count = 0;
  std::uint64_t min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  double mean = 0;
  double stddev = 0;  // from bucket middles
};

/// https: the handshakes of the measured window. Handshake time runs from the
/// TCP connection being writable to the handshake being done.
struct TlsSummary {
  bool enabled = false;
  const char* version = "";  // of the first handshake ("TLSv1.3")
  std::uint64_t full = 0;
  std::uint64_t resumed = 0;
  LatencySummary handshake;  // ns
};

/// TIME_WAIT sockets on this host whose local (server side) or remote (client
/// side) port is the target port, before and after the run.
struct TimeWaitCounts {
  bool available = false;  // false when /proc/net/tcp{,6} could not be read
  std::uint64_t serverBefore = 0, serverAfter = 0;
  std::uint64_t clientBefore = 0, clientAfter = 0;
};

struct BenchResult {
  double elapsedS = 0;                           // measured window (after warm-up)
  std::uint64_t requests = 0;                    // complete responses, any status
  std::uint64_t bytesRead = 0;                   // response bytes (heads and bodies)
  std::uint64_t bytesWritten = 0;                // request bytes
  std::array<std::uint64_t, 6> statusClasses{};  // [1..5] = 1xx..5xx; [0] other
  ErrorCounts errors;
  std::uint64_t connectionsOpened = 0;  // successful connects in the measured window
  std::uint64_t connectionsUsed = 0;    // connections that carried a measured response
  std::uint64_t reusedRequests = 0;     // responses that were not the first on their connection
  LatencySummary latency;
  TlsSummary tls;
  TimeWaitCounts timeWait;
  bool interrupted = false;  // stopped early through BenchConfig::stop
  /// Per whole second of the measured window (index 0: its first second; the
  /// last may be partial): responses received and connections opened in it.
  /// The requests add up to `requests`.
  struct Second {
    std::uint64_t requests = 0;
    std::uint64_t connectionsOpened = 0;
  };
  std::vector<Second> timeline;
  /// The latency distribution at HdrHistogram's percentile-table steps
  /// (bench_percentiles.h): value (ns, bucket upper edge), percentile (0..1)
  /// and the samples at or below it. Empty without samples.
  struct PercentilePoint {
    std::uint64_t valueNs = 0;
    double percentile = 0;
    std::uint64_t totalCount = 0;
  };
  std::vector<PercentilePoint> latencyDistribution;
};

/// Runs the benchmark. Throws std::runtime_error when it cannot start (e.g. no
/// thread). Never throws for network errors: they are counted.
BenchResult runBench(const BenchConfig& config);

/// Reports. Human: a few aligned lines in the spirit of wrk. JSON: one object.
std::string formatReport(const BenchConfig& config, const BenchResult& result);
std::string formatJson(const BenchConfig& config, const BenchResult& result);
/// One self-contained HTML page (CSS, JS and the data inline, nothing loaded
/// from elsewhere): latency percentiles, throughput over time, connection reuse.
std::string formatHtml(const BenchConfig& config, const BenchResult& result);
/// The latency distribution as HdrHistogram's outputPercentileDistribution
/// prints it (wrk2's --latency table), values in ms: for plotting tools.
std::string formatPercentileTable(const BenchResult& result);

}  // namespace tether::tools::bench
