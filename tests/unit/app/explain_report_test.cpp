#include "explain_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_doc.h"

namespace tether::app {
namespace {

using jsondoc::keysOf;
using Keys = std::vector<std::string>;

// `tether explain --so-keepalive 30:1:3` on a host with the kernel defaults.
Explanation seedsExample() {
  Explanation e;
  e.spec = "30:1:3";
  e.profile = liveness::resolveKeepaliveProfile({true, 30, 1, 3, 0}, e.system);
  e.idle = liveness::idleDetection(e.profile);
  e.timeline = liveness::probeTimeline(e.profile, 12, &e.elided);
  e.inFlight = liveness::inFlightDetection(0, e.system.retries2, 200);
  e.traffic = liveness::probeTraffic(e.profile);
  e.warnings = liveness::keepaliveWarnings(e.profile);
  return e;
}

TEST(ExplainJson, DocumentedKeysOrderAndTypes) {
  auto doc = jsondoc::parseJsonLine(explanationJson(seedsExample()));
  EXPECT_EQ(keysOf(doc), (Keys{"so_keepalive", "keepalive", "user_timeout_ms", "system", "idle",
                               "in_flight", "probe_traffic_per_hour", "warnings"}));
  EXPECT_EQ(doc["so_keepalive"], "30:1:3");
  EXPECT_EQ(doc["keepalive"],
            jsondoc::Doc::parse(R"({"enabled":true,"idle_s":30,"interval_s":1,"count":3})"));
  EXPECT_TRUE(doc["user_timeout_ms"].is_number_integer());
  EXPECT_EQ(keysOf(doc["system"]), (Keys{"from_proc", "tcp_keepalive_time", "tcp_keepalive_intvl",
                                         "tcp_keepalive_probes", "tcp_retries2"}));

  const auto& idle = doc["idle"];
  EXPECT_EQ(keysOf(idle), (Keys{"detected", "dead_after_s", "probes", "by_user_timeout",
                                "probe_window_s", "timeline", "timeline_elided"}));
  EXPECT_EQ(idle["dead_after_s"], 33.0);
  EXPECT_TRUE(idle["probes"].is_number_integer());
  EXPECT_EQ(idle["timeline"], jsondoc::Doc::parse(R"([{"t_s":30.0,"event":"probe","probe":1},
      {"t_s":31.0,"event":"probe","probe":2},{"t_s":32.0,"event":"probe","probe":3},
      {"t_s":33.0,"event":"dead"}])"));
  EXPECT_EQ(keysOf(idle["timeline"][0]), (Keys{"t_s", "event", "probe"}));

  const auto& flight = doc["in_flight"];
  EXPECT_EQ(keysOf(flight), (Keys{"mechanism", "dead_after_s", "model_timeout_s", "retries2",
                                  "initial_rto_ms", "rto_max_ms", "retransmissions"}));
  EXPECT_EQ(flight["mechanism"], "tcp_retries2");
  EXPECT_EQ(flight["dead_after_s"], 924.6);  // retries2 15, RTO from 200 ms
  EXPECT_TRUE(flight["initial_rto_ms"].is_number_integer());

  const auto& traffic = doc["probe_traffic_per_hour"];
  EXPECT_EQ(keysOf(traffic),
            (Keys{"probes", "packets", "bytes_ipv4", "bytes_ipv6", "bytes_ethernet_ipv4",
                  "packet_bytes_ipv4", "packet_bytes_ipv6"}));
  EXPECT_EQ(traffic["probes"], 120.0);
  EXPECT_EQ(traffic["packet_bytes_ipv4"], 52);

  ASSERT_EQ(doc["warnings"].size(), 1u);
  EXPECT_EQ(keysOf(doc["warnings"][0]), (Keys{"code", "message"}));
  EXPECT_EQ(doc["warnings"][0]["code"], "short_probe_window");
}

TEST(ExplainJson, KeepaliveOffIsNullAndEmpty) {
  Explanation e;
  e.spec = "off";
  e.idle = liveness::idleDetection(e.profile);
  e.warnings = liveness::keepaliveWarnings(e.profile);
  auto doc = jsondoc::parseJsonLine(explanationJson(e));
  EXPECT_EQ(doc["keepalive"]["enabled"], false);
  EXPECT_EQ(doc["keepalive"]["idle_s"], 0);
  EXPECT_TRUE(doc["idle"]["dead_after_s"].is_null());
  EXPECT_EQ(doc["idle"]["timeline"], jsondoc::Doc::array());
  EXPECT_EQ(doc["warnings"][0]["code"], "idle_undetected");
}

}  // namespace
}  // namespace tether::app
