#include "tether/http/observability.h"

#include <chrono>
#include <memory>
#include <string>

#include "stats_history.h"
#include "tether/http/default_site.h"
#include "tether/http/metrics.h"

namespace tether::http {
namespace {

constexpr const char* kReadOnly = "GET, HEAD";

std::int64_t unixMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void installObservability(Server& host, Server& observed) {
  installStatusEndpoint(host, observed);
  installMetricsEndpoint(host, observed);
  // Shared by the sampler (observed's loop) and the handler (host's workers),
  // so it lives as long as either holds it.
  auto history = std::make_shared<StatsHistory>(kHistorySamples);
  observed.every(kHistoryIntervalMs,
                 [history, &observed] { history->record(observed.stats(), unixMillis()); });
  host.handle(std::string(kHistoryPath), kReadOnly, [history](const Request&, Response& res) {
    res.setContentType("application/json");
    res.addHeader("Cache-Control", "no-store");
    res.setBody(history->json());
  });
  host.handle(std::string(kLivePagePath), kReadOnly, [](const Request&, Response& res) {
    res.setContentType("text/html; charset=utf-8");
    res.addHeader("Cache-Control", "no-store");
    res.setBody(std::string(livePageHtml()));
  });
}

}  // namespace tether::http
