"""docs/json.md against the real output: `tether bench --json` and `tether inspect --json
--against nginx` run against `tether serve`; every field they print must be in the page's
tables with a matching type, and every field the page says is present must be there.
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "json.md")


def documented(section):
    """{field: (type, present)} from the table under the `## ...section...` heading."""
    with open(DOC) as f:
        text = f.read()
    start = text.index(f"## `{section}`")
    end = text.find("\n## ", start + 1)
    fields = {}
    for line in text[start:end if end >= 0 else None].splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        name = cells[0].strip("`")
        fields[name] = (cells[1].replace("\\|", "|"), cells[3])
    assert fields, f"no table under {section}"
    return fields


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "fraction"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def flatten(doc, prefix="", out=None):
    """{path: [values]} of every field, `a.b` for objects and `a[].b` inside arrays."""
    out = {} if out is None else out
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        out.setdefault(path, []).append(value)
        if isinstance(value, dict):
            flatten(value, path, out)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    flatten(item, path + "[]", out)
    return out


def type_ok(doc_type, value):
    """Whether `value` fits the documented type ("number|null", "array of integer", ...)."""
    if doc_type.startswith("array of "):
        return isinstance(value, list) and all(type_ok(doc_type[9:], v) for v in value)
    allowed = set(doc_type.split("|"))
    k = kind(value)
    if "number" in allowed and k in ("integer", "fraction"):
        return True
    return k in allowed


class JsonDocsTest(unittest.TestCase):
    def check(self, section, doc, present_when):
        fields = documented(section)
        seen = flatten(doc)
        undocumented = sorted(set(seen) - set(fields))
        self.assertEqual(undocumented, [], f"{section}: printed but not in docs/json.md")
        for name, (doc_type, present) in fields.items():
            with self.subTest(section=section, field=name):
                if name not in seen:
                    self.assertFalse(present_when(present),
                                     f"documented as present ({present}) but not printed")
                    continue
                for value in seen[name]:
                    self.assertTrue(type_ok(doc_type, value),
                                    f"{value!r} is not {doc_type}")

    def test_bench_json_is_documented(self):
        with Server() as srv:
            run = subprocess.run([harness.tether_bin(), "bench", srv.url("/plaintext"), "-n", "50",
                                  "-c", "2", "--json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.check("tether bench --json", json.loads(run.stdout), lambda p: p == "always")

    def test_https_fields_are_documented(self):
        with Server("--tls-self-signed", "--keepalive-timeout", "1s") as srv:
            url = f"https://127.0.0.1:{srv.port}/plaintext"
            bench = subprocess.run([harness.tether_bin(), "bench", "-k", url, "-n", "20", "-c",
                                    "2", "--no-keepalive", "--json"], capture_output=True,
                                   text=True, timeout=60)
            inspect = subprocess.run([harness.tether_bin(), "inspect", "-k", "--json",
                                      "--max-requests", "3", url], capture_output=True,
                                     text=True, timeout=60)
        self.assertEqual(bench.returncode, 0, bench.stderr)
        self.assertEqual(inspect.returncode, 0, inspect.stderr)
        with_https = ("always", "with https://")
        self.check("tether bench --json", json.loads(bench.stdout), lambda p: p in with_https)
        self.check("tether inspect --json", json.loads(inspect.stdout),
                   lambda p: p in with_https)

    def test_inspect_json_is_documented(self):
        # A 1 s idle timeout behind nginx's 60 s upstream reuse: verdict race (exit 1), so
        # the race-only fields are printed too.
        with Server("--keepalive-timeout", "1s") as srv:
            run = subprocess.run(
                [harness.tether_bin(), "inspect", "--json", "--max-idle-wait", "3s",
                 "--max-requests", "3", "--timeout", "3s", srv.url("/plaintext"),
                 "--against", "nginx"], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 1, run.stderr)
        doc = json.loads(run.stdout)
        self.assertEqual(doc["against"]["findings"][0]["verdict"], "race")
        self.check("tether inspect --json", doc,
                   lambda p: p in ("always", "with `--against`", "verdict race or tight"))

    def test_inspect_ws_json_is_documented(self):
        with Server("--ws-ping-interval", "500ms", "--ws-ping-timeout", "500ms") as srv:
            run = subprocess.run(
                [harness.tether_bin(), "inspect", "--json", "--max-idle-wait", "2s",
                 "--ping-interval", "1s", f"ws://127.0.0.1:{srv.port}/ws/echo"],
                capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        doc = json.loads(run.stdout)
        self.assertEqual(doc["probes"]["mute"]["end"], "close_frame", doc)
        self.check("tether inspect ws:// --json", doc, lambda p: p == "always")


if __name__ == "__main__":
    unittest.main()
