// The Node side of bench/websocket_vs_node.py: Debian's `ws` (node-ws) as an
// echo server on the given port, with the ws README's heartbeat pattern when a
// ping interval is given: every interval, terminate the clients that did not
// answer the previous ping, then ping all.
// Usage: NODE_PATH=/usr/share/nodejs node node_ws_server.js PORT [PING_MS]
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const pingMs = Number(process.argv[3] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });

wss.on('connection', (ws) => {
  ws.isAlive = true;
  ws.on('pong', () => { ws.isAlive = true; });
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

if (pingMs > 0) {
  setInterval(() => {
    for (const ws of wss.clients) {
      if (!ws.isAlive) { ws.terminate(); continue; }
      ws.isAlive = false;
      ws.ping();
    }
  }, pingMs);
}

wss.on('listening', () => console.log(`listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
