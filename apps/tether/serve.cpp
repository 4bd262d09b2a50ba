// `tether serve`: the HTTP/1.1 keep-alive server on the default site or a root.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "commands.h"
#include "serve_options.h"
#include "shutdown_signals.h"
#include "tether/core/plural.h"
#include "tether/http/default_site.h"
#include "tether/http/metrics.h"
#include "tether/http/server.h"
#include "tether/http/static_files.h"
#include "tether/net/tls.h"

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

// bind(), with advice for the one failure a user can fix from the command line.
void bindOrExplain(http::Server& server) {
  try {
    server.bind();
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::address_in_use) throw;
    throw std::runtime_error(fmt::format(
        "{}; another process listens there: stop it, choose another --listen port, or take the "
        "port over on purpose with --share-port",
        e.what()));
  }
}

// Builds the TLS context here rather than in bind(), so that a bad certificate
// or cipher list is a usage error (exit 2), and the fingerprint can be shown.
void setUpTls(http::Server& server) {
  const http::ServerOptions& o = server.options();
  if (!o.anyTls()) return;
  std::unique_ptr<net::TlsContext> ctx;
  try {
    ctx = net::TlsContext::server(o.tls);
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
  if (o.tls.selfSigned) {
    fmt::print("tether: self-signed certificate for localhost, 127.0.0.1, ::1; SHA-256 {}\n",
               ctx->fingerprint());
  }
  server.setTlsContext(std::move(ctx));
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
  http::installMetricsEndpoint(server);
  setUpTls(server);
  bindOrExplain(server);
  const std::vector<bool>& tls = server.options().tlsListen;
  for (std::size_t i = 0; i < server.boundAddresses().size(); ++i) {
    bool secure = i < tls.size() && tls[i];
    fmt::print("tether: listening on {}{}\n", server.boundAddresses()[i].toString(),
               secure ? " (TLS)" : "");
  }
  std::fflush(stdout);

  // run() returns only after stop(), i.e. after the waiter took a signal; if
  // run() throws instead, the waiter's destructor releases it.
  ShutdownWaiter waiter(signals, [&](int sig) {
    fmt::print(stderr, "tether: SIG{}: draining {} (up to {:.3g} s)\n", sigabbrev_np(sig),
               core::counted(server.stats().open(), "connection"),
               static_cast<double>(server.options().shutdownTimeout) / 1000.0);
    server.stop();
  });
  server.run();
  http::ServerStatsSnapshot end = server.stats();
  fmt::print(stderr, "tether: stopped ({}, {} served)\n", core::counted(end.accepted, "connection"),
             core::counted(end.requests, "request"));
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
