// Builds the probe scripts of `tether inspect` and runs them all at once on one
// loop, so the whole inspection takes about one idle timeout.
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>

#include "tether/http/client/request_writer.h"
#include "tools/inspect/inspect_probe.h"
#include "tools/inspect/inspect_tls.h"

namespace tether::tools::inspect {
namespace {

// How long the persistence probes wait for a close. A server that does not
// persist closes right behind its response; buildReport() counts a close within
// 50 ms as that, and anything later (or none) as a persistent connection.
constexpr Millis kPersistenceWindowMs = 500;

// A path the server almost surely does not have: its status tells the middle
// pipelined response apart from the others.
constexpr const char* kMissingPath = "/tether-inspect-missing-9f3c";

// Body of the unread second request of the lingering probe: more than a server
// reads in one go, so a server that closes without draining leaves it unread in
// its socket, and its kernel answers with RST (RFC 1122 §4.2.2.13; Linux does).
constexpr std::size_t kUnreadBodyBytes = 64 * 1024;

std::string serialize(const InspectConfig& c, const std::string& method, const std::string& path,
                      const char* connection, bool http10, std::size_t bodyBytes = 0) {
  client::ClientRequest req;
  req.body.assign(bodyBytes, 'x');
  req.method = method;
  req.target = path;
  req.headers = c.headers;
  if (connection != nullptr) req.headers.emplace_back("Connection", connection);
  std::string out;
  const char* err = client::serializeRequest(req, c.host, out);
  if (*err != '\0') throw std::runtime_error(std::string("cannot build the request: ") + err);
  // The writer speaks HTTP/1.1; the request line is ours to downgrade.
  if (http10) out.replace(out.find(" HTTP/1.1\r\n"), 11, " HTTP/1.0\r\n");
  return out;
}

ProbeScript single(const InspectConfig& c, std::string request, Millis wait) {
  ProbeScript s;
  s.first = std::move(request);
  s.headFlags = {false};
  s.waitForClose = wait;
  s.requestTimeout = c.requestTimeout;
  s.keepalive = c.keepalive;
  return s;
}

struct Scripts {
  ProbeScript idle, http10, http10KeepAlive, connectionClose, lingering, pipeline, maxRequests;
};

Scripts makeScripts(const InspectConfig& c) {
  Scripts s;
  const std::string get = serialize(c, "GET", c.path, nullptr, false);
  s.idle = single(c, get, c.maxIdleWait);
  s.http10 = single(c, serialize(c, "GET", c.path, nullptr, true), kPersistenceWindowMs);
  s.http10KeepAlive =
      single(c, serialize(c, "GET", c.path, "keep-alive", true), kPersistenceWindowMs);
  const std::string close = serialize(c, "GET", c.path, "close", false);
  s.connectionClose = single(c, close, kPersistenceWindowMs);
  // The server must not read the second request; closing with it unread must
  // not destroy the first response (lingering close).
  s.lingering = single(c, close + serialize(c, "POST", c.path, nullptr, false, kUnreadBodyBytes),
                       c.requestTimeout);
  s.pipeline = single(c,
                      get + serialize(c, "GET", kMissingPath, nullptr, false) +
                          serialize(c, "HEAD", c.path, nullptr, false),
                      kPersistenceWindowMs);
  s.pipeline.headFlags = {false, false, true};
  s.maxRequests = single(c, get, c.requestTimeout);
  s.maxRequests.again = get;
  s.maxRequests.cap = c.maxRequests;
  return s;
}

}  // namespace

InspectResult runInspection(const InspectConfig& config) {
  Scripts scripts = makeScripts(config);
  net::EventLoop loop;
  std::unique_ptr<net::TlsOrigin> origin;
  if (config.tls) {
    origin = std::make_unique<net::TlsOrigin>(*config.tls, config.tlsServerName);
    for (ProbeScript* s :
         {&scripts.idle, &scripts.http10, &scripts.http10KeepAlive, &scripts.connectionClose,
          &scripts.lingering, &scripts.pipeline, &scripts.maxRequests}) {
      s->tls = origin.get();
    }
  }
  const core::Clock& clock = loop.clock();
  core::Nanos start = clock.nanos();
  int running = 0;
  auto done = [&] {
    if (--running == 0) loop.quit();
  };
  std::vector<std::unique_ptr<Probe>> probes;
  auto add = [&](const ProbeScript& s) {
    probes.push_back(std::make_unique<Probe>(loop, config.target, s, done));
  };
  for (int i = 0; i < 3; ++i) add(scripts.idle);
  for (const ProbeScript* s : {&scripts.http10, &scripts.http10KeepAlive, &scripts.connectionClose,
                               &scripts.lingering, &scripts.pipeline, &scripts.maxRequests}) {
    add(*s);
  }
  running = static_cast<int>(probes.size());
  for (auto& p : probes) p->start();
  std::function<void()> report = [&] {
    const ProbeOutcome& idle = probes[0]->outcome();
    InspectProgress p;
    p.elapsedMs = static_cast<Millis>((clock.nanos() - start) / 1'000'000);
    p.running = running;
    p.total = static_cast<int>(probes.size());
    p.idleResponseSeen = !idle.responses.empty();
    if (p.idleResponseSeen) p.advertisedTimeoutS = idle.responses.front().keepAliveTimeout;
    p.maxIdleWait = config.maxIdleWait;
    config.progress(p);
    loop.runAfter(kProgressEveryMs, report);
  };
  if (config.progress) loop.runAfter(kProgressEveryMs, report);
  if (running > 0) loop.run();

  const ProbeOutcome& first = probes[0]->outcome();
  if (first.connectErrno != 0) {
    throw std::runtime_error("cannot connect to " + config.target.toString() + ": " +
                             std::strerror(first.connectErrno));
  }
  if (first.tls.refused) {
    throw std::runtime_error(config.tlsServerName + ": " + first.error +
                             " (--cacert FILE names the CA to trust; -k skips the check)");
  }
  InspectResult r;
  for (int i = 0; i < 3; ++i) r.idle[i] = probes[std::size_t(i)]->outcome();
  ProbeOutcome* rest[] = {&r.http10,    &r.http10KeepAlive, &r.connectionClose,
                          &r.lingering, &r.pipeline,        &r.maxRequests};
  for (std::size_t i = 0; i < 6; ++i) *rest[i] = probes[3 + i]->outcome();
  if (origin)
    runTlsProbes(loop, config.target, *origin, single(config, scripts.idle.first, 0), r.tls);
  r.persistenceWindowMs = kPersistenceWindowMs;
  r.elapsedMs = core::toMillis(clock.nanos() - start);
  return r;
}

}  // namespace tether::tools::inspect
