"""Connection reuse: real clients keep one connection for several requests.

Counter note: Server.status() opens its own connection, so every snapshot
taken that way includes that connection (accepted +1) and its one request
(requests +1, not reused).  The expected values below spell that out.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request, assert_clean_eof  # noqa: E402

import http.client  # noqa: E402
import requests  # noqa: E402

CURL_TIMEOUT = 10  # seconds for one curl run


def setUpModule():
    harness.tether_bin()  # fail early and clearly when TETHER_BIN is missing


class ReuseTest(unittest.TestCase):

    def server(self, *args, **kwargs):
        return self.enterContext(Server(*args, **kwargs))

    def test_curl_two_urls_one_connection(self):
        srv = self.server()
        cmd = ["curl", "-sv", "--noproxy", "*", "--max-time", str(CURL_TIMEOUT),
               "-o", "/dev/null", "-o", "/dev/null",
               srv.url("/plaintext"), srv.url("/echo")]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=CURL_TIMEOUT + 5,
                             env=harness.clean_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        # curl 7.88 logs this line when it sends the 2nd request on the 1st connection.
        self.assertIn("Re-using existing connection", out.stderr)
        st = srv.status()
        self.assertEqual(st["totals"]["accepted"], 1 + 1, "curl's one connection + the status one")
        self.assertEqual(st["totals"]["requests"], 2 + 1)
        self.assertEqual(st["totals"]["reused_requests"], 1)

    def test_http_client_reuses_connection(self):
        srv = self.server()
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=harness.IO_TIMEOUT)
        self.addCleanup(conn.close)
        ports = []
        for i in range(5):
            conn.request("GET", f"/plaintext?i={i}")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.read(), b"Hello, World!")
            self.assertFalse(resp.will_close, f"response {i} asked to close the connection")
            # http.client silently reconnects when the server closed; the local
            # port shows whether it really was the same TCP connection.
            ports.append(conn.sock.getsockname()[1])
        self.assertEqual(len(set(ports)), 1, f"local ports changed: {ports}")
        st = srv.status()
        self.assertEqual(st["totals"]["accepted"], 1 + 1)
        self.assertEqual(st["totals"]["requests"], 5 + 1)
        self.assertEqual(st["totals"]["reused_requests"], 4)

    def test_requests_session_one_connection(self):
        srv = self.server()
        with requests.Session() as s:
            s.trust_env = False  # no proxies from the environment
            for i in range(5):
                r = s.get(srv.url(f"/plaintext?i={i}"), timeout=harness.IO_TIMEOUT)
                self.assertEqual(r.status_code, 200)
                self.assertEqual(r.content, b"Hello, World!")
            st = srv.status()
        self.assertEqual(st["totals"]["accepted"], 1 + 1, "the session's one connection + status")
        self.assertEqual(st["totals"]["reused_requests"], 4)

    def test_http10_without_keepalive_closes(self):
        srv = self.server()
        with srv.connect() as c:
            c.send(build_request("GET", "/plaintext", version="HTTP/1.0"))
            resp = c.read_response()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.body, b"Hello, World!")
            self.assertNotIn("keep-alive", resp.connection_tokens)
            self.assertIsNone(resp.header("Keep-Alive"))
            # HTTP/1.0 without keep-alive is not persistent: response, then close.
            assert_clean_eof(self, c)

    def test_http10_with_keepalive_persists(self):
        srv = self.server()
        with srv.connect() as c:
            for i in range(3):
                c.send(build_request("GET", f"/plaintext?i={i}", version="HTTP/1.0",
                                     headers=[("Connection", "keep-alive")]))
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertIn("keep-alive", resp.connection_tokens, resp.headers)
                self.assertIsNotNone(resp.header("Content-Length"),
                                     "an HTTP/1.0 keep-alive response needs explicit framing")
                self.assertIsNotNone(resp.keep_alive_params(), "Keep-Alive header missing")
            # the last one without keep-alive ends the connection
            c.send(build_request("GET", "/plaintext", version="HTTP/1.0"))
            resp = c.read_response()
            self.assertEqual(resp.status, 200)
            assert_clean_eof(self, c)
        st = srv.status()
        self.assertEqual(st["totals"]["accepted"], 1 + 1)
        self.assertEqual(st["totals"]["reused_requests"], 3)

    def test_pipelined_requests_answered_in_order(self):
        srv = self.server()
        with srv.connect() as c:
            # All three in ONE write: the server must answer each, completely, in order.
            c.send(b"".join(build_request("GET", f"/echo?i={i}") for i in (1, 2, 3)))
            for i in (1, 2, 3):
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertTrue(resp.body.startswith(f"GET /echo?i={i} HTTP/1.1".encode()),
                                f"response {i} out of order: {resp.body[:60]!r}")
                self.assertFalse(resp.closes)
            # nothing extra was sent
            self.assertFalse(c.readable_within(0.2), "unexpected data after 3 responses")

    def test_pipelined_mixed_methods_and_bodies(self):
        srv = self.server()
        with srv.connect() as c:
            c.send(build_request("POST", "/echo?i=1", body=b"first-body")
                   + build_request("HEAD", "/plaintext")
                   + build_request("GET", "/bytes?n=3000")
                   + build_request("POST", "/echo?i=4", body=b"fourth"))
            r1 = c.read_response("POST")
            self.assertTrue(r1.body.startswith(b"POST /echo?i=1 HTTP/1.1"))
            self.assertTrue(r1.body.endswith(b"first-body"))
            r2 = c.read_response("HEAD")
            self.assertEqual((r2.status, r2.body, r2.header("Content-Length")), (200, b"", "13"))
            r3 = c.read_response("GET")
            self.assertEqual(len(r3.body), 3000)
            r4 = c.read_response("POST")
            self.assertTrue(r4.body.startswith(b"POST /echo?i=4 HTTP/1.1"))
            self.assertTrue(r4.body.endswith(b"fourth"))

    def test_client_connection_close_honoured(self):
        srv = self.server()
        with srv.connect() as c:
            resp = c.request("GET", "/plaintext", headers=[("Connection", "close")])
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.closes, f"expected Connection: close, got {resp.headers}")
            assert_clean_eof(self, c)
        # The server counts the close once it has finished with the socket,
        # which is asynchronous to us: poll.
        srv.wait_status(lambda st: st["closes"]["client_requested"] >= 1,
                        what="closes.client_requested >= 1")

    def test_requests_after_close_request_not_processed(self):
        srv = self.server()
        with srv.connect() as c:
            # RFC 9112 9.6: after a request with Connection: close the server
            # must not process further requests on that connection.
            c.send(build_request("GET", "/plaintext", headers=[("Connection", "close")])
                   + build_request("GET", "/echo?second"))
            resp = c.read_response()
            self.assertTrue(resp.closes)
            assert_clean_eof(self, c)

    @unittest.skipUnless(harness.ipv6_loopback_available(), "no IPv6 loopback")
    def test_ipv6_and_two_listeners(self):
        srv = self.server(listen=("127.0.0.1:0", "[::1]:0"))
        hosts = [h for h, _ in srv.addresses]
        self.assertEqual(hosts, ["127.0.0.1", "::1"])
        for host, port in srv.addresses:
            with harness.connect(port, host=host) as c:
                for _ in range(2):
                    resp = c.request("GET", "/plaintext", host=f"[{host}]" if ":" in host else host)
                    self.assertEqual((resp.status, resp.body), (200, b"Hello, World!"))


if __name__ == "__main__":
    unittest.main()
