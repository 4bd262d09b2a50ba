// WebSocket (RFC 6455) as the heartbeat protocol of a client connection, for
// `tether heartbeat connect ws://…` and the library's HeartbeatClient: the
// session sends the opening handshake, checks the 101 and its
// Sec-WebSocket-Accept, sends masked pings carrying the 8-byte ping id (the
// pong echoes it: the RTT), answers the server's pings, counts text and binary
// messages as data, streams DATA as masked binary frames, and runs the close
// handshake (1000 on a normal end; the server's close is echoed).
//
//   liveness::HeartbeatClientOptions o;
//   o.session.codec = http::webSocketHeartbeatCodec("example.com:8080", "/ws/echo");
//
// Threading: each codec belongs to one session (one loop thread); the
// factory may be copied and called from any thread.
#pragma once

#include <string>

#include "tether/liveness/heartbeat_codec.h"

namespace tether::http {

/// `hostHeader`: the Host header (the URL's authority); `target`: the path and query.
liveness::HeartbeatCodecFactory webSocketHeartbeatCodec(std::string hostHeader, std::string target);

}  // namespace tether::http
