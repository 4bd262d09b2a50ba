// A minimal embedding of tether's HTTP server: two routes, keep-alive policy
// from ServerOptions, graceful stop on Ctrl-C.
//
//   ./hello_server 127.0.0.1:9000
//   curl -v http://127.0.0.1:9000/hello http://127.0.0.1:9000/hello   # one connection
#include <signal.h>

#include <cstdio>
#include <thread>

#include "tether/http/server.h"

using tether::http::Request;
using tether::http::Response;

int main(int argc, char** argv) {
  tether::http::ServerOptions options;
  options.listen.push_back(*tether::net::parseSocketAddress(argc > 1 ? argv[1] : "127.0.0.1:9000"));
  options.workers = 1;
  options.keepaliveTimeout = 30'000;  // ms; responses advertise Keep-Alive: timeout=30

  tether::http::Server server(options);
  server.handle("/hello", [](const Request& req, Response& res) {
    res.setContentType("text/plain");
    res.setBody("hello, request " + std::to_string(req.requestNumber) + " on connection " +
                std::to_string(req.connectionId) + "\n");
  });

  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);  // inherited by the worker threads
  server.bind();
  std::printf("listening on %s\n", server.boundAddresses()[0].toString().c_str());
  std::fflush(stdout);
  std::thread stopper([&] {
    int sig;
    sigwait(&stopSignals, &sig);
    server.stop();
  });
  server.run();
  stopper.join();
}
