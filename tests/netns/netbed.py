"""Network-namespace test bed for Tether's fault-injection suite.

One Bed is three namespaces joined by veth pairs, all inside 198.18.0.0/15:

    cli 198.18.1.2/24 --vc|vrc-- 198.18.1.1  rtr  198.19.2.1 --vrs|vs-- 198.19.2.2/24 srv

The router forwards (ip_forward=1 in its namespace only) and owns one nft
table with a unique name; every fault is a rule set in that table:

    cut()            drop everything forwarded, both directions (cable pulled)
    heal()           remove the fault rules
    firewall(...)    stateful firewall: conntrack with a short established
                     timeout, nf_conntrack_tcp_loose=0, invalid packets
                     dropped (or answered with a TCP reset), forward only
                     established flows and new SYNs

Names are `tnb-<pid>-<random>-{c,r,s}`: unique per run, and a later run can
tell whether the owner of a leftover is still alive (remove_stale()).  The
veth interfaces are created inside the namespaces (never in the root one), so
deleting the three namespaces removes everything a Bed made, nft table
included.  Every Bed is registered and deleted on exit, on failure, on
SIGTERM/SIGINT/SIGHUP (see install_cleanup()).

Sockets for Python peers are created inside a namespace by a short-lived
thread that setns()es first: a socket stays in the namespace it was created
in, whatever thread uses it later.
"""

import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

PREFIX = "tnb"
NAME_RE = re.compile(rf"^{PREFIX}-(\d+)-[0-9a-f]+-[crs]$")
CLI_ADDR, RTR_CLI_ADDR = "198.18.1.2", "198.18.1.1"
SRV_ADDR, RTR_SRV_ADDR = "198.19.2.2", "198.19.2.1"
CMD_TIMEOUT = 10.0  # every ip/nft/sysctl call is bounded
SKIP_CODE = 77      # ctest SKIP_RETURN_CODE of every netns test

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_beds = set()
_beds_lock = threading.Lock()


class BedError(RuntimeError):
    pass


def sh(argv, timeout=CMD_TIMEOUT, check=True, input=None):
    """Run a short command (ip, nft, sysctl, curl) with its own timeout."""
    r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise BedError(f"{' '.join(argv)} -> {r.returncode}: {r.stderr.strip()}")
    return r


def _pid_alive(pid):
    return os.path.exists(f"/proc/{pid}")


def remove_stale():
    """Delete namespaces left by crashed earlier runs: only those whose owning
    pid is dead (a concurrent run's beds are left alone)."""
    out = sh(["ip", "netns", "list"], check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = NAME_RE.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            sh(["ip", "netns", "del", name], check=False)


def unavailable_reason():
    """None when namespaces can be used here, else why not (the suite then
    exits with SKIP_CODE so that ctest reports it as skipped)."""
    if os.geteuid() != 0:
        return "not root"
    for tool in ("ip", "ss", "nft", "setpriv", "sysctl", "curl"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (scripts/setup.sh installs it)"
    probe = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}-c"
    try:
        r = sh(["ip", "netns", "add", probe], check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"ip netns add failed: {e}"
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    try:
        r = sh(["ip", "netns", "exec", probe, "nft", "list", "ruleset"], check=False)
        if r.returncode != 0:
            return f"nft does not work in a namespace: {r.stderr.strip()}"
    finally:
        sh(["ip", "netns", "del", probe], check=False)
    return None


def cleanup_all():
    """Delete every bed this process still owns (atexit / signal path)."""
    with _beds_lock:
        beds = list(_beds)
    for bed in beds:
        bed.close()


def install_cleanup():
    """Beds are removed on normal exit, on failure and on SIGTERM/SIGINT/SIGHUP.
    Call from the main thread."""
    import atexit
    atexit.register(cleanup_all)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds the main thread's finally blocks

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)


class Bed:
    """Three namespaces; use as a context manager (removal is guaranteed)."""

    def __init__(self):
        base = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
        self.ns = {"cli": base + "-c", "rtr": base + "-r", "srv": base + "-s"}
        self.table = "tether_" + secrets.token_hex(4)
        self._created = []
        self._sockets = []   # Python peers' sockets, closed with the bed
        self._procs = []     # processes started in the bed, killed with it
        self._closed = False
        self._lock = threading.Lock()  # close() (signal path) vs a setup in progress

    def __enter__(self):
        with _beds_lock:
            _beds.add(self)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Idempotent, and complete even when called again while another
        thread's close is still running (the signal path at exit does that)."""
        with self._lock:
            self._closed = True
        for proc in list(self._procs):
            proc.kill()
        for sock in self._sockets:
            sock.close()
        for name in reversed(self._created):
            sh(["ip", "netns", "del", name], check=False)
        with _beds_lock:
            _beds.discard(self)

    # --- building -----------------------------------------------------------

    def _setup(self):
        for name in self.ns.values():
            with self._lock:  # never create a namespace that close() would miss
                if self._closed:
                    raise BedError("bed closed during setup")
                sh(["ip", "netns", "add", name])
                self._created.append(name)
        c, r, s = self.ns["cli"], self.ns["rtr"], self.ns["srv"]
        sh(["ip", "-n", r, "link", "add", "vrc", "type", "veth", "peer", "name", "vc", "netns", c])
        sh(["ip", "-n", r, "link", "add", "vrs", "type", "veth", "peer", "name", "vs", "netns", s])
        for ns, dev, addr in ((c, "vc", CLI_ADDR), (r, "vrc", RTR_CLI_ADDR),
                              (r, "vrs", RTR_SRV_ADDR), (s, "vs", SRV_ADDR)):
            sh(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev])
            sh(["ip", "-n", ns, "link", "set", dev, "up"])
        for ns in (c, r, s):
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        sh(["ip", "-n", c, "route", "add", "default", "via", RTR_CLI_ADDR])
        sh(["ip", "-n", s, "route", "add", "default", "via", RTR_SRV_ADDR])
        self.sysctl("rtr", {"net.ipv4.ip_forward": 1})
        self.nft(f"table inet {self.table} {{\n"
                 "  chain forward { type filter hook forward priority 0; policy accept; }\n"
                 "  chain input { type filter hook input priority 0; policy accept; }\n}\n")

    # --- commands inside a namespace -----------------------------------------

    def exec_argv(self, role, argv):
        """argv run inside namespace `role`; the process keeps its PID (ip netns
        exec and setpriv both exec) and dies with the thread that started it."""
        return ["ip", "netns", "exec", self.ns[role], "setpriv", "--pdeathsig", "KILL",
                "--"] + list(argv)

    def adopt(self, proc):
        """proc (with a kill() method) is killed when the bed closes."""
        self._procs.append(proc)

    def run(self, role, argv, timeout=CMD_TIMEOUT, check=True):
        return sh(["ip", "netns", "exec", self.ns[role]] + list(argv), timeout, check)

    def sysctl(self, role, values):
        args = [f"{k}={v}" for k, v in values.items()]
        self.run(role, ["sysctl", "-qw"] + args)

    def read_sysctl(self, role, key):
        return self.run(role, ["sysctl", "-n", key]).stdout.strip()

    def nft(self, script):
        """Load an nft script in the router namespace."""
        sh(["ip", "netns", "exec", self.ns["rtr"], "nft", "-f", "-"], input=script)

    def settled(self, role):
        """True when `role` has established TCP connections and each has
        received data and has nothing unacknowledged in flight."""
        out = self.run(role, ["ss", "-tniH", "state", "established"]).stdout
        infos = [line for line in out.splitlines() if line[:1].isspace()]
        if not infos:
            return False
        for info in infos:
            received = re.search(r"bytes_received:(\d+)", info)
            if "unacked:" in info or not received or int(received.group(1)) == 0:
                return False
        return True

    def wait_settled(self, timeout=5.0):
        """Wait until both ends have exchanged their first bytes and all of it
        is acknowledged, so that a fault injected now hits an idle connection.
        (A client prints "connected" before it sends its hello: a cut right
        after that line can catch the hello in flight, and then keepalive is
        suppressed: the kernel sends no probe while data is unacknowledged.)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settled("cli") and self.settled("srv"):
                return
            time.sleep(0.02)
        raise BedError(f"connections not idle within {timeout}s")

    # --- faults (router) ------------------------------------------------------

    def cut(self):
        """Cable pulled: every forwarded packet dropped, both directions, silently
        (a drop, not a reject: no ICMP, no RST)."""
        self.nft(f"add rule inet {self.table} forward counter drop\n")

    def heal(self):
        self.nft(f"flush chain inet {self.table} forward\n")

    def firewall(self, established_timeout_s, reset=False):
        """A stateful firewall that expires idle flows: conntrack in the router
        with a short established timeout and loose=0 (a mid-stream packet of an
        unknown flow is invalid, not picked up as new), invalid packets dropped
        or answered with a TCP reset; only established flows and new SYNs pass."""
        self.sysctl("rtr", {"net.netfilter.nf_conntrack_tcp_loose": 0,
                            "net.netfilter.nf_conntrack_tcp_timeout_established":
                                int(established_timeout_s)})
        verdict = "meta l4proto tcp counter reject with tcp reset" if reset else "counter drop"
        t = self.table
        self.nft(f"flush chain inet {t} forward\nflush chain inet {t} input\n"
                 f"add rule inet {t} forward ct state invalid {verdict}\n"
                 f"add rule inet {t} forward ct state established,related accept\n"
                 f"add rule inet {t} forward ct state new tcp flags & (fin|syn|rst|ack) == syn accept\n"
                 f"add rule inet {t} forward counter drop\n"
                 f"add rule inet {t} input ct state invalid counter drop\n")

    def counters(self):
        """{rule text: packets} for every rule with a counter in our table."""
        out = self.run("rtr", ["nft", "list", "table", "inet", self.table]).stdout
        found = {}
        for line in out.splitlines():
            m = re.search(r"counter packets (\d+) bytes \d+", line)
            if m:
                found[line.strip()] = int(m.group(1))
        return found

    def dropped(self, what="drop"):
        """Packets counted by our rules whose text contains `what`."""
        return sum(n for rule, n in self.counters().items() if what in rule)

    def socket(self, role, family=socket.AF_INET, kind=socket.SOCK_STREAM):
        """A socket created inside namespace `role`, closed when the bed closes
        (a socket the caller closes earlier is simply closed twice)."""
        box = {}

        def make():
            try:
                fd = os.open(f"/run/netns/{self.ns[role]}", os.O_RDONLY)
                try:
                    if _libc.setns(fd, _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns failed")
                finally:
                    os.close(fd)
                box["sock"] = socket.socket(family, kind)
            except BaseException as e:  # handed to the caller
                box["error"] = e

        t = threading.Thread(target=make, daemon=True)
        t.start()
        t.join(CMD_TIMEOUT)
        if "error" in box:
            raise box["error"]
        if "sock" not in box:
            raise BedError("socket creation in namespace timed out")
        self._sockets.append(box["sock"])
        return box["sock"]
