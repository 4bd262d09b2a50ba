// `tether bench URL`: the HTTP/1.1 load generator (see tether/tools/bench.h).
#include "tether/tools/bench.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <stop_token>

#include "bench_options.h"
#include "commands.h"
#include "shutdown_signals.h"

namespace tether::app {
namespace {

// A single live line, only for a terminal: redirected output stays the report alone.
void printProgress(const tools::bench::Progress& p) {
  fmt::print("\r\033[K  {:.0f}s  {} requests  {:.0f} req/s  {} errors", p.elapsedS, p.requests,
             p.recentRps, p.errors);
  std::fflush(stdout);
}

// --html and --latency-table: opened before the run, so a path that cannot be
// written is a usage error now rather than a lost run later.
std::unique_ptr<std::ofstream> openOutput(const char* option, const std::string& path) {
  if (path.empty()) return nullptr;
  auto out = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*out) {
    throw UsageError(fmt::format("{}: cannot write '{}': {}", option, path, std::strerror(errno)));
  }
  return out;
}

void writeOutput(std::ofstream* out, const std::string& text) {
  if (out == nullptr) return;
  *out << text;
  out->flush();
  if (!*out) throw std::runtime_error(fmt::format("writing a report: {}", std::strerror(errno)));
}

int bench(const BenchArgs& args) {
  tools::bench::BenchConfig config = toBenchConfig(args);
  auto html = openOutput("--html", args.html);
  auto table = openOutput("--latency-table", args.latencyTable);
  bool live = !args.json && isatty(STDOUT_FILENO) == 1;
  if (live) config.onProgress = printProgress;
  // SIGINT/SIGTERM end the run early; the report still shows what was measured.
  // Blocked before the run's threads start (they inherit the mask), taken by the
  // waiter's thread, which asks the run to stop.
  sigset_t signals = blockShutdownSignals();
  std::stop_source stop;
  config.stop = stop.get_token();
  tools::bench::BenchResult result;
  {
    ShutdownWaiter waiter(signals, [&stop](int) { stop.request_stop(); });
    result = tools::bench::runBench(config);
  }
  if (live) fmt::print("\r\033[K");
  std::string report = args.json ? tools::bench::formatJson(config, result)
                                 : tools::bench::formatReport(config, result);
  std::fputs(report.c_str(), stdout);
  std::fflush(stdout);
  writeOutput(html.get(), tools::bench::formatHtml(config, result));
  writeOutput(table.get(), tools::bench::formatPercentileTable(result));
  // Exit 1 when nothing succeeded (e.g. every connect failed), for scripts, and
  // say why in words on stderr.
  if (result.requests > 0 || result.errors.total() == 0) return 0;
  if (result.errors.tlsError != nullptr && result.errors.tls == result.errors.total()) {
    fmt::print(stderr, "tether: bench: no request succeeded: TLS: {}{}\n", result.errors.tlsError,
               result.errors.tlsRefused
                   ? " (--cacert FILE names the CA to trust; -k skips the check)"
                   : "");
  } else if (result.errors.connectErrno != 0) {
    fmt::print(stderr, "tether: bench: no request succeeded: connecting to {} failed: {}\n",
               config.target.toString(), std::strerror(result.errors.connectErrno));
  } else {
    fmt::print(stderr, "tether: bench: no request succeeded (errors above)\n");
  }
  return 1;
}

}  // namespace

Command addBenchCommand(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd =
      app.add_subcommand("bench", "HTTP/1.1 load generator (wrk-style, open loop with --rate)");
  addBenchOptions(*cmd, *args);
  return {cmd, [args] { return bench(*args); }};
}

}  // namespace tether::app
