"""WebSocket and Server-Sent Events in a real browser: headless Chromium
(tests/integration/chromium.py) opens the `/` page of `tether serve`, whose
demo opens a WebSocket and an EventSource; the test checks the messages that
arrive, that the browser answers the server's pings by itself (it cannot ping
from JavaScript: only the server keeps a quiet WebSocket alive), that an
EventSource resumes after a server-side close from the last event id, and the
echo box. A screenshot is kept as a test artifact.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium  # noqa: E402
import harness  # noqa: E402
from harness import Server  # noqa: E402


def setUpModule():
    harness.tether_bin()


class BrowserStreamsTest(unittest.TestCase):
    def setUp(self):
        if not chromium.available():
            self.skipTest("chromium is not installed (scripts/setup.sh test)")

    def test_the_demo_streams_pongs_resume_and_echo(self):
        with Server("--ws-ping-interval", "300ms", "--ws-ping-timeout", "1s") as server, \
                chromium.Chromium() as page:
            page.open(server.url("/"))
            page.wait_for("window.tetherDemo && tetherDemo.ws >= 2 && tetherDemo.sse >= 2",
                          timeout=10, what="ticks over the WebSocket and the EventSource")
            self.assertTrue(page.evaluate(
                "document.getElementById('ws-state').textContent.startsWith('tick ')"))
            self.assertTrue(page.evaluate(
                "document.getElementById('sse-state').textContent.startsWith('event id ')"))
            # The page's two WebSockets and one stream are open connections now.
            st = server.wait_status(lambda d: d["websocket"]["pongs_received"] >= 2,
                                    what="the browser's automatic pongs")
            self.assertEqual(st["connections"]["websocket"], 2)
            self.assertEqual(st["connections"]["event_stream"], 1)
            self.assertEqual(st["closes"]["ws_ping_timeout"], 0)

            # Echo: the page's own button.
            page.evaluate("document.getElementById('echo-in').value = 'grüße'")
            page.evaluate("document.getElementById('echo-send').click()")
            page.wait_for("tetherDemo.echoed === 'grüße'", timeout=5, what="the echo")

            # A stream the server ends after 3 events: EventSource reconnects
            # (retry: 1000) with Last-Event-ID and the ids go on from 4.
            page.evaluate("""(() => {
                window.resumed = [];
                const es = new EventSource('/sse?ms=50&count=3');
                es.addEventListener('tick', e => {
                    resumed.push(Number(e.lastEventId));
                    if (resumed.length === 6) es.close();
                });
            })()""")
            page.wait_for("window.resumed.length >= 6", timeout=10,
                          what="six events across one server-side close")
            self.assertEqual(page.evaluate("window.resumed"), [1, 2, 3, 4, 5, 6])
            server.wait_status(lambda d: d["closes"]["sse_ended"] >= 2,
                               what="the server ended both 3-event streams")

            shot = os.path.join(chromium.artifact_dir(), "streams_demo.png")
            size = page.screenshot(shot)
            self.assertGreater(size, 10_000, shot)


if __name__ == "__main__":
    unittest.main()
