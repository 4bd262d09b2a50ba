// The hop presets of `tether explain --path`: documented defaults of common
// clients, proxies, balancers, servers and middleboxes, each with its source.
// A preset that can play several roles (nginx as proxy or origin) carries the
// values of each; the position in the chain picks the role.
#include "hop_presets.h"

namespace tether::liveness {
namespace {

constexpr Millis s(Millis n) { return n * 1000; }

// clang-format off
const HopPreset kPresets[] = {
  // Clients (the first hop).
  {"client", kAsClient, {.pool = kNoLimit}, "a client; give pool= (default: reuses idle connections forever)"},
  {"proxy", kAsProxy, {}, "a proxy; give keepalive= (its client side) and pool= (its upstream side)"},
  {"server", kAsServer, {}, "a server; give keepalive="},
  {"go", kAsClient, {.pool = s(90), .tcpKeepalive = s(30)},
   "Go net/http DefaultTransport: IdleConnTimeout 90 s, dialer KeepAlive 30 s; ignores Keep-Alive hints"},
  {"undici", kAsClient, {.pool = s(4), .hintMargin = s(2), .hintCap = s(600), .tcpKeepalive = s(60)},
   "undici (Node fetch): keepAliveTimeout 4 s, or the server's hint minus 2 s (keepAliveTimeoutThreshold), at most 600 s; TCP_KEEPIDLE 60 s"},
  {"node-agent", kAsClient, {.pool = s(5), .hintMargin = s(1)},
   "Node http.globalAgent: keepAlive on, 5 s socket timeout, or the server's hint minus 1 s"},
  {"requests", kAsClient, {.pool = kNoLimit},
   "Python requests/urllib3: pooled connections have no idle limit (only one already closed is dropped before reuse); ignores hints"},
  {"curl", kAsClient, {.pool = s(118)}, "libcurl: CURLOPT_MAXAGE_CONN 118 s; ignores hints"},
  // HTTP proxies and balancers (between, or first/last).
  {"alb", kAsProxy, {.keepalive = s(60), .pool = s(60)},
   "AWS Application Load Balancer: connection idle timeout 60 s on client and target connections; TCP keepalive does not reset it"},
  {"gcp", kAsProxy, {.keepalive = s(610), .pool = s(600)},
   "Google Cloud external Application Load Balancer: client HTTP keep-alive 610 s, backend keep-alive 600 s (fixed)"},
  {"cloudflare", kAsProxy, {.keepalive = s(400), .pool = s(900)},
   "Cloudflare: client HTTP/1.1 keep-alive 400 s; origin connections reused up to the 900 s proxy idle timeout"},
  {"nginx", kAsProxy | kAsServer, {.keepalive = s(75), .pool = s(60)},
   "nginx: keepalive_timeout 75 s (no hint unless its second argument is set); upstream keepalive_timeout 60 s when the upstream has `keepalive`"},
  {"haproxy", kAsProxy, {.keepalive = kNoLimit, .pool = s(5)},
   "HAProxy: timeout http-keep-alive has no default (give keepalive=); idle server connections: pool-purge-delay 5 s closes half of them per period, so some live longer"},
  {"envoy", kAsProxy | kAsServer, {.keepalive = s(3600), .pool = s(3600)},
   "Envoy: idle_timeout 1 h on downstream and upstream connections"},
  // Origin servers (the last hop).
  {"tether", kAsServer, {.keepalive = s(75)},
   "tether serve: --keepalive-timeout 75 s + 1 s grace (--keepalive-grace), advertised as Keep-Alive: timeout=75",
   s(1), true},
  {"node", kAsServer, {.keepalive = s(5)},
   "Node http.Server: keepAliveTimeout 5 s + keepAliveTimeoutBuffer 1 s, advertised as timeout=5", s(1), true},
  {"gunicorn", kAsServer, {.keepalive = s(2)}, "gunicorn: keepalive 2 s"},
  {"apache", kAsServer, {.keepalive = s(5)}, "Apache httpd: KeepAliveTimeout 5 s, advertised", 0, true},
  {"uvicorn", kAsServer, {.keepalive = s(5)}, "uvicorn: timeout_keep_alive 5 s"},
  // Middleboxes (between two HTTP hops).
  {"nlb", kAsMiddlebox, {.idle = s(350), .countsKeepalive = true, .resetsForgotten = true},
   "AWS Network Load Balancer: TCP idle timeout 350 s, reset by keepalive probes; a forgotten flow gets RST"},
  {"nat", kAsMiddlebox, {.idle = s(300), .countsKeepalive = true},
   "a NAT or stateful firewall; 300 s is a planning figure, not a standard (RFC 5382 asks at least 2 h 4 min, many devices use far less): give idle=, or measure it with `tether heartbeat --discover`"},
  {"azure-lb", kAsMiddlebox, {.idle = s(240), .countsKeepalive = true},
   "Azure Load Balancer: TCP idle timeout 4 min (4 to 100 min), refreshed by keepalive; RST on idle only if enabled"},
  {"conntrack", kAsMiddlebox, {.idle = s(432000), .countsKeepalive = true},
   "Linux conntrack: nf_conntrack_tcp_timeout_established 5 days"},
};
// clang-format on

}  // namespace

const HopPreset* findHopPreset(std::string_view name) noexcept {
  for (const HopPreset& p : kPresets)
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<std::string_view> hopPresetNames() {
  std::vector<std::string_view> names;
  for (const HopPreset& p : kPresets) names.push_back(p.name);
  return names;
}

}  // namespace tether::liveness
