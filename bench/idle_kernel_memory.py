#!/usr/bin/python3
"""Bytes per idle keep-alive connection counting the kernel's share: tether on epoll and
on io_uring side by side, in ONE interleaved run (the order rotates each rep).

Usage (root, cgroup-v1 memory controller at /sys/fs/cgroup/memory):
  bench/idle_kernel_memory.py [--idle N] [--reps R] [--tether BIN]

The RSS figures elsewhere (bench/io_backends.py, idle) see only user memory; epoll keeps
its per-socket item in the kernel and io_uring its requests, and both are charged to the
server's memory cgroup (slab with SLAB_ACCOUNT). So each server runs in a fresh memory
group, and the script reads, before and after N idle connections (one request each,
bench/keepalive/idle_conns.cpp, built here, on CPU 1; the server on CPU 0):
memory.usage_in_bytes (user + kernel), memory.kmem.usage_in_bytes (kernel) and the
server's VmRSS; each delta / N. Loopback only; servers and clients are ended by PID, the
groups removed.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from procstat import free_port, print_medians, rss_bytes, stop_server, wait_port  # noqa: E402

CGROUPS = "/sys/fs/cgroup/memory"


def read_int(path):
    with open(path) as f:
        return int(f.read())


def measure(backend, a, tmp):
    """One fresh server in its own memory group: bytes per idle connection."""
    group = os.path.join(CGROUPS, f"tether-kmem-{backend}-{os.getpid()}")
    os.mkdir(group)
    server = client = None
    try:
        port = free_port()
        # The child joins the group before it execs the server: everything it allocates,
        # in user space or in the kernel, is charged there.
        def join():
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        server = subprocess.Popen(
            ["taskset", "-c", "0", a.tether, "serve", "--io-backend", backend, "--workers", "1",
             "--listen", f"127.0.0.1:{port}", "--keepalive-timeout", "650s",
             "--keepalive-requests", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=join)
        wait_port(port, server)
        for _ in range(16):  # warm-up: the first requests allocate what every one reuses
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/plaintext", timeout=5) as r:
                r.read()
        time.sleep(1)
        before = (read_int(f"{group}/memory.usage_in_bytes"),
                  read_int(f"{group}/memory.kmem.usage_in_bytes"), rss_bytes(server.pid))
        client = subprocess.Popen(["taskset", "-c", "1", os.path.join(tmp, "idle_conns"),
                                   str(port), str(a.idle), "120"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready = client.stdout.readline()
        if not ready.startswith("READY"):
            raise RuntimeError(f"idle client: {ready!r}")
        time.sleep(2)
        after = (read_int(f"{group}/memory.usage_in_bytes"),
                 read_int(f"{group}/memory.kmem.usage_in_bytes"), rss_bytes(server.pid))
        total, kernel, rss = ((y - x) / a.idle for x, y in zip(before, after))
        return {"total_bytes": total, "kernel_bytes": kernel, "rss_bytes": rss}
    finally:
        if client is not None:
            client.terminate()
            client.wait(timeout=30)
        stop_server(server, nginx=False)
        for _ in range(50):  # the group empties once the kernel has released the sockets
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--idle", type=int, default=10000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--tether", default=os.path.join(ROOT, "build/release/apps/tether/tether"))
    a = p.parse_args()
    if not (os.access(CGROUPS, os.W_OK) and os.path.exists(f"{CGROUPS}/memory.kmem.usage_in_bytes")):
        print(f"idle_kernel_memory.py: needs root and the cgroup-v1 memory controller at {CGROUPS}",
              file=sys.stderr)
        sys.exit(2)
    kinds = ["io_uring", "epoll"]
    results = {}
    print(f"# {' '.join(sys.argv)}  (reps {a.reps}, {a.idle} idle connections)")
    with tempfile.TemporaryDirectory(prefix="tether-kmem.") as tmp:
        subprocess.run(["g++", "-O2", "-std=c++17", "-o", os.path.join(tmp, "idle_conns"),
                        os.path.join(HERE, "keepalive", "idle_conns.cpp")], check=True)
        for rep in range(a.reps):
            for kind in kinds[rep % 2:] + kinds[:rep % 2]:
                r = measure(kind, a, tmp)
                results.setdefault(("idle", kind), []).append(r)
                print(f"rep {rep + 1} {kind:8} "
                      + "  ".join(f"{k} {v:.0f}" for k, v in r.items()), flush=True)
    print_medians(results, ["idle"], kinds)


if __name__ == "__main__":
    main()
