// `tether bench URL`: the HTTP/1.1 load generator (see tether/tools/bench.h).
#include "tether/tools/bench.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "bench_options.h"
#include "commands.h"

namespace tether::app {
namespace {

void onStopSignal(int) { tools::bench::stopBench(); }

// A single live line, only for a terminal: redirected output stays the report alone.
void printProgress(const tools::bench::Progress& p) {
  fmt::print("\r\033[K  {:.0f}s  {} requests  {:.0f} req/s  {} errors", p.elapsedS, p.requests,
             p.recentRps, p.errors);
  std::fflush(stdout);
}

int bench(const BenchArgs& args) {
  tools::bench::BenchConfig config = toBenchConfig(args);
  bool live = !args.json && isatty(STDOUT_FILENO) == 1;
  if (live) config.onProgress = printProgress;
  // SIGINT/SIGTERM end the run early; the report still shows what was measured.
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  tools::bench::BenchResult result = tools::bench::runBench(config);
  if (live) fmt::print("\r\033[K");
  std::string report = args.json ? tools::bench::formatJson(config, result)
                                 : tools::bench::formatReport(config, result);
  std::fputs(report.c_str(), stdout);
  std::fflush(stdout);
  // Exit 1 when nothing succeeded (e.g. every connect failed), for scripts.
  return result.requests == 0 && result.errors.total() > 0 ? 1 : 0;
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
