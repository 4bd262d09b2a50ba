"""Helpers shared by the bench scripts: a server's CPU time and resident memory
from /proc, a free loopback port and the wait for a listener, and the medians
table of an interleaved run."""
import os
import re
import signal
import socket
import statistics
import subprocess
import time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """utime + stime of the processes `pids` (one pid or a list), in seconds."""
    total = 0
    for pid in [pids] if isinstance(pids, int) else pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def run_time(pid):
    """(seconds on a CPU, times scheduled in) of every thread of `pid`, from
    /proc/PID/task/*/schedstat: nanoseconds, where utime + stime count whole
    clock ticks (10 ms) and make a nearly idle server read 0.0 or 0.1 %."""
    seconds = runs = 0
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/schedstat") as f:
                ns, _, slices = f.read().split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        seconds += int(ns) / 1e9
        runs += int(slices)
    return seconds, runs


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=15):
    """Returns once something accepts on 127.0.0.1:`port`; raises if `proc`
    (the server started for it) exits first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def nginx_command(tmp, port, server_lines=""):
    """Writes a one-worker nginx config under `tmp` (keep-alive 650 s, unlimited requests,
    no access log, `return 200 "Hello, World!"` on 127.0.0.1:`port`, `server_lines` added
    to the server block, e.g. TLS) and returns the command that runs it in the foreground."""
    d = os.path.join(tmp, f"nginx-{port}")
    os.makedirs(d)
    temps = "".join(f"    {p}_temp_path {d}/{p};\n"
                    for p in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    listen = f"127.0.0.1:{port}" + (" ssl" if "ssl_certificate" in server_lines else "")
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
                "worker_rlimit_nofile 20000;\n"
                "events { worker_connections 20480; }\nhttp {\n    access_log off;\n"
                "    keepalive_timeout 650s;\n    keepalive_requests 1000000000;\n" + temps +
                f"    server {{\n        listen {listen};\n" + server_lines +
                "        default_type text/plain;\n"
                "        location / { return 200 \"Hello, World!\"; }\n    }\n}\n")
    return ["nginx", "-p", d + "/", "-e", os.path.join(d, "error.log"),
            "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"]


def serving_pids(proc, nginx):
    """The processes that serve: nginx's worker (not its master), else `proc` itself."""
    if not nginx:
        return [proc.pid]
    out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def stop_server(proc, nginx):
    """Ends a server this script started, by PID: SIGQUIT (nginx's graceful stop) or
    SIGTERM, then SIGKILL after 15 s."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGQUIT if nginx else signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def print_medians(results, tests, kinds):
    """`results[(test, kind)]` is a list of dicts of figures, one per rep: prints
    each figure's median per kind and the ratio kinds[0] / kinds[1] (with one kind,
    its medians alone)."""
    if len(kinds) == 1:
        print(f"\nmedians ({kinds[0]})")
        for test in tests:
            for key in results[(test, kinds[0])][0]:
                x = statistics.median(r[key] for r in results[(test, kinds[0])])
                print(f"  {test:9} {key:22} {x:14.3f}")
        return
    a, b = kinds
    print(f"\nmedians ({a} / {b} = ratio)")
    for test in tests:
        for key in results[(test, a)][0]:
            if key not in results[(test, b)][0]:
                continue
            x = statistics.median(r[key] for r in results[(test, a)])
            y = statistics.median(r[key] for r in results[(test, b)])
            ratio = x / y if y else float("nan")
            print(f"  {test:9} {key:22} {a} {x:14.3f}  {b} {y:14.3f}  ratio {ratio:.3f}")
