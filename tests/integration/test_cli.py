"""The command line's own messages: unknown or missing commands, a bare
`tether`, unknown options. Each mistake is one line on stderr that names the
word and where to look, with exit code 2; help goes to stdout with exit 0."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

COMMANDS = "serve, bench, heartbeat, explain, inspect"


def tether(*args):
    return subprocess.run([harness.tether_bin(), *args], capture_output=True, text=True,
                          timeout=20)


class CliMessagesTest(unittest.TestCase):
    def assert_usage_error(self, res, *fragments):
        self.assertEqual(res.returncode, 2, res)
        lines = res.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        for f in fragments:
            self.assertIn(f, lines[0])
        self.assertEqual(res.stdout, "")

    def test_unknown_command_is_named_and_commands_listed(self):
        res = tether("frobnicate")
        self.assert_usage_error(res, "unknown command 'frobnicate'", COMMANDS, "tether --help")

    def test_unknown_nested_command(self):
        res = tether("heartbeat", "foo")
        self.assert_usage_error(res, "tether: heartbeat: unknown command 'foo'", "serve, connect")

    def test_missing_nested_command(self):
        res = tether("heartbeat")
        self.assert_usage_error(res, "tether: heartbeat: a command is needed: serve, connect")

    def test_bare_tether_prints_help(self):
        res = tether()
        self.assertEqual(res.returncode, 0, res)
        self.assertIn("Usage: tether [OPTIONS] SUBCOMMAND", res.stdout)
        for command in COMMANDS.split(", "):
            self.assertIn(command, res.stdout)
        self.assertEqual(res.stderr, "")

    def test_unknown_option_names_the_command(self):
        res = tether("serve", "--bogus")
        self.assert_usage_error(res, "tether: serve: ", "--bogus", "tether serve --help")

    def test_help_and_version_still_work(self):
        for args in (["--help"], ["serve", "--help"], ["heartbeat", "connect", "--help"],
                     ["--version"]):
            with self.subTest(args=args):
                res = tether(*args)
                self.assertEqual(res.returncode, 0, res)
                self.assertTrue(res.stdout.strip(), res)


COMMAND_PATHS = [["serve"], ["bench"], ["inspect"], ["explain"], ["heartbeat", "serve"],
                 ["heartbeat", "connect"]]
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def help_options(path):
    """{option name: (label, description, default or None)} from `tether PATH --help`.
    CLI11 prints `  --name LABEL` padded to column 30 and the description from there,
    or, when name and label need the width, the description alone on the next line."""
    lines = tether(*path, "--help").stdout.splitlines()
    opts = {}
    i = lines.index("Options:") + 1
    while i < len(lines) and lines[i].startswith("  -"):
        head = lines[i]
        if head[30:].strip() and head[29] == " ":
            names, desc = head[:30], head[30:].strip()
        else:
            i += 1
            names, desc = head, lines[i].strip()
        words = names.replace("(required)", "").split()
        default = None
        d = re.search(r" \(default: (.*)\)$", desc)
        if d:
            default, desc = d.group(1), desc[:d.start()]
        opts[words[0].split(",")[-1]] = (" ".join(words[1:]) or None, desc, default)
        i += 1
    return opts


class HelpStyleTest(unittest.TestCase):
    """One style in every --help, and the README's defaults are the help's."""

    def test_every_option_in_one_style(self):
        for path in COMMAND_PATHS:
            for name, (label, desc, default) in help_options(path).items():
                with self.subTest(command=" ".join(path), option=name):
                    self.assertRegex(desc, r"^[A-Z`]", "a description starts with a capital")
                    self.assertFalse(desc.endswith("."), "no final period")
                    self.assertNotRegex(desc, r"\[[^\]]*\d[^\]]*\]$|\(default ",
                                        "defaults only as '(default: X)'")
                    if label and label not in ("ADDR:PORT", "HOST:PORT", "on|off|IDLE:INTVL:CNT",
                                               "ADDR:PORT ..."):
                        self.assertNotIn(":", label, "no CLI11 validator notes in the label")

    def test_readme_serve_defaults_are_the_help_defaults(self):
        help_defaults = {n: d for n, (_, _, d) in help_options(["serve"]).items()}
        with open(README) as f:
            rows = [l for l in f if l.startswith("| `--")]
        checked = 0
        for row in rows:
            cells = [c.strip() for c in row.strip().strip("|").split(" | ")]
            names = re.findall(r"`(--[a-z-]+)", cells[0])
            values = cells[1].split(", ") if len(names) > 1 else [cells[1]]
            for name, value in zip(names, values):
                if name not in help_defaults or help_defaults[name] is None:
                    continue
                with self.subTest(option=name):
                    first = lambda v: re.split(r"[ ,]", v)[0]  # noqa: E731
                    self.assertEqual(first(value), first(help_defaults[name]),
                                     f"README says {value!r}, --help {help_defaults[name]!r}")
                    checked += 1
        self.assertGreaterEqual(checked, 20, "the README table was not found or parsed")


if __name__ == "__main__":
    unittest.main()
