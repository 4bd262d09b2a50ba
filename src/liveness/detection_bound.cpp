#include "tether/liveness/detection_bound.h"

#include <fmt/format.h>

#include <algorithm>

namespace tether::liveness {
namespace {

constexpr Millis kHour = 3'600'000;
constexpr int kMaxModelRetries = 1000;  // beyond any sane tcp_retries2; bounds the loops

Millis idleMs(const KeepaliveProfile& p) { return Millis{p.idleS} * 1000; }
Millis intervalMs(const KeepaliveProfile& p) { return Millis{p.intervalS} * 1000; }

std::string middleboxesBelow(Millis idle) {
  std::string list;
  for (const MiddleboxTimeout& m : commonMiddleboxTimeouts()) {
    if (m.timeout > idle) continue;
    list += fmt::format("{}{} {} [{}]", list.empty() ? "" : "; ", m.name, formatSeconds(m.timeout),
                        m.source);
  }
  return list;
}

void warnUserTimeout(const KeepaliveProfile& p, const IdleDetection& d, std::vector<Warning>& out) {
  Millis window = idleMs(p) + intervalMs(p) * p.count;  // what TCP_KEEPCNT alone would give
  if (p.userTimeout < window) {
    out.push_back(
        {"user_timeout_below_keepalive",
         fmt::format("user timeout {} is shorter than the keepalive window {} "
                     "(idle + interval x count): it overrides TCP_KEEPCNT, so an idle "
                     "connection is dropped at {} after {} unanswered probe(s) instead "
                     "of {}; with data in flight any outage or a peer that stops "
                     "reading for {} also kills it",
                     formatSeconds(p.userTimeout), formatSeconds(window), formatSeconds(d.deadAt),
                     d.probes, p.count, formatSeconds(p.userTimeout))});
  } else if (d.deadAt > window) {
    out.push_back({"user_timeout_above_keepalive",
                   fmt::format("user timeout {} is longer than the keepalive window {}: it "
                               "overrides TCP_KEEPCNT, so probes continue and an idle dead peer "
                               "is found only at {} ({} probes); set it at or just below {} to "
                               "keep the idle and in-flight bounds equal",
                               formatSeconds(p.userTimeout), formatSeconds(window),
                               formatSeconds(d.deadAt), d.probes, formatSeconds(window))});
  }
}

}  // namespace

IdleDetection idleDetection(const KeepaliveProfile& p) {
  IdleDetection d;
  if (!p.enabled || p.idleS <= 0 || p.intervalS <= 0 || p.count <= 0) return d;
  d.detected = true;
  Millis idle = idleMs(p), interval = intervalMs(p);
  if (p.userTimeout == 0) {
    d.probes = p.count;
  } else {
    // First timer run idle + k*interval (k >= 1) that is at or past the user timeout.
    Millis beyond = p.userTimeout - idle;
    d.probes = static_cast<int>(std::max<Millis>(1, (beyond + interval - 1) / interval));
    d.byUserTimeout = true;
  }
  d.firstProbeAt = idle;
  d.deadAt = idle + interval * d.probes;
  return d;
}

std::vector<ProbeEvent> probeTimeline(const KeepaliveProfile& p, std::size_t maxEvents,
                                      std::size_t* elided) {
  if (elided != nullptr) *elided = 0;
  IdleDetection d = idleDetection(p);
  std::vector<ProbeEvent> events;
  if (!d.detected) return events;
  auto probes = static_cast<std::size_t>(d.probes);
  std::size_t room = std::max<std::size_t>(maxEvents, 3) - 1;  // the kill takes one entry
  std::size_t head = probes <= room ? probes : room / 2;
  std::size_t tail = probes <= room ? 0 : room - head;
  auto add = [&](std::size_t j) {
    events.push_back({idleMs(p) + intervalMs(p) * static_cast<Millis>(j), static_cast<int>(j + 1)});
  };
  for (std::size_t j = 0; j < head; ++j) add(j);
  for (std::size_t j = probes - tail; j < probes; ++j) add(j);
  if (elided != nullptr) *elided = probes - head - tail;
  events.push_back({d.deadAt, 0});
  return events;
}

Millis retransmitModelTimeout(int retries2, Millis rtoBase) {
  int boundary = std::clamp(retries2, 0, kMaxModelRetries);
  int threshold = 0;  // ilog2(TCP_RTO_MAX / rto_base)
  while ((rtoBase << (threshold + 1)) <= kRtoMax) ++threshold;
  if (boundary <= threshold) return ((Millis{2} << boundary) - 1) * rtoBase;
  return ((Millis{2} << threshold) - 1) * rtoBase + (boundary - threshold) * kRtoMax;
}

InFlightDetection inFlightDetection(Millis userTimeout, int retries2, Millis initialRto) {
  InFlightDetection d;
  d.retries2 = retries2;
  d.initialRto = initialRto;
  if (userTimeout > 0) {
    d.byUserTimeout = true;
    d.deadAt = userTimeout;
    return d;
  }
  d.modelTimeout = retransmitModelTimeout(retries2);
  // Expiry k of the retransmission timer; the check needs >= 1 retransmission
  // already made (icsk_retransmits != 0), so the earliest kill is expiry 2.
  Millis t = 0, rto = std::max<Millis>(initialRto, 1);
  for (int expiry = 1; expiry <= kMaxModelRetries + 2; ++expiry) {
    t += rto;
    if (expiry >= 2 && t >= d.modelTimeout) {
      d.retransmissions = expiry - 1;
      break;
    }
    rto = std::min(rto * 2, kRtoMax);
  }
  d.deadAt = t;
  return d;
}

ProbeTraffic probeTraffic(const KeepaliveProfile& p) {
  ProbeTraffic t;
  if (!p.enabled || p.idleS <= 0) return t;
  t.probesPerHour = static_cast<double>(kHour) / static_cast<double>(idleMs(p));
  t.packetsPerHour = 2 * t.probesPerHour;
  t.ipv4BytesPerHour = t.packetsPerHour * ProbeTraffic::kIpv4Bytes;
  t.ipv6BytesPerHour = t.packetsPerHour * ProbeTraffic::kIpv6Bytes;
  t.ipv4FrameBytesPerHour =
      t.packetsPerHour * (ProbeTraffic::kIpv4Bytes + ProbeTraffic::kEthernetHeader);
  return t;
}

const std::vector<MiddleboxTimeout>& commonMiddleboxTimeouts() {
  static const std::vector<MiddleboxTimeout> table = {
      {"AWS Classic ELB", 60'000, "gRPC A8"},
      {"Azure Load Balancer default", 240'000, "Azure docs"},
      {"carrier NAT and corporate firewalls, low end", 300'000, "\"5-15 min\", secondary blogs"},
      {"AWS NLB / NAT gateway / Network Firewall default", 350'000, "AWS docs"},
      {"Google Cloud load balancers and VPC connection tracking", 600'000, "gRPC A8, GCP docs"},
      {"GCP Cloud NAT TCP established", 1'200'000, "GCP default"},
      {"RFC 5382 REQ-5 minimum for NAT established TCP", 7'440'000, "RFC 5382"},
      {"Linux conntrack established", 432'000'000, "nf_conntrack_tcp_timeout_established"},
  };
  return table;
}

std::vector<Warning> keepaliveWarnings(const KeepaliveProfile& p) {
  std::vector<Warning> out;
  IdleDetection d = idleDetection(p);
  if (!d.detected) {
    out.push_back({"idle_undetected",
                   p.userTimeout > 0
                       ? "keepalive is off: a dead peer of an idle connection is never "
                         "detected; the user timeout only bounds data in flight"
                       : "keepalive is off: a dead peer of an idle connection is never detected, "
                         "and idle flows are not refreshed in NATs and firewalls"});
    return out;
  }
  Millis window = d.probeWindow();
  if (window < kShortProbeWindow) {
    out.push_back({"short_probe_window",
                   fmt::format("probe window {} (from the first unanswered probe to the kill) "
                               "is under {}: an outage that short (a Wi-Fi roam, a router "
                               "reboot) kills healthy idle connections; RFC 1122 4.2.3.6 warns "
                               "that one unanswered probe does not prove the peer dead",
                               formatSeconds(window), formatSeconds(kShortProbeWindow))});
  }
  std::string below = middleboxesBelow(idleMs(p));
  if (!below.empty()) {
    out.push_back({"idle_exceeds_middlebox",
                   fmt::format("idle {} is at or above these idle timeouts, which may drop the "
                               "flow before the first probe refreshes it: {}",
                               formatSeconds(idleMs(p)), below)});
  }
  if (p.userTimeout > 0) warnUserTimeout(p, d, out);
  return out;
}

std::string formatSeconds(Millis ms) {
  std::string s = fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  s += " s";
  if (ms >= 2 * kHour) return s + fmt::format(" ({:.2f} h)", static_cast<double>(ms) / kHour);
  if (ms >= 120'000) return s + fmt::format(" ({:.1f} min)", static_cast<double>(ms) / 60'000);
  return s;
}

}  // namespace tether::liveness
