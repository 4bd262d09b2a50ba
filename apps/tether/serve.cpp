// `tether serve`: the HTTP/1.1 keep-alive server on the default site or a root.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "serve_options.h"
#include "tether/http/default_site.h"
#include "tether/http/server.h"
#include "tether/http/static_files.h"

namespace tether::app {
namespace {

// Signals are blocked in every thread and taken synchronously here, so the
// shutdown runs as ordinary code, not in a signal handler.
int serve(const ServeArgs& args) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

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

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    timespec poll{0, 200'000'000};
    while (!done.load()) {
      if (sigtimedwait(&signals, nullptr, &poll) > 0) {
        server.stop();
        return;
      }
    }
  });
  server.run();
  done.store(true);
  waiter.join();
  return 0;
}

}  // namespace

Runner addServeCommand(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the HTTP/1.1 keep-alive server");
  addServeOptions(*cmd, *args);
  return [args, cmd]() -> int {
    if (!cmd->parsed()) return 0;
    return serve(*args);
  };
}

}  // namespace tether::app
