// Options of `tether bench`: CLI11 registration, URL parsing and conversion to
// tools::bench::BenchConfig, separate from the command so they are unit-tested.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "keepalive_options.h"
#include "tether/http/url.h"
#include "tether/tools/bench.h"
#include "tls_client_options.h"

namespace tether::app {

/// Raw option values as typed; validated by toBenchConfig().
struct BenchArgs {
  std::string url;
  int connections = 64;
  std::string duration;               // empty: 10s unless --requests
  std::optional<long long> requests;  // unset: run for --duration
  int threads = 1;
  int pipeline = 1;
  bool noKeepalive = false;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  std::string bodyFile;
  std::string timeout = "2s";
  double rate = 0;
  std::string warmup = "0";
  bool json = false;
  std::string html;          // --html FILE: the HTML report
  std::string latencyTable;  // --latency-table FILE: HdrHistogram percentile table
  KeepaliveArgs keepalive;
  TlsClientArgs tls;
  bool noTlsResume = false;
};

/// An http:// or https:// URL split up (http::Url).
using HttpUrl = http::Url;

/// http::parseUrl(), throwing UsageError with its one-line reason.
HttpUrl parseHttpUrl(const std::string& url);

/// `ws://…` or `wss://…` (scheme case-insensitive).
bool isWebSocketUrl(std::string_view url) noexcept;
/// A ws:// URL split up as its http:// twin (port 80 by default); wss:// is
/// refused for now. Throws UsageError with a one-line reason.
HttpUrl parseWebSocketUrl(const std::string& url);

/// net::resolve(), once; throws std::runtime_error (exit 1: not a usage error)
/// for an unknown host.
net::SocketAddress resolveHttpUrl(const HttpUrl& url);

void addBenchOptions(CLI::App& cmd, BenchArgs& args);

/// Validates, reads --body-file, resolves the host once and builds the request.
/// Throws UsageError (one line) on a bad value.
tools::bench::BenchConfig toBenchConfig(const BenchArgs& args);

}  // namespace tether::app
