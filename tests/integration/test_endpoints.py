"""The default site: /, /plaintext, /echo, /delay, /bytes, 404, HEAD, request
bodies (Content-Length and chunked) and Expect: 100-continue."""

import os
import re
import select
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, TOL, EARLY_TOL  # noqa: E402


def setUpModule():
    harness.tether_bin()


class EndpointTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # One server for the read-only endpoint checks; nothing here depends on counters.
        cls.srv = Server()
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        code = cls.srv.stop()
        if code != 0:
            raise AssertionError(f"tether exited with {code}: {cls.srv.stderr_text()}")

    def setUp(self):
        self.c = self.srv.connect()
        self.addCleanup(self.c.close)

    def test_root_html(self):
        resp = self.c.request("GET", "/")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.header("Content-Type").startswith("text/html"), resp.headers)
        self.assertGreater(len(resp.body), 0)

    def test_plaintext(self):
        resp = self.c.request("GET", "/plaintext")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"Hello, World!")
        self.assertTrue(resp.header("Content-Type").startswith("text/plain"), resp.headers)
        self.assertEqual(resp.header("Content-Length"), "13")

    def test_echo_get(self):
        resp = self.c.request("GET", "/echo?a=1", headers=[("X-Test", "hello world")])
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.header("Content-Type").startswith("text/plain"))
        self.assertTrue(resp.body.startswith(b"GET /echo?a=1 HTTP/1.1"), resp.body)
        self.assertIn(b"X-Test: hello world", resp.body)
        self.assertTrue(resp.body.endswith(b"\r\n\r\n") or resp.body.endswith(b"\n\n"), resp.body)

    def test_echo_post_content_length(self):
        payload = b"payload-" * 1000
        self.c.send(build_request("POST", "/echo", body=payload))
        resp = self.c.read_response("POST")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.body.startswith(b"POST /echo HTTP/1.1"))
        self.assertTrue(resp.body.endswith(b"\r\n\r\n" + payload) or resp.body.endswith(b"\n\n" + payload))

    def test_echo_post_chunked(self):
        parts = [b"first,", b"second,", b"x" * 5000]
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        self.c.send(build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")])
                    + chunked)
        resp = self.c.read_response("POST")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.body.endswith(b"".join(parts)), resp.body[-80:])
        # the connection stays usable after a chunked request
        self.assertEqual(self.c.request("GET", "/plaintext").status, 200)

    def test_expect_100_continue(self):
        payload = b"after-continue"
        self.c.send(build_request("POST", "/echo", headers=[("Expect", "100-continue")],
                                  content_length=len(payload)))
        interim = self.c.read_response("POST", skip_interim=False)
        self.assertEqual((interim.version, interim.status), ("HTTP/1.1", 100))
        self.c.send(payload)
        resp = self.c.read_response("POST")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.body.endswith(payload))

    def test_delay(self):
        start = time.monotonic()
        resp = self.c.request("GET", "/delay?ms=300")
        elapsed = time.monotonic() - start
        self.assertEqual(resp.status, 200)
        self.assertGreaterEqual(elapsed, 0.3 - EARLY_TOL)
        self.assertLessEqual(elapsed, 0.3 + TOL)

    def test_bytes(self):
        for n in (0, 1, 12345, 1_000_000):
            with self.subTest(n=n):
                resp = self.c.request("GET", f"/bytes?n={n}")
                self.assertEqual(resp.status, 200)
                self.assertEqual(len(resp.body), n)
                self.assertEqual(resp.header("Content-Type"), "application/octet-stream")

    def test_unknown_path_404(self):
        resp = self.c.request("GET", "/no/such/thing")
        self.assertEqual(resp.status, 404)
        self.assertFalse(resp.closes, "a 404 is no reason to close")
        self.assertEqual(self.c.request("GET", "/plaintext").status, 200)

    def test_unsupported_method_405_with_allow(self):
        for method, path in (("DELETE", "/plaintext"), ("POST", "/"), ("PUT", "/bytes?n=3"),
                             ("POST", "/delay?ms=1"), ("DELETE", harness.STATUS_PATH),
                             ("OPTIONS", "/plaintext")):
            with self.subTest(method=method, path=path):
                body = b"x" if method in ("POST", "PUT") else b""
                resp = self.c.request(method, path, body=body)
                self.assertEqual(resp.status, 405, resp.body)
                self.assertEqual(resp.header("Allow"), "GET, HEAD")
                self.assertFalse(resp.closes, "a 405 is no reason to close")
                self.assertEqual(self.c.request("GET", "/plaintext").body, b"Hello, World!")

    def test_echo_answers_every_method(self):
        for method in ("DELETE", "PUT", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                resp = self.c.request(method, "/echo")
                self.assertEqual(resp.status, 200)
                self.assertTrue(resp.body.startswith(method.encode() + b" /echo"), resp.body)

    def test_root_page_links_every_endpoint(self):
        page = self.c.request("GET", "/").body.decode()
        for path in ("/plaintext", "/echo", "/delay?ms=", "/bytes?n=", harness.STATUS_PATH):
            with self.subTest(path=path):
                self.assertRegex(page, r'<a href="' + re.escape(path))

    def test_options_asterisk(self):
        resp = self.c.request("OPTIONS", "*")
        self.assertEqual(resp.status, 200)
        self.assertFalse(resp.closes)
        self.assertEqual(self.c.request("GET", "/plaintext").status, 200)

    def test_absolute_form_routes_by_its_path_and_names_the_host(self):
        # RFC 9112 §3.2.2: the target's authority replaces Host, whatever Host says.
        resp = self.c.request("GET", "http://other.example:8080/echo?a=1",
                              headers=[("X-Check", "1")])
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.body.startswith(b"GET http://other.example:8080/echo?a=1"),
                        resp.body)
        resp = self.c.request("GET", "HTTP://other.example/plaintext")
        self.assertEqual(resp.body, b"Hello, World!")

    def test_no_100_continue_for_http10(self):
        # RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored.
        self.c.send(build_request("POST", "/echo", version="HTTP/1.0",
                                  headers=[("Expect", "100-continue"), ("Content-Length", "2"),
                                           ("Connection", "keep-alive")]))
        readable, _, _ = select.select([self.c.sock], [], [], 0.3)
        self.assertEqual(readable, [], "the server sent something (a 100?) before the body")
        self.c.send(b"hi")
        resp = self.c.read_response()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.body.endswith(b"hi"), resp.body)

    def test_no_100_continue_when_the_body_came_with_the_head(self):
        raw = build_request("POST", "/echo", headers=[("Expect", "100-continue")], body=b"hello")
        self.c.send(raw)
        resp = self.c.read_response("POST", skip_interim=False)
        self.assertEqual(resp.status, 200, "the final response, not a 100")
        self.assertTrue(resp.body.endswith(b"hello"), resp.body)

    def test_no_100_continue_before_a_413(self):
        c = self.srv.connect()
        self.addCleanup(c.close)
        c.send(build_request("POST", "/echo", headers=[("Expect", "100-continue"),
                                                       ("Content-Length", "2000000")]))
        resp = c.read_response()
        self.assertEqual(resp.status, 413)
        self.assertTrue(resp.closes)

    def test_head_matches_get(self):
        for path in ("/", "/plaintext", "/echo", "/bytes?n=777", "/delay?ms=10", "/missing"):
            with self.subTest(path=path):
                get = self.c.request("GET", path)
                head = self.c.request("HEAD", path)
                self.assertEqual(head.status, get.status)
                self.assertEqual(head.body, b"")
                if path != "/echo":  # the echo of HEAD differs from that of GET
                    self.assertEqual(head.header("Content-Length"), get.header("Content-Length"))
                # framing held: the connection is still in sync
                self.assertEqual(self.c.request("GET", "/plaintext").body, b"Hello, World!")


if __name__ == "__main__":
    unittest.main()
