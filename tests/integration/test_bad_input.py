"""Malformed or oversized requests and bad command-line options.

Each bad request goes on a fresh connection and must get: the expected
status, `Connection: close`, then a clean EOF (FIN, no reset, nothing more)
within the socket timeout.  The server must stay healthy, and count each of
them as closes.bad_request.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, assert_clean_eof  # noqa: E402

H = "Host: 127.0.0.1\r\n"
DEFAULT_HEADER_LIMIT = 16 * 1024

# (name, raw request bytes, expected status).  Raw bytes, not build_request,
# because most of these are deliberately not well-formed.
BAD_REQUESTS = [
    ("malformed request line",
     b"GET /plaintext HTTP/1.1 junk\r\n" + H.encode() + b"\r\n", 400),
    ("garbage request line",
     b"BAD REQUEST LINE\r\n" + H.encode() + b"\r\n", 400),
    ("whitespace before colon",  # RFC 9112 5.1: MUST reject with 400
     b"GET /plaintext HTTP/1.1\r\n" + H.encode() + b"X-Bad : value\r\n\r\n", 400),
    ("obs-fold",
     b"GET /plaintext HTTP/1.1\r\n" + H.encode() + b"X-Folded: a\r\n  b\r\n\r\n", 400),
    ("missing Host in HTTP/1.1",
     b"GET /plaintext HTTP/1.1\r\nUser-Agent: t\r\n\r\n", 400),
    ("two Host headers",
     b"GET /plaintext HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400),
    ("Content-Length with Transfer-Encoding",  # request smuggling vector
     b"POST /echo HTTP/1.1\r\n" + H.encode()
     + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("two different Content-Length",
     b"POST /echo HTTP/1.1\r\n" + H.encode()
     + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    ("non-numeric Content-Length",
     b"POST /echo HTTP/1.1\r\n" + H.encode() + b"Content-Length: abc\r\n\r\n", 400),
    ("bad chunk size",
     b"POST /echo HTTP/1.1\r\n" + H.encode()
     + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("header section over --max-header-size",  # 20 x 1 KB fields > 16 KB default
     b"GET /plaintext HTTP/1.1\r\n" + H.encode()
     + b"".join(b"X-Fill-%02d: %s\r\n" % (i, b"f" * 1000) for i in range(20)) + b"\r\n", 431),
    ("request target over the header limit",  # the URI alone is ~20 KB > 16 KB
     b"GET /plaintext?q=" + b"u" * 20000 + b" HTTP/1.1\r\n" + H.encode() + b"\r\n", 414),
    ("Content-Length over --max-body-size",  # 2 MB declared > 1m default; body not sent
     b"POST /echo HTTP/1.1\r\n" + H.encode() + b"Content-Length: 2000000\r\n\r\n", 413),
    ("HTTP/2.0 request line",
     b"GET /plaintext HTTP/2.0\r\n" + H.encode() + b"\r\n", 505),
    ("HTTP/3.1 request line",
     b"GET /plaintext HTTP/3.1\r\n" + H.encode() + b"\r\n", 505),
    # RFC 9112 §3.2: Host must be present once and valid.
    ("empty Host", b"GET /plaintext HTTP/1.1\r\nHost:\r\n\r\n", 400),
    ("Host list", b"GET /plaintext HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", 400),
    ("Host with userinfo", b"GET /plaintext HTTP/1.1\r\nHost: u@a.example\r\n\r\n", 400),
    ("Host with a path", b"GET /plaintext HTTP/1.1\r\nHost: a.example/x\r\n\r\n", 400),
    ("Host with a bad port", b"GET /plaintext HTTP/1.1\r\nHost: a.example:8o\r\n\r\n", 400),
    # RFC 9112 §3.2.1-3.2.4: request-target forms.
    ("GET *", b"GET * HTTP/1.1\r\n" + H.encode() + b"\r\n", 400),
    ("CONNECT", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 501),
    ("fragment in target", b"GET /plaintext#top HTTP/1.1\r\n" + H.encode() + b"\r\n", 400),
    ("UTF-8 in target", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H.encode() + b"\r\n", 400),
    ("overlong UTF-8 in target", b"GET /\xc0\xaf HTTP/1.1\r\n" + H.encode() + b"\r\n", 400),
    ("absolute-form, ftp scheme", b"GET ftp://a.example/ HTTP/1.1\r\n" + H.encode() + b"\r\n",
     400),
    ("absolute-form with userinfo",
     b"GET http://u@a.example/ HTTP/1.1\r\n" + H.encode() + b"\r\n", 400),
    # RFC 9112 §6.1, §6.3: Transfer-Encoding.
    ("empty Transfer-Encoding",
     b"POST /echo HTTP/1.1\r\n" + H.encode() + b"Transfer-Encoding:\r\n\r\n", 400),
    ("chunked not last", b"POST /echo HTTP/1.1\r\n" + H.encode()
     + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("chunked twice", b"POST /echo HTTP/1.1\r\n" + H.encode()
     + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("unknown transfer coding", b"POST /echo HTTP/1.1\r\n" + H.encode()
     + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("Transfer-Encoding in HTTP/1.0", b"POST /echo HTTP/1.0\r\n" + H.encode()
     + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
]

# (arguments, option name that the error line must mention)
BAD_OPTIONS = [
    (["--keepalive-timeout", "abc"], "keepalive-timeout"),
    (["--keepalive-requests", "-1"], "keepalive-requests"),
    (["--listen", "nonsense"], "listen"),
    (["--lingering-close", "maybe"], "lingering-close"),
    (["--workers", "-1"], "workers"),
    (["--client-header-timeout", "5x"], "client-header-timeout"),
    (["--max-body-size", "lots"], "max-body-size"),
]
CLI_TIMEOUT = 10  # a bad option must make tether exit at once; this bounds a hang


def setUpModule():
    harness.tether_bin()


class BadRequestTest(unittest.TestCase):

    def send_bad(self, srv, raw, expected, name):
        with srv.connect() as c:
            try:
                c.send(raw)
            except (BrokenPipeError, ConnectionResetError) as e:
                self.fail(f"{name}: server reset while the request was being sent: {e!r}")
            resp = c.read_response()
            self.assertEqual(resp.status, expected, f"{name}: {resp!r}")
            self.assertTrue(resp.closes, f"{name}: no Connection: close in {resp.headers}")
            assert_clean_eof(self, c, msg=f"{name}:")

    def assert_healthy(self, srv):
        with srv.connect() as c:
            resp = c.request("GET", "/plaintext")
            self.assertEqual((resp.status, resp.body), (200, b"Hello, World!"))

    def test_bad_requests(self):
        with Server() as srv:
            for name, raw, expected in BAD_REQUESTS:
                with self.subTest(name):
                    self.send_bad(srv, raw, expected, name)
                    self.assert_healthy(srv)
            n = len(BAD_REQUESTS)
            st = srv.wait_status(lambda st: st["closes"]["bad_request"] >= n,
                                 what=f"closes.bad_request >= {n}")
            self.assertEqual(st["closes"]["bad_request"], n, st["closes"])

    def test_bad_request_after_good_one_on_same_connection(self):
        # A keep-alive connection whose 2nd request is bad: first answered
        # normally, then 400 + close.
        with Server() as srv, srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext").status, 200)
            c.send(b"GET /plaintext HTTP/1.1\r\nUser-Agent: t\r\n\r\n")  # no Host
            resp = c.read_response()
            self.assertEqual(resp.status, 400)
            self.assertTrue(resp.closes)
            assert_clean_eof(self, c)

    def test_rejection_keeps_earlier_pipelined_responses(self):
        # A bad request behind two good ones in one write: both answers arrive
        # complete, then the 400 and a clean close.
        with Server() as srv, srv.connect() as c:
            good = build_request("GET", "/plaintext")
            c.send(good + good + b"GET /x HTTP/1.1\r\nHost: a, b\r\n\r\n")
            self.assertEqual(c.read_response().body, b"Hello, World!")
            self.assertEqual(c.read_response().body, b"Hello, World!")
            resp = c.read_response()
            self.assertEqual(resp.status, 400)
            self.assertTrue(resp.closes)
            assert_clean_eof(self, c)

    def test_chunked_body_over_limit(self):
        # With chunked coding the size is only known while reading: 4 KB of
        # chunks against a 1 KB limit must still end in 413 and a clean close.
        with Server("--max-body-size", "1k") as srv:
            chunks = b"".join(b"200\r\n" + b"c" * 0x200 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
            raw = build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]) + chunks
            self.send_bad(srv, raw, 413, "chunked body over limit")
            self.assert_healthy(srv)

    def test_small_header_limit(self):
        # --max-header-size accepts a k suffix and is enforced exactly:
        # ~3 KB of headers pass under 4k and fail under 2k.
        raw = build_request("GET", "/plaintext", headers=[("X-Fill", "f" * 3000)])
        with Server("--max-header-size", "4k") as srv, srv.connect() as c:
            c.send(raw)
            self.assertEqual(c.read_response().status, 200)
        with Server("--max-header-size", "2k") as srv:
            self.send_bad(srv, raw, 431, "3 KB header under 2k limit")


class BadOptionTest(unittest.TestCase):

    def test_bad_option_values(self):
        for args, option in BAD_OPTIONS:
            with self.subTest(args=args):
                cmd = [harness.tether_bin(), "serve"]
                # Always listen on an ephemeral loopback port, so a wrongly
                # accepted option can never bind a default port.
                if option != "listen":
                    cmd += ["--listen", "127.0.0.1:0"]
                cmd += args
                try:
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                                         stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:  # run() has killed it already
                    self.fail(f"{args}: tether kept running instead of rejecting the option")
                self.assertEqual(out.returncode, 2, f"{args}: stderr={out.stderr!r}")
                lines = out.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, f"{args}: expected one stderr line: {out.stderr!r}")
                self.assertIn(option, lines[0], f"{args}: error does not name the option")
                self.assertNotIn("listening on", out.stdout)

    def test_good_option_values_accepted(self):
        # The duration and size syntaxes of the spec all start a server.
        args = ["--keepalive-timeout", "1m", "--keepalive-grace", "1500ms",
                "--client-header-timeout", "2s", "--client-body-timeout", "30",
                "--send-timeout", "1h", "--max-header-size", "8k", "--max-body-size", "2m",
                "--lingering-close", "always", "--lingering-time", "5s",
                "--lingering-timeout", "500ms", "--keepalive-jitter", "0",
                "--max-connections", "100", "--access-log", "off", "--shutdown-timeout", "3s"]
        with Server(*args) as srv, srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext").status, 200)


if __name__ == "__main__":
    unittest.main()
