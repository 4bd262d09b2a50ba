"""Scenario 6: a hung peer (SIGSTOP): its kernel still ACKs everything.

TCP keepalive probes are answered by the stopped peer's kernel, so keepalive
1:1:2 never fires (SIGSTOP does not stop the kernel's TCP stack).  The
heartbeat (interval h = 1 s, timeout t = 2 s) is answered by the application: a
ping goes out when nothing was read for h, and the peer is declared dead t
later, so detection comes h + t after the last byte read.  The last byte read
(a pong) is at most h before the stop, so measured from the SIGSTOP the
detection lies in [t, h + t].
"""

import random
import signal
import time

import peers
import suite
from peers import EXIT_HEARTBEAT

H, T = 1.0, 2.0
BOUND = H + T
KEEPALIVE_WAIT = 6.0  # keepalive 1:1:2 would have fired after 3 s of silence


def settle():
    """Heartbeats run for a while before the hang, which starts at a random
    phase of the ping cycle, so the repetitions cover the range [T, H + T]."""
    return 1.0 + random.random() * H


def stopped_server(*client_args):
    def scenario(bed):
        server, port = peers.heartbeat_server(bed, "--interval", "off",
                                              "--min-ping-interval", "100ms")
        client, _ = peers.heartbeat_client(bed, port, *client_args)
        time.sleep(settle())
        server.signal(signal.SIGSTOP)
        t_fault = time.monotonic()
        result = peers.client_outcome(client, t_fault, max(KEEPALIVE_WAIT, BOUND + suite.TOL))
        server.stop()  # SIGCONT + SIGTERM
        return result
    return scenario


def stopped_client(*server_args):
    """A client whose process hangs: the server's heartbeat finds it; the
    server's keepalive alone (the control) does not."""
    def scenario(bed):
        server, port = peers.heartbeat_server(bed, *server_args, "--min-ping-interval", "100ms")
        client, _ = peers.heartbeat_client(bed, port, "--interval", "off")
        time.sleep(settle())
        client.signal(signal.SIGSTOP)
        t_fault = time.monotonic()
        found = server.wait_event("closed", max(KEEPALIVE_WAIT, BOUND + suite.TOL + 3.0))
        client.kill()
        return {"detected": found is not None,
                "seconds": (found[0] if found else time.monotonic()) - t_fault,
                "event": found and found[1], "out": server.output()}
    return scenario


class HungPeerTest(suite.GroupCase):
    group = "hung"

    @staticmethod
    def scenarios():
        return {
            "keepalive_1_1_2": stopped_server("--interval", "off", "--so-keepalive", "1:1:2"),
            "heartbeat_1s_2s": stopped_server("--interval", f"{H:g}s", "--timeout", f"{T:g}s",
                                              "--jitter", "0"),
            "server_side": stopped_client("--interval", f"{H:g}s", "--timeout", f"{T:g}s"),
            "server_keepalive_1_1_2": stopped_client("--interval", "off",
                                                     "--so-keepalive", "1:1:2"),
        }

    def test_6_keepalive_does_not_see_a_hung_server(self):
        for r in self.undetected("keepalive_1_1_2", "server SIGSTOPped, client keepalive "
                                 "1:1:2, no heartbeat: still connected"):
            self.assertGreaterEqual(r["seconds"], KEEPALIVE_WAIT)
            self.assertEqual(r["code"], 0, r["out"])

    def test_6_heartbeat_detects_a_hung_server(self):
        for r in self.detected("heartbeat_1s_2s", BOUND, (EXIT_HEARTBEAT,),
                               "server SIGSTOPped, client heartbeat 1s/2s: exit 3",
                               early=H + suite.EARLY_TOL):
            self.assertEqual(r["reason"], "heartbeat_timeout", r["out"])

    def test_6_server_keepalive_does_not_see_a_hung_client(self):
        for r in self.undetected("server_keepalive_1_1_2", "client SIGSTOPped, server "
                                 "keepalive 1:1:2, no heartbeat: still connected"):
            self.assertGreaterEqual(r["seconds"], KEEPALIVE_WAIT)

    def test_6_server_heartbeat_detects_a_hung_client(self):
        for r in self.detected("server_side", BOUND, None,
                               "client SIGSTOPped, server heartbeat 1s/2s closes it",
                               early=H + suite.EARLY_TOL):
            self.assertEqual(r["event"].get("reason"), "heartbeat_timeout", r["out"])

if __name__ == "__main__":
    suite.main()
