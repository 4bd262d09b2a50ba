"""WebSocket on `tether serve` with real peers: Python's `websockets` (Debian's
python3-websockets) as the client, directly, over TLS and through nginx as a
WebSocket reverse proxy; raw sockets for what a library would never send.

Timing bounds are the configured values plus a stated tolerance (TOL): the
machine is shared and the binary may carry a sanitizer.
"""
import asyncio
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402
from test_inspect import NginxPeer  # noqa: E402

import websockets  # noqa: E402  (python3-websockets, a test package)

TOL = 0.5  # s, on top of every configured bound
HANDSHAKE = ("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n")


def setUpModule():
    harness.tether_bin()


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def masked(opcode, payload, fin=True):
    """A client frame, masked as RFC 6455 requires."""
    mask = b"\x11\x22\x33\x44"
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frames_until_eof(sock, timeout=5.0):
    """Server frames (opcode, payload) read until the server closes."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    frames = []
    while len(data) >= 2:
        n = data[1] & 0x7F
        at = 2
        if n == 126:
            n, at = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, at = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((data[0] & 0x0F, data[at:at + n]))
        data = data[at + n:]
    return frames


def raw_upgrade(server, path="/ws/echo"):
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(HANDSHAKE.format(path=path).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


class EchoAndTickerTest(unittest.TestCase):
    def test_echo_text_binary_fragmented_large_and_the_ticker(self):
        with Server() as s:
            async def go():
                async with websockets.connect(s.url("/ws/echo").replace("http", "ws"),
                                              ping_interval=None, max_size=None) as ws:
                    await ws.send("hello")
                    self.assertEqual(await ws.recv(), "hello")
                    await ws.send(b"\x00\xffbin")
                    self.assertEqual(await ws.recv(), b"\x00\xffbin")
                    await ws.send(["frag", "ment", "é"])  # three frames, one message
                    self.assertEqual(await ws.recv(), "fragmenté")
                    big = os.urandom(300_000)
                    await ws.send(big)
                    self.assertEqual(await ws.recv(), big)
                    t0 = time.monotonic()
                    await (await ws.ping(b"rtt"))
                    self.assertLess(time.monotonic() - t0, 1.0)
                async with websockets.connect(
                        s.url("/ws/ticker?ms=100").replace("http", "ws"), ping_interval=None) as ws:
                    t0 = time.monotonic()
                    ticks = [await ws.recv() for _ in range(5)]
                    elapsed = time.monotonic() - t0
                self.assertIn('"tick":5', ticks[-1])
                # Five ticks 100 ms apart: 0.5 s after the open, give or take TOL.
                self.assertGreater(elapsed, 0.4 - 0.1)
                self.assertLess(elapsed, 0.5 + TOL)
                return ws.close_code
            self.assertEqual(run(go()), 1000)
            st = s.wait_status(lambda d: d["websocket"]["closes_by_code"]["1000"] == 2,
                               what="both closes counted")
            self.assertEqual(st["websocket"]["opened"], 2)
            self.assertEqual(st["closes"]["ws_closed"], 2)
            self.assertEqual(st["connections"]["websocket"], 0)
            self.assertGreaterEqual(st["websocket"]["messages_received"], 4)

    def test_refusals_are_plain_http(self):
        with Server() as s:
            with s.connect() as c:
                r = c.request("GET", "/ws/echo")
                self.assertEqual(r.status, 426)
                self.assertEqual(r.header("Sec-WebSocket-Version"), "13")
                r = c.request("GET", "/ws/echo", headers=[
                    ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "bad")])
                self.assertEqual(r.status, 400)
                r = c.request("GET", "/ws/ticker?ms=0", headers=[
                    ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Version", "13"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])
                self.assertEqual(r.status, 400)
                r = c.request("POST", "/ws/echo")
                self.assertEqual(r.status, 405)
                self.assertFalse(r.closes, "a refused handshake keeps the connection")


class HeartbeatTest(unittest.TestCase):
    def test_server_pings_keep_a_quiet_client_and_its_pongs_are_counted(self):
        with Server("--ws-ping-interval", "200ms", "--ws-ping-timeout", "500ms") as s:
            async def go():
                async with websockets.connect(s.url("/ws/echo").replace("http", "ws"),
                                              ping_interval=None) as ws:
                    await asyncio.sleep(1.5)  # 7 intervals; the library answers each ping
                    await ws.send("still here")
                    return await ws.recv()
            self.assertEqual(run(go()), "still here")
            st = s.wait_status(lambda d: d["websocket"]["pongs_received"] >= 3, what="pongs")
            self.assertGreaterEqual(st["websocket"]["pings_sent"], 3)
            self.assertEqual(st["closes"]["ws_ping_timeout"], 0)
            rtt = st["histograms"]["websocket_ping_rtt_seconds"]
            self.assertGreaterEqual(rtt["count"], 3)

    def test_a_stopped_client_is_closed_within_interval_plus_timeout(self):
        interval, timeout = 0.5, 0.5
        with Server("--ws-ping-interval", "500ms", "--ws-ping-timeout", "500ms") as s:
            client = subprocess.Popen(
                [sys.executable, "-c",
                 "import asyncio, sys, websockets\n"
                 "async def main():\n"
                 f"    async with websockets.connect('ws://{s.host}:{s.port}/ws/echo',"
                 " ping_interval=None) as ws:\n"
                 "        print('open', flush=True)\n"
                 "        await asyncio.sleep(60)\n"
                 "asyncio.run(main())\n"],
                stdout=subprocess.PIPE, preexec_fn=harness._die_with_parent)
            try:
                self.assertEqual(client.stdout.readline().strip(), b"open")
                time.sleep(interval * 1.5)  # a ping or two answered by the live client
                client.send_signal(signal.SIGSTOP)
                stopped = time.monotonic()
                s.wait_status(lambda d: d["closes"]["ws_ping_timeout"] == 1, timeout=10,
                              what="ping timeout close")
                took = time.monotonic() - stopped
                batch = min(interval / 10, 1.0)  # pings go out on a grid of this
                self.assertLess(took, interval + timeout + batch + TOL,
                                f"closed {took:.2f} s after SIGSTOP")
            finally:
                client.send_signal(signal.SIGCONT)
                client.kill()
                client.wait()
                client.stdout.close()
            st = s.status()
            self.assertEqual(st["websocket"]["closes_by_code"]["1001"], 1)


NODE_WS_CLIENT = r"""
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[1]);
const seen = {echo: null, pings: 0, code: null};
ws.on('ping', () => { seen.pings++; });  // ws answers with a pong by itself
ws.on('open', () => {
  // Stay quiet for 1.2 s (server pings every 200 ms), then echo one message.
  setTimeout(() => ws.send('from node'), 1200);
});
ws.on('message', (data) => { seen.echo = data.toString(); ws.close(1000, 'done'); });
ws.on('close', (code) => { seen.code = code; console.log(JSON.stringify(seen)); });
ws.on('error', (e) => { console.error(String(e)); process.exit(1); });
"""


class NodeWsTest(unittest.TestCase):
    """Node's `ws` (Debian's node-ws) as the client: it must answer our pings."""

    def test_node_ws_answers_pings_and_echoes(self):
        env = dict(os.environ, NODE_PATH="/usr/share/nodejs")  # where Debian puts node-ws
        with Server("--ws-ping-interval", "200ms", "--ws-ping-timeout", "1s") as s:
            r = subprocess.run(["node", "-e", NODE_WS_CLIENT, f"ws://{s.host}:{s.port}/ws/echo"],
                               capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            seen = json.loads(r.stdout)
            self.assertEqual(seen["echo"], "from node")
            self.assertEqual(seen["code"], 1000)
            self.assertGreaterEqual(seen["pings"], 4)
            st = s.wait_status(lambda d: d["closes"]["ws_closed"] == 1, what="the close")
            self.assertGreaterEqual(st["websocket"]["pongs_received"], 4)
            self.assertEqual(st["closes"]["ws_ping_timeout"], 0)


class BadInputTest(unittest.TestCase):
    def test_each_violation_gets_its_close_code_and_is_counted(self):
        cases = [
            ("unmasked frame", b"\x81\x02hi", 1002),
            ("control frame over 125 bytes", masked(0x9, b"p" * 126), 1002),
            ("invalid UTF-8", masked(0x1, b"\xc0\xaf"), 1007),
            ("reserved opcode", masked(0x3, b""), 1002),
            ("RSV bit", bytes([0xC1]) + masked(0x1, b"x")[1:], 1002),
            ("fragmented ping", masked(0x9, b"x", fin=False), 1002),
            ("message too big", masked(0x2, b"b" * 2048), 1009),
        ]
        with Server("--ws-max-message-size", "1k") as s:
            for what, frame, code in cases:
                with self.subTest(what):
                    sock = raw_upgrade(s)
                    try:
                        sock.sendall(frame)
                        frames = read_frames_until_eof(sock)
                    finally:
                        sock.close()
                    self.assertTrue(frames, "a close frame before the close")
                    op, payload = frames[-1]
                    self.assertEqual(op, 0x8)
                    self.assertEqual(struct.unpack("!H", payload[:2])[0], code)
            st = s.wait_status(lambda d: d["closes"]["ws_protocol_error"] == len(cases),
                               what="every violation counted")
            self.assertEqual(st["connections"]["websocket"], 0)


class TlsTest(unittest.TestCase):
    def test_wss_echo_over_tls(self):
        with Server("--tls-self-signed") as s:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE

            async def go():
                async with websockets.connect(f"wss://{s.host}:{s.port}/ws/echo", ssl=ctx,
                                              ping_interval=None) as ws:
                    await ws.send("over tls")
                    return await ws.recv()
            self.assertEqual(run(go()), "over tls")


class NginxProxy(NginxPeer):
    """nginx as a WebSocket reverse proxy in front of `upstream`, with a short
    proxy_read_timeout: the setting behind "my WebSocket drops after 60 s"."""
    READ_TIMEOUT = 2

    def __init__(self, upstream_port):
        super().__init__()
        self.upstream = upstream_port

    def write_config(self):
        d = self.dir
        temps = "".join(f"    {p}_temp_path {d}/{p};\n"
                        for p in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
                    "events { worker_connections 1024; }\nhttp {\n    access_log off;\n"
                    + temps +
                    f"    server {{\n        listen 127.0.0.1:{self.port};\n"
                    "        location / {\n"
                    f"            proxy_pass http://127.0.0.1:{self.upstream};\n"
                    "            proxy_http_version 1.1;\n"
                    "            proxy_set_header Upgrade $http_upgrade;\n"
                    "            proxy_set_header Connection \"upgrade\";\n"
                    f"            proxy_read_timeout {self.READ_TIMEOUT}s;\n"
                    "        }\n    }\n}\n")


class BehindNginxTest(unittest.TestCase):
    def test_server_pings_outlive_proxy_read_timeout_and_silence_does_not(self):
        quiet = 3.5 * NginxProxy.READ_TIMEOUT
        with Server("--ws-ping-interval", "500ms") as pinging, \
                Server("--ws-ping-interval", "0") as silent:
            proxies = [NginxProxy(pinging.port), NginxProxy(silent.port)]
            try:
                for p in proxies:
                    p.start()

                async def survives(port):
                    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/echo",
                                                  ping_interval=None) as ws:
                        await asyncio.sleep(quiet)
                        await ws.send("after the quiet")
                        return await ws.recv()

                async def cut_after(port):
                    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/echo",
                                                  ping_interval=None) as ws:
                        t0 = time.monotonic()
                        try:
                            await ws.recv()
                        except websockets.ConnectionClosed:
                            return time.monotonic() - t0
                        return None

                async def both():
                    return await asyncio.gather(survives(proxies[0].port),
                                                cut_after(proxies[1].port))
                echoed, cut = run(both())
            finally:
                for p in proxies:
                    p.cleanup()
            self.assertEqual(echoed, "after the quiet",
                             f"alive after {quiet} s of application silence")
            self.assertIsNotNone(cut)
            self.assertGreater(cut, NginxProxy.READ_TIMEOUT - TOL)
            self.assertLess(cut, NginxProxy.READ_TIMEOUT + TOL + 1.0,  # nginx's timer slack
                            "the control without pings is cut at proxy_read_timeout")
            self.assertGreater(pinging.status()["websocket"]["pings_sent"], 4)


if __name__ == "__main__":
    unittest.main()
