"""--root DIR: files with Content-Type by extension, index.html, 301 for a
directory without its slash, 403 for any escape from DIR (.., encoded .., a
symlink pointing outside), 404, 405, Last-Modified / If-Modified-Since -> 304,
and a file larger than the socket buffers sent intact (sendfile) on a kept-alive
connection."""

import hashlib
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, build_request  # noqa: E402

BIG_SIZE = 3 * 1024 * 1024 + 17  # odd size: several sendfile rounds and a partial tail


def setUpModule():
    harness.tether_bin()


class StaticFilesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="tether-root-")
        cls.outside = tempfile.mkdtemp(prefix="tether-outside-")
        with open(os.path.join(cls.root, "index.html"), "w") as f:
            f.write("<h1>home</h1>\n")
        os.mkdir(os.path.join(cls.root, "sub"))
        with open(os.path.join(cls.root, "sub", "index.html"), "w") as f:
            f.write("sub\n")
        with open(os.path.join(cls.root, "style.css"), "w") as f:
            f.write("body{}\n")
        cls.big = os.urandom(BIG_SIZE)
        with open(os.path.join(cls.root, "big.bin"), "wb") as f:
            f.write(cls.big)
        with open(os.path.join(cls.outside, "secret.txt"), "w") as f:
            f.write("secret\n")
        os.symlink(os.path.join(cls.outside, "secret.txt"), os.path.join(cls.root, "escape"))
        cls.srv = Server("--root", cls.root)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        try:
            code = cls.srv.stop()
            if code != 0:
                raise AssertionError(f"tether exited with {code}: {cls.srv.stderr_text()}")
        finally:
            shutil.rmtree(cls.root, ignore_errors=True)
            shutil.rmtree(cls.outside, ignore_errors=True)

    def setUp(self):
        self.c = self.srv.connect()
        self.addCleanup(self.c.close)

    def test_index_for_root_and_subdirectory(self):
        resp = self.c.request("GET", "/")
        self.assertEqual((resp.status, resp.body), (200, b"<h1>home</h1>\n"))
        self.assertTrue(resp.header("Content-Type").startswith("text/html"))
        resp = self.c.request("GET", "/sub/")
        self.assertEqual((resp.status, resp.body), (200, b"sub\n"))

    def test_directory_without_slash_redirects(self):
        resp = self.c.request("GET", "/sub")
        self.assertEqual(resp.status, 301)
        self.assertEqual(resp.header("Location"), "/sub/")

    def test_content_type_by_extension(self):
        resp = self.c.request("GET", "/style.css")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("Content-Type"), "text/css")

    def test_no_escape_from_root(self):
        for target in ("/../" + os.path.basename(self.outside) + "/secret.txt",
                       "/%2e%2e/" + os.path.basename(self.outside) + "/secret.txt",
                       "/escape", "/sub/../../etc/passwd"):
            with self.srv.connect() as c:
                resp = c.request("GET", target)
                self.assertEqual(resp.status, 403, target)
                self.assertNotIn(b"secret", resp.body)

    def test_missing_file_and_bad_method(self):
        self.assertEqual(self.c.request("GET", "/nope.txt").status, 404)
        resp = self.c.request("POST", "/index.html", body=b"x")
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.header("Allow"), "GET, HEAD")

    def test_if_modified_since_gives_304(self):
        first = self.c.request("GET", "/style.css")
        last_modified = first.header("Last-Modified")
        self.assertTrue(last_modified)
        resp = self.c.request("GET", "/style.css", headers=[("If-Modified-Since", last_modified)])
        self.assertEqual(resp.status, 304)
        self.assertEqual(resp.body, b"")

    def test_head_has_length_and_no_body(self):
        resp = self.c.request("HEAD", "/big.bin")
        self.assertEqual(resp.status, 200)
        self.assertEqual(int(resp.header("Content-Length")), BIG_SIZE)
        self.assertEqual(resp.body, b"")

    def test_large_file_intact_and_connection_reused(self):
        for _ in range(2):  # the second request proves the framing held
            self.c.send(build_request("GET", "/big.bin"))
            resp = self.c.read_response(timeout=30)
            self.assertEqual(resp.status, 200)
            self.assertEqual(hashlib.sha256(resp.body).digest(),
                             hashlib.sha256(self.big).digest())
            self.assertFalse(resp.closes)
        status = self.srv.status()
        self.assertGreaterEqual(status["totals"]["reused_requests"], 1)

    def test_status_endpoint_in_root_mode(self):
        resp = self.c.request("GET", "/.tether/status")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("Content-Type"), "application/json")


if __name__ == "__main__":
    unittest.main()
