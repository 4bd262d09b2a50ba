// `tether serve`: the HTTP/1.1 keep-alive server on the default site or a root.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "tether/core/duration.h"
#include "tether/http/default_site.h"
#include "tether/http/server.h"
#include "tether/http/static_files.h"

namespace tether::app {
namespace {

struct ServeArgs {
  std::vector<std::string> listen;
  int workers = 0;
  std::string keepaliveTimeout = "75s", keepaliveGrace = "1s";
  bool noKeepaliveHeader = false;
  long long keepaliveRequests = 1000;
  std::string keepaliveTime = "1h";
  int keepaliveJitter = 10;
  std::string clientHeaderTimeout = "60s", clientBodyTimeout = "60s", sendTimeout = "60s";
  std::string lingeringClose = "on", lingeringTime = "30s", lingeringTimeout = "5s";
  bool resetTimedout = false;
  long long maxConnections = 0;
  std::string maxHeaderSize = "16k", maxBodySize = "1m";
  std::string root;
  std::string accessLog = "off";
  std::string shutdownTimeout = "10s";
};

core::Millis duration(const std::string& option, const std::string& text) {
  auto ms = core::parseDuration(text);
  if (!ms) {
    throw UsageError(
        fmt::format("{}: invalid duration '{}' (examples: 500ms, 30s, 5m, 1h)", option, text));
  }
  return *ms;
}

std::uint64_t size(const std::string& option, const std::string& text) {
  auto bytes = core::parseSize(text);
  if (!bytes || *bytes == 0) {
    throw UsageError(fmt::format("{}: invalid size '{}' (examples: 8192, 16k, 1m)", option, text));
  }
  return *bytes;
}

http::ServerOptions toOptions(const ServeArgs& a) {
  http::ServerOptions o;
  for (const std::string& text :
       a.listen.empty() ? std::vector<std::string>{"127.0.0.1:8080"} : a.listen) {
    auto addr = net::parseSocketAddress(text);
    if (!addr) {
      throw UsageError(
          fmt::format("--listen: invalid address '{}' (examples: 127.0.0.1:8080, "
                      "[::1]:8080, *:8080)",
                      text));
    }
    o.listen.push_back(*addr);
  }
  o.workers = a.workers;
  o.keepaliveTimeout = duration("--keepalive-timeout", a.keepaliveTimeout);
  o.keepaliveGrace = duration("--keepalive-grace", a.keepaliveGrace);
  o.keepaliveHeader = !a.noKeepaliveHeader;
  o.keepaliveRequests = static_cast<std::uint64_t>(a.keepaliveRequests);
  o.keepaliveTime = duration("--keepalive-time", a.keepaliveTime);
  o.keepaliveJitterPercent = a.keepaliveJitter;
  o.clientHeaderTimeout = duration("--client-header-timeout", a.clientHeaderTimeout);
  o.clientBodyTimeout = duration("--client-body-timeout", a.clientBodyTimeout);
  o.sendTimeout = duration("--send-timeout", a.sendTimeout);
  o.lingeringClose = a.lingeringClose == "off"      ? http::LingeringClose::kOff
                     : a.lingeringClose == "always" ? http::LingeringClose::kAlways
                                                    : http::LingeringClose::kOn;
  o.lingeringTime = duration("--lingering-time", a.lingeringTime);
  o.lingeringTimeout = duration("--lingering-timeout", a.lingeringTimeout);
  o.resetTimedoutConnection = a.resetTimedout;
  o.maxConnections = static_cast<std::uint64_t>(a.maxConnections);
  o.maxHeaderSize = size("--max-header-size", a.maxHeaderSize);
  o.maxBodySize = size("--max-body-size", a.maxBodySize);
  o.accessLog = a.accessLog;
  o.shutdownTimeout = duration("--shutdown-timeout", a.shutdownTimeout);
  return o;
}

// Signals are blocked in every thread and taken synchronously here, so the
// shutdown runs as ordinary code, not in a signal handler.
int serve(const ServeArgs& args) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  http::Server server(toOptions(args));
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
  cmd->add_option("--listen", args->listen, "ADDR:PORT to listen on (repeatable; [::1]:8080)")
      ->default_str("127.0.0.1:8080");
  cmd->add_option("--workers", args->workers, "worker threads, one epoll loop each (0: cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--keepalive-timeout", args->keepaliveTimeout,
                  "idle time after a response before closing; 0 disables keep-alive")
      ->capture_default_str();
  cmd->add_option("--keepalive-grace", args->keepaliveGrace,
                  "extra wait beyond the advertised timeout before the idle close")
      ->capture_default_str();
  cmd->add_flag("--no-keepalive-header", args->noKeepaliveHeader,
                "do not send the Keep-Alive: timeout=N, max=R header");
  cmd->add_option("--keepalive-requests", args->keepaliveRequests,
                  "requests per connection; the last one carries Connection: close (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--keepalive-time", args->keepaliveTime,
                  "maximum connection lifetime; closes after the request that crosses it")
      ->capture_default_str();
  cmd->add_option("--keepalive-jitter", args->keepaliveJitter, "spread of the lifetime, +-percent")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_option("--client-header-timeout", args->clientHeaderTimeout,
                  "time for the whole request header, else 408")
      ->capture_default_str();
  cmd->add_option("--client-body-timeout", args->clientBodyTimeout,
                  "time between two reads of a request body")
      ->capture_default_str();
  cmd->add_option("--send-timeout", args->sendTimeout, "time between two writes of a response")
      ->capture_default_str();
  cmd->add_option("--lingering-close", args->lingeringClose,
                  "drain input before closing: on (when the client may send more), off, always")
      ->check(CLI::IsMember({"on", "off", "always"}))
      ->capture_default_str();
  cmd->add_option("--lingering-time", args->lingeringTime, "total time to drain when lingering")
      ->capture_default_str();
  cmd->add_option("--lingering-timeout", args->lingeringTimeout,
                  "maximum wait for more input while lingering")
      ->capture_default_str();
  cmd->add_flag("--reset-timedout-connection", args->resetTimedout,
                "close timed-out connections with RST (idle keep-alive closes stay FIN)");
  cmd->add_option("--max-connections", args->maxConnections,
                  "open connection limit; at it, the oldest idle ones close first (0: fd limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-header-size", args->maxHeaderSize, "request header limit (431/414)")
      ->capture_default_str();
  cmd->add_option("--max-body-size", args->maxBodySize, "request body limit (413)")
      ->capture_default_str();
  cmd->add_option("--root", args->root, "serve static files from DIR instead of the default site")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--access-log", args->accessLog, "FILE, - (stdout) or off")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", args->shutdownTimeout,
                  "SIGTERM/SIGINT: time to finish in-flight requests before forcing closes")
      ->capture_default_str();
  return [args, cmd]() -> int {
    if (!cmd->parsed()) return 0;
    return serve(*args);
  };
}

}  // namespace tether::app
