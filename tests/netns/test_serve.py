"""Scenario 1, server side: `tether serve --so-keepalive 2:1:3` drops a dead
HTTP client.  A Python client in cli sends one keep-alive request, reads the
response and idles; the router then drops everything (cable pulled).  The
accepted socket inherits keepalive 2:1:3 from the listener, so the kernel ends
it with ETIMEDOUT 2 + 1*3 = 5 s after the last segment received (failures.md
S3); tether logs `closed PEER: keepalive_timeout ...` on stderr and counts it
in /.tether/status (fetched with curl from inside the server namespace).  The
control without --so-keepalive still holds the dead connection as idle.
"""

import re
import time

import netbed
import peers
import suite

BOUND, SLACK = suite.keepalive_bound(2, 1, 3)
CONTROL_MARGIN = 3.0


def serve_cut(keepalive):
    def scenario(bed):
        args = ["--so-keepalive", keepalive] if keepalive else []
        server, port = peers.http_server(bed, "--keepalive-timeout", "120s", *args)
        peers.http_keepalive_client(bed, port)
        bed.wait_settled()
        bed.cut()
        t_fault = time.monotonic()
        line = server.wait_line("keepalive_timeout", BOUND + suite.TOL + CONTROL_MARGIN, tag="err")
        seconds = (line[0] if line else time.monotonic()) - t_fault
        idle = line and re.search(r"after (\d+\.\d+) s without data", line[1])
        return {"detected": line is not None, "seconds": seconds, "line": line and line[1],
                "idle_s": float(idle.group(1)) if idle else None,
                "status": peers.http_status(bed, port), "out": server.output()}
    return scenario


class ServeKeepaliveTest(suite.GroupCase):
    group = "serve"

    @staticmethod
    def scenarios():
        return {"serve_2_1_3": serve_cut("2:1:3"), "serve_control": serve_cut(None)}

    def test_1_serve_drops_dead_http_client(self):
        for r in self.detected("serve_2_1_3", BOUND, None,
                               "serve --so-keepalive 2:1:3 closes a cut HTTP client",
                               tol=suite.TOL + SLACK):
            self.assertEqual(r["status"]["closes"].get("keepalive_timeout"), 1, r["status"])
            self.assertEqual(r["status"]["connections"]["idle"], 0, r["status"])
            # contract: `tether: closed PEER: keepalive_timeout after 5.0 s without data`
            self.assertRegex(r["line"], rf"^tether: closed {re.escape(netbed.CLI_ADDR)}:\d+: "
                             r"keepalive_timeout after \d+\.\d s without data$")

    def test_1_serve_control_keeps_dead_client(self):
        for r in self.undetected("serve_control", "serve without keepalive keeps a cut client"):
            self.assertEqual(r["status"]["closes"].get("keepalive_timeout", 0), 0, r["status"])
            self.assertEqual(r["status"]["connections"]["idle"], 1, r["status"])


if __name__ == "__main__":
    suite.main()
