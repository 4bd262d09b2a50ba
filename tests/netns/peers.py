"""The peers of the scenarios: tether processes and a Python HTTP client,
started in the right namespace of a Bed, following the shared CLI contract of
`tether heartbeat serve|connect` and `tether serve --so-keepalive`.

Exit codes of `tether heartbeat connect` (contract): 0 duration reached or
signalled, 1 other error, 2 usage, 3 heartbeat timeout, 4 TCP keepalive / user
timeout (ETIMEDOUT), 5 peer closed, 6 peer reset.
"""

import json
import os
import re
import time

import netbed
from procs import Proc, tether_bin

EXIT_OK, EXIT_HEARTBEAT, EXIT_TCP_TIMEOUT, EXIT_CLOSED, EXIT_RESET = 0, 3, 4, 5, 6
START_TIMEOUT = 20.0  # ASan binaries on a busy machine start slowly
LISTEN_RE = re.compile(r"tether: listening on \S+:(\d+)")


def _listening(proc, what):
    found = proc.wait_line("tether: listening on", START_TIMEOUT, tag="out")
    if not found:
        proc.kill()
        raise AssertionError(f"{what} did not report its port\n{proc.output()}")
    return int(LISTEN_RE.search(found[1]).group(1))


def driver_bin():
    """The pool's test driver (tests/tools/client_driver.cpp), from TETHER_CLIENT_DRIVER."""
    path = os.environ.get("TETHER_CLIENT_DRIVER")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"TETHER_CLIENT_DRIVER={path!r} is not an executable file")
    return path


def heartbeat_server(bed, *args, deadline=120):
    """`tether heartbeat serve --json` in srv; returns (proc, port)."""
    proc = Proc(bed, "srv", [tether_bin(), "heartbeat", "serve", "--listen",
                             f"{netbed.SRV_ADDR}:0", "--json", *args], deadline)
    return proc, _listening(proc, "tether heartbeat serve")


def heartbeat_client(bed, port, *args, deadline=120, ws_path=None):
    """`tether heartbeat connect --json` in cli; returns (proc, t_connected).
    With `ws_path` it connects to ws://SERVER:port/ws_path (WebSocket ping/pong)."""
    target = f"{netbed.SRV_ADDR}:{port}"
    if ws_path is not None:
        target = f"ws://{target}{ws_path}"
    proc = Proc(bed, "cli", [tether_bin(), "heartbeat", "connect", target, "--json", *args],
                deadline)
    proc.wait_for(lambda p: p.exit_t is not None or p.wait_event("connected", 0), START_TIMEOUT)
    found = proc.wait_event("connected", 0)
    if not found:
        proc.kill()
        raise AssertionError(f"heartbeat client never connected\n{proc.output()}")
    return proc, found[0]


def client_outcome(client, t_start, wait):
    """Wait up to `wait` s for the client to end.  Returns detected (it exited
    with a non-zero code: it noticed a failure; --duration reached or a
    SIGTERM give 0), code (a client still running is stopped with SIGTERM),
    seconds (from t_start to the detection or exit, or to the end of the
    wait), since_last_read_s and reason (of its "closed" event) and out."""
    t = client.detected_at(wait)
    if t is not None:
        code = client.wait_exit(0)
    else:
        t, code = time.monotonic(), client.stop()
    closed = client.wait_event("closed", 0)
    since = closed[1].get("since_last_read_ms") if closed else None
    return {"detected": code != EXIT_OK, "code": code, "seconds": t - t_start,
            "since_last_read_s": None if since is None else since / 1000.0,
            "reason": closed_reason(client), "out": client.output()}


def closed_reason(proc):
    """The "reason" of the client's "closed" event, or None."""
    for _, ev in proc.events():
        if ev.get("event") == "closed":
            return ev.get("reason")
    return None


def http_server(bed, *args, deadline=120):
    """`tether serve` on the server address in srv; returns (proc, port)."""
    proc = Proc(bed, "srv", [tether_bin(), "serve", "--listen", f"{netbed.SRV_ADDR}:0",
                             "--workers", "1", *args], deadline)
    return proc, _listening(proc, "tether serve")


def http_status(bed, port):
    """GET /.tether/status with curl from inside the server namespace, so it
    works whatever fault the router applies."""
    r = bed.run("srv", ["curl", "-sS", "--max-time", "5",
                        f"http://{netbed.SRV_ADDR}:{port}/.tether/status"], timeout=10)
    return json.loads(r.stdout)


def http_keepalive_client(bed, port):
    """A Python client in cli that sends one keep-alive request, reads the
    whole response and keeps the connection open (returns the socket)."""
    sock = bed.socket("cli")
    sock.settimeout(5.0)
    sock.connect((netbed.SRV_ADDR, port))
    sock.sendall(f"GET /plaintext HTTP/1.1\r\nHost: {netbed.SRV_ADDR}\r\n"
                 "Connection: keep-alive\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"server closed before the response: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        raise AssertionError(f"unexpected response {head!r}")
    return sock
