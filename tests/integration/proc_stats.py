"""What a process costs, read from /proc: CPU time, resident memory, open descriptors.

Used by the hostile-load tests and by bench/soak.sh to tell a bounded server from one
that leaks or spins.  Linux only; `pid` is a process this machine runs.
"""

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")   # /proc/PID/stat counts CPU time in these ticks


def measurable_rss():
    """Makes the servers started from now on keep no freed memory back from reuse.

    Under AddressSanitizer freed blocks wait in a quarantine (256 MiB by default) before
    reuse, so RSS grows with any allocation churn and says nothing about leaks or
    unbounded buffers; with the quarantine off it does.  No effect on other builds."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in opts:
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=0"


def cpu_seconds(pid):
    """User + system CPU time of `pid` so far, in seconds (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name (field 2) may hold spaces: the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLK_TCK


def rss_kib(pid):
    """Resident set size of `pid` in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def fd_count(pid):
    """Open file descriptors of `pid`."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_share(pid, window):
    """Fraction of one core `pid` used over the next `window` seconds (0.0 .. n_threads).

    The resolution is one clock tick (1/CLK_TCK s, 10 ms at 100 Hz): a window of 2 s
    resolves 0.5 %."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(window)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def wait_quiet(pid, share=0.05, window=0.5, timeout=30.0):
    """Waits until `pid` uses under `share` of a core over `window` seconds (a loaded
    machine and an ASan build can take a while to work through a backlog); fails after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while cpu_share(pid, window) >= share:
        if time.monotonic() >= deadline:
            raise AssertionError(f"pid {pid} still busy after {timeout} s")


def snapshot(pid):
    """{'cpu_s', 'rss_kib', 'fds'} of `pid` now."""
    return {"cpu_s": cpu_seconds(pid), "rss_kib": rss_kib(pid), "fds": fd_count(pid)}
