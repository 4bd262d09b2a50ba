"""readme.examples: the commands in README.md's ```sh blocks, run as printed.

Every line of every ```sh block is either run verbatim, with `bash -c`, from the
repository root, with the directory of the binary under test first on PATH (so
`tether` is the build's, as `tether` is the installed one after scripts/serve.sh),
or listed in NOT_RUN below with the reason. A command the README gains that is
in neither place fails the test, so the README cannot quietly go stale.

Lines run in README order, as a user would paste them. Long-running ones
(`tether serve`, `tether heartbeat serve|connect`) start in the background, stay
up for the lines after them, and at the end are stopped by PID with SIGTERM:
each must then exit 0. Every other line must exit 0 within its time limit, and
its output must look like what the README says (CHECKS). The examples use
127.0.0.1:8080 and 127.0.0.1:9000; if one is busy, the test fails and says
which process to stop (it cannot run the examples as printed on another port).

Environment (set by ctest): TETHER_BIN.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(REPO, "README.md")
COMMAND_TIMEOUT = 90   # seconds for one foreground line (bench -d 30s under ASan)
START_TIMEOUT = 15     # seconds for a background line's first output
STOP_TIMEOUT = 20      # seconds for a background line to exit after SIGTERM

# Lines not run, with the reason. Keys are the lines exactly as printed.
NOT_RUN = {
    "scripts/serve.sh   # as root on Debian 12: installs build deps, builds, puts `tether` on the PATH, runs `tether serve` on 127.0.0.1:8080":
        "installs packages and a binary into the system, then serves in the foreground",
    "scripts/test.sh    # as root on Debian 12: installs build and test deps, runs the CI stages: format check, ASan+UBSan and TSan suites, release build":
        "runs this very suite",
    "cmake --preset release && cmake --build --preset release -j2 && cpack -G DEB -B build/release/package --config build/release/CPackConfig.cmake":
        "a release build takes minutes; package.deb builds the package from the tree under test",
    "dpkg -i build/release/package/tether_0.1.0_amd64.deb   # remove with: dpkg -r tether":
        "installs into the system; package.deb installs the package with dpkg into a scratch root",
    "cmake --preset release && cmake --build --preset release -j2":
        "a release build takes minutes; install.find_package installs the tree under test instead",
    "cmake --install build/release --prefix /tmp/tether-prefix":
        "needs the release build; install.find_package installs the tree under test into a temporary prefix",
    "cmake -S tests/install -B /tmp/hello-build -DCMAKE_PREFIX_PATH=/tmp/tether-prefix":
        "needs /tmp/tether-prefix; install.find_package configures tests/install the same way",
    "cmake --build /tmp/hello-build":
        "needs /tmp/hello-build; install.find_package builds it",
    "/tmp/hello-build/hello 127.0.0.1:9000 & sleep 1":
        "needs /tmp/hello-build; install.find_package runs hello and makes two requests",
    "curl http://127.0.0.1:9000/hello   # hello, request 1 on connection 1":
        "talks to the hello program above",
    "kill $!":
        "stops the hello program above",
    "export PKG_CONFIG_PATH=/tmp/tether-prefix/lib/pkgconfig":
        "needs /tmp/tether-prefix; install.find_package's pkg-config test does the same",
    "g++ -std=c++20 -O2 examples/hello_server.cpp $(pkg-config --cflags --libs tether) -o /tmp/hello":
        "needs /tmp/tether-prefix; install.find_package's pkg-config test builds it the same way",
    "cmake --preset release && cmake --build --preset release   # also: debug, asan":
        "a release build takes minutes; the tree under test is built already",
    "ctest --preset release":
        "would run the whole suite again, from inside it",
    "scripts/ci-format.sh                 # format check (seconds)":
        "a CI stage, run by scripts/test.sh; git's file list is that of the tree under test",
    "scripts/ci-asan.sh -E '^netns\\.'     # asan build and suite, without the fault suite":
        "a CI stage: builds and runs this very suite",
    "scripts/ci-tsan.sh                   # tsan build, unit and integration tests under ThreadSanitizer":
        "a CI stage: a ThreadSanitizer build takes minutes, and it runs this very test",
    "scripts/ci-release.sh                # release build, warnings as errors":
        "a CI stage: a release build takes minutes",
    "scripts/fuzz.sh 30                   # the fuzz smoke run alone: every fuzzer for 30 s (scripts/fuzz.sh 600 request_parser: one, longer)":
        "needs clang from scripts/test.sh's setup; fuzz.smoke runs it in the suite",
    "ctest --preset asan -R '^unit\\.'          # unit tests":
        "needs the test build of scripts/test.sh, and runs part of this very suite",
    "ctest --preset asan -R '^integration\\.'   # the binary against real peers":
        "runs this very test among the others",
    "ctest --preset asan -R '^netns\\.'         # fault injection (root; nothing else running)":
        "needs root, the test build and the whole machine; the netns tests run in the suite",
    "ctest --preset tsan -j2                   # unit and integration tests under ThreadSanitizer":
        "needs the build of scripts/ci-tsan.sh, and runs this very test",
}

# Lines that run until stopped: a regular expression their output must match
# (stdout and stderr together) before the next line runs.
BACKGROUND = [
    (re.compile(r"^tether serve .*--tls-self-signed"),
     re.compile(r"tether: listening on 127\.0\.0\.1:8443 \(TLS\)")),
    (re.compile(r"^tether serve\b"), re.compile(r"tether: listening on 127\.0\.0\.1:8080")),
    (re.compile(r"^tether heartbeat serve\b"), re.compile(r"tether: listening on 127\.0\.0\.1:9000")),
    (re.compile(r"^tether heartbeat connect\b"), re.compile(r'"event":\s*"pong"|pong rtt')),
]


def _check_curl_reuse(test, out, err):
    test.assertEqual(out, "Hello, World!Hello, World!")
    test.assertRegex(err, r"Re-using existing connection|Reusing existing connection")


def _check_status(test, out, err):
    doc = json.loads(out)
    for key in ("connections", "totals", "closes", "settings"):
        test.assertIn(key, doc)


def _check_explain(test, out, err):
    test.assertRegex(out, r"\b33 s\b")  # the README's comment: dead after <= 33 s idle


def _check_explain_json(test, out, err):
    doc = json.loads(out)
    test.assertEqual(doc["so_keepalive"], "30:1:3")
    test.assertEqual(doc["user_timeout_ms"], 20000)


def _check_bench(test, out, err):
    test.assertRegex(out, r"[\d.]+ req/s")
    test.assertRegex(out, r"2xx \d+")


def _check_inspect_json(test, out, err):
    doc = json.loads(out)
    test.assertIsInstance(doc, dict)
    test.assertIn("http://127.0.0.1:8080/", out)


# Foreground lines: (pattern, check(test, stdout, stderr)). A line without one
# must exit 0 and print something on stdout.
CHECKS = [
    (re.compile(r"^curl -v http://127\.0\.0\.1:8080/plaintext http://127\.0\.0\.1:8080/plaintext\b"),
     _check_curl_reuse),
    (re.compile(r"^curl -s http://127\.0\.0\.1:8080/\.tether/status\b"), _check_status),
    (re.compile(r"^curl -kv https://127\.0\.0\.1:8443/plaintext https://127\.0\.0\.1:8443/plaintext\b"),
     _check_curl_reuse),
    (re.compile(r"^tether explain --so-keepalive 30:1:3 +#"), _check_explain),
    (re.compile(r"^tether explain .*--json"), _check_explain_json),
    (re.compile(r"^tether bench "), _check_bench),
    (re.compile(r"^tether inspect .*--json"), _check_inspect_json),
]


def sh_blocks(text):
    """The lines of the ```sh blocks, continuation lines (trailing '\\') joined."""
    lines, block, pending = [], False, ""
    for raw in text.splitlines():
        if raw.strip().startswith("```"):
            block = raw.strip() == "```sh"
            continue
        if not block:
            continue
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def port_user(port):
    """None if 127.0.0.1:port can be bound, else a description of who has it.
    SO_REUSEADDR, as tether binds: connections of an earlier run in TIME_WAIT
    do not make the port busy, a listener does."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return None
    except OSError as e:
        who = ""
        if shutil.which("ss"):
            who = subprocess.run(["ss", "-Htlnp", f"sport = :{port}"], capture_output=True,
                                 text=True, timeout=10).stdout.strip()
        return f"{e.strerror}; {who or 'see: ss -tlnp'}"
    finally:
        s.close()


class ReadmeExamplesTest(unittest.TestCase):

    def setUp(self):
        binary = os.environ.get("TETHER_BIN")
        if not binary or not os.access(binary, os.X_OK):
            self.fail(f"TETHER_BIN={binary!r} is not an executable file")
        self.bindir = os.path.dirname(os.path.abspath(binary))
        if os.path.basename(binary) != "tether":
            self.fail(f"TETHER_BIN={binary!r}: the examples call `tether`")
        self.env = dict(os.environ, PATH=self.bindir + os.pathsep + os.environ.get("PATH", ""))
        self.background = []  # (line, Popen, output file)

    def tearDown(self):
        for _, proc, _ in self.background:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def start(self, line, ready):
        out = open(os.path.join(self.tmp, f"bg{len(self.background)}.out"), "w+")
        proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=REPO, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.background.append((line, proc, out))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            out.seek(0)
            text = out.read()
            if ready.search(text):
                return
            if proc.poll() is not None:
                self.fail(f"{line!r} exited {proc.returncode} at start:\n{text}")
            time.sleep(0.05)
        self.fail(f"{line!r}: no output matching {ready.pattern!r} in {START_TIMEOUT} s:\n{text}")

    def run_line(self, line):
        try:
            res = subprocess.run(["bash", "-c", line], cwd=REPO, env=self.env,
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"{line!r} did not finish in {COMMAND_TIMEOUT} s")
        self.assertEqual(res.returncode, 0, f"{line!r} exited {res.returncode}:\n"
                                            f"{res.stdout}\n{res.stderr}")
        for pattern, check in CHECKS:
            if pattern.search(line):
                with self.subTest(line=line):
                    check(self, res.stdout, res.stderr)
                return
        self.assertTrue(res.stdout.strip(), f"{line!r} printed nothing:\n{res.stderr}")

    def test_every_command_runs_as_printed(self):
        with open(README) as f:
            lines = sh_blocks(f.read())
        # The README starts with exactly the two commands.
        self.assertEqual([line.split()[0] for line in lines[:2]],
                         ["scripts/serve.sh", "scripts/test.sh"])
        unlisted = [line for line in lines if line not in NOT_RUN and not self.runnable(line)]
        self.assertEqual(unlisted, [], "README commands this test does not run: list them in "
                                       "NOT_RUN with the reason, or allow them in runnable()")
        stale = [line for line in NOT_RUN if line not in lines]
        self.assertEqual(stale, [], "NOT_RUN lists lines the README no longer has")

        resolved = subprocess.run(["bash", "-c", "command -v tether"], env=self.env,
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        self.assertEqual(resolved, os.path.join(self.bindir, "tether"))
        for port in sorted({int(p) for line in lines if line not in NOT_RUN
                            for p in re.findall(r"127\.0\.0\.1:(\d+)", line)}):
            who = port_user(port)
            if who:
                self.fail(f"port {port} is busy, the README examples need it: {who}")

        with tempfile.TemporaryDirectory(prefix="tether-readme-") as self.tmp:
            ran = 0
            for line in lines:
                if line in NOT_RUN:
                    continue
                ran += 1
                ready = next((r for p, r in BACKGROUND if p.search(line)), None)
                if ready:
                    self.start(line, ready)
                else:
                    self.run_line(line)
            # Stop the long-running ones by PID, last started first: each exits 0.
            for line, proc, out in reversed(self.background):
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.fail(f"{line!r} still running {STOP_TIMEOUT} s after SIGTERM")
                out.seek(0)
                self.assertEqual(proc.returncode, 0, f"{line!r} exited {proc.returncode} "
                                                     f"after SIGTERM:\n{out.read()}")
                out.close()
            self.assertGreaterEqual(ran, 10)

    @staticmethod
    def runnable(line):
        """Lines this test may run: the tool and the client the examples use, nothing that
        could change the machine."""
        return line.split()[0] in ("tether", "curl")


if __name__ == "__main__":
    unittest.main()
