"""`tether serve` over TLS against real peers: curl, openssl s_client, Python ssl.

Certificates are made at test time with `openssl req` in a temporary directory.
Each server has a TLS listener (first) and a plain one for /.tether/status.
Timing assertions use the configured bound plus TOLERANCE.
"""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402

TOLERANCE = 1.0  # seconds beyond a configured timeout (an ASan build under load)
TLS_PLAIN = ("tls:127.0.0.1:0", "127.0.0.1:0")
CERT_DIR = None


def setUpModule():
    global CERT_DIR
    harness.tether_bin()
    CERT_DIR = tempfile.mkdtemp(prefix="tether-tls-")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key_file(), "-out", cert_file(), "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def cert_file():
    return os.path.join(CERT_DIR, "cert.pem")


def key_file():
    return os.path.join(CERT_DIR, "key.pem")


def tls_server(*args, **kw):
    return Server("--tls-cert", cert_file(), "--tls-key", key_file(), *args,
                  listen=TLS_PLAIN, **kw)


def status(server):
    host, port = server.addresses[1]
    conn = http.client.HTTPConnection(host, port, timeout=harness.IO_TIMEOUT)
    try:
        conn.request("GET", harness.STATUS_PATH, headers={"Connection": "close"})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def wait_status(server, predicate, what):
    return harness.poll_status(lambda: status(server), predicate, 5.0, 0.05, what)


def client_context(alpn=("http/1.1",)):
    ctx = ssl.create_default_context(cafile=cert_file())
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def tls_connect(server, ctx=None, timeout=harness.IO_TIMEOUT):
    raw = socket.create_connection((server.host, server.port), timeout=timeout)
    return (ctx or client_context()).wrap_socket(raw, server_hostname="localhost",
                                                 suppress_ragged_eofs=False)


def get(sock, path="/plaintext", extra=""):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def read_until_close_notify(sock, timeout):
    """Seconds until the server's close_notify: recv() returns b'' for a
    close_notify and raises SSLEOFError for a bare FIN (ragged EOFs not suppressed)."""
    sock.settimeout(timeout)
    start = time.monotonic()
    data = sock.recv(1024)
    if data:
        raise AssertionError(f"unexpected bytes {data!r}")
    return time.monotonic() - start


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args],
                          capture_output=True, text=True)


class CurlTest(unittest.TestCase):
    def test_keepalive_reuse_over_tls_with_cacert(self):
        with tls_server("--access-log", "-") as s:
            url = f"https://127.0.0.1:{s.port}/plaintext"
            r = curl("-v", "--cacert", cert_file(), url, url)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "Hello, World!Hello, World!")
            self.assertIn("Re-using existing connection", r.stderr)
            self.assertIn("ALPN: server accepted http/1.1", r.stderr)
            st = wait_status(s, lambda d: d["totals"]["reused_requests"] >= 1, "reuse")
            self.assertEqual(st["tls"]["full_handshakes"], 1)
            lines = [l for l in s.stdout_lines() if "conn=" in l and "/plaintext" in l]
            self.assertEqual(len(lines), 2, lines)
            self.assertTrue(all(l.endswith("tls=TLSv1.3 full") for l in lines), lines)

    def test_tls12_and_tls13(self):
        with tls_server("--access-log", "-") as s:
            url = f"https://127.0.0.1:{s.port}/plaintext"
            r12 = curl("--cacert", cert_file(), "--tlsv1.2", "--tls-max", "1.2", url)
            r13 = curl("--cacert", cert_file(), "--tlsv1.3", url)
            self.assertEqual((r12.returncode, r13.returncode), (0, 0), r12.stderr + r13.stderr)
            st = wait_status(s, lambda d: d["tls"]["tls1_2"] + d["tls"]["tls1_3"] >= 2, "both")
            self.assertEqual((st["tls"]["tls1_2"], st["tls"]["tls1_3"]), (1, 1))
            log = "\n".join(s.stdout_lines())
            self.assertIn("tls=TLSv1.2 full", log)
            self.assertIn("tls=TLSv1.3 full", log)

    def test_self_signed_prints_the_fingerprint_curl_sees(self):
        with Server("--tls-self-signed", listen=("127.0.0.1:0",)) as s:
            m = re.search(r"SHA-256 ([0-9A-F:]{95})", s.stdout_text())
            self.assertIsNotNone(m, s.stdout_text())
            r = curl("-k", f"https://127.0.0.1:{s.port}/plaintext")
            self.assertEqual(r.stdout, "Hello, World!", r.stderr)
            pem = ssl.get_server_certificate(("127.0.0.1", s.port))
            der = ssl.PEM_cert_to_DER_cert(pem)
            import hashlib
            seen = hashlib.sha256(der).hexdigest().upper()
            self.assertEqual(m.group(1).replace(":", ""), seen)
            # Its SAN covers 127.0.0.1 and localhost: verification with it as the CA passes.
            with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
                f.write(pem)
                f.flush()
                for host in ("127.0.0.1", "localhost"):
                    r = curl("--cacert", f.name, "--resolve", f"localhost:{s.port}:127.0.0.1",
                             f"https://{host}:{s.port}/plaintext")
                    self.assertEqual(r.stdout, "Hello, World!", r.stderr)

    def test_plain_http_on_the_tls_port_gets_400(self):
        with tls_server() as s:
            r = curl("-i", f"http://127.0.0.1:{s.port}/plaintext")
            self.assertIn("400 Bad Request", r.stdout)
            self.assertIn("plain HTTP request sent to an HTTPS port", r.stdout)
            wait_status(s, lambda d: d["closes"]["tls_plain_http"] == 1, "plain http close")


class CloseNotifyTest(unittest.TestCase):
    def test_idle_close_sends_close_notify_in_time(self):
        with tls_server("--keepalive-timeout", "1s", "--keepalive-grace", "0s") as s:
            with tls_connect(s) as sock:
                head, body = get(sock)
                self.assertEqual(body, b"Hello, World!")
                elapsed = read_until_close_notify(sock, 1 + TOLERANCE + 2)
                self.assertLess(elapsed, 1 + TOLERANCE)
            wait_status(s, lambda d: d["closes"]["idle_timeout"] == 1, "idle close")

    def test_max_requests_close_sends_close_notify(self):
        with tls_server("--keepalive-requests", "2") as s:
            with tls_connect(s) as sock:
                get(sock)
                head, _ = get(sock)
                self.assertIn(b"Connection: close", head)
                read_until_close_notify(sock, 5)

    def test_shutdown_closes_idle_tls_connections_with_close_notify(self):
        s = tls_server("--keepalive-grace", "200ms")
        with s:
            sock = tls_connect(s)
            get(sock)
            s.send_signal()
            read_until_close_notify(sock, 5)
            sock.close()
            self.assertEqual(s.wait_exit(), 0)

    def test_openssl_s_client_sees_close_notify_at_idle_close(self):
        with tls_server("--keepalive-timeout", "1s", "--keepalive-grace", "0s") as s:
            p = subprocess.run(
                ["openssl", "s_client", "-connect", f"127.0.0.1:{s.port}", "-CAfile",
                 cert_file(), "-alpn", "http/1.1", "-ign_eof", "-msg"],
                input=b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", capture_output=True,
                timeout=10)
            out = p.stdout.decode(errors="replace")
            self.assertIn("Hello, World!", out)
            self.assertRegex(out, r"Alert.*\n.*01 00|close_notify|close notify")

    def test_client_without_close_notify_is_not_an_error(self):
        with tls_server() as s:
            sock = tls_connect(s)
            get(sock)
            sock.close()  # Python's close() sends no close_notify: a bare FIN
            st = wait_status(s, lambda d: d["closes"]["client_closed"] >= 1, "client close")
            self.assertEqual(st["closes"]["error"], 0)
            self.assertEqual(st["closes"]["tls_protocol_error"], 0)


class ResumptionTest(unittest.TestCase):
    def s_client(self, port, *extra):
        # One request with Connection: close, and -ign_eof: s_client reads until the
        # server's close, so a TLS 1.3 ticket sent after the handshake is saved too.
        return subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", cert_file(),
             "-alpn", "http/1.1", "-ign_eof", *extra],
            input=b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            capture_output=True, timeout=10).stdout.decode(errors="replace")

    def test_ticket_and_cache_resumption(self):
        with tls_server() as s, tempfile.TemporaryDirectory() as d:
            sess = os.path.join(d, "sess.pem")
            cases = [("tls1.3 ticket", ["-tls1_3"]), ("tls1.2 ticket", ["-tls1_2"]),
                     ("tls1.2 session cache", ["-tls1_2", "-no_ticket"])]
            for name, opts in cases:
                with self.subTest(name):
                    first = self.s_client(s.port, *opts, "-sess_out", sess)
                    self.assertIn("New, TLSv1", first)
                    second = self.s_client(s.port, *opts, "-sess_in", sess)
                    self.assertIn("Reused, TLSv1", second)
            st = wait_status(s, lambda d: d["tls"]["resumed_handshakes"] >= 3, "resumed")
            self.assertEqual(st["tls"]["full_handshakes"], 3)

    def test_session_timeout_limits_resumption(self):
        with tls_server("--tls-session-timeout", "1s") as s, \
                tempfile.TemporaryDirectory() as d:
            sess = os.path.join(d, "sess.pem")
            self.s_client(s.port, "-tls1_2", "-no_ticket", "-sess_out", sess)
            time.sleep(2.2)  # beyond the 1 s session timeout (whole seconds in OpenSSL)
            self.assertIn("New, TLSv1", self.s_client(s.port, "-tls1_2", "-no_ticket",
                                                      "-sess_in", sess))


class BadInputTest(unittest.TestCase):
    def test_stalled_handshake_closes_at_the_handshake_timeout(self):
        with tls_server("--tls-handshake-timeout", "1s") as s:
            with socket.create_connection((s.host, s.port), timeout=5) as raw:
                raw.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that never ends
                start = time.monotonic()
                self.assertEqual(raw.recv(100), b"")
                elapsed = time.monotonic() - start
            self.assertGreater(elapsed, 0.9)
            self.assertLess(elapsed, 1 + TOLERANCE)
            wait_status(s, lambda d: d["closes"]["tls_handshake_timeout"] == 1, "timeout")

    def test_garbage_records_close_cleanly(self):
        with tls_server() as s:
            with socket.create_connection((s.host, s.port), timeout=5) as raw:
                raw.sendall(b"\x16\x03\x01\x00\x08garbage!" + b"\x17" * 200)
                try:
                    while raw.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
            wait_status(s, lambda d: d["closes"]["tls_protocol_error"] == 1, "protocol error")

    def test_client_closing_mid_handshake_is_counted(self):
        with tls_server() as s:
            with socket.create_connection((s.host, s.port), timeout=5) as raw:
                raw.sendall(b"\x16\x03\x01\x02\x00\x01")
            st = wait_status(s, lambda d: d["tls"]["abandoned_handshakes"] == 1, "abandoned")
            self.assertEqual(st["closes"]["client_closed"], 1)

    def test_h2_only_client_gets_the_alert_and_no_alpn_is_served(self):
        with tls_server() as s:
            with self.assertRaises(ssl.SSLError) as e:
                tls_connect(s, client_context(alpn=("h2",)))
            self.assertIn("NO APPLICATION PROTOCOL", str(e.exception).upper().replace("_", " "))
            with tls_connect(s, client_context(alpn=())) as sock:
                _, body = get(sock)
                self.assertEqual(body, b"Hello, World!")
            wait_status(s, lambda d: d["closes"]["tls_alert"] == 1, "alert")


class OptionsTest(unittest.TestCase):
    def run_serve(self, *args):
        return subprocess.run([harness.tether_bin(), "serve", *args], capture_output=True,
                              text=True, timeout=10)

    def test_bad_tls_options_exit_2_with_one_line(self):
        cases = [
            ["--tls-cert", cert_file()],
            ["--listen", "tls:127.0.0.1:0"],
            ["--tls-self-signed", "--tls-cert", cert_file(), "--tls-key", key_file()],
            ["--tls-cert", cert_file(), "--tls-key", cert_file()],
            ["--tls-self-signed", "--tls-ciphers", "NO-SUCH-CIPHER"],
            ["--tls-self-signed", "--tls-handshake-timeout", "0"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.run_serve("--listen", "127.0.0.1:0", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_marked_listeners_only_serve_tls(self):
        with tls_server() as s:
            self.assertIn(f"127.0.0.1:{s.addresses[0][1]} (TLS)", s.stdout_text())
            self.assertNotIn(f"127.0.0.1:{s.addresses[1][1]} (TLS)", s.stdout_text())
            st = status(s)  # plain HTTP on the unmarked one
            self.assertEqual(st["settings"]["tls_cert"], cert_file())
            self.assertEqual(st["settings"]["tls_session_timeout_ms"], 300000)
            self.assertEqual(st["settings"]["tls_handshake_timeout_ms"], 10000)


if __name__ == "__main__":
    unittest.main()
