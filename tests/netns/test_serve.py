"""Scenarios 1 and 4, server side.

Scenario 1: `tether serve --so-keepalive 2:1:3` drops a dead
HTTP client.  A Python client in cli sends one keep-alive request, reads the
response and idles; the router then drops everything (cable pulled).  The
accepted socket inherits keepalive 2:1:3 from the listener, so the kernel ends
it with ETIMEDOUT 2 + 1*3 = 5 s after the last segment received
(tcp_keepalive_timer); tether logs `closed PEER: keepalive_timeout ...` on
stderr and counts it in /.tether/status (fetched with curl from inside the
server namespace).  The control without --so-keepalive still holds the dead
connection as idle.

Scenario 4: a client downloads a large /bytes response slowly, so response
data is always in flight, and the cable is pulled.  Keepalive never probes a
connection with data in flight; with --tcp-user-timeout 3s the kernel gives up
3 s after the oldest unacknowledged segment (plus at most one RTO, 200 ms on
this path) and tether closes it with the reason user_timeout.  The control
without a user timeout still has the connection after that bound plus margin.
"""

import re
import socket
import threading
import time

import netbed
import peers
import suite

BOUND, SLACK = suite.keepalive_bound(2, 1, 3)
CONTROL_MARGIN = 3.0
UTO = 3.0
UTO_BOUND = UTO + 0.2      # plus one minimum RTO: the kill comes at a retransmission
DOWNLOAD = 256 << 20       # far more than the reader takes in the whole scenario
READ_CHUNK, READ_PAUSE = 64 << 10, 0.02   # about 3 MB/s: data stays in flight


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


def slow_download(bed, port, stop):
    """A client in cli reading a large response at about 3 MB/s until `stop`
    is set.  Returns (socket, a list whose first item counts bytes read)."""
    sock = bed.socket("cli")
    sock.settimeout(1.0)
    sock.connect((netbed.SRV_ADDR, port))
    sock.sendall(f"GET /bytes?n={DOWNLOAD} HTTP/1.1\r\nHost: {netbed.SRV_ADDR}\r\n\r\n".encode())
    got = [0]

    def read():
        while not stop.is_set():
            try:
                chunk = sock.recv(READ_CHUNK)
            except socket.timeout:
                continue  # the path is cut: nothing arrives any more
            except OSError:
                return
            if not chunk:
                return
            got[0] += len(chunk)
            time.sleep(READ_PAUSE)

    threading.Thread(target=read, daemon=True).start()
    return sock, got


def serve_inflight(uto):
    def scenario(bed):
        args = ["--keepalive-timeout", "120s", "--send-timeout", "120s"]
        args += ["--tcp-user-timeout", uto] if uto else []
        server, port = peers.http_server(bed, *args)
        stop = threading.Event()
        sock, got = slow_download(bed, port, stop)
        try:
            deadline = time.monotonic() + 5.0
            while got[0] < (1 << 20) and time.monotonic() < deadline:
                time.sleep(0.05)
            if got[0] < (1 << 20):
                raise AssertionError(f"download did not start: {got[0]} bytes\n{server.output()}")
            bed.cut()
            t_fault = time.monotonic()
            line = server.wait_line("user_timeout", UTO_BOUND + suite.TOL + CONTROL_MARGIN,
                                    tag="err")
            seconds = (line[0] if line else time.monotonic()) - t_fault
            return {"detected": line is not None, "seconds": seconds, "line": line and line[1],
                    "received": got[0], "status": peers.http_status(bed, port),
                    "out": server.output()}
        finally:
            stop.set()
            sock.close()
    return scenario


class ServeKeepaliveTest(suite.GroupCase):
    group = "serve"

    @staticmethod
    def scenarios():
        return {"serve_2_1_3": serve_cut("2:1:3"), "serve_control": serve_cut(None),
                "serve_uto_3s": serve_inflight(f"{UTO:g}s"),
                "serve_uto_control": serve_inflight(None)}

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

    def test_4_serve_user_timeout_ends_a_stalled_download(self):
        for r in self.detected("serve_uto_3s", UTO_BOUND, None,
                               f"serve --tcp-user-timeout {UTO:g}s, download in flight, "
                               "cable pulled: closed (user_timeout)"):
            self.assertEqual(r["status"]["closes"].get("user_timeout"), 1, r["status"])
            self.assertEqual(r["status"]["closes"].get("keepalive_timeout", 0), 0, r["status"])
            self.assertRegex(r["line"], rf"^tether: closed {re.escape(netbed.CLI_ADDR)}:\d+: "
                             r"user_timeout after \d+\.\d s without data$")

    def test_4_serve_control_without_user_timeout(self):
        for r in self.undetected("serve_uto_control", "serve without a user timeout, download "
                                 "in flight, cable pulled: still connected"):
            self.assertEqual(r["status"]["closes"].get("user_timeout", 0), 0, r["status"])
            self.assertGreaterEqual(r["seconds"], UTO_BOUND + suite.TOL + CONTROL_MARGIN)


if __name__ == "__main__":
    suite.main()
