"""package.deb: the Debian package and the `cli` install component.

1. `cpack -G DEB` builds tether_<version>_<arch>.deb from the build tree under
   test (in CI the ASan tree: the packaging rules are the same for every build
   type, and a release tree only for this would cost minutes).
2. Its control fields and file list: the binary, the man page, the bash
   completion, the static libraries, the headers, the CMake package, tether.pc.
3. `dpkg -i` installs it into a scratch root (`dpkg --root`): dpkg checks its
   Depends against a copy of this system's package database, unpacks it and
   registers its files, exactly as into /, but the machine is not changed, no
   dpkg lock is taken, and parallel runs cannot collide. From that root,
   `tether --version` must print the package's version, `man -w` must find the
   page in the manpath layout (`man -M <root>/usr/share/man`), the page must
   render without groff warnings, and bash must load the completion. Then
   `dpkg -r` must remove every file again.
4. `cmake --install --component cli` (what scripts/serve.sh runs into
   /usr/local) installs exactly the binary, the man page and the completion.

The scratch directory is removed afterwards, also on failure.
Environment (set by ctest): TETHER_BUILD_DIR, TETHER_BIN, TETHER_CMAKE, TETHER_CPACK.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

STEP_TIMEOUT = 120  # seconds for one step

CLI_FILES = [
    "bin/tether",
    "share/man/man1/tether.1.gz",
    "share/bash-completion/completions/tether",
]


def run(cmd, **kwargs):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=STEP_TIMEOUT, **kwargs)
    if out.returncode != 0:
        raise AssertionError(f"{cmd} exited {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out


def installed_files(root):
    """Regular files and symlinks under root, relative to it."""
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(found)


class PackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.build = os.environ["TETHER_BUILD_DIR"]
        cls.version = run([os.environ["TETHER_BIN"], "--version"]).stdout.split()[-1]
        cls.tmp = tempfile.mkdtemp(prefix="tether-package-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)  # also if this fails
        run([os.environ["TETHER_CPACK"], "-G", "DEB", "-B", os.path.join(cls.tmp, "out"),
             "--config", os.path.join(cls.build, "CPackConfig.cmake")])
        debs = glob.glob(os.path.join(cls.tmp, "out", "*.deb"))
        if len(debs) != 1:
            raise AssertionError(f"cpack made {debs}, expected one .deb")
        cls.deb = debs[0]

    def field(self, name):
        return run(["dpkg-deb", "--field", self.deb, name]).stdout.strip()

    def test_control_fields(self):
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(os.path.basename(self.deb), f"tether_{self.version}_{arch}.deb")
        self.assertEqual(self.field("Package"), "tether")
        self.assertEqual(self.field("Version"), self.version)
        self.assertEqual(self.field("Architecture"), arch)
        depends = [d.strip().split()[0] for d in self.field("Depends").split(",")]
        # From dpkg-shlibdeps (the binary's libraries), and libfmt-dev for the library's users.
        for dep in ("libc6", "libstdc++6", "libfmt-dev"):
            self.assertIn(dep, depends)

    def test_contents(self):
        listing = run(["dpkg-deb", "--contents", self.deb]).stdout
        paths = {line.split()[5].lstrip(".") for line in listing.splitlines()}
        owners = {line.split()[1] for line in listing.splitlines()}
        self.assertEqual(owners, {"root/root"})
        self.assertTrue(all(p.startswith("/usr/") or p == "/" for p in paths), paths)
        for f in CLI_FILES + ["include/tether/http/server.h", "lib/libtether_core.a",
                              "lib/libtether_http.a", "lib/libtether_llhttp.a",
                              "lib/cmake/tether/tetherConfig.cmake",
                              "lib/cmake/tether/tetherTargets.cmake",
                              "lib/pkgconfig/tether.pc"]:
            self.assertIn("/usr/" + f, paths)

    def test_dpkg_install_run_and_remove(self):
        root = os.path.join(self.tmp, "root")
        admin = os.path.join(root, "var", "lib", "dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        # Depends are checked against what this system has installed.
        shutil.copy("/var/lib/dpkg/status", os.path.join(admin, "status"))
        open(os.path.join(admin, "available"), "w").close()
        try:
            run(["dpkg", "--root", root, "--force-script-chrootless", "--install", self.deb])
            tether = os.path.join(root, "usr", "bin", "tether")
            self.assertEqual(run([tether, "--version"]).stdout.strip(), f"tether {self.version}")

            manpath = os.path.join(root, "usr", "share", "man")
            page = run(["man", "-M", manpath, "-w", "tether"]).stdout.strip()
            self.assertEqual(page, os.path.join(manpath, "man1", "tether.1.gz"))
            rendered = run(["man", "-M", manpath, "--warnings=w", "-P", "cat", "tether"],
                           env=dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8"))
            self.assertEqual(rendered.stderr, "")
            self.assertIn("TETHER SERVE", rendered.stdout)

            completion = os.path.join(root, "usr", "share", "bash-completion", "completions",
                                      "tether")
            out = run(["bash", "-c", f"source {completion} && complete -p tether"]).stdout
            self.assertEqual(out.strip(), "complete -F _tether tether")

            status = run(["dpkg", "--root", root, "--status", "tether"]).stdout
            self.assertIn("Status: install ok installed", status)
        finally:
            run(["dpkg", "--root", root, "--force-script-chrootless", "--remove", "tether"])
        self.assertEqual(installed_files(os.path.join(root, "usr")), [])

    def test_cli_component_is_binary_man_page_and_completion(self):
        prefix = os.path.join(self.tmp, "usr-local")
        run([os.environ["TETHER_CMAKE"], "--install", self.build, "--component", "cli",
             "--prefix", prefix])
        self.assertEqual(installed_files(prefix), sorted(CLI_FILES))


if __name__ == "__main__":
    unittest.main()
