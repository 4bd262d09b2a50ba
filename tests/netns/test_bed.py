"""The test bed validated on its own, with plain Python sockets (no tether):
the faults the other groups rely on really do what they claim."""

import errno
import os
import socket
import subprocess
import time
import unittest

import netbed
import suite

IO = 3.0  # socket timeout of every Python peer below


def connected_pair(bed):
    """(client socket in cli, accepted socket in srv) across the router."""
    lsn = bed.socket("srv")
    lsn.bind((netbed.SRV_ADDR, 0))
    lsn.listen()
    cli = bed.socket("cli")
    cli.settimeout(IO)
    cli.connect((netbed.SRV_ADDR, lsn.getsockname()[1]))
    acc, _ = lsn.accept()
    acc.settimeout(IO)
    lsn.close()
    cli.sendall(b"hello")
    assert acc.recv(16) == b"hello"
    return cli, acc


def arrives(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(64)
    except socket.timeout:
        return None


def cut_and_heal(bed):
    """Cable pulled: nothing passes either way; healed: the flow resumes."""
    cli, acc = connected_pair(bed)
    bed.cut()
    cli.sendall(b"c2s")
    acc.sendall(b"s2c")
    lost = (arrives(acc, 1.0), arrives(cli, 0.2))
    dropped = bed.dropped()
    bed.heal()
    # both sides retransmit (RTO backoff 0.2, 0.4, 0.8, 1.6 s...): wait for it
    healed = (arrives(acc, 4.0), arrives(cli, 4.0))
    return {"lost": lost, "dropped": dropped, "healed": healed}


def keepalive_blackhole(bed):
    """Keepalive on this bed: 2:1:3, idle, cut -> ETIMEDOUT at 2 + 3*1 = 5 s."""
    cli, acc = connected_pair(bed)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 2)
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    bed.cut()
    t0 = time.monotonic()
    cli.settimeout(10.0)
    try:
        cli.recv(16)
        err = 0
    except OSError as e:
        err = e.errno
    return {"errno": err, "elapsed": time.monotonic() - t0}


def firewall_idle(bed, reset, idle_s):
    """Conntrack timeout 2 s; idle `idle_s`; then the client sends."""
    bed.firewall(2, reset=reset)
    cli, acc = connected_pair(bed)
    time.sleep(idle_s)
    try:
        cli.sendall(b"after-idle")
        got = arrives(acc, 1.5)
        err = 0
        if got is None:
            cli.settimeout(0.5)
            try:
                cli.recv(16)
            except OSError as e:
                err = e.errno or 0
    except OSError as e:
        got, err = None, e.errno
    return {"got": got, "errno": err, "invalid": bed.dropped("invalid")}


class BedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.results = suite.run_concurrently({
            "cut": cut_and_heal,
            "keepalive": keepalive_blackhole,
            "fw_expired": lambda b: firewall_idle(b, reset=False, idle_s=4.0),
            "fw_fresh": lambda b: firewall_idle(b, reset=False, idle_s=0.5),
            "fw_reset": lambda b: firewall_idle(b, reset=True, idle_s=4.0),
        }, reps=1, timeout=60)

    def test_cut_drops_both_directions_and_heals(self):
        for r in suite.outcomes(self, self.results["cut"]):
            self.assertEqual(r["lost"], (None, None))
            self.assertGreater(r["dropped"], 0, "the drop rule counted nothing")
            self.assertEqual(r["healed"], (b"c2s", b"s2c"))

    def test_keepalive_detects_cut_at_kernel_bound(self):
        for r in suite.outcomes(self, self.results["keepalive"]):
            self.assertEqual(r["errno"], errno.ETIMEDOUT)
            bound, slack = suite.keepalive_bound(2, 1, 3)
            suite.assert_within(self, [r["elapsed"]], bound, "python keepalive 2:1:3",
                                tol=suite.TOL + slack)

    def test_conntrack_expiry_blackholes_idle_flow(self):
        for r in suite.outcomes(self, self.results["fw_expired"]):
            self.assertIsNone(r["got"], "the expired flow still passed")
            self.assertGreater(r["invalid"], 0, "nothing was counted as invalid")

    def test_flow_within_conntrack_timeout_passes(self):
        for r in suite.outcomes(self, self.results["fw_fresh"]):
            self.assertEqual(r["got"], b"after-idle")
            self.assertEqual(r["invalid"], 0)

    def test_reset_variant_sends_rst(self):
        for r in suite.outcomes(self, self.results["fw_reset"]):
            self.assertIsNone(r["got"])
            self.assertEqual(r["errno"], errno.ECONNRESET)

    def test_conntrack_sysctls_are_per_namespace(self):
        with netbed.Bed() as bed:
            bed.firewall(3)
            self.assertEqual(bed.read_sysctl(
                "rtr", "net.netfilter.nf_conntrack_tcp_timeout_established"), "3")
            self.assertEqual(bed.read_sysctl("rtr", "net.netfilter.nf_conntrack_tcp_loose"), "0")
            self.assertNotEqual(bed.read_sysctl(
                "cli", "net.netfilter.nf_conntrack_tcp_timeout_established"), "3")

    def test_bed_is_removed_and_stale_beds_of_dead_owners_too(self):
        with netbed.Bed() as bed:
            names = list(bed.ns.values())
        listed = netbed.sh(["ip", "netns", "list"]).stdout
        for n in names:
            self.assertNotIn(n, listed)
        dead = dead_pid()
        stale = f"{netbed.PREFIX}-{dead}-abcdef-c"
        mine = f"{netbed.PREFIX}-{os.getpid()}-abcdef-c"
        try:
            for n in (stale, mine):
                netbed.sh(["ip", "netns", "add", n])
            netbed.remove_stale()
            listed = netbed.sh(["ip", "netns", "list"]).stdout
            self.assertNotIn(stale, listed)
            self.assertIn(mine, listed, "a live owner's namespace was removed")
        finally:
            for n in (stale, mine):
                netbed.sh(["ip", "netns", "del", n], check=False)


def dead_pid():
    """The PID of a process that has just exited (not reused this quickly)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


if __name__ == "__main__":
    suite.main()
