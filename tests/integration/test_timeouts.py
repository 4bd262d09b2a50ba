"""Keep-alive limits and timeouts: idle timeout + grace, disabled keep-alive,
request and lifetime limits, header and body timeouts.

Every timing assertion is `bound - EARLY_TOL <= measured <= bound + TOL`
(see harness.TOL / harness.EARLY_TOL for why those values).
"""

import math
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, assert_clean_eof, TOL, EARLY_TOL  # noqa: E402


def setUpModule():
    harness.tether_bin()


class TimeoutTestCase(unittest.TestCase):

    def server(self, *args):
        return self.enterContext(Server(*args))

    def assertWithin(self, measured, bound, what):
        self.assertGreaterEqual(measured, bound - EARLY_TOL,
                                f"{what}: {measured:.3f}s is earlier than {bound}s")
        self.assertLessEqual(measured, bound + TOL,
                             f"{what}: {measured:.3f}s is later than {bound}s + {TOL}s")


class IdleTimeoutTest(TimeoutTestCase):

    def check_idle_close(self, timeout_arg, grace_arg, expected_close, expected_header):
        srv = self.server("--keepalive-timeout", timeout_arg, "--keepalive-grace", grace_arg)
        with srv.connect() as c:
            resp = c.request("GET", "/plaintext")
            self.assertEqual(resp.status, 200)
            self.assertFalse(resp.closes)
            self.assertEqual(resp.keep_alive_params()["timeout"], expected_header,
                             f"Keep-Alive header: {resp.header('Keep-Alive')!r}")
            # Stay idle; the server closes at timeout + grace after the end of
            # the response, with a FIN (never a reset, never more bytes).
            res = c.read_until_eof(timeout=expected_close + TOL + 2)
            self.assertEqual(res.outcome, "eof", res)
            self.assertEqual(res.data, b"", res)
            self.assertWithin(res.t_end - resp.t_done, expected_close, "idle close")
        st = srv.status()
        self.assertEqual(st["closes"]["idle_timeout"], 1)

    def test_idle_close_at_timeout_plus_grace(self):
        # The advertised timeout is 1 s; the extra 0.5 s grace covers a client
        # whose request is already in flight when its own timer expires.
        self.check_idle_close("1s", "500ms", expected_close=1.5, expected_header=1)

    def test_subsecond_timeout_advertises_at_least_one_second(self):
        # 500 ms rounds to whole seconds, but never to 0 (which would mean "no keep-alive").
        self.check_idle_close("500ms", "0", expected_close=0.5, expected_header=1)

    def test_duration_units_in_header(self):
        for arg, seconds in (("2m", 120), ("90", 90), ("45s", 45), ("1h", 3600)):
            with self.subTest(arg=arg), Server("--keepalive-timeout", arg) as srv, srv.connect() as c:
                resp = c.request("GET", "/plaintext")
                params = resp.keep_alive_params()
                self.assertIsNotNone(params, resp.headers)
                self.assertEqual(params["timeout"], seconds, resp.header("Keep-Alive"))

    def test_keepalive_disabled(self):
        srv = self.server("--keepalive-timeout", "0")
        for version, headers in (("HTTP/1.1", []), ("HTTP/1.0", [("Connection", "keep-alive")])):
            with self.subTest(version=version), srv.connect() as c:
                c.send(build_request("GET", "/plaintext", version=version, headers=headers))
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertTrue(resp.closes, f"expected Connection: close: {resp.headers}")
                self.assertIsNone(resp.header("Keep-Alive"))
                assert_clean_eof(self, c)
        srv.wait_status(lambda st: st["closes"]["keepalive_disabled"] == 2,
                        what="closes.keepalive_disabled == 2")

    def test_no_keepalive_header(self):
        srv = self.server("--no-keepalive-header")
        with srv.connect() as c:
            for _ in range(2):  # still persistent, just not advertised
                resp = c.request("GET", "/plaintext")
                self.assertEqual(resp.status, 200)
                self.assertIsNone(resp.header("Keep-Alive"), resp.headers)
                self.assertFalse(resp.closes)


class RequestLimitTest(TimeoutTestCase):

    def test_keepalive_requests_limit(self):
        srv = self.server("--keepalive-requests", "3")
        with srv.connect() as c:
            r1 = c.request("GET", "/plaintext")
            r2 = c.request("GET", "/plaintext")
            # Keep-Alive max = requests still allowed after this one.
            self.assertEqual(r1.keep_alive_params()["max"], 2, r1.header("Keep-Alive"))
            self.assertEqual(r2.keep_alive_params()["max"], 1, r2.header("Keep-Alive"))
            self.assertFalse(r1.closes or r2.closes)
            r3 = c.request("GET", "/plaintext")
            self.assertEqual(r3.status, 200)
            self.assertTrue(r3.closes, f"3rd response must close: {r3.headers}")
            assert_clean_eof(self, c)
        srv.wait_status(lambda st: st["closes"]["max_requests"] == 1,
                        what="closes.max_requests == 1")

    def test_keepalive_requests_limit_pipelined(self):
        # Five pipelined requests with a limit of 3: exactly three answers.
        srv = self.server("--keepalive-requests", "3")
        with srv.connect() as c:
            c.send(b"".join(build_request("GET", f"/echo?i={i}") for i in range(1, 6)))
            for i in (1, 2, 3):
                resp = c.read_response()
                self.assertTrue(resp.body.startswith(f"GET /echo?i={i} ".encode()))
            self.assertTrue(resp.closes)
            assert_clean_eof(self, c)


class LifetimeTest(TimeoutTestCase):
    LIFETIME = 1.0   # --keepalive-time 1s, jitter 0 %
    PERIOD = 0.3     # one request every 0.3 s
    MAX_REQUESTS = 10

    def test_lifetime_limit(self):
        srv = self.server("--keepalive-time", "1s", "--keepalive-jitter", "0")
        # Request i is sent at i * PERIOD after connecting, and its response
        # completes just after that; the first one completing after LIFETIME
        # is number ceil(LIFETIME / PERIOD) (0-based): 4, sent at 1.2 s.
        expected = math.ceil(self.LIFETIME / self.PERIOD)
        closed_at = None
        with srv.connect() as c:
            for i in range(self.MAX_REQUESTS):
                delay = c.connected_at + i * self.PERIOD - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                resp = c.request("GET", "/plaintext")
                self.assertEqual(resp.status, 200)
                if resp.closes:
                    closed_at = i
                    self.assertGreaterEqual(resp.t_done - c.connected_at,
                                            self.LIFETIME - EARLY_TOL,
                                            "closed before the lifetime was over")
                    break
            self.assertIsNotNone(closed_at, f"no Connection: close in {self.MAX_REQUESTS} requests")
            # ±1 absorbs scheduling jitter around the 1 s boundary.
            self.assertLessEqual(abs(closed_at - expected), 1,
                                 f"closed at request {closed_at}, expected {expected} ± 1")
            assert_clean_eof(self, c)
        srv.wait_status(lambda st: st["closes"]["lifetime"] == 1, what="closes.lifetime == 1")


class ClientTimeoutTest(TimeoutTestCase):
    HEADER_TIMEOUT = 1.0
    BODY_TIMEOUT = 1.0

    def header_server(self):
        return self.server("--client-header-timeout", "1s")

    def test_incomplete_header_gets_408(self):
        srv = self.header_server()
        with srv.connect() as c:
            start = time.monotonic()
            c.send(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ")
            resp = c.read_response(timeout=self.HEADER_TIMEOUT + TOL + 2)
            self.assertEqual(resp.status, 408)
            self.assertTrue(resp.closes, resp.headers)
            self.assertWithin(resp.t_done - start, self.HEADER_TIMEOUT, "408")
            assert_clean_eof(self, c)
        srv.wait_status(lambda st: st["closes"]["header_timeout"] == 1,
                        what="closes.header_timeout == 1")

    def test_trickled_header_times_out_as_a_whole(self):
        # A slowloris client sending one byte every 0.25 s: the bound is on
        # the whole header, so activity must not extend it.
        srv = self.header_server()
        request = build_request("GET", "/plaintext", headers=[("X-Pad", "y" * 40)])
        with srv.connect() as c:
            start = time.monotonic()
            for byte in request[:-4]:  # never complete
                if c.readable_within(0.25):
                    break
                try:
                    c.send(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    break
                if time.monotonic() - start > self.HEADER_TIMEOUT + TOL + 2:
                    break
            resp = c.read_response(timeout=3)
            self.assertEqual(resp.status, 408)
            self.assertWithin(resp.t_done - start, self.HEADER_TIMEOUT, "408 for a trickled header")
            assert_clean_eof(self, c)

    def test_silent_connection_closed_without_response(self):
        srv = self.header_server()
        with srv.connect() as c:
            start = c.connected_at
            res = c.read_until_eof(timeout=self.HEADER_TIMEOUT + TOL + 2)
            self.assertEqual(res.outcome, "eof", res)
            self.assertEqual(res.data, b"", "no response for a connection that sent nothing")
            self.assertWithin(res.t_end - start, self.HEADER_TIMEOUT, "silent close")
        srv.wait_status(lambda st: st["closes"]["header_timeout"] == 1,
                        what="closes.header_timeout == 1")

    def test_second_request_header_timeout_on_keepalive_connection(self):
        # On a reused connection a started-but-incomplete header is bounded by
        # the header timeout, not by the (long) keep-alive timeout.
        srv = self.server("--client-header-timeout", "1s", "--keepalive-timeout", "30s")
        with srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext").status, 200)
            start = time.monotonic()
            c.send(b"GET /plaintext HTTP/1.1\r\nHo")
            resp = c.read_response(timeout=self.HEADER_TIMEOUT + TOL + 2)
            self.assertEqual(resp.status, 408)
            self.assertWithin(resp.t_done - start, self.HEADER_TIMEOUT, "408 on reused connection")
            assert_clean_eof(self, c)

    def test_body_timeout(self):
        srv = self.server("--client-body-timeout", "1s")
        with srv.connect() as c:
            c.send(build_request("POST", "/echo", content_length=10) + b"12345")
            start = time.monotonic()
            res = c.read_until_eof(timeout=self.BODY_TIMEOUT + TOL + 2)
            # Closing silently or with a 408 are both fine; a reset is not (we
            # sent nothing the server did not read, so close() yields a FIN).
            self.assertEqual(res.outcome, "eof", res)
            if res.data:
                resp = harness.parse_response_bytes(res.data, "POST")
                self.assertEqual(resp.status, 408, res)
            self.assertWithin(res.t_end - start, self.BODY_TIMEOUT, "body timeout close")
        srv.wait_status(lambda st: st["closes"]["body_timeout"] == 1,
                        what="closes.body_timeout == 1")


if __name__ == "__main__":
    unittest.main()
