"""Scenario 7: ping flood.  The server permits one ping per MIN_PING and counts
an earlier ping as a strike; above MAX_STRIKES it closes the client with the
reason too_many_pings (gRPC A8's ENHANCE_YOUR_CALM).  The abusive client pings
every FLOOD_INTERVAL, so the close comes within (MAX_STRIKES + 2) pings of the
connect.  A well-behaved client on the same server keeps its connection.
"""

import peers
import suite
from peers import EXIT_CLOSED, EXIT_OK

MIN_PING = "1s"
MAX_STRIKES = 2
FLOOD_INTERVAL_MS = 100
FLOOD_INTERVAL = FLOOD_INTERVAL_MS / 1000
BOUND = (MAX_STRIKES + 2) * FLOOD_INTERVAL
GOOD_DURATION = 6.0


def flood(bed):
    server, port = peers.heartbeat_server(bed, "--interval", "off", "--min-ping-interval",
                                          MIN_PING, "--max-ping-strikes", str(MAX_STRIKES))
    good, _ = peers.heartbeat_client(bed, port, "--interval", "2s", "--jitter", "0",
                                     "--duration", f"{GOOD_DURATION:g}s")
    bad, t_conn = peers.heartbeat_client(bed, port, "--interval", f"{FLOOD_INTERVAL_MS}ms",
                                         "--jitter", "0")
    result = peers.client_outcome(bad, t_conn, BOUND + suite.TOL + 3.0)
    good_code = good.wait_exit(GOOD_DURATION + suite.TOL + 5.0)
    result.update(
        good_code=good_code, good_reason=peers.closed_reason(good),
        good_pongs=sum(1 for _, ev in good.events() if ev.get("event") == "pong"),
        server_reasons=[ev.get("reason") for _, ev in server.events()
                        if ev.get("event") == "closed"],
        out=f"--- bad ---\n{result['out']}\n--- good ---\n{good.output()}\n"
            f"--- server ---\n{server.output()}")
    return result

CONTROL_DURATION = 3.0


def flood_unlimited(bed):
    """Control: the same flood against a server whose strike limit is off
    (`--max-ping-strikes 0`) runs its whole --duration."""
    server, port = peers.heartbeat_server(bed, "--interval", "off", "--min-ping-interval",
                                          MIN_PING, "--max-ping-strikes", "0")
    bad, t_conn = peers.heartbeat_client(bed, port, "--interval", f"{FLOOD_INTERVAL_MS}ms",
                                         "--jitter", "0", "--duration", f"{CONTROL_DURATION:g}s")
    result = peers.client_outcome(bad, t_conn, CONTROL_DURATION + suite.TOL + 3.0)
    result.update(pongs=sum(1 for _, ev in bad.events() if ev.get("event") == "pong"),
                  out=f"--- bad ---\n{result['out']}\n--- server ---\n{server.output()}")
    return result


class PingFloodTest(suite.GroupCase):
    group = "flood"

    @staticmethod
    def scenarios():
        return {"flood": flood, "flood_unlimited": flood_unlimited}

    def test_7_abusive_client_closed_with_too_many_pings(self):
        for r in self.detected("flood", BOUND, (EXIT_CLOSED,),
                               f"client pinging every {FLOOD_INTERVAL_MS}ms vs min {MIN_PING}, "
                               f"{MAX_STRIKES} strikes: closed (too_many_pings)", early=BOUND):
            self.assertEqual(r["code"], EXIT_CLOSED, r["out"])
            self.assertEqual(r["reason"], "too_many_pings", r["out"])
            self.assertIn("too_many_pings", r["server_reasons"], r["out"])

    def test_7_well_behaved_client_untouched(self):
        for r in suite.outcomes(self, self.results["flood"]):
            self.assertEqual(r["good_code"], EXIT_OK, r["out"])
            self.assertNotIn(r["good_reason"], ("too_many_pings", "heartbeat_timeout"), r["out"])
            self.assertGreaterEqual(r["good_pongs"], 2, r["out"])
            self.assertEqual(r["server_reasons"].count("too_many_pings"), 1, r["out"])

    def test_7_control_no_strike_limit(self):
        for r in self.undetected("flood_unlimited", f"client pinging every {FLOOD_INTERVAL_MS}ms, "
                                 "server --max-ping-strikes 0: runs its --duration"):
            self.assertEqual(r["code"], EXIT_OK, r["out"])
            self.assertGreaterEqual(r["seconds"], CONTROL_DURATION - suite.EARLY_TOL, r["out"])
            # Every 100 ms for 3 s: far more pings than the 2 strikes allowed above.
            self.assertGreater(r["pongs"], 2 * (MAX_STRIKES + 2), r["out"])

if __name__ == "__main__":
    suite.main()
