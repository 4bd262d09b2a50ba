"""Scenarios 1-3: cable pulled, keepalive 30:1:3, power loss and crash.

Kernel rule (tcp_keepalive_timer in net/ipv4/tcp_timer.c): an idle connection with
keepalive IDLE:INTVL:CNT is killed with ETIMEDOUT at IDLE + CNT*INTVL after the
last segment received, each kernel timer possibly late by the granularity of
its timer-wheel level (suite.timer_slack: up to 2.05 s for the 30 s timer at
HZ=250), which is added to the tolerance.  The fault is injected as soon as
both hellos are exchanged and acknowledged (Bed.wait_settled; nothing is sent
afterwards: heartbeats off), so the time from the fault to detection is at most
that bound, and close to it.
"""

import signal
import time

import peers
import suite
from peers import EXIT_CLOSED, EXIT_RESET, EXIT_TCP_TIMEOUT

BOUND_2_1_3, SLACK_2_1_3 = suite.keepalive_bound(2, 1, 3)      # 5 s
BOUND_30_1_3, SLACK_30_1_3 = suite.keepalive_bound(30, 1, 3)   # 33 s
CONTROL_MARGIN = 3.0        # negative controls wait bound + TOL + this
CRASH_BOUND = 1.0           # a crash is learned "at once": FIN from the peer's kernel


def keepalive_client_cut(keepalive, bound, kill_server=False):
    """Client with `keepalive` (or none), idle; cut (then optionally kill the
    server: power loss).  Returns the exit code and seconds from fault to
    detection (None if not detected within bound + TOL + CONTROL_MARGIN)."""
    def scenario(bed):
        server, port = peers.heartbeat_server(bed, "--interval", "off")
        args = ["--interval", "off"] + (["--so-keepalive", keepalive] if keepalive else [])
        client, _ = peers.heartbeat_client(bed, port, *args)
        bed.wait_settled()
        bed.cut()
        t_fault = time.monotonic()
        if kill_server:
            server.kill()
        result = peers.client_outcome(client, t_fault, bound + suite.TOL + CONTROL_MARGIN)
        result["idle_s"] = result["since_last_read_s"]
        return result
    return scenario


def crash(bed):
    """kill -9 the server, no drop: its kernel closes the socket (FIN)."""
    server, port = peers.heartbeat_server(bed, "--interval", "off")
    client, _ = peers.heartbeat_client(bed, port, "--interval", "off")
    t_fault = time.monotonic()
    server.proc.send_signal(signal.SIGKILL)
    return peers.client_outcome(client, t_fault, CRASH_BOUND + suite.TOL + CONTROL_MARGIN)


class KeepaliveTest(suite.GroupCase):
    group = "keepalive"

    @staticmethod
    def scenarios():
        return {
            "cut_2_1_3": keepalive_client_cut("2:1:3", BOUND_2_1_3),
            "cut_control": keepalive_client_cut(None, BOUND_2_1_3),
            "seed_30_1_3": keepalive_client_cut("30:1:3", BOUND_30_1_3),
            "power_loss": keepalive_client_cut("2:1:3", BOUND_2_1_3, kill_server=True),
            "power_loss_control": keepalive_client_cut(None, BOUND_2_1_3, kill_server=True),
            "crash": crash,
        }

    def test_1_cable_pulled_client_keepalive_2_1_3(self):
        rs = self.detected("cut_2_1_3", BOUND_2_1_3, (EXIT_TCP_TIMEOUT,),
                           "heartbeat connect --so-keepalive 2:1:3, cable pulled: exit 4",
                           tol=suite.TOL + SLACK_2_1_3)
        for r in rs:
            self.assertEqual(r["reason"], "keepalive_timeout", r["out"])

    def test_1_control_no_keepalive_stays_connected(self):
        for r in self.undetected("cut_control", "no keepalive, cable pulled: still connected"):
            self.assertGreaterEqual(r["seconds"], BOUND_2_1_3 + suite.TOL + CONTROL_MARGIN)
            self.assertEqual(r["code"], 0, "SIGTERM must end a healthy-looking client with 0")

    def test_2_keepalive_30_1_3(self):
        self.detected("seed_30_1_3", BOUND_30_1_3, (EXIT_TCP_TIMEOUT,),
                      "heartbeat connect --so-keepalive 30:1:3, cable pulled: exit 4",
                      tol=suite.TOL + SLACK_30_1_3)

    def test_3_power_loss_detected_by_keepalive(self):
        self.detected("power_loss", BOUND_2_1_3, (EXIT_TCP_TIMEOUT,),
                      "power loss (drop, then kill -9 server), keepalive 2:1:3: exit 4",
                      tol=suite.TOL + SLACK_2_1_3)

    def test_3_control_power_loss_without_keepalive(self):
        for r in self.undetected("power_loss_control",
                                 "power loss, no keepalive: still connected"):
            self.assertGreaterEqual(r["seconds"], BOUND_2_1_3 + suite.TOL + CONTROL_MARGIN)
            self.assertEqual(r["code"], 0, r["out"])

    def test_3_crash_learned_at_once(self):
        self.detected("crash", CRASH_BOUND, (EXIT_CLOSED, EXIT_RESET),
                      "crash (kill -9 server, no drop): exit 5 or 6", tol=0.0, early=CRASH_BOUND)


if __name__ == "__main__":
    suite.main()
