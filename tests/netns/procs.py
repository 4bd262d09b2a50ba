"""Processes inside a test bed's namespaces, each with its own hard timeout.

Proc starts argv in a namespace of a Bed, drains stdout and stderr for the
whole life of the process (so it never blocks on a full pipe), stamps every
line with time.monotonic() when it arrives, and stamps the exit.  Detection
times in the suite are differences of these stamps and the moment the test
injected the fault, all on the test's own monotonic clock.

A watchdog kills the process (by PID, SIGKILL) when its deadline passes; every
Proc is also registered so that cleanup_all() ends whatever is left on exit.
"""

import json
import os
import signal
import subprocess
import threading
import time

_procs = set()
_procs_lock = threading.Lock()


def tether_bin():
    path = os.environ.get("TETHER_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"TETHER_BIN={path!r} is not an executable file")
    return path


class Proc:
    def __init__(self, bed, role, argv, deadline_s):
        self.argv = [str(a) for a in argv]
        self.lines = []           # [(t, "out"|"err", text)]
        self.exit_t = None        # monotonic time the exit was seen
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(bed.exec_argv(role, self.argv), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.start_t = time.monotonic()
        bed.adopt(self)
        with _procs_lock:
            _procs.add(self)
        self._watchdog = threading.Timer(deadline_s, self.kill)
        self._watchdog.daemon = True
        self._threads = [threading.Thread(target=self._drain, args=(s, tag), daemon=True)
                         for s, tag in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        self._threads.append(threading.Thread(target=self._reap, daemon=True))
        for t in self._threads:
            t.start()
        self._watchdog.start()

    @property
    def pid(self):
        return self.proc.pid

    def _drain(self, stream, tag):
        try:
            for raw in iter(stream.readline, b""):
                with self._cond:
                    self.lines.append((time.monotonic(), tag, raw.decode("utf-8", "replace").rstrip()))
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass

    def _reap(self):
        self.proc.wait()
        self._watchdog.cancel()
        with _procs_lock:
            _procs.discard(self)
        with self._cond:
            self.exit_t = time.monotonic()
            self._cond.notify_all()

    # --- waiting ----------------------------------------------------------------

    def wait_for(self, predicate, timeout):
        """Wait until predicate(self) is true; returns its value or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value or time.monotonic() >= deadline:
                    return value or None
                self._cond.wait(min(0.05, max(0.0, deadline - time.monotonic())))

    def wait_line(self, needle, timeout, tag=None):
        """(t, text) of the first line containing `needle`, or None."""
        def find(p):
            for t, g, text in p.lines:
                if needle in text and (tag is None or g == tag):
                    return (t, text)
            return None
        return self.wait_for(find, timeout)

    def wait_exit(self, timeout):
        """Exit code, or None if still running after `timeout` seconds."""
        if self.wait_for(lambda p: p.exit_t is not None, timeout):
            self._join()
            return self.proc.returncode
        return None

    def _join(self):
        for t in self._threads:
            t.join(2)

    # --- JSON events (--json) -------------------------------------------------

    def events(self):
        """[(t, event dict)] for every JSON line on stdout so far."""
        found = []
        with self._cond:
            lines = list(self.lines)
        for t, tag, text in lines:
            if tag == "out" and text.startswith("{"):
                try:
                    found.append((t, json.loads(text)))
                except ValueError:
                    pass
        return found

    def detected_at(self, timeout):
        """When the process noticed the end of its connection: the arrival of
        its "closed" event, else its exit (whose timing also includes the
        sanitizers' exit-time work).  None if neither happens in time."""
        self.wait_exit(timeout)
        found = self.wait_event("closed", 0)
        if found:
            return found[0]
        return self.exit_t

    def wait_event(self, name, timeout, **match):
        """(t, event) of the first event `name` whose fields equal `match`."""
        def find(p):
            for t, ev in p.events():
                if ev.get("event") == name and all(ev.get(k) == v for k, v in match.items()):
                    return (t, ev)
            return None
        return self.wait_for(find, timeout)

    # --- signals ------------------------------------------------------------------

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)  # our own child, by PID

    def stop(self, timeout=10.0):
        """SIGTERM (after SIGCONT, in case the test stopped it); SIGKILL if it
        does not exit in time.  Returns the exit code."""
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code is None:
            self.kill()
            code = self.wait_exit(5)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._watchdog.cancel()
        with _procs_lock:
            _procs.discard(self)

    def output(self):
        with self._cond:
            return "\n".join(f"[{t - self.start_t:7.3f} {g}] {x}" for t, g, x in self.lines)


def cleanup_all():
    with _procs_lock:
        procs = list(_procs)
    for p in procs:
        p.kill()
