"""Lingering close: when the server closes after a response while the client
still has data in flight, a plain close() with unread input makes the kernel
send a RST, and a RST makes the client's kernel discard response bytes it has
not read yet.  Tether must half-close and drain instead, so the client gets
the whole last response and then a clean EOF.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, NoResponse  # noqa: E402

BIG = 4_000_000            # response size: far more than loopback socket buffers hold
JUNK = b"j" * (64 * 1024)  # bytes the server must drain, not answer
READ_DELAY = 1.0           # the client only starts reading after this long
BIG_RUNS = 5
IO = 10.0                  # generous socket timeout for 4 MB with a late reader

DECLARED = 50 * 1024 * 1024   # Content-Length of the rejected upload
SENT = 2 * 1024 * 1024        # what the client pushes anyway
SEND_CHUNK = 64 * 1024
REJECT_RUNS = 20


def setUpModule():
    harness.tether_bin()


class LingeringCloseTest(unittest.TestCase):

    def test_big_response_then_junk(self):
        with Server() as srv:
            for run in range(BIG_RUNS):
                with self.subTest(run=run), srv.connect(timeout=IO) as c:
                    c.send(build_request("GET", f"/bytes?n={BIG}", headers=[("Connection", "close")]))
                    # More data after the closing request: a pipelined request
                    # the server must not answer, and junk it must drain.
                    c.send(build_request("GET", "/plaintext") + JUNK)
                    time.sleep(READ_DELAY)
                    try:
                        resp = c.read_response(timeout=IO)
                    except NoResponse as e:
                        self.fail(f"run {run}: response cut short: {e}")
                    self.assertEqual(resp.status, 200)
                    self.assertTrue(resp.closes)
                    self.assertEqual(len(resp.body), BIG)
                    tail = c.read_until_eof(timeout=IO)
                    self.assertEqual(tail.outcome, "eof", f"run {run}: {tail!r}")
                    self.assertEqual(tail.data, b"",
                                     f"run {run}: the pipelined request after close was answered")

    def test_early_413_is_readable(self):
        # The server rejects the 50 MB upload as soon as it sees the header;
        # the client does not look and keeps sending 2 MB.  It must still
        # read the 413, every time, rather than a reset.
        failures = []
        with Server("--max-body-size", "1m") as srv:
            for run in range(REJECT_RUNS):
                outcome = self.one_upload(srv)
                if outcome != "413":
                    failures.append((run, outcome))
        self.assertEqual(failures, [], f"{len(failures)} of {REJECT_RUNS} runs did not read a 413")

    def one_upload(self, srv):
        with srv.connect() as c:
            c.send(build_request("POST", "/echo", content_length=DECLARED))
            chunk = b"u" * SEND_CHUNK
            try:
                for _ in range(SENT // SEND_CHUNK):
                    c.send(chunk)
            except (BrokenPipeError, ConnectionResetError) as e:
                return f"reset while sending: {e!r}"
            except TimeoutError:
                pass  # server stopped reading without closing: fine, go read
            try:
                resp = c.read_response(method="POST")
            except NoResponse as e:
                return f"no response: {e}"
            except ConnectionResetError as e:
                return f"reset while reading: {e!r}"
            if resp.status != 413:
                return f"status {resp.status}"
            if not resp.closes:
                return "413 without Connection: close"
            return "413"


if __name__ == "__main__":
    unittest.main()
