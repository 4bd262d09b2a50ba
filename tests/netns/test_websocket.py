"""Issue 13: a WebSocket whose cable is pulled is found by its heartbeats.

Server side: `tether serve --ws-ping-interval 1s --ws-ping-timeout 2s` and a
client in cli (`tether heartbeat connect ws://...` with its own pings off, so it
only answers the server's).  After the cut the server's next ping goes
unanswered: it closes the connection (reason ws_ping_timeout, code 1001) H + T
(+ H/10: pings go out on a grid) after the last frame it read; that frame (a
pong) is at most H before the cut, so from the cut the close lies in
[T, H + T + H/10].  The server's status, fetched
with curl inside its namespace, counts it.

Client side: the client pings (1 s / 2 s) a server that does not ping; after
the cut it ends with exit 3 (heartbeat_timeout) in the same window.

The control: without pings on either side a cut WebSocket stays open on both.
"""

import random
import time

import peers
import suite
from peers import EXIT_HEARTBEAT

H, T = 1.0, 2.0
BOUND = H + T
SERVER_BOUND = BOUND + H / 10  # the server sends its pings on a grid of a tenth of H
CONTROL_WAIT = BOUND + suite.TOL + 2.0
POLL = 0.1  # s between status fetches (inside the tolerance)


def settle():
    """Heartbeats run for a while first; the cut falls at a random phase."""
    time.sleep(1.0 + random.random() * H)


def wait_status(bed, port, pred, wait):
    """(seconds waited, last status): polls /.tether/status until `pred` holds."""
    t0 = time.monotonic()
    while True:
        st = peers.http_status(bed, port)
        if pred(st) or time.monotonic() - t0 >= wait:
            return time.monotonic() - t0, st
        time.sleep(POLL)


def server_pings(ping):
    def scenario(bed):
        args = ["--ws-ping-interval", f"{H:g}s", "--ws-ping-timeout", f"{T:g}s"] if ping else \
               ["--ws-ping-interval", "0"]
        server, port = peers.http_server(bed, *args)
        client, _ = peers.heartbeat_client(bed, port, "--interval", "off",
                                           "--min-ping-interval", "100ms", ws_path="/ws/echo")
        settle()
        bed.cut()
        t_fault = time.monotonic()
        _, st = wait_status(bed, port, lambda s: s["closes"]["ws_ping_timeout"] > 0,
                            SERVER_BOUND + suite.TOL + (0 if ping else 2.0))
        seconds = time.monotonic() - t_fault
        client.kill()
        return {"detected": st["closes"]["ws_ping_timeout"] > 0, "seconds": seconds,
                "status": st, "out": server.output() + client.output()}
    return scenario


def client_pings(ping):
    def scenario(bed):
        server, port = peers.http_server(bed, "--ws-ping-interval", "0",
                                         "--ws-min-ping-interval", "100ms")
        args = ["--interval", f"{H:g}s", "--timeout", f"{T:g}s", "--jitter", "0"] if ping else \
               ["--interval", "off"]
        client, _ = peers.heartbeat_client(bed, port, *args, ws_path="/ws/echo")
        settle()
        bed.cut()
        t_fault = time.monotonic()
        result = peers.client_outcome(client, t_fault, CONTROL_WAIT if not ping else
                                      BOUND + suite.TOL + 2.0)
        server.stop()
        return result
    return scenario


class WebSocketCutTest(suite.GroupCase):
    group = "websocket"

    @staticmethod
    def scenarios():
        return {"ws_server_pings": server_pings(True), "ws_server_silent": server_pings(False),
                "ws_client_pings": client_pings(True), "ws_client_silent": client_pings(False)}

    def test_13_server_pings_close_a_cut_websocket(self):
        for r in self.detected("ws_server_pings", SERVER_BOUND, None,
                               "serve --ws-ping-interval 1s --ws-ping-timeout 2s, cable pulled: "
                               "closed (ws_ping_timeout)", early=H + suite.EARLY_TOL):
            self.assertEqual(r["status"]["websocket"]["closes_by_code"]["1001"], 1, r["status"])
            self.assertEqual(r["status"]["connections"]["websocket"], 0, r["status"])

    def test_13_server_without_pings_keeps_a_cut_websocket(self):
        for r in self.undetected("ws_server_silent", "serve --ws-ping-interval 0, cable "
                                 "pulled: still open"):
            self.assertEqual(r["status"]["connections"]["websocket"], 1, r["status"])

    def test_13_client_pings_find_a_cut_websocket(self):
        for r in self.detected("ws_client_pings", BOUND, (EXIT_HEARTBEAT,),
                               "heartbeat connect ws:// 1s/2s, cable pulled: exit 3",
                               early=H + suite.EARLY_TOL):
            self.assertEqual(r["reason"], "heartbeat_timeout", r["out"])

    def test_13_client_without_pings_keeps_a_cut_websocket(self):
        for r in self.undetected("ws_client_silent", "heartbeat connect ws:// --interval off, "
                                 "cable pulled: still connected"):
            self.assertEqual(r["code"], 0, r["out"])


if __name__ == "__main__":
    suite.main()
