// The https part of `tether inspect`: the handshake probes that run after the
// others, one at a time (resumption with a ticket, full handshakes, TLS 1.2
// session IDs). Loop thread; the origin holds the sessions between probes.
#pragma once

#include <string>

#include "tether/net/event_loop.h"
#include "tether/net/tls_client.h"
#include "tether/tools/inspect.h"

namespace tether::tools::inspect {

struct ProbeScript;

/// Runs the probes of TlsProbes on `loop`, one after another, until all are
/// done. `base`: the script every probe runs (one GET, no wait for a close).
void runTlsProbes(net::EventLoop& loop, const net::SocketAddress& target, net::TlsOrigin& origin,
                  const ProbeScript& base, TlsProbes& out);

}  // namespace tether::tools::inspect
