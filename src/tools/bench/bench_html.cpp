#include "tools/bench/bench_html.h"

#include "json_line.h"

namespace tether::tools::bench {
namespace {

// Inside <script>, "</" could end the element early; "<\/" is the same JSON.
std::string scriptSafe(std::string json) {
  for (std::size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3)) {
    json.insert(at + 1, "\\");
  }
  return json;
}

}  // namespace

std::string reportData(const BenchConfig& config, const BenchResult& result) {
  json::Value doc = json::Value::parse(formatJson(config, result));
  json::Value timeline = json::Value::array();
  for (const BenchResult::Second& s : result.timeline) {
    timeline.push_back({{"requests", s.requests}, {"connections_opened", s.connectionsOpened}});
  }
  json::Value distribution = json::Value::array();
  for (const BenchResult::PercentilePoint& p : result.latencyDistribution) {
    distribution.push_back({{"value_ms", static_cast<double>(p.valueNs) / 1e6},
                            {"percentile", p.percentile},
                            {"total_count", p.totalCount}});
  }
  doc["timeline"] = std::move(timeline);
  doc["latency_distribution"] = std::move(distribution);
  return json::line(doc);
}

std::string formatHtml(const BenchConfig& config, const BenchResult& result) {
  std::string page(reportHtmlTemplate());
  std::size_t at = page.find(kDataMarker);
  page.replace(at, kDataMarker.size(), scriptSafe(reportData(config, result)));
  return page;
}

}  // namespace tether::tools::bench
