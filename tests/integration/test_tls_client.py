"""The client side over TLS: `tether bench` and `tether inspect` with https:// URLs
against `tether serve` and nginx (ssl), and real clients (Python requests, Node's
https and fetch) against `tether serve` over TLS.

Certificates are made at test time with `openssl`: a test CA; leaves signed by it
for localhost/127.0.0.1, for another name, and one that expires at once; nginx
gets a config written by the test (two server blocks on one port, told apart by
SNI). Nothing waits for long: idle timeouts are 1 s.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402
from test_inspect import NginxPeer  # noqa: E402
from test_tls import status  # noqa: E402  (the status listener is the second one)

CERTS = None
TLS_PLAIN = ("tls:127.0.0.1:0", "127.0.0.1:0")  # TLS site, plain status listener


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def cert(name):
    return os.path.join(CERTS, name)


def make_leaf(name, cn, san, days):
    key, csr = cert(f"{name}.key"), cert(f"{name}.csr")
    ext = cert(f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
    openssl("x509", "-req", "-in", csr, "-CA", cert("ca.pem"), "-CAkey", cert("ca.key"),
            "-CAcreateserial", "-out", cert(f"{name}.pem"), "-days", str(days), "-extfile", ext)


def setUpModule():
    global CERTS
    harness.tether_bin()
    CERTS = tempfile.mkdtemp(prefix="tether-tls-client-")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", cert("ca.key"), "-out", cert("ca.pem"), "-days", "2",
            "-subj", "/CN=tether test CA")
    make_leaf("good", "localhost", "DNS:localhost,IP:127.0.0.1", 2)
    make_leaf("other", "other.test", "DNS:other.test", 2)
    make_leaf("expired", "localhost", "DNS:localhost,IP:127.0.0.1", 0)  # notAfter = now


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def tls_server(leaf="good", idle="1s"):
    return Server("--tls-cert", cert(f"{leaf}.pem"), "--tls-key", cert(f"{leaf}.key"),
                  "--keepalive-timeout", idle, listen=TLS_PLAIN)


def tether(*args, timeout=60):
    return subprocess.run([harness.tether_bin(), *args], capture_output=True, text=True,
                          timeout=timeout)


def bench_json(*args):
    r = tether("bench", "--json", *args)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


class TetherServerTest(unittest.TestCase):
    def test_bench_counts_full_and_resumed_handshakes_as_the_server_does(self):
        with tls_server() as s:
            url = f"https://localhost:{s.port}/plaintext"
            r, doc = bench_json("--cacert", cert("ca.pem"), "-c", "2", "-n", "200", url)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(doc["requests"], 200)
            self.assertEqual(doc["errors"]["total"], 0)
            self.assertEqual(doc["tls"]["version"], "TLSv1.3")
            self.assertEqual((doc["tls"]["full"], doc["tls"]["resumed"]), (2, 0),
                             "keep-alive: one handshake per connection")
            # A connection per request: every one after the first few resumes.
            r, doc = bench_json("--cacert", cert("ca.pem"), "-c", "2", "-n", "60",
                                "--no-keepalive", url)
            self.assertEqual(r.returncode, 0, r.stderr)
            t = doc["tls"]
            self.assertEqual(t["handshakes"], 60)
            self.assertLessEqual(t["full"], 4, t)
            self.assertGreater(t["handshake_ms"]["p50"], 0)
            st = status(s)["tls"]
            self.assertEqual(st["resumed_handshakes"], t["resumed"], "the server agrees")
            self.assertEqual(st["full_handshakes"], 2 + t["full"])
            r, doc = bench_json("--cacert", cert("ca.pem"), "-c", "2", "-n", "20",
                                "--no-keepalive", "--no-tls-resume", url)
            self.assertEqual((doc["tls"]["full"], doc["tls"]["resumed"]), (20, 0), r.stderr)

    def test_refused_certificates_say_why_and_exit_1(self):
        with tls_server() as good, tls_server("other") as other, \
                tls_server("expired") as expired:
            cases = [
                ([], good, "localhost", "unable to get local issuer certificate"),
                (["--cacert", cert("ca.pem")], other, "localhost", "hostname mismatch"),
                (["--cacert", cert("ca.pem")], other, "127.0.0.1", "IP address mismatch"),
                (["--cacert", cert("ca.pem")], expired, "localhost", "certificate has expired"),
            ]
            for opts, server, host, reason in cases:
                url = f"https://{host}:{server.port}/plaintext"
                r, doc = bench_json(*opts, "-c", "1", "-n", "3", url)
                self.assertEqual(r.returncode, 1, (url, r.stdout, r.stderr))
                self.assertIn(f"TLS: {reason}", r.stderr, url)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertEqual(doc["errors"]["tls"], 3, url)
                self.assertEqual(doc["errors"]["tls_error"], reason)
                i = tether("inspect", *opts, url, timeout=30)
                self.assertEqual(i.returncode, 1, (url, i.stdout, i.stderr))
                self.assertIn(reason, i.stderr)
            r, doc = bench_json("-k", "-c", "1", "-n", "3", f"https://127.0.0.1:{other.port}/")
            self.assertEqual((r.returncode, doc["requests"]), (0, 3), "--insecure accepts")

    def test_inspect_reports_close_notify_resumption_and_handshake_times(self):
        with tls_server() as s:
            r = tether("inspect", "--json", "--cacert", cert("ca.pem"), "--max-requests", "20",
                       f"https://localhost:{s.port}/plaintext")
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            t = doc["tls"]
            self.assertEqual((t["version"], t["alpn"]), ("TLSv1.3", "http/1.1"))
            self.assertEqual(t["close_notify_at_idle_close"], "yes")
            self.assertEqual(t["resumes_with_ticket"], "yes")
            self.assertEqual(t["resumes_with_session_id"], "yes")
            self.assertGreater(t["full_handshake_ms"], 0)
            self.assertGreater(t["resumed_handshake_ms"], 0)
            self.assertEqual(doc["problems"], [])
            # The same measurement as plain http: the idle close at 1 s + 1 s grace.
            self.assertAlmostEqual(doc["idle_timeout"]["median_ms"] / 1000, 2.0,
                                   delta=harness.TOL)

    def test_python_requests_reuses_one_tls_connection(self):
        import requests
        with tls_server() as s, requests.Session() as session:
            for _ in range(3):
                resp = session.get(f"https://localhost:{s.port}/plaintext",
                                   verify=cert("ca.pem"), timeout=harness.IO_TIMEOUT)
                self.assertEqual((resp.status_code, resp.text), (200, "Hello, World!"))
            st = status(s)
            self.assertEqual(st["tls"]["full_handshakes"], 1)
            self.assertEqual(st["totals"]["reused_requests"], 2)

    def test_node_https_agent_and_fetch_keep_the_connection(self):
        # Debian's /etc/hosts lists ::1 for localhost first and Node 18 does not fall back
        # from a refused address (Node 20 does): ask for IPv4 first, where the server is.
        ipv4 = "require('dns').setDefaultResultOrder('ipv4first');\n"
        agent = ipv4 + """
const https = require('https');
const url = process.argv[process.argv.length - 1];
const agent = new https.Agent({keepAlive: true});
function get() {
  return new Promise((resolve, reject) => {
    https.get(url, {agent}, res => {
      const protocol = res.socket.getProtocol();  // the socket goes back to the agent at the end
      let body = '';
      res.on('data', c => body += c);
      res.on('end', () => resolve([res.statusCode, body, protocol]));
    }).on('error', reject);
  });
}
(async () => {
  const seen = [];
  for (let i = 0; i < 3; i++) seen.push(await get());
  agent.destroy();
  console.log(JSON.stringify(seen));
})().catch(e => { console.error(String(e)); process.exit(1); });
"""
        fetch = ipv4 + """
const url = process.argv[process.argv.length - 1];
(async () => {
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(url);
    seen.push([res.status, await res.text(), 'fetch']);
  }
  console.log(JSON.stringify(seen));
})().catch(e => { console.error(String(e)); process.exit(1); });
"""
        # Node drops a connection whose advertised timeout is within 1 s of now.
        with tls_server(idle="5s") as s:
            env = dict(os.environ, NODE_EXTRA_CA_CERTS=cert("ca.pem"))
            url = f"https://localhost:{s.port}/plaintext"

            def run(script):
                r = subprocess.run(["node", "-e", script, url], capture_output=True, text=True,
                                   timeout=30, env=env)
                self.assertEqual(r.returncode, 0, r.stderr)
                return json.loads(r.stdout)
            seen = run(agent)
            self.assertEqual(seen, [[200, "Hello, World!", "TLSv1.3"]] * 3)
            st = status(s)["totals"]
            self.assertEqual((st["accepted"], st["reused_requests"]), (1 + 1, 2),
                             "https.Agent: one TLS connection (+ this status request)")
            seen = run(fetch)
            self.assertEqual([x[:2] for x in seen], [[200, "Hello, World!"]] * 4)
            # undici (fetch) may open a second connection before the first is free
            # again (it does so over plain HTTP too), then reuses them.
            st = status(s)["totals"]
            self.assertLessEqual(st["accepted"], 2 + 2 + 1, st)
            self.assertGreaterEqual(st["reused_requests"], 2 + 2, st)


class NginxSsl(NginxPeer):
    """nginx with two TLS server blocks on one port: `localhost` (the good
    certificate) and the default one (the certificate for other.test)."""

    def write_config(self):
        d = self.dir
        temps = "".join(f"    {p}_temp_path {d}/{p};\n"
                        for p in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))

        def block(name, leaf, default=""):
            return (f"    server {{\n        listen 127.0.0.1:{self.port} ssl{default};\n"
                    f"        server_name {name};\n"
                    f"        ssl_certificate {cert(leaf + '.pem')};\n"
                    f"        ssl_certificate_key {cert(leaf + '.key')};\n"
                    f"        root {d}/www;\n    }}\n")
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
                    "events { worker_connections 1024; }\nhttp {\n    access_log off;\n"
                    "    keepalive_timeout 1s;\n" + temps
                    + block("other.test", "other", " default_server")
                    + block("localhost", "good") + "}\n")


def close_notify_seen(port):
    """What Python sees when nginx closes an idle TLS connection: a close_notify
    (recv returns b'') or a bare FIN (SSLEOFError, ragged EOFs not suppressed)."""
    ctx = ssl.create_default_context(cafile=cert("ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost",
                            suppress_ragged_eofs=False) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        deadline = time.monotonic() + 10
        data = b""
        while b"</p>" not in data and time.monotonic() < deadline:
            data += sock.recv(4096)
        try:
            while sock.recv(4096):
                pass
            return "yes"
        except ssl.SSLEOFError:
            return "no"


class NginxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nginx = NginxSsl()
        cls.nginx.start()

    @classmethod
    def tearDownClass(cls):
        cls.nginx.cleanup()

    def url(self, host):
        return f"https://{host}:{self.nginx.port}/index.html"

    def test_sni_for_names_none_for_addresses(self):
        # nginx picks the certificate by SNI: localhost gets the good one; an
        # address literal sends no SNI (RFC 6066) and gets the default block's.
        r, doc = bench_json("--cacert", cert("ca.pem"), "-c", "1", "-n", "5", self.url("localhost"))
        self.assertEqual((r.returncode, doc["requests"]), (0, 5), r.stderr)
        r, doc = bench_json("--cacert", cert("ca.pem"), "-c", "1", "-n", "2", self.url("127.0.0.1"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(doc["errors"]["tls_error"], "IP address mismatch")

    def test_bench_resumes_sessions_with_nginx(self):
        r, doc = bench_json("--cacert", cert("ca.pem"), "-c", "2", "-n", "40", "--no-keepalive",
                            self.url("localhost"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(doc["requests"], 40)
        self.assertEqual(doc["tls"]["handshakes"], 40)
        self.assertGreaterEqual(doc["tls"]["resumed"], 30, doc["tls"])

    def test_inspect_sees_what_python_sees_at_the_idle_close(self):
        r = tether("inspect", "--json", "--cacert", cert("ca.pem"), "--max-requests", "20",
                   self.url("localhost"))
        self.assertEqual(r.returncode, 0, r.stderr)
        t = json.loads(r.stdout)["tls"]
        self.assertEqual(t["alpn"], "http/1.1")
        self.assertEqual(t["resumes_with_ticket"], "yes")
        self.assertEqual(t["close_notify_at_idle_close"], close_notify_seen(self.nginx.port))


if __name__ == "__main__":
    unittest.main()
