"""Scenario 4: data in flight while the path is cut.

Kernel rules (net/ipv4/tcp_timer.c), numbered for the comments below:
  R2  with unacknowledged data, keepalive probes are never sent
      (tcp_keepalive_timer: "It is alive without keepalive"), so only the
      retransmission backoff ends the connection: tcp_retries2=15 gives
      >= 924.6 s.  The negative control therefore has keepalive 2:1:3 AND
      data in flight, and is still connected after 20 s.
  R3  with TCP_USER_TIMEOUT, ETIMEDOUT comes at the first retransmission timer
      expiry at which the oldest unacknowledged segment has waited >= UTO;
      the RTOs are clamped to the remaining user timeout, so that is UTO plus
      at most one minimum RTO (TCP_RTO_MIN = 200 ms).  Measured on this bed
      with Python sockets: 4.22-4.24 s for UTO 4 s.  The oldest unacked segment
      is sent at or after the fault (the client writes continuously), so the
      bound from the fault is UTO + 0.2 s.
"""

import time

import peers
import suite
from peers import EXIT_TCP_TIMEOUT

UTO = 4.0
BOUND_UTO = UTO + 0.2
CONTROL_WAIT = 20.0     # how long the control is watched; by R2 it would live ~15 min
SEND_RATE = "20000"     # bytes/s: a segment leaves every few ms, so data is always in flight
WARMUP = 1.0            # stream before the cut so the transfer is in steady state


def streaming_cut(*client_args):
    def scenario(bed):
        _, port = peers.heartbeat_server(bed, "--interval", "off")
        client, _ = peers.heartbeat_client(bed, port, "--interval", "off",
                                           "--send-rate", SEND_RATE, *client_args)
        time.sleep(WARMUP)
        if client.exit_t is not None:
            raise AssertionError(f"client ended before the cut\n{client.output()}")
        bed.cut()
        t_fault = time.monotonic()
        result = peers.client_outcome(client, t_fault, max(CONTROL_WAIT, BOUND_UTO + suite.TOL))
        result["dropped"] = bed.dropped()
        return result
    return scenario


class InflightTest(suite.GroupCase):
    group = "inflight"

    @staticmethod
    def scenarios():
        return {"uto_4s": streaming_cut("--tcp-user-timeout", "4s"),
                "control_keepalive_only": streaming_cut("--so-keepalive", "2:1:3")}

    def test_4_user_timeout_detects_cut_with_data_in_flight(self):
        for r in self.detected("uto_4s", BOUND_UTO, (EXIT_TCP_TIMEOUT,),
                               "--send-rate, --tcp-user-timeout 4s, cable pulled: exit 4",
                               early=0.2 + suite.EARLY_TOL):
            self.assertEqual(r["reason"], "user_timeout", r["out"])
            self.assertGreater(r["dropped"], 0, "no segment was dropped: nothing was in flight")

    def test_4_control_keepalive_does_not_help_with_data_in_flight(self):
        for r in self.undetected("control_keepalive_only",
                                 "--send-rate, --so-keepalive 2:1:3, no user timeout: "
                                 "still connected"):
            self.assertGreaterEqual(r["seconds"], CONTROL_WAIT)
            self.assertEqual(r["code"], 0, r["out"])


if __name__ == "__main__":
    suite.main()
