"""Header and body bombs against the real binary: oversized heads, thousands of header
fields, huge chunk sizes, chunk framing without end (extensions, leading zeros, trailers).

Each bomb goes on a fresh connection and must get its status (431/413/400) with
`Connection: close` and a clean EOF, while the client may still be sending: an endless bomb
is answered once the server has read its limit, not when the client gives up.  Afterwards
the server's memory has not grown with the bombs and it uses no CPU while nothing happens.
"""

import os
import select
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import proc_stats  # noqa: E402
from harness import TOL, Server, parse_response_bytes  # noqa: E402

HEAD = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
ENDLESS_CAP = 4 << 20     # an "endless" bomb stops here; every limit is far below
PIECE = 64 << 10
BODY_TIMEOUT_S = 10       # a bomb answered by this timer instead of its limit shows as slow
# Bombs are answered at their limit, well before the body timeout.
ANSWER_WITHIN_S = 2 + TOL
# RSS may move by allocator noise (ASan's quarantine holds freed blocks): 16 MiB is far
# below what the unbounded variants held (e.g. ~11 MiB of header records per 4 MiB of
# trailer fields, per connection, kept in the pooled parser) times the rounds run.
RSS_SLACK_KIB = 16 << 10
ROUNDS = 3
QUIET_WINDOW_S = 2.0
QUIET_MAX_SHARE = 0.02    # 2 % of a core: 40 ms of CPU in 2 s; a spinning loop shows 100 %


def fill(n, unit):
    return (unit * (n // len(unit) + 1))[:n]


# (name, first bytes, endless filler or None, expected status)
BOMBS = [
    ("oversized head", b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ", b"a", 431),
    ("thousands of header fields",
     b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-F: v\r\n", 431),
    ("chunk size over the body limit", HEAD + b"FFFFFFFFFF\r\n", None, 413),
    ("chunk size overflowing 64 bits", HEAD + b"FFFFFFFFFFFFFFFFFFFF\r\n", None, 400),
    ("chunk extension without end", HEAD + b"1;name=", b"v", 413),
    ("chunk size of endless zeros", HEAD, b"0", 413),
    ("trailer section without end", HEAD + b"1\r\nx\r\n0\r\n", b"X-T: v\r\n", 431),
]


def setUpModule():
    harness.tether_bin()
    proc_stats.measurable_rss()


def send_bomb(conn, first, filler):
    """Sends `first` on `conn`, then `filler` repeated up to ENDLESS_CAP, stopping once the
    server answers; returns the seconds from the first byte to the answer."""
    sock = conn.sock
    start = time.monotonic()
    conn.send(first)
    sent, piece = 0, fill(PIECE, filler) if filler else b""
    sock.setblocking(False)
    while filler and sent < ENDLESS_CAP:
        readable, writable, _ = select.select([sock], [sock], [], ANSWER_WITHIN_S)
        if readable or not writable:
            break
        try:
            sent += sock.send(piece)
        except (BlockingIOError, InterruptedError):
            pass
    select.select([sock], [], [], ANSWER_WITHIN_S)
    return time.monotonic() - start


class BombTest(unittest.TestCase):

    def setUp(self):
        self.srv = self.enterContext(Server("--client-body-timeout", f"{BODY_TIMEOUT_S}s",
                                            "--client-header-timeout", f"{BODY_TIMEOUT_S}s"))
        self.pid = self.srv.proc.pid

    def explode(self, name, first, filler, expected):
        with self.srv.connect() as conn:
            answered = send_bomb(conn, first, filler)
            res = conn.read_until_eof()
        self.assertEqual(res.outcome, "eof", f"{name}: expected the answer, then a clean EOF")
        self.assertLess(answered, ANSWER_WITHIN_S, f"{name}: answered late")
        resp = parse_response_bytes(res.data)
        self.assertEqual(resp.status, expected, f"{name}: {resp!r}")
        self.assertTrue(resp.closes, f"{name}: no Connection: close in {resp.headers}")

    def assert_healthy(self):
        with self.srv.connect() as c:
            resp = c.request("GET", "/plaintext")
            self.assertEqual((resp.status, resp.body), (200, b"Hello, World!"))

    def test_each_bomb_gets_its_status_at_its_limit(self):
        for name, first, filler, expected in BOMBS:
            with self.subTest(name):
                self.explode(name, first, filler, expected)
                self.assert_healthy()
        st = self.srv.wait_status(lambda st: st["closes"]["bad_request"] >= len(BOMBS),
                                  what=f"closes.bad_request >= {len(BOMBS)}")
        self.assertEqual(st["closes"]["bad_request"], len(BOMBS), st["closes"])

    def test_trailer_fields_are_discarded_even_across_a_buffer_compaction(self):
        # 10 KB of data then a 15 KB trailer name: the read buffer (16k + 4k) is compacted
        # while the name arrives. Trailers are not kept, so nothing can point at moved bytes.
        data = b"d" * 10000
        raw = (HEAD + b"%x\r\n" % len(data) + data + b"\r\n0\r\n" + b"T" * 15000
               + b": v\r\nX-After: w\r\n\r\n")
        with self.srv.connect() as c:
            c.send(raw)
            resp = c.read_response()
        self.assertEqual(resp.status, 200, resp)
        self.assertNotIn(b"TTTT", resp.body)
        self.assertNotIn(b"X-After", resp.body)
        self.assertTrue(resp.body.endswith(data), resp.body[-100:])
        self.assert_healthy()

    def test_bombs_leave_no_memory_behind_and_no_cpu_spin(self):
        for name, first, filler, expected in BOMBS:  # warm-up: pools and buffers at size
            self.explode(name, first, filler, expected)
        before = proc_stats.rss_kib(self.pid)
        for _ in range(ROUNDS):
            for name, first, filler, expected in BOMBS:
                self.explode(name, first, filler, expected)
        self.assert_healthy()
        grown = proc_stats.rss_kib(self.pid) - before
        self.assertLess(grown, RSS_SLACK_KIB, f"RSS grew by {grown} KiB over {ROUNDS} rounds")
        share = proc_stats.cpu_share(self.pid, QUIET_WINDOW_S)
        self.assertLess(share, QUIET_MAX_SHARE,
                        f"{share:.1%} of a core while idle over {QUIET_WINDOW_S} s")


if __name__ == "__main__":
    unittest.main()
