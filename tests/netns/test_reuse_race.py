"""Client pool, the keep-alive reuse race made deterministic (the FIN crosses the request).

`tether serve --keepalive-timeout 1s --keepalive-grace 0` in srv closes an idle
connection 1 s after its last response.  The router drops every segment from
the server's port that carries FIN (the retransmissions too), so the client
never learns of the close: its idle watch sees nothing and its pre-reuse
MSG_PEEK check passes.  The pool (tests/tools/client_driver.cpp, one lane, one
connection, the server's Keep-Alive hint ignored and its own idle timeout 10 s)
sends a second request GAP_MS after the first on that connection; the server's
kernel answers the bytes on the closed socket with an RST (TcpExtTCPAbortOnData
goes up in srv) and the client sees ECONNRESET before any response byte.

Asserted per case (each in its own bed, suite.REPS repetitions at once):
  get / put / delete / head / post_key: retried once on a new connection and
    answered; the server processed the request exactly once, on the second
    connection (access log, read after a /.tether/status request fetched from
    srv has gone through the same single worker);
  post: not retried; connection_closed_before_response, ECONNRESET,
    request_sent and maybe_processed set; the server processed it 0 times;
  control_get / control_post (FIN not dropped): the idle watch discards the
    closed connection when the FIN arrives, the second request goes out once on
    a fresh connection (attempts 1, reused false), no RST, no retry;
  control_peek_only (idle watch off): the pre-reuse MSG_PEEK check discards it;
  control_no_defence (both off): the request is written into the closed
    connection, the RST comes, and only the retry saves it (attempts 2): what
    the two defences above prevent, and proof that those controls can fail.
"""

import errno
import re
import time

import netbed
import peers
import suite
from procs import Proc

SERVER_IDLE = "1s"
GAP_MS = 2000  # > the server's idle close (1 s, grace 0) + scheduling on a busy machine
DRIVER_DEADLINE = 25
# 198.18.1.2:46974 conn=1 req=1 [date] "GET /plaintext?id=1 HTTP/1.1" 200 13 keep-alive
LOG_RE = re.compile(r'^(\S+):(\d+) conn=(\d+) req=\d+ \[[^]]*\] "(\S+) \S*[?&]id=(\d+) ')


def abort_on_data(bed, role):
    """TcpExtTCPAbortOnData of the namespace: data arrived on a closed socket."""
    text = bed.run(role, ["cat", "/proc/net/netstat"]).stdout.splitlines()
    for names, values in zip(text[::2], text[1::2]):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split()))["TCPAbortOnData"])
    raise AssertionError("no TcpExt line in /proc/net/netstat")


def processed(server):
    """[(method, id, server conn, client port)] from the access log on stdout."""
    found = []
    for _, tag, text in list(server.lines):
        m = LOG_RE.match(text) if tag == "out" else None
        if m:
            found.append((m.group(4), int(m.group(5)), int(m.group(3)), int(m.group(2))))
    return found


def race(method, *driver_args, drop=True):
    def scenario(bed):
        server, port = peers.http_server(bed, "--keepalive-timeout", SERVER_IDLE,
                                         "--keepalive-grace", "0", "--access-log", "-")
        if drop:  # the server's FIN, first and retransmitted, never reaches the client
            bed.nft(f"add rule inet {bed.table} forward ip saddr {netbed.SRV_ADDR} "
                    f"tcp sport {port} tcp flags & fin == fin counter drop\n")
        aborts_before = abort_on_data(bed, "srv")
        path = "/plaintext" if method in ("GET", "HEAD") else "/echo"
        body = [] if method in ("GET", "HEAD", "DELETE") else ["--body", "payload"]
        driver = Proc(bed, "cli", [
            peers.driver_bin(), "--target", f"{netbed.SRV_ADDR}:{port}", "--lanes", 1,
            "--requests", 2, "--gap-ms", GAP_MS, "--per-request", "--ignore-hint",
            "--idle-timeout-ms", 10000, "--max-seconds", DRIVER_DEADLINE - 5,
            "--method", method, "--path", path, *body, *driver_args], DRIVER_DEADLINE)
        code = driver.wait_exit(DRIVER_DEADLINE)
        peers.http_status(bed, port)  # same worker: every earlier log line is written
        events = [ev for _, ev in driver.events()]
        return {"code": code, "events": events,
                "requests": {ev["id"]: ev for ev in events if ev.get("event") == "request"},
                "summary": next((ev for ev in events if ev.get("event") == "summary"), None),
                "processed": processed(server), "fins_dropped": bed.dropped("fin"),
                "aborts": abort_on_data(bed, "srv") - aborts_before,
                "out": f"driver:\n{driver.output()}\nserver:\n{server.output()}"}
    return scenario


REPLAYED = {"get": "GET", "head": "HEAD", "put": "PUT", "delete": "DELETE"}


class ReuseRaceTest(suite.GroupCase):
    group = "reuse_race"

    @staticmethod
    def scenarios():
        s = {name: race(method) for name, method in REPLAYED.items()}
        s["post"] = race("POST")
        s["post_key"] = race("POST", "--idempotency-key")
        s["control_get"] = race("GET", drop=False)
        s["control_post"] = race("POST", drop=False)
        s["control_peek_only"] = race("GET", "--no-idle-watch", drop=False)
        s["control_no_defence"] = race("GET", "--no-idle-watch", "--no-reuse-check", drop=False)
        return s

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, rs in cls.results.items():  # the measured matrix, for docs/client-pool.md
            for r in rs:
                if isinstance(r, dict) and 2 in r["requests"]:
                    q, s = r["requests"][2], r["summary"] or {}
                    print(f"{name}: ok={q['ok']} kind={q['kind']} errno={q['errno']} "
                          f"sent={q['request_sent']} maybe={q['maybe_processed']} "
                          f"attempts={q['attempts']} first_reused={q['first_attempt_reused']} "
                          f"reused={q['reused']} idle_ms={q['idle_ms']} watch={s.get('peer_closed_while_idle')} "
                          f"peek={s.get('stale_before_reuse')} fins_dropped={r['fins_dropped']} "
                          f"aborts={r['aborts']} processed={[p[:2] for p in r['processed']]}",
                          flush=True)

    def runs(self, name):
        rs = suite.outcomes(self, self.results[name])
        for r in rs:
            self.assertEqual(r["code"], 0, r["out"])
            self.assertIsNotNone(r["summary"], r["out"])
            self.assertEqual(sorted(r["requests"]), [1, 2], r["out"])
            first = r["requests"][1]
            self.assertTrue(first["ok"], r["out"])
            self.assertEqual((first["attempts"], first["reused"]), (1, False), r["out"])
        return rs

    def assert_raced(self, r):
        """The close really crossed the request: FINs dropped, the server's
        kernel aborted a closed socket on data (the RST)."""
        self.assertGreater(r["fins_dropped"], 0, r["out"])
        self.assertGreaterEqual(r["aborts"], 1, r["out"])

    def assert_retried_once(self, name, method):
        for r in self.runs(name):
            self.assert_raced(r)
            first, second = r["requests"][1], r["requests"][2]
            self.assertTrue(second["ok"], r["out"])
            self.assertEqual(second["status"], 200, r["out"])
            self.assertEqual(second["attempts"], 2, r["out"])
            self.assertTrue(second["first_attempt_reused"], r["out"])
            # The stale connection had idled past the server's 1 s timeout.
            self.assertGreaterEqual(second["first_attempt_idle_ms"], 1000, r["out"])
            self.assertFalse(second["reused"], "the retry must use a new connection")
            self.assertNotEqual(second["connection"], first["connection"], r["out"])
            self.assertNotEqual(second["retry_reason"], "", r["out"])
            self.assertEqual(r["summary"]["retried"], 1, r["out"])
            self.assertEqual(r["summary"]["connections_opened"], 2, r["out"])
            seen = [p for p in r["processed"] if p[0] == method]
            self.assertEqual([p[1] for p in seen], [1, 2], f"processed {seen}\n{r['out']}")
            self.assertNotEqual(seen[0][2], seen[1][2], "id=2 on the first server connection")

    def test_get_reused_after_dropped_fin_is_retried_once(self):
        self.assert_retried_once("get", "GET")

    def test_other_idempotent_methods_are_retried_once(self):
        for name, method in REPLAYED.items():
            if name != "get":
                with self.subTest(method=method):
                    self.assert_retried_once(name, method)

    def test_post_with_idempotency_key_is_retried_once(self):
        self.assert_retried_once("post_key", "POST")

    def test_post_without_key_is_reported_never_resent(self):
        for r in self.runs("post"):
            self.assert_raced(r)
            second = r["requests"][2]
            self.assertFalse(second["ok"], r["out"])
            self.assertEqual(second["kind"], "connection_closed_before_response", r["out"])
            self.assertEqual(second["errno"], errno.ECONNRESET, r["out"])
            self.assertTrue(second["request_sent"], r["out"])
            # The client cannot know the server had closed: it must say "maybe".
            self.assertTrue(second["maybe_processed"], r["out"])
            self.assertEqual(second["attempts"], 1, r["out"])
            self.assertTrue(second["first_attempt_reused"], r["out"])
            self.assertGreaterEqual(second["first_attempt_idle_ms"], 1000, r["out"])
            self.assertIn("not idempotent", second["no_retry_reason"], r["out"])
            self.assertEqual(r["summary"]["retried"], 0, r["out"])
            self.assertEqual(r["summary"]["connections_opened"], 1, r["out"])
            ids = [p[1] for p in r["processed"] if p[0] == "POST"]
            self.assertEqual(ids, [1], f"id=2 must be processed 0 times\n{r['out']}")

    def control(self, name, method, caught=(1, 0)):
        for r in self.runs(name):
            self.assertEqual((r["fins_dropped"], r["aborts"]), (0, 0), r["out"])
            second = r["requests"][2]
            self.assertTrue(second["ok"], r["out"])
            self.assertEqual((second["attempts"], second["reused"],
                              second["first_attempt_reused"]), (1, False, False), r["out"])
            s = r["summary"]
            self.assertEqual(s["retried"], 0, r["out"])
            self.assertEqual(s["connections_opened"], 2, r["out"])
            self.assertEqual((s["peer_closed_while_idle"], s["stale_before_reuse"]), caught,
                             r["out"])
            self.assertEqual([p[1] for p in r["processed"] if p[0] == method], [1, 2], r["out"])

    def test_control_fin_delivered_idle_watch_discards_it(self):
        self.control("control_get", "GET")
        self.control("control_post", "POST")

    def test_control_fin_delivered_pre_reuse_check_discards_it(self):
        self.control("control_peek_only", "GET", caught=(0, 1))

    def test_control_without_both_defences_the_race_needs_the_retry(self):
        """Proves the controls above can fail: with the idle watch and the
        pre-reuse check off, the FIN sits unread in the client's queue
        (case a of the race), the request is written into a closed
        connection and only the retry saves it."""
        for r in self.runs("control_no_defence"):
            second = r["requests"][2]
            self.assertEqual((second["ok"], second["attempts"], second["first_attempt_reused"]),
                             (True, 2, True), r["out"])
            self.assertEqual(r["summary"]["retried"], 1, r["out"])


if __name__ == "__main__":
    started = time.monotonic()
    try:
        suite.main()
    finally:
        print(f"reuse_race: {time.monotonic() - started:.1f} s", flush=True)
