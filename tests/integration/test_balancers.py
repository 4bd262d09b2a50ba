"""Several `tether serve` processes behind nginx and HAProxy on loopback, the
balancer configs written by the test (tests/tools/balancers.py):

- the keep-alive ladder in order (tether 3 s above the balancer's 1 s upstream
  idle timeout, or HAProxy's 0.5 s purge delay): POSTs whose client idle gaps
  are spread from 0.5 s to 3.5 s, across both timeouts, never fail (a balancer
  never resends a POST, so a reuse race would show as a failure);
- a rolling restart under steady load: every backend in turn gets SIGTERM
  (it stops accepting, answers what arrives with `Connection: close` and
  drains) and is started again on its port, and the next one goes only when
  the balancer sends traffic to it again: 0 failed requests. The balancers
  are configured for it: nginx with its defaults (a refused or reset
  connection passes an idempotent request to the next backend) but
  `fail_timeout=2s` (a refused backend is skipped for 10 s by default, and
  with all three skipped nginx answers 502 "no live upstreams"); HAProxy with
  `retries`, `option redispatch` and `retry-on conn-failure empty-response
  response-timeout`.

The misordered ladder (failures, counted) is proved deterministically in the
fault suite, tests/netns/test_balancers.py: on loopback a backend's FIN is seen
within microseconds, so the race it causes is too rare to count on here.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import balancers  # noqa: E402
import client_driver as cd  # noqa: E402
import harness  # noqa: E402

BACKENDS = 3
GAP_REQUESTS = 2000
GAP_LANES = 400


class Balancer:
    """nginx or HAProxy as a foreground child in a temp dir; stopped gracefully."""

    def __init__(self, kind, backends, **knobs):
        self.kind, self.backends, self.knobs = kind, backends, knobs
        self.dir = self.proc = self.port = None

    def __enter__(self):
        if shutil.which(self.kind) is None:
            raise unittest.SkipTest(f"{self.kind} is not installed (scripts/setup.sh test)")
        self.dir = tempfile.mkdtemp(prefix=f"tether-{self.kind}-")
        self.port = cd.free_port()
        listen = f"127.0.0.1:{self.port}"
        make = balancers.nginx if self.kind == "nginx" else balancers.haproxy
        argv = make(self.dir, listen, self.backends, **self.knobs)
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=harness._die_with_parent)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                harness.connect(self.port, timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise AssertionError(f"{self.kind} did not start: {self.output()}")

    def output(self):
        text = ""
        for name in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()[-3000:]
            except OSError:
                pass
        return text

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            # Graceful stops: nginx SIGQUIT, HAProxy SIGUSR1 (soft stop).
            self.proc.send_signal(signal.SIGQUIT if self.kind == "nginx" else signal.SIGUSR1)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_backends(*args, ports=None):
    ports = ports or [cd.free_port() for _ in range(BACKENDS)]
    servers = [harness.Server(*args, listen=(f"127.0.0.1:{p}",)) for p in ports]
    for s in servers:
        s.start()
    return servers, ports


def status_of(server):
    client = harness.StatusClient(server)
    try:
        return client.get()
    finally:
        client.close()


def stop_all(servers):
    for s in servers:
        if s.proc is not None and s.proc.poll() is None:
            s.stop()


class OrderedLadder(unittest.TestCase):
    KNOBS = {"nginx": {"upstream_idle": "1s"}, "haproxy": {"purge_delay": "500ms"}}

    def run_gaps(self, kind):
        servers, ports = start_backends("--keepalive-timeout", "3s", "--keepalive-grace", "0")
        try:
            addrs = [f"127.0.0.1:{p}" for p in ports]
            with Balancer(kind, addrs, **self.KNOBS[kind]) as lb:
                summary, requests = cd.run_driver(
                    lb.port, "--requests", GAP_REQUESTS, "--lanes", GAP_LANES,
                    "--gap-ms", 2000, "--jitter-ms", 1500, "--ignore-hint",
                    "--idle-timeout-ms", 30000, "--method", "POST", "--path", "/echo",
                    "--body", "payload", timeout=90)
                out = lb.output()
            stats = [status_of(s) for s in servers]
        finally:
            stop_all(servers)
        reused = sum(st["totals"]["reused_requests"] for st in stats)
        print(f"{kind}: {summary}; backends: reused requests {reused}, idle closes "
              f"{[st['closes']['idle_timeout'] for st in stats]}", flush=True)
        self.assertFalse(summary["timed_out"])
        self.assertEqual(summary["completed"], GAP_REQUESTS)
        self.assertEqual((summary["failed"], summary["non2xx"]), (0, 0), f"{requests[:5]}\n{out}")
        self.assertEqual(summary["ok"], GAP_REQUESTS)
        # The balancer did reuse its backend connections (keep-alive upstream).
        self.assertGreater(reused, GAP_REQUESTS // 2)

    def test_nginx(self):
        self.run_gaps("nginx")

    def test_haproxy(self):
        self.run_gaps("haproxy")


class RollingRestart(unittest.TestCase):
    """Steady GETs through the balancer while each backend in turn is stopped
    (SIGTERM: drain) and started again on its port."""

    KNOBS = {"nginx": {"upstream_idle": "50s", "fail_timeout": "2s"},
             "haproxy": {"retries": True}}
    LOAD_REQUESTS = 30000

    def restart_each(self, kind):
        args = ("--keepalive-timeout", "60s")
        servers, ports = start_backends(*args)
        try:
            addrs = [f"127.0.0.1:{p}" for p in ports]
            with Balancer(kind, addrs, **self.KNOBS[kind]) as lb:
                result = {}

                def load():
                    result["summary"], result["requests"] = cd.run_driver(
                        lb.port, "--requests", self.LOAD_REQUESTS, "--lanes", 16,
                        "--gap-ms", 5, "--path", "/plaintext", timeout=90)
                driver = threading.Thread(target=load)
                driver.start()
                restarted = []
                time.sleep(1.0)  # the load is running on every backend
                for i, port in enumerate(ports):
                    code = servers[i].stop()
                    restarted.append(code)
                    servers[i] = harness.Server(*args, listen=(f"127.0.0.1:{port}",))
                    servers[i].start()
                    # The procedure: the next backend goes only once the
                    # balancer sends traffic to this one again (nginx skips a
                    # backend for fail_timeout after a refused connection).
                    harness.poll_status(lambda: status_of(servers[i]),
                                        lambda st: st["totals"]["requests"] > 20, 15, 0.1,
                                        f"{kind} sends traffic to restarted backend {i}")
                load_outlived_restarts = driver.is_alive()
                driver.join(timeout=100)
                out = lb.output()
        finally:
            stop_all(servers)
        summary, requests = result["summary"], result["requests"]
        print(f"{kind} rolling restart: {summary}", flush=True)
        self.assertEqual(restarted, [0] * BACKENDS, "every drained backend exited 0")
        self.assertTrue(load_outlived_restarts, "the load must run through every restart")
        self.assertFalse(summary["timed_out"])
        self.assertEqual(summary["completed"], self.LOAD_REQUESTS,
                         "the load ran through all the restarts")
        self.assertEqual((summary["failed"], summary["non2xx"]), (0, 0), f"{requests[:5]}\n{out}")

    def test_nginx(self):
        self.restart_each("nginx")

    def test_haproxy(self):
        self.restart_each("haproxy")


if __name__ == "__main__":
    unittest.main()
