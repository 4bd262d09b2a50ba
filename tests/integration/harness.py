"""Shared helpers for Tether's integration tests.

The tests drive the real `tether` binary (path in the TETHER_BIN environment
variable) with real peers: raw sockets, http.client, requests, curl and wrk.
All traffic goes to 127.0.0.1 / ::1 only, every wait is bounded, and the only
process ever signalled or killed is the server this module started (by PID).

Main pieces:
  Server(*args)      context manager around one `tether serve` process
  Conn               raw socket with a receive buffer: send bytes, read one
                     HTTP response, read until EOF, tell EOF from RST
  build_request()    assemble raw HTTP/1.x request bytes
  StatusClient       status queries over ONE persistent connection, so that
                     their own effect on the counters is known exactly
"""

import ctypes
import select
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

# --- tolerances and bounds ---------------------------------------------------

# Slack added to every "this must happen within T" assertion.  The server's
# timers are millisecond precise (see include/tether/core/timer_wheel.h), so
# the error is dominated by scheduling: ctest runs the test files in parallel
# on a 2-core machine (one of them runs wrk flat out), and an ASan build is
# several times slower.  0.3 s covers that with margin; override with
# TETHER_TEST_TOL on an unusually slow machine.
TOL = float(os.environ.get("TETHER_TEST_TOL", "0.3"))

# How much EARLIER than the configured bound an event may be observed.  A
# timer must never fire early; the only legitimate slack is the client's own
# measurement starting a little after the server's (loopback delivery) and a
# server loop clock cached at the start of an iteration.
EARLY_TOL = 0.1

STARTUP_TIMEOUT = 10.0   # seconds to wait for the "listening on" line(s)
STOP_TIMEOUT = 15.0      # seconds to wait for exit after SIGTERM
IO_TIMEOUT = 5.0         # default socket timeout: no test can hang on I/O

LISTEN_RE = re.compile(r"^tether: listening on (\[[^\]]+\]|[^\s\[\]]+):(\d+)(?: \(TLS\))?\s*$")
# The first line of a sanitizer report (TSan, ASan, LSan, UBSan) in a process's stderr.
SANITIZER_RE = re.compile(
    r"^(==\d+==)?(WARNING|ERROR): (Thread|Address|Leak)Sanitizer|: runtime error: ", re.M)
STATUS_PATH = "/.tether/status"

_PR_SET_PDEATHSIG = 1


def tether_bin():
    """Path of the binary under test, or a clear error."""
    path = os.environ.get("TETHER_BIN")
    if not path:
        raise RuntimeError(
            "TETHER_BIN is not set: point it at the tether binary, e.g. "
            "TETHER_BIN=build/release/apps/tether/tether")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(f"TETHER_BIN={path!r} is not an executable file")
    return path


def sanitizer_report(text):
    """The sanitizer report in `text` (a process's stderr), from its first line on
    (at most 4000 characters), or None.  With TSAN_OPTIONS halt_on_error=1 a race
    also ends the process with exit code 66; without it TSan only prints, so the
    report itself is what must fail a test."""
    m = SANITIZER_RE.search(text)
    return None if m is None else text[text.rfind("\n", 0, m.start()) + 1:][:4000]


def read_pty(primary, timeout):
    """Everything a child writes to the terminal `primary` (pty.openpty()) until it
    closes its side or `timeout` seconds pass; closes `primary`."""
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(primary)
    return out


def _die_with_parent():
    """preexec_fn: if the test runner itself is killed (ctest timeout), the
    kernel sends SIGKILL to the server too, so no server outlives its test."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # best effort only
        pass


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- the server process --------------------------------------------------------


class Server:
    """One `tether serve` process.

    Server(*args) runs `TETHER_BIN serve --listen 127.0.0.1:0 --workers 1 <args>`
    (extra `--listen` values in args add listeners; `--workers` in args
    replaces the default).  Entering waits until every listener has printed
    `tether: listening on ADDR:PORT`; .host/.port are those of the first one,
    .addresses lists all of them.  Exiting sends SIGTERM, waits up to 15 s,
    and asserts exit code 0 (the assertion is skipped when the test body is
    already failing, so the original error is the one reported).
    """

    def __init__(self, *args, listen=("127.0.0.1:0",), startup_timeout=STARTUP_TIMEOUT,
                 stop_timeout=STOP_TIMEOUT):
        self.args = [str(a) for a in args]
        self.listen = list(listen)
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.proc = None
        self.addresses = []          # [(host, port)] in the order printed
        self.host = None
        self.port = None
        self.stop_elapsed = None     # seconds from the stop signal to exit
        self._stdout_lines = []
        self._stderr_chunks = []
        self._cond = threading.Condition()
        self._drainers = []

    # context manager ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.proc is not None and self.proc.poll() is not None and self.stop_elapsed is not None:
            # The test stopped the server itself and checked the exit code.
            self._join_drainers()
            self._check_no_sanitizer_report(exc_type)
            return False
        try:
            code = self.stop()
        except AssertionError:
            if exc_type is None:
                raise
            return False
        if exc_type is None and code != 0:
            raise AssertionError(
                f"tether exited with code {code}, expected 0\n"
                f"--- stderr ---\n{self.stderr_text()}")
        self._check_no_sanitizer_report(exc_type)
        return False

    def _check_no_sanitizer_report(self, exc_type):
        report = sanitizer_report(self.stderr_text())
        if exc_type is None and report is not None:
            raise AssertionError(f"tether reported a sanitizer error:\n{report}")

    # lifecycle -------------------------------------------------------------

    def command(self):
        cmd = [tether_bin(), "serve"]
        for addr in self.listen:
            cmd += ["--listen", addr]
        if "--workers" not in self.args:
            cmd += ["--workers", "1"]
        return cmd + self.args

    def start(self):
        cmd = self.command()
        expected = len(self.listen) + self.args.count("--listen")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        # Drain both pipes for the whole life of the process so that the
        # server can never block on a full pipe (access log on stdout, ASan).
        for stream, sink in ((self.proc.stdout, self._on_stdout),
                             (self.proc.stderr, self._on_stderr)):
            t = threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
            t.start()
            self._drainers.append(t)

        deadline = time.monotonic() + self.startup_timeout
        with self._cond:
            while len(self.addresses) < expected:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(left, 0.1))
            ok = len(self.addresses) >= expected
        if not ok:
            exited = self.proc.poll()
            self._kill()
            raise RuntimeError(
                f"tether did not report {expected} listener(s) within "
                f"{self.startup_timeout}s (exit code {exited}); command: {cmd}\n"
                f"--- stdout ---\n{self.stdout_text()}\n--- stderr ---\n{self.stderr_text()}")
        self.host, self.port = self.addresses[0]
        return self

    def send_signal(self, sig=signal.SIGTERM):
        """Send `sig` to our server (by PID) without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            self._stop_started = time.monotonic()
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=None):
        """Wait for exit after send_signal(); on timeout kill it and fail."""
        timeout = self.stop_timeout if timeout is None else timeout
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError(
                f"tether did not exit within {timeout}s of the stop signal; killed it\n"
                f"--- stderr ---\n{self.stderr_text()}")
        if self.stop_elapsed is None and hasattr(self, "_stop_started"):
            self.stop_elapsed = time.monotonic() - self._stop_started
        self._join_drainers()
        return self.proc.returncode

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """SIGTERM (or `sig`), wait, return the exit code.  Idempotent."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.send_signal(sig)
            return self.wait_exit(timeout)
        self._join_drainers()
        return self.proc.returncode

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # only our own child, by PID
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._join_drainers()

    def _join_drainers(self):
        for t in self._drainers:
            t.join(2)
        if self.proc is not None and self.proc.poll() is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None and not any(t.is_alive() for t in self._drainers):
                    stream.close()

    # output ----------------------------------------------------------------

    def _drain(self, stream, sink):
        try:
            for raw in iter(stream.readline, b""):
                sink(raw)
        except (OSError, ValueError):
            pass

    def _on_stdout(self, raw):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        with self._cond:
            self._stdout_lines.append(line)
            m = LISTEN_RE.match(line)
            if m:
                host = m.group(1)
                if host.startswith("["):
                    host = host[1:-1]
                self.addresses.append((host, int(m.group(2))))
            self._cond.notify_all()

    def _on_stderr(self, raw):
        with self._cond:
            self._stderr_chunks.append(raw.decode("utf-8", "replace"))

    def stdout_lines(self):
        with self._cond:
            return list(self._stdout_lines)

    def stdout_text(self):
        return "\n".join(self.stdout_lines())

    def stderr_text(self):
        with self._cond:
            return "".join(self._stderr_chunks)

    # clients ---------------------------------------------------------------

    def url(self, path="/"):
        return f"http://{self.host}:{self.port}{path}"

    def connect(self, timeout=IO_TIMEOUT):
        return Conn(self.host, self.port, timeout=timeout)

    def status(self):
        """GET /.tether/status on a fresh connection (with Connection: close).

        Its own effect on the counters: accepted +1, requests +1, and that
        connection is `writing` while the snapshot is taken; later it closes
        as client_requested."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=IO_TIMEOUT)
        try:
            conn.request("GET", STATUS_PATH, headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise AssertionError(f"status endpoint answered {resp.status}: {body[:200]!r}")
            return json.loads(body)
        finally:
            conn.close()

    def wait_status(self, predicate, timeout=5.0, interval=0.05, what="condition"):
        """Poll status() until predicate(snapshot) holds; return the snapshot.

        Used for counters that change when the server notices a close the
        client initiated, which happens asynchronously to the client."""
        return poll_status(self.status, predicate, timeout, interval, what)

    def status_client(self):
        return StatusClient(self)


def poll_status(fetch, predicate, timeout, interval, what):
    """Call fetch() until predicate(snapshot) holds; return that snapshot."""
    deadline = time.monotonic() + timeout
    while True:
        st = fetch()
        if predicate(st):
            return st
        if time.monotonic() >= deadline:
            raise AssertionError(f"status never satisfied {what} within {timeout}s; last: "
                                 f"{json.dumps(st, sort_keys=True)}")
        time.sleep(interval)


class StatusClient:
    """Status requests over ONE persistent raw connection.

    Its effect on the counters is exact: one accepted connection, `calls`
    requests of which `calls - 1` are reused.  It never reconnects silently:
    if the server closes it, the next get() fails."""

    def __init__(self, server):
        self.conn = server.connect()
        self.calls = 0

    def get(self):
        self.conn.send(build_request("GET", STATUS_PATH))
        resp = self.conn.read_response()
        self.calls += 1
        if resp.status != 200:
            raise AssertionError(f"status endpoint answered {resp.status}: {resp.body[:200]!r}")
        if resp.closes:
            raise AssertionError("status connection was closed by the server; "
                                 "counter accounting would be off")
        return json.loads(resp.body)

    def wait(self, predicate, timeout=5.0, interval=0.05, what="condition"):
        return poll_status(self.get, predicate, timeout, interval, what)

    def close(self):
        self.conn.close()


# --- raw HTTP over sockets -------------------------------------------------------


def build_request(method="GET", target="/plaintext", headers=(), body=b"",
                  version="HTTP/1.1", host="127.0.0.1", content_length=None):
    """Raw request bytes.  `headers` is a sequence of (name, value) pairs sent
    verbatim and in order; Host comes first unless host is None.  When body is
    non-empty and content_length is None, a Content-Length header is added
    unless one of `headers` already frames the body."""
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    names = {n.lower() for n, _ in headers}
    for name, value in headers:
        lines.append(f"{name}: {value}")
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    elif body and not names & {"content-length", "transfer-encoding"}:
        lines.append(f"Content-Length: {len(body)}")
    if isinstance(body, str):
        body = body.encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class NoResponse(AssertionError):
    """The peer closed (or reset) the connection before a complete response."""


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head, t_done):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers        # [(name, value)] as received
        self.body = body
        self.raw_head = raw_head
        self.t_done = t_done          # time.monotonic() when the last byte arrived

    def header(self, name):
        """Value of `name` (case-insensitive), repeated fields joined by ', ';
        None when absent."""
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(values) if values else None

    def header_count(self, name):
        return sum(1 for n, _ in self.headers if n.lower() == name.lower())

    @property
    def connection_tokens(self):
        value = self.header("Connection") or ""
        return {t.strip().lower() for t in value.split(",") if t.strip()}

    @property
    def closes(self):
        return "close" in self.connection_tokens

    def keep_alive_params(self):
        """Parse `Keep-Alive: timeout=N, max=R` into {'timeout': N, 'max': R}."""
        value = self.header("Keep-Alive")
        if value is None:
            return None
        params = {}
        for part in value.split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                params[k.strip().lower()] = int(v.strip())
        return params

    def __repr__(self):
        return f"<Response {self.status} {self.headers!r} body={len(self.body)}B>"


class EofResult:
    """Outcome of Conn.read_until_eof(): outcome is 'eof' (clean FIN),
    'reset' (ConnectionResetError) or 'timeout'; data is what arrived first."""

    def __init__(self, data, outcome, elapsed, t_end):
        self.data = data
        self.outcome = outcome
        self.elapsed = elapsed
        self.t_end = t_end

    def __repr__(self):
        return f"<EofResult {self.outcome} after {self.elapsed:.3f}s, {len(self.data)}B: {self.data[:120]!r}>"


class Conn:
    """A client TCP connection with a receive buffer (pipelined responses can
    arrive in one recv)."""

    def __init__(self, host="127.0.0.1", port=None, timeout=IO_TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected_at = time.monotonic()
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def request(self, *args, **kwargs):
        """build_request(*args) + send + read_response; returns the response."""
        method = args[0] if args else kwargs.get("method", "GET")
        self.send(build_request(*args, **kwargs))
        return self.read_response(method=method)

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        return self.sock.recv(65536)

    def _fill(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"timed out waiting for {what}")
        try:
            data = self._recv(left)
        except ConnectionResetError as e:
            raise NoResponse(f"connection reset while waiting for {what} "
                             f"(buffered {len(self.buf)}B: {self.buf[:120]!r})") from e
        if not data:
            raise NoResponse(f"EOF while waiting for {what} "
                             f"(buffered {len(self.buf)}B: {self.buf[:120]!r})")
        self.buf += data

    def read_response(self, method="GET", timeout=None, skip_interim=True):
        """Read one complete response: status line, headers, and the body by
        Content-Length, chunked coding, or until EOF.  1xx responses are
        skipped unless skip_interim is False (then one is returned alone)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while b"\r\n\r\n" not in self.buf:
                if len(self.buf) > 1 << 20:
                    raise AssertionError("response header larger than 1 MiB")
                self._fill(deadline, "a response header")
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
            if not m:
                raise AssertionError(f"malformed status line: {lines[0]!r}")
            version, status, reason = m.group(1), int(m.group(2)), m.group(3) or ""
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise AssertionError(f"malformed response header line: {line!r}")
                headers.append((name, value.strip()))
            resp = Response(version, status, reason, headers, b"", head, None)
            if 100 <= status < 200:
                resp.t_done = time.monotonic()
                if skip_interim and status != 101:
                    continue
                return resp
            resp.body = self._read_body(resp, method, deadline)
            resp.t_done = time.monotonic()
            return resp

    def _read_body(self, resp, method, deadline):
        if method.upper() == "HEAD" or resp.status in (204, 304):
            return b""
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return self._read_chunked(deadline)
        cl = resp.header("Content-Length")
        if cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                self._fill(deadline, f"{n}-byte body (have {len(self.buf)})")
            body, self.buf = self.buf[:n], self.buf[n:]
            return body
        # Neither: the body runs until EOF.
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out reading a close-delimited body")
            data = self._recv(left)
            if not data:
                body, self.buf = self.buf, b""
                return body
            self.buf += data

    def _read_chunked(self, deadline):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill(deadline, "a chunk size line")
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                # trailer section, ended by an empty line
                while True:
                    while b"\r\n" not in self.buf:
                        self._fill(deadline, "the chunked trailer")
                    tline, self.buf = self.buf.split(b"\r\n", 1)
                    if tline == b"":
                        return body
            while len(self.buf) < size + 2:
                self._fill(deadline, "chunk data")
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]

    def read_until_eof(self, timeout=IO_TIMEOUT):
        """Read until EOF, reset or timeout; never raises for those."""
        start = time.monotonic()
        deadline = start + timeout
        data, self.buf = self.buf, b""
        outcome = "timeout"
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                chunk = self._recv(left)
            except ConnectionResetError:
                outcome = "reset"
                break
            except (socket.timeout, TimeoutError):
                break
            if not chunk:
                outcome = "eof"
                break
            data += chunk
        end = time.monotonic()
        return EofResult(data, outcome, end - start, end)

    def readable_within(self, timeout):
        """True when data or EOF arrives within `timeout` (nothing consumed
        from the kernel; the buffer counts as readable)."""
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Closes with an RST instead of a FIN (SO_LINGER on, timeout 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()


def connect(port, host="127.0.0.1", timeout=IO_TIMEOUT):
    return Conn(host, port, timeout=timeout)


def parse_response_bytes(data, method="GET"):
    """Parse a complete response from bytes already received (e.g. the data
    returned by read_until_eof)."""
    class _Fake(Conn):
        def __init__(self, buf):
            self.buf = buf
            self.timeout = 0.1

        def _recv(self, timeout):
            return b""
    return _Fake(data).read_response(method=method)


def assert_clean_eof(testcase, conn, timeout=IO_TIMEOUT, msg=""):
    """The server must close with a FIN and send nothing more."""
    res = conn.read_until_eof(timeout)
    testcase.assertEqual(res.outcome, "eof", f"{msg} expected a clean EOF, got {res!r}")
    testcase.assertEqual(res.data, b"", f"{msg} unexpected bytes before EOF: {res!r}")
    return res


# --- external programs ----------------------------------------------------------


def clean_env():
    """Environment for curl/wrk/requests without proxy settings, so that
    traffic really goes straight to loopback."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    return env
