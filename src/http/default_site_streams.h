// The default site's live demo of its streams, part of the `/` page.
#pragma once

#include <string_view>

namespace tether::http {

/// HTML and a script (nothing loaded from outside): a WebSocket to
/// /ws/ticker and an EventSource on /sse, each showing its latest tick and how
/// many arrived (window.tetherDemo holds the counts, for tests), and an echo
/// box over /ws/echo. Served over TLS it uses wss:.
extern const std::string_view kStreamDemoHtml;

}  // namespace tether::http
