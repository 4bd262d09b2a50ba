"""Scenario 5: a stateful firewall that expires idle flows.

The router tracks connections with nf_conntrack_tcp_timeout_established =
FW_TIMEOUT (per network namespace; test_bed checks that), loose=0 so that a
packet of an expired flow is invalid instead of starting a new entry, invalid
packets dropped (or answered with a TCP reset), and only established flows and
new SYNs forwarded.  (With the default loose=1 the router would quietly start a
new entry for the expired flow, and the connection would survive.)

What really happens, asserted below:
  - no keepalive, idle 2 x FW_TIMEOUT, then the client pings: the ping is
    dropped as invalid, nobody is told; only the heartbeat timeout ends it
    (exit 3 at interval + timeout after the last byte read), and the server,
    whose heartbeat is off, never notices (it sees no close);
  - keepalive 1:1:3 (probes every second of idleness, below the firewall's
    timeout) refreshes the entry: idle periods of 3 x FW_TIMEOUT between pings
    are survived, every ping is answered, no packet is invalid;
  - reset variant: the first send after expiry is answered with an RST by the
    router: exit 6 as soon as the client sends.
"""


import peers
import suite
from peers import EXIT_HEARTBEAT, EXIT_OK, EXIT_RESET

FW_TIMEOUT = 3
HB_TIMEOUT = 2.0
IDLE_DIES = 2 * FW_TIMEOUT        # heartbeat interval: the idle period before a send
IDLE_SURVIVES = 3 * FW_TIMEOUT
SURVIVE_DURATION = 2 * IDLE_SURVIVES + 2  # two idle periods, each ended by a ping


def idle_client(reset, interval, *client_args, duration=None):
    def scenario(bed):
        bed.firewall(FW_TIMEOUT, reset=reset)
        server, port = peers.heartbeat_server(bed, "--interval", "off",
                                              "--min-ping-interval", "100ms")
        extra = ["--duration", f"{duration}s"] if duration else []
        client, t_conn = peers.heartbeat_client(
            bed, port, "--interval", f"{interval}s", "--timeout", f"{HB_TIMEOUT:g}s",
            "--jitter", "0", *client_args, *extra)
        wait = (duration or interval + HB_TIMEOUT) + suite.TOL + 3.0
        result = peers.client_outcome(client, t_conn, wait)
        result.update(
            invalid=bed.dropped("invalid"),
            pongs=sum(1 for _, ev in client.events() if ev.get("event") == "pong"),
            server_closes=[ev for _, ev in server.events() if ev.get("event") == "closed"])
        return result
    return scenario


class FirewallTest(suite.GroupCase):
    group = "firewall"

    @staticmethod
    def scenarios():
        return {
            "expired_silently": idle_client(False, IDLE_DIES),
            "keepalive_survives": idle_client(False, IDLE_SURVIVES, "--so-keepalive", "1:1:3",
                                              duration=SURVIVE_DURATION),
            "expired_reset": idle_client(True, IDLE_DIES),
        }

    def test_5_idle_flow_without_keepalive_dies_silently(self):
        for r in self.detected("expired_silently", IDLE_DIES + HB_TIMEOUT, (EXIT_HEARTBEAT,),
                               f"conntrack {FW_TIMEOUT}s expired, no keepalive: ping after "
                               f"{IDLE_DIES}s idle lost, heartbeat timeout (exit 3)"):
            self.assertEqual(r["reason"], "heartbeat_timeout", r["out"])
            self.assertGreater(r["invalid"], 0, "the firewall dropped nothing as invalid")
            self.assertEqual(r["server_closes"], [], "the server was told; not silent")

    def test_5_keepalive_below_firewall_timeout_survives(self):
        for r in self.undetected("keepalive_survives",
                                 f"keepalive 1:1:3, idle {IDLE_SURVIVES}s x2 through a "
                                 f"{FW_TIMEOUT}s conntrack timeout: connection alive"):
            self.assertEqual(r["code"], EXIT_OK, r["out"])
            self.assertGreaterEqual(r["pongs"], 2, r["out"])
            self.assertEqual(r["invalid"], 0, "a packet of the flow was seen as invalid")

    def test_5_reset_variant_client_learns_on_next_send(self):
        for r in self.detected("expired_reset", IDLE_DIES, (EXIT_RESET,),
                               f"conntrack {FW_TIMEOUT}s expired, firewall answers RST: the "
                               f"ping after {IDLE_DIES}s idle is reset (exit 6)"):
            self.assertEqual(r["reason"], "peer_reset", r["out"])
            self.assertGreater(r["invalid"], 0)

if __name__ == "__main__":
    suite.main()
