// `tether inspect ws://…`: runs tools::inspect::runWsInspection with a
// progress line on a terminal, then prints the report.
#include "inspect_ws.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "bench_options.h"
#include "commands.h"
#include "tether/http/request.h"
#include "tether/tools/inspect_ws.h"

namespace tether::app {
namespace {

constexpr core::Millis kQuietWaitMs = 10'000;  // shorter waits go without a word

double seconds(core::Millis ms) { return static_cast<double>(ms) / 1000.0; }

tools::inspect::WsConfig toWsConfig(const InspectWsArgs& a) {
  HttpUrl url = parseWebSocketUrl(a.url);
  tools::inspect::WsConfig c;
  c.host = url.authority;
  c.path = url.target;
  c.url = a.url;
  c.maxIdleWait = a.maxIdleWait;
  c.timeout = a.timeout;
  c.pingInterval = a.pingInterval;
  c.target = resolveHttpUrl(url);  // unknown host: runtime_error, exit 1
  return c;
}

}  // namespace

int runInspectWs(const InspectWsArgs& a) {
  tools::inspect::WsConfig config = toWsConfig(a);
  bool live = !a.json && isatty(STDERR_FILENO) == 1;
  if (config.maxIdleWait >= kQuietWaitMs) {
    fmt::print(stderr,
               "tether: watching quiet WebSocket connections for up to {:.0f} s; "
               "--max-idle-wait bounds it\n",
               seconds(config.maxIdleWait));
  }
  if (live) {
    config.progress = [](const tools::inspect::WsProgress& p) {
      fmt::print(stderr, "\r\033[K  inspecting: {:.0f} s of up to {:.0f} s, {} of 3 probes open",
                 seconds(p.elapsedMs), seconds(p.maxIdleWait), p.open);
    };
  }
  tools::inspect::WsResult result = tools::inspect::runWsInspection(config);
  if (live) fmt::print(stderr, "\r\033[K");
  tools::inspect::WsReport report = tools::inspect::buildWsReport(config, result);
  std::string out =
      a.json ? tools::inspect::formatWsJson(report) : tools::inspect::formatWsText(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace tether::app
