// `tether serve`: the HTTP/1.1 keep-alive server on the default site or a root.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "serve_options.h"
#include "shutdown_signals.h"
#include "tether/http/default_site.h"
#include "tether/http/server.h"
#include "tether/http/static_files.h"

namespace tether::app {
namespace {

// Raises the soft descriptor limit to the hard one, so that the server's default
// --max-connections (derived from the soft limit) is as high as the process allows.
void raiseFdLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// Signals are blocked in every thread and taken synchronously here, so the
// shutdown runs as ordinary code, not in a signal handler.
int serve(const ServeArgs& args) {
  sigset_t signals = blockShutdownSignals();
  raiseFdLimit();

  http::Server server(toServerOptions(args));
  if (args.root.empty()) {
    http::installDefaultSite(server);
  } else {
    http::installStaticFiles(server, args.root);
  }
  http::installStatusEndpoint(server);
  server.bind();
  for (const auto& addr : server.boundAddresses()) {
    fmt::print("tether: listening on {}\n", addr.toString());
  }
  std::fflush(stdout);

  // run() returns only after stop(), i.e. after the waiter took a signal; if
  // run() throws instead, the waiter's destructor releases it.
  ShutdownWaiter waiter(signals, [&] { server.stop(); });
  server.run();
  return 0;
}

}  // namespace

Command addServeCommand(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the HTTP/1.1 keep-alive server");
  addServeOptions(*cmd, *args);
  return {cmd, [args] { return serve(*args); }};
}

}  // namespace tether::app
