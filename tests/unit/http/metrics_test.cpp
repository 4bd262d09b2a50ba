#include "tether/http/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace tether::http {
namespace {

// Sample lines of the exposition: "name{labels}" -> value.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

TEST(Metrics, CountersAndGaugesCarryTheSnapshot) {
  ServerStatsSnapshot s;
  s.idle = 3;
  s.reading = 1;
  s.accepted = 10;
  s.requests = 25;
  s.reusedRequests = 15;
  s.closes[static_cast<std::size_t>(CloseReason::kIdleTimeout)] = 4;
  s.closes[static_cast<std::size_t>(CloseReason::kClientReset)] = 2;
  s.tlsResumedHandshakes = 7;
  s.tls13 = 9;
  auto m = samples(prometheusText(s, 1000));
  EXPECT_EQ(m["tether_connections{state=\"idle\"}"], "3");
  EXPECT_EQ(m["tether_connections{state=\"reading\"}"], "1");
  EXPECT_EQ(m["tether_connections{state=\"writing\"}"], "0");
  EXPECT_EQ(m["tether_connections_max"], "1000");
  EXPECT_EQ(m["tether_connections_accepted_total"], "10");
  EXPECT_EQ(m["tether_requests_total"], "25");
  EXPECT_EQ(m["tether_requests_reused_total"], "15");
  EXPECT_EQ(m["tether_connections_closed_total{reason=\"idle_timeout\"}"], "4");
  EXPECT_EQ(m["tether_connections_closed_total{reason=\"client_reset\"}"], "2");
  EXPECT_EQ(m["tether_tls_handshakes_total{resumed=\"true\"}"], "7");
  EXPECT_EQ(m["tether_tls_handshakes_by_version_total{version=\"1.3\"}"], "9");
}

TEST(Metrics, EveryCloseReasonIsASampleEvenAtZero) {
  auto m = samples(prometheusText(ServerStatsSnapshot{}, 1));
  for (std::size_t i = 0; i < static_cast<std::size_t>(CloseReason::kCount); ++i) {
    std::string name(closeReasonName(static_cast<CloseReason>(i)));
    EXPECT_EQ(m["tether_connections_closed_total{reason=\"" + name + "\"}"], "0") << name;
  }
}

// The format: each family once, HELP then TYPE, then only its own samples;
// counters end in _total.
TEST(Metrics, FamiliesAreWellFormed) {
  std::istringstream in(prometheusText(ServerStatsSnapshot{}, 1));
  std::vector<std::string> seen;
  std::string current, type;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      for (const auto& f : seen) EXPECT_NE(f, current) << "family written twice";
      seen.push_back(current);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.substr(7, current.size()), current);
      type = line.substr(8 + current.size());
      if (type == "counter") {
        EXPECT_TRUE(current.ends_with("_total")) << current;
      }
      continue;
    }
    std::string name = line.substr(0, line.find_first_of("{ "));
    if (type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix)) name.resize(name.size() - std::string_view(suffix).size());
      }
    }
    EXPECT_EQ(name, current) << line;
  }
  EXPECT_GE(seen.size(), 14u);
}

TEST(Metrics, HistogramsAreCumulativeInSecondsWithSumAndCount) {
  ServerStatsSnapshot s;
  auto& gap = s.histograms[static_cast<std::size_t>(Distribution::kIdleGapSeconds)];
  const HistogramSpec& spec = histogramSpec(Distribution::kIdleGapSeconds);
  gap.buckets[0] = 2;          // <= 1 ms
  gap.buckets[8] = 1;          // (0.5 s, 1 s]
  gap.buckets[spec.size] = 1;  // above the last bound
  gap.count = 4;
  gap.sum = 1 + 1 + 800 + 400000;
  auto m = samples(prometheusText(s, 1));
  std::string name(spec.name);
  EXPECT_EQ(name, "tether_keepalive_idle_gap_seconds");
  EXPECT_EQ(m[name + "_bucket{le=\"0.001\"}"], "2");
  EXPECT_EQ(m[name + "_bucket{le=\"0.5\"}"], "2");
  EXPECT_EQ(m[name + "_bucket{le=\"1\"}"], "3");
  EXPECT_EQ(m[name + "_bucket{le=\"75\"}"], "3");
  EXPECT_EQ(m[name + "_bucket{le=\"300\"}"], "3");
  EXPECT_EQ(m[name + "_bucket{le=\"+Inf\"}"], "4");
  EXPECT_EQ(m[name + "_count"], "4");
  EXPECT_EQ(m[name + "_sum"], "400.802");
  auto rpc = samples(prometheusText(s, 1));
  EXPECT_EQ(rpc["tether_connection_requests_bucket{le=\"1\"}"], "0");  // counts, not seconds
  EXPECT_EQ(rpc["tether_connection_requests_bucket{le=\"+Inf\"}"], "0");
}

}  // namespace
}  // namespace tether::http
