"""The man page and the bash completion against --help, with the real binary.

`tether --generate-man` and `tether --generate-bash-completion` walk the same
CLI11 tree that prints --help (apps/tether/cli_docs.h). Here every command's
--help is read, and:
  - the man page renders without groff warnings, names the version that
    `tether --version` prints, has a section per command, and that section
    lists every option --help lists;
  - the completion script is valid bash, offers each command's subcommands,
    and for `tether CMD... -` offers exactly the options its --help lists.

Environment (set by ctest): TETHER_BIN.
"""

import os
import re
import subprocess
import tempfile
import unittest

TIMEOUT = 30

OPTION_LINE = re.compile(r"^  (-\S+)")        # "  -c,--connections INT=64   ..."
SUBCOMMAND_LINE = re.compile(r"^  ([a-z][\w-]*)(\s|$)")


def run(args, **kwargs):
    res = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    if res.returncode != 0:
        raise AssertionError(f"{args} exited {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res.stdout


def help_of(binary, path):
    """(options, subcommands) that `tether PATH... --help` lists."""
    text = run([binary, *path, "--help"])
    options, subs, section = [], [], None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line.rstrip(":")
            continue
        if section == "Options" and (m := OPTION_LINE.match(line)):
            names = m.group(1)
            options += [n for n in names.split(",") if n.startswith("-")]
        elif section == "Subcommands" and (m := SUBCOMMAND_LINE.match(line)):
            subs.append(m.group(1))
    return options, subs


def command_tree(binary, path=()):
    """{path tuple: (options, subcommands)} for the program and every subcommand."""
    options, subs = help_of(binary, list(path))
    tree = {tuple(path): (options, subs)}
    for sub in subs:
        tree.update(command_tree(binary, (*path, sub)))
    return tree


class CliDocsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bin = os.environ["TETHER_BIN"]
        cls.tree = command_tree(cls.bin)
        cls.version = run([cls.bin, "--version"]).strip()

    def test_tree_is_what_we_expect(self):
        # A sanity check on the --help parsing itself: the known commands are found.
        self.assertIn(("serve",), self.tree)
        self.assertIn(("heartbeat", "connect"), self.tree)
        self.assertIn("--keepalive-timeout", self.tree[("serve",)][0])
        self.assertIn("--version", self.tree[()][0])

    def test_man_page_lists_every_option_of_every_command(self):
        roff = run([self.bin, "--generate-man"])
        self.assertIn(f'.TH TETHER 1 "" "{self.version}"', roff)
        with tempfile.NamedTemporaryFile("w", suffix=".1") as page:
            page.write(roff)
            page.flush()
            res = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page.name],
                                 capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual((res.returncode, res.stderr), (0, ""))
            text = run(["man", "--warnings=w", "-P", "cat", "-l", page.name],
                       env=dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8"))
        # Sections: "OPTIONS" for the program, "TETHER SERVE" etc. for the commands.
        sections, name = {}, None
        for line in text.splitlines():
            if line and not line.startswith(" "):
                name = line.strip()
                sections[name] = ""
            elif name:
                sections[name] += line + "\n"
        for path, (options, _) in self.tree.items():
            title = " ".join(("TETHER", *path)).upper() if path else "OPTIONS"
            with self.subTest(section=title):
                self.assertIn(title, sections)
                body = sections[title]
                for opt in options:
                    self.assertRegex(body, rf"(^|[\s,]){re.escape(opt)}([\s,=]|$)",
                                     f"{opt} of `{' '.join(path)}` is not in the man page")

    def test_completion_offers_every_option_and_subcommand(self):
        script = run([self.bin, "--generate-bash-completion"])
        with tempfile.NamedTemporaryFile("w", suffix=".bash") as f:
            f.write(script)
            f.flush()
            run(["bash", "-n", f.name])
            for path, (options, subs) in self.tree.items():
                with self.subTest(command=" ".join(path)):
                    offered = self.complete(f.name, [*path, "-"])
                    self.assertEqual(sorted(offered), sorted(set(options)))
                    if subs:
                        self.assertEqual(sorted(self.complete(f.name, [*path, ""])), sorted(subs))
            # A value-taking option completes file names, not options.
            offered = self.complete(f.name, ["serve", "--root", "READ"], cwd=os.path.dirname(
                os.path.abspath(__file__)) + "/../..")
            self.assertEqual(offered, ["README.md"])

    def complete(self, script, words, cwd=None):
        """COMPREPLY for `tether WORDS...` with the cursor on the last word."""
        quoted = " ".join(f"'{w}'" for w in ["tether", *words])
        out = run(["bash", "-c", f"source {script}; COMP_WORDS=({quoted}); "
                   f"COMP_CWORD={len(words)}; _tether; printf '%s\\n' \"${{COMPREPLY[@]}}\""],
                  cwd=cwd)
        return [w for w in out.splitlines() if w]


if __name__ == "__main__":
    unittest.main()
