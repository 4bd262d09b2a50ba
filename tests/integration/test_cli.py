"""The command line's own messages: unknown or missing commands, a bare
`tether`, unknown options. Each mistake is one line on stderr that names the
word and where to look, with exit code 2; help goes to stdout with exit 0."""

import os
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
        self.assert_usage_error(res, "tether heartbeat: unknown command 'foo'", "serve, connect")

    def test_missing_nested_command(self):
        res = tether("heartbeat")
        self.assert_usage_error(res, "tether heartbeat: a command is needed: serve, connect")

    def test_bare_tether_prints_help(self):
        res = tether()
        self.assertEqual(res.returncode, 0, res)
        self.assertIn("Usage: tether [OPTIONS] SUBCOMMAND", res.stdout)
        for command in COMMANDS.split(", "):
            self.assertIn(command, res.stdout)
        self.assertEqual(res.stderr, "")

    def test_unknown_option_names_the_command(self):
        res = tether("serve", "--bogus")
        self.assert_usage_error(res, "tether serve:", "--bogus", "tether serve --help")

    def test_help_and_version_still_work(self):
        for args in (["--help"], ["serve", "--help"], ["heartbeat", "connect", "--help"],
                     ["--version"]):
            with self.subTest(args=args):
                res = tether(*args)
                self.assertEqual(res.returncode, 0, res)
                self.assertTrue(res.stdout.strip(), res)


if __name__ == "__main__":
    unittest.main()
