#include "tools/inspect/inspect_tls.h"

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <vector>

#include "tools/inspect/inspect_probe.h"

namespace tether::tools::inspect {
namespace {

using Mode = net::TlsOrigin::Mode;

// One probe: how the origin makes its handshake, and where its outcome goes.
struct Step {
  Mode mode;
  bool forgetFirst = false;  // drop the cached sessions before it
  ProbeOutcome* out;
};

std::vector<Step> plan(TlsProbes& out) {
  std::vector<Step> steps;
  // Tickets from connections the server closed (the idle probes) come first:
  // does the session outlive the close?
  for (ProbeOutcome& o : out.resumed) steps.push_back({Mode{}, false, &o});
  Mode none;
  none.offerSession = false;
  for (ProbeOutcome& o : out.full) steps.push_back({none, false, &o});
  // TLS 1.2 without tickets: only the server's session cache can resume.
  Mode byId;
  byId.tickets = false;
  byId.maxVersion = TLS1_2_VERSION;
  Mode byIdFresh = byId;
  byIdFresh.offerSession = false;
  steps.push_back({byIdFresh, true, &out.sessionIdFirst});
  steps.push_back({byId, false, &out.sessionIdSecond});
  return steps;
}

}  // namespace

void runTlsProbes(net::EventLoop& loop, const net::SocketAddress& target, net::TlsOrigin& origin,
                  const ProbeScript& base, TlsProbes& out) {
  std::vector<Step> steps = plan(out);
  std::size_t next = 0;
  bool allDone = false;
  std::unique_ptr<Probe> current, finished;
  std::function<void()> startNext = [&] {
    if (next == steps.size()) {
      allDone = true;
      return;
    }
    const Step& s = steps[next++];
    if (s.forgetFirst) origin.forgetSessions();
    origin.mode() = s.mode;
    ProbeScript script = base;
    script.tls = &origin;
    // The previous probe is still on the stack (this runs from its onDone):
    // keep it alive until the next one is done with.
    finished = std::move(current);
    current = std::make_unique<Probe>(loop, target, script, [&, s] {
      *s.out = current->outcome();
      loop.queueInLoop(startNext);  // after this iteration's callbacks
    });
    current->start();
  };
  startNext();
  // runOnce, not run(): the first phase already asked the loop to quit.
  while (!allDone) loop.runOnce(core::TimerWheel::kNever);
  origin.mode() = Mode{};
}

}  // namespace tether::tools::inspect
