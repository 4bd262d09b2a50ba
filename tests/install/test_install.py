"""install.find_package: `cmake --install` into a temporary prefix, then
examples/hello_server.cpp built against that prefix as an outside project, twice:
with CMake (find_package(tether) + tether::http) and by hand with g++ and
`pkg-config --cflags --libs tether`. Each program is started on a free port,
must answer two requests on one connection, and is stopped by PID. The prefix is
removed afterwards, also on failure.

Environment (set by ctest): TETHER_BUILD_DIR, TETHER_CMAKE, TETHER_CXX,
TETHER_INSTALL_LIBDIR.
"""

import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "hello_server.cpp")
STEP_TIMEOUT = 120  # seconds for one install, configure or build step


def run(cmd, **kwargs):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=STEP_TIMEOUT, **kwargs)
    if out.returncode != 0:
        raise AssertionError(f"{cmd} exited {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out.stdout


class InstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cmake = os.environ["TETHER_CMAKE"]
        cls.cxx = os.environ["TETHER_CXX"]
        cls.tmp = tempfile.mkdtemp(prefix="tether-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        try:
            run([cls.cmake, "--install", os.environ["TETHER_BUILD_DIR"], "--prefix", cls.prefix])
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve_and_check(self, program):
        """Starts `program 127.0.0.1:0`, makes two requests on one connection,
        stops it by PID with SIGTERM; it must exit 0."""
        proc = subprocess.Popen([program, "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            line = proc.stdout.readline()  # "listening on 127.0.0.1:PORT"
            m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line)
            if m is None:
                proc.kill()
                self.fail(f"first line {line!r}; stderr: {proc.communicate(timeout=10)[1]}")
            conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=10)
            try:
                for n in (1, 2):
                    conn.request("GET", "/hello")
                    resp = conn.getresponse()
                    body = resp.read().decode()
                    self.assertEqual(resp.status, 200)
                    self.assertEqual(body, f"hello, request {n} on connection 1\n")
            finally:
                conn.close()
            proc.send_signal(signal.SIGTERM)  # by PID: graceful stop
            _, err = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 0, err)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def test_find_package(self):
        build = os.path.join(self.tmp, "build")
        run([self.cmake, "-S", HERE, "-B", build, f"-DCMAKE_PREFIX_PATH={self.prefix}",
             f"-DCMAKE_CXX_COMPILER={self.cxx}"])
        run([self.cmake, "--build", build])
        self.serve_and_check(os.path.join(build, "hello"))

    def test_pkg_config(self):
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(
            self.prefix, os.environ["TETHER_INSTALL_LIBDIR"], "pkgconfig"))
        flags = run(["pkg-config", "--cflags", "--libs", "tether"], env=env).split()
        program = os.path.join(self.tmp, "hello_pkg_config")
        run([self.cxx, "-std=c++20", EXAMPLE, *flags, "-o", program])
        self.serve_and_check(program)


if __name__ == "__main__":
    unittest.main()
