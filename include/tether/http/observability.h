// Everything an operator looks at, served together: the JSON status
// (kStatusPath), the Prometheus metrics (kMetricsPath), the last minutes of
// connection counts (kHistoryPath) and the live page that draws them all
// (kLivePagePath, HTML/JS/CSS compiled into the binary, nothing fetched from
// elsewhere).
//
// They can be served by the observed server itself or by a second server on an
// admin address (`tether serve --metrics-listen`), as HAProxy's stats frontend
// and Envoy's admin port do: the numbers are always the observed server's.
#pragma once

#include <cstddef>
#include <string_view>

#include "tether/core/time.h"
#include "tether/http/server.h"

namespace tether::http {

/// The live page, and the history it draws its charts from.
inline constexpr std::string_view kLivePagePath = "/.tether/";
inline constexpr std::string_view kHistoryPath = "/.tether/history";

/// History: one sample of connections by state (and the request and accept
/// totals) every kHistoryIntervalMs, the last kHistorySamples kept (5 minutes).
inline constexpr core::Millis kHistoryIntervalMs = 1000;
inline constexpr std::size_t kHistorySamples = 300;

/// Serves on `host` the endpoints above with `observed`'s numbers, and samples
/// `observed` into the history on its first worker's loop (Server::every).
/// `host` may be `observed`. Both must outlive their run(); call before either
/// runs. Every endpoint answers GET and HEAD, never cached.
void installObservability(Server& host, Server& observed);

/// The live page's HTML (self-contained; for tests and other front-ends).
std::string_view livePageHtml() noexcept;

}  // namespace tether::http
