"""--access-log: one line per request, carrying `conn=<id>` and `req=<n>`
tokens, the request line in double quotes and the status code.

Logs are read after the server has stopped: graceful shutdown must flush
them, and reading then does not depend on when the server flushes.
"""

import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402

CONN_RE = re.compile(r"(?:^|\s)conn=(\S+)")
REQ_RE = re.compile(r"(?:^|\s)req=(\d+)(?:\s|$)")
QUOTED_RE = re.compile(r'"([^"]*)"')


def setUpModule():
    harness.tether_bin()


def parse_line(line):
    """-> (conn id, request number, request line, status tokens outside quotes)."""
    conn = CONN_RE.search(line)
    req = REQ_RE.search(line)
    quoted = QUOTED_RE.findall(line)
    request_lines = [q for q in quoted if re.match(r"^[A-Z]+ \S+ HTTP/\d\.\d$", q)]
    unquoted = QUOTED_RE.sub(" ", line).split()
    return (conn.group(1) if conn else None, int(req.group(1)) if req else None,
            request_lines[0] if request_lines else None, unquoted)


class AccessLogTest(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="tether-log-")
        self.addCleanup(tmp.cleanup)
        self.path = os.path.join(tmp.name, "access.log")

    def read_log(self):
        with open(self.path, encoding="utf-8") as f:
            return [l.rstrip("\n") for l in f if l.strip()]

    def assertLogLine(self, line, request_line, status):
        conn, req, logged_request, unquoted = parse_line(line)
        self.assertIsNotNone(conn, f"no conn=<id> token: {line!r}")
        self.assertIsNotNone(req, f"no req=<n> token: {line!r}")
        self.assertEqual(logged_request, request_line, f"request line not quoted: {line!r}")
        self.assertIn(str(status), unquoted, f"status {status} missing: {line!r}")
        return conn, req

    def test_requests_on_one_connection(self):
        with Server("--access-log", self.path) as srv:
            with srv.connect() as c:
                self.assertEqual(c.request("GET", "/plaintext").status, 200)
                self.assertEqual(c.request("GET", "/echo?x=1").status, 200)
                self.assertEqual(c.request("GET", "/no-such-page").status, 404)
            with srv.connect() as c:
                self.assertEqual(c.request("HEAD", "/plaintext").status, 200)
        lines = self.read_log()
        self.assertEqual(len(lines), 4, lines)
        first = [self.assertLogLine(lines[0], "GET /plaintext HTTP/1.1", 200),
                 self.assertLogLine(lines[1], "GET /echo?x=1 HTTP/1.1", 200),
                 self.assertLogLine(lines[2], "GET /no-such-page HTTP/1.1", 404)]
        self.assertEqual(len({conn for conn, _ in first}), 1, f"one connection: {lines}")
        self.assertEqual([req for _, req in first], [1, 2, 3])
        conn2, req2 = self.assertLogLine(lines[3], "HEAD /plaintext HTTP/1.1", 200)
        self.assertNotEqual(conn2, first[0][0], "a new connection needs a new id")
        self.assertEqual(req2, 1)

    def test_log_to_stdout(self):
        with Server("--access-log", "-") as srv, srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext?stdout").status, 200)
        logged = [l for l in srv.stdout_lines() if "GET /plaintext?stdout HTTP/1.1" in l]
        self.assertEqual(len(logged), 1, srv.stdout_text())
        self.assertLogLine(logged[0], "GET /plaintext?stdout HTTP/1.1", 200)

    def test_log_off(self):
        with Server("--access-log", "off") as srv, srv.connect() as c:
            self.assertEqual(c.request("GET", "/plaintext?quiet").status, 200)
        self.assertFalse([l for l in srv.stdout_lines() if "/plaintext?quiet" in l])
        self.assertFalse(os.path.exists(self.path))
        self.assertFalse(os.path.exists("off"), "'off' must not create a file named off")


if __name__ == "__main__":
    unittest.main()
