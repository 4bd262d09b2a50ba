// `tether serve`: the HTTP/1.1 keep-alive server on the default site or a root.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "admin_thread.h"
#include "commands.h"
#include "serve_options.h"
#include "shutdown_signals.h"
#include "tether/core/plural.h"
#include "tether/http/default_site.h"
#include "tether/http/observability.h"
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
void bindOrExplain(http::Server& server, const char* option) {
  try {
    server.bind();
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::address_in_use) throw;
    throw std::runtime_error(fmt::format(
        "{}; another process listens there: stop it, choose another {} port{}", e.what(), option,
        option == std::string_view("--listen")
            ? ", or take the port over on purpose with --share-port"
            : ""));
  }
}

// The admin server of --metrics-listen: one worker, plain HTTP, the site's idle
// timeout, a short drain. Its own requests are not the site's: not counted.
std::unique_ptr<http::Server> adminServer(const http::ServerOptions& site) {
  if (!site.metricsListen) return nullptr;
  http::ServerOptions o;
  o.listen = {*site.metricsListen};
  o.workers = 1;
  o.keepaliveTimeout = site.keepaliveTimeout;
  o.shutdownTimeout = std::min<core::Millis>(site.shutdownTimeout, 1000);
  return std::make_unique<http::Server>(std::move(o));
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

  http::ServerOptions options = toServerOptions(args);
  std::unique_ptr<http::Server> admin = adminServer(options);
  if (admin) {
    bindOrExplain(*admin, "--metrics-listen");
    options.metricsListen = admin->boundAddresses()[0];  // port 0 resolved, for the settings
  }
  http::Server server(std::move(options));
  if (args.root.empty()) {
    http::installDefaultSite(server, admin ? admin->boundAddresses()[0].toString() : "");
  } else {
    http::installStaticFiles(server, args.root);
  }
  http::installObservability(admin ? *admin : server, server);
  setUpTls(server);
  bindOrExplain(server, "--listen");
  // run() returns only after stop(), i.e. after the waiter took a signal; if
  // run() throws instead, the waiter's destructor releases it. Made before the
  // "listening" lines: its descriptors (signalfd, eventfd) exist by the time a
  // watcher counts the process's descriptors.
  ShutdownWaiter waiter(signals, [&](int sig) {
    fmt::print(stderr, "tether: SIG{}: draining {} (up to {:.3g} s)\n", sigabbrev_np(sig),
               core::counted(server.stats().open(), "connection"),
               static_cast<double>(server.options().shutdownTimeout) / 1000.0);
    server.stop();
  });
  fmt::print(
      "tether: event loop {} (--io-backend {}{}{})\n",
      net::ioBackendName(server.options().ioBackend), args.ioBackend,
      server.ioBackendFallback().empty() ? "" : ": io_uring refused: ", server.ioBackendFallback());
  const std::vector<bool>& tls = server.options().tlsListen;
  for (std::size_t i = 0; i < server.boundAddresses().size(); ++i) {
    bool secure = i < tls.size() && tls[i];
    fmt::print("tether: listening on {}{}\n", server.boundAddresses()[i].toString(),
               secure ? " (TLS)" : "");
  }
  if (admin) {
    fmt::print("tether: metrics, status and live page on http://{}/.tether/\n",
               admin->boundAddresses()[0].toString());
  }
  std::fflush(stdout);

  {
    AdminThread adminThread(admin.get());
    server.run();
  }
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
