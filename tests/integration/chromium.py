"""Headless Chromium (Debian's `chromium`) for the tests that look at a page:
the live page of `tether serve` and the `tether bench --html` report.

Driven over the DevTools protocol on --remote-debugging-pipe: commands and
answers are JSON messages ending in a NUL byte on descriptors 3 (to the
browser) and 4 (from it), so no websocket client is needed (Python's standard
library has none). One browser per Chromium object, with its own throwaway
profile; close() ends it (only our own child, by PID).
"""

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

BINARY = "chromium"


def available():
    return shutil.which(BINARY) is not None


def artifact_dir():
    """Where screenshots go: TETHER_ARTIFACTS (ctest sets it to <build>/test-artifacts),
    else a temp dir."""
    d = os.environ.get("TETHER_ARTIFACTS") or os.path.join(tempfile.gettempdir(),
                                                         "tether-test-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


class Chromium:
    def __init__(self, width=1280, height=1500, timeout=15.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="tether-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [BINARY, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}",
                f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        # The shell puts the pipe ends on 3 and 4, where Chromium expects them. Its log
        # goes to a file: a full stderr pipe would stall it.
        self._log = open(os.path.join(self.profile, "stderr.log"), "w+b")
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', *args],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._buffer = b""
        self.session = None

    # protocol ----------------------------------------------------------------

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise AssertionError(f"chromium exited: {self._stderr()}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method, params=None, session=None):
        """One command; returns its result (events in between are dropped)."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _stderr(self):
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-2000:]

    # pages -------------------------------------------------------------------

    def open(self, url):
        """Opens `url` in a new tab; later calls act on it."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=self.session)
        self.send("Page.navigate", {"url": url}, session=self.session)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-able)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                      session=self.session)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression, timeout=10.0, what=None):
        """Polls until the expression is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except AssertionError:
                value = None  # the page is still loading
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{what or expression}: not true within {timeout} s (last {value!r})")

    def screenshot(self, path):
        """The whole page as PNG; returns its size in bytes."""
        r = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                      session=self.session)
        data = base64.b64decode(r["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close")
                except (AssertionError, OSError):
                    pass
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()  # our own child, by PID
                    self.proc.wait(5)
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._log.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
