"""Behind a load balancer: the keep-alive ladder rule (a backend's idle timeout
must be longer than the balancer's idle timeout towards it), proved both ways
with nginx and HAProxy and the keep-alive reuse race made deterministic.

Two `tether serve --keepalive-grace 0` backends in srv; the balancer in cli on
127.0.0.1, round robin over both (so each backend connection idles two client
gaps); the pool's client_driver in cli sends one lane of POSTs (a balancer never
resends a POST on another backend) GAP_MS apart. The router drops every FIN
from the backends' ports, the worst case of a backend's close crossing the
balancer's next request on the wire (on a real network the crossing window is
the FIN's flight time; here it never arrives).

  ordered (backend 10 s > balancer 1 s / purge 0.5 s): the balancer closes idle
    backend connections first; its FIN reaches the backend; 0 failures, and the
    backends saw several connections (the gaps did cross the balancer's timeout);
  misordered (backend 1 s < the 4 s backend gap < balancer 30 s / no purge): the
    balancer reuses connections the backends closed: failures, counted (nginx
    and HAProxy answer 502 or drop the client connection);
  control_fin_delivered (misordered, FINs not dropped): the balancer sees the
    FIN on its idle connection and discards it; 0 failures: what goes wrong is
    only the crossing, which the ordering rule removes.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import netbed
import peers
import suite
from procs import Proc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import balancers  # noqa: E402

REQUESTS = 6
GAP_MS = 2000        # per backend: 4 s between two requests (two backends, round robin)
LB_PORT = 18080
DEADLINE = 60
CASES = {  # name: (tether --keepalive-timeout, nginx upstream idle, HAProxy purge delay, drop)
    "ordered": ("10s", "1s", "500ms", True),
    "misordered": ("1s", "30s", None, True),
    "control_fin_delivered": ("1s", "30s", None, False),
}


def ladder(kind, case):
    """The chain of a case as `tether explain --path` hops: the driver's pool
    (idle timeout 30 s), the balancer with its configured values, tether."""
    tether_idle, nginx_idle, purge, _ = CASES[case]
    lb = (f"nginx:keepalive=75s,upstream={nginx_idle}" if kind == "nginx"
          else "haproxy:keepalive=75s" + (f",pool={purge}" if purge else ""))
    return ["client:pool=30s", lb, f"tether:keepalive={tether_idle}"]


def explain_verdict(kind, case):
    """Exit code of `tether explain --path` on the case's chain: 0 ordered, 1 a race."""
    r = subprocess.run([os.environ["TETHER_BIN"], "explain", "--path", *ladder(kind, case)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout


def wait_listening(bed, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = bed.socket("cli")
        try:
            s.settimeout(1.0)
            s.connect(("127.0.0.1", port))
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise AssertionError(f"the balancer is not listening on {port}")


def connections(server):
    """Distinct connections a backend served (conn=N in its access log)."""
    return {t.split(" conn=")[1].split()[0] for _, tag, t in list(server.lines)
            if tag == "out" and " conn=" in t}


def through(kind, case):
    tether_idle, nginx_idle, purge, drop = CASES[case]

    def scenario(bed):
        backends = [peers.http_server(bed, "--keepalive-timeout", tether_idle,
                                      "--keepalive-grace", "0", "--access-log", "-")
                    for _ in range(2)]
        addrs = [f"{netbed.SRV_ADDR}:{port}" for _, port in backends]
        if drop:
            for _, port in backends:
                bed.nft(f"add rule inet {bed.table} forward ip saddr {netbed.SRV_ADDR} "
                        f"tcp sport {port} tcp flags & fin == fin counter drop\n")
        d = tempfile.mkdtemp(prefix=f"tether-lb-{kind}-")
        try:
            listen = f"127.0.0.1:{LB_PORT}"
            argv = (balancers.nginx(d, listen, addrs, upstream_idle=nginx_idle)
                    if kind == "nginx" else balancers.haproxy(d, listen, addrs, purge_delay=purge))
            lb = Proc(bed, "cli", argv, DEADLINE)
            wait_listening(bed, LB_PORT)
            driver = Proc(bed, "cli", [
                peers.driver_bin(), "--target", f"127.0.0.1:{LB_PORT}", "--lanes", 1,
                "--requests", REQUESTS, "--gap-ms", GAP_MS, "--per-request", "--ignore-hint",
                "--idle-timeout-ms", 30000, "--max-seconds", DEADLINE - 10,
                "--method", "POST", "--path", "/echo", "--body", "payload"], DEADLINE)
            code = driver.wait_exit(DEADLINE)
            lb.stop()
            log = ""
            if kind == "nginx":
                with open(os.path.join(d, "error.log"), errors="replace") as f:
                    log = f.read()[-3000:]
            else:
                log = lb.output()[-3000:]
        finally:
            shutil.rmtree(d, ignore_errors=True)
        events = [ev for _, ev in driver.events()]
        requests = [ev for ev in events if ev.get("event") == "request"]
        failed = [r for r in requests if not r["ok"] or r["status"] != 200]
        return {"code": code, "requests": requests, "failed": failed,
                "fins_dropped": bed.dropped("fin"),
                "backend_connections": [len(connections(s)) for s, _ in backends],
                "out": f"driver:\n{driver.output()}\nbalancer:\n{log}"}
    return scenario


class BalancersTest(suite.GroupCase):
    group = "balancers"

    @staticmethod
    def scenarios():
        return {f"{kind}_{case}": through(kind, case)
                for kind in ("nginx", "haproxy") for case in CASES}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, rs in cls.results.items():  # the measured matrix, for docs/deployment.md
            for r in rs:
                if isinstance(r, dict):
                    print(f"{name}: failed {len(r['failed'])} of {len(r['requests'])} "
                          f"({[(f['status'], f['kind']) for f in r['failed']]}), "
                          f"backend connections {r['backend_connections']}, "
                          f"fins dropped {r['fins_dropped']}", flush=True)

    def runs(self, name):
        rs = suite.outcomes(self, self.results[name])
        for r in rs:
            self.assertEqual(r["code"], 0, r["out"])
            self.assertEqual(len(r["requests"]), REQUESTS, r["out"])
        return rs

    def test_ordered_ladder_never_fails(self):
        for kind in ("nginx", "haproxy"):
            for r in self.runs(f"{kind}_ordered"):
                self.assertEqual(r["failed"], [], f"{kind}\n{r['out']}")
                # The gaps crossed the balancer's idle close: it opened new
                # connections instead of reusing old ones.
                self.assertGreater(sum(r["backend_connections"]), 2, f"{kind}\n{r['out']}")

    def test_misordered_ladder_fails_and_every_failure_is_counted(self):
        for kind in ("nginx", "haproxy"):
            for r in self.runs(f"{kind}_misordered"):
                self.assertGreater(r["fins_dropped"], 0, r["out"])
                self.assertGreaterEqual(len(r["failed"]), 1, f"{kind}\n{r['out']}")
                self.assertTrue(r["requests"][0]["ok"], r["out"])
                for f in r["failed"]:  # a 502, or the client connection dropped
                    self.assertTrue(f["status"] == 502 or
                                    f["kind"] == "connection_closed_before_response",
                                    f"{kind}: {f}\n{r['out']}")

    def test_ladder_check_agrees_with_the_measured_runs(self):
        """`tether explain --path` calls the ordered chains safe (exit 0) and
        flags the misordered ones (exit 1): the runs above showed 0 failures
        for the first and failures for the second."""
        for kind in ("nginx", "haproxy"):
            for case, want in (("ordered", 0), ("misordered", 1)):
                code, out = explain_verdict(kind, case)
                self.assertEqual(code, want, f"{kind} {case}: {ladder(kind, case)}\n{out}")
                failures = [len(r["failed"]) for r in self.runs(f"{kind}_{case}")]
                self.assertEqual(all(n > 0 for n in failures), want == 1, (kind, case, failures))

    def test_control_fin_delivered_is_discarded_by_the_balancer(self):
        for kind in ("nginx", "haproxy"):
            for r in self.runs(f"{kind}_control_fin_delivered"):
                self.assertEqual(r["fins_dropped"], 0, r["out"])
                self.assertEqual(r["failed"], [], f"{kind}\n{r['out']}")


if __name__ == "__main__":
    if shutil.which("haproxy") is None or shutil.which("nginx") is None:
        print("SKIPPED: nginx and haproxy are needed (scripts/setup.sh test)", flush=True)
        sys.exit(netbed.SKIP_CODE)
    started = time.monotonic()
    try:
        suite.main()
    finally:
        print(f"balancers: {time.monotonic() - started:.1f} s", flush=True)
