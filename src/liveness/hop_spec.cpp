// Parsing the chain of `tether explain --path`: `NAME[:KEY=VALUE,...]` per hop.
#include <fmt/format.h>

#include <stdexcept>

#include "hop_presets.h"
#include "tether/core/duration.h"
#include "tether/liveness/timeout_ladder.h"

namespace tether::liveness {
namespace {

[[noreturn]] void fail(std::string message) { throw std::invalid_argument(std::move(message)); }

// A duration, or a word: none/never (no limit) and off (0: the feature is off).
Millis parseValue(std::string_view hop, std::string_view key, std::string_view text) {
  if (text == "none" || text == "never") return kNoLimit;
  if (text == "off") return 0;
  auto d = core::parseDuration(text);
  if (!d || *d < 0)
    fail(fmt::format("{}: {}={}: not a duration (e.g. 60s, 5m, none, off)", hop, key, text));
  return *d;
}

struct Settings {
  Millis keepalive = kNoLimit - 1;  // below kNoLimit: "not given"
  Millis pool = kNoLimit - 1;
  Millis hint = kNoLimit - 1;
  Millis hintMargin = kNoLimit - 1;
  Millis tcpKeepalive = kNoLimit - 1;
  Millis idle = kNoLimit - 1;
  std::string given;  // "key=value, ..." as written, for the source line
};
constexpr Millis kUnset = kNoLimit - 1;

Millis* slotFor(Settings& st, std::string_view key) {
  if (key == "keepalive") return &st.keepalive;
  if (key == "pool" || key == "upstream") return &st.pool;
  if (key == "hint") return &st.hint;
  if (key == "hint-margin") return &st.hintMargin;
  if (key == "tcpka") return &st.tcpKeepalive;
  if (key == "idle") return &st.idle;
  return nullptr;
}

Settings parseSettings(std::string_view hop, std::string_view list) {
  Settings st;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) fail(fmt::format("{}: '{}' is not KEY=VALUE", hop, item));
    std::string_view key = item.substr(0, eq);
    Millis* slot = slotFor(st, key);
    if (slot == nullptr)
      fail(fmt::format(
          "{}: unknown key '{}' (keepalive, pool/upstream, idle, hint, hint-margin, tcpka)", hop,
          key));
    *slot = parseValue(hop, key, item.substr(eq + 1));
    st.given += fmt::format("{}{}", st.given.empty() ? "" : ", ", item);
  }
  return st;
}

// Applies the user's values on top of the preset's, as the hop's role reads them.
HopTimeouts apply(const HopPreset& p, HopRole role, const Settings& st) {
  HopTimeouts t = p.values;
  Millis setting = p.values.keepalive;
  if (st.idle != kUnset) {  // "idle" is the natural idle limit of the role
    if (role == HopRole::kMiddlebox) t.idle = st.idle;
    if (role == HopRole::kClient || role == HopRole::kProxy) t.pool = st.idle;
    if (role == HopRole::kServer || role == HopRole::kProxy) setting = st.idle;
  }
  if (st.keepalive != kUnset) setting = st.keepalive;
  if (st.pool != kUnset) t.pool = st.pool;
  if (st.hintMargin != kUnset) t.hintMargin = st.hintMargin == 0 ? kNoLimit : st.hintMargin;
  if (st.tcpKeepalive != kUnset) t.tcpKeepalive = st.tcpKeepalive == 0 ? kNoLimit : st.tcpKeepalive;
  bool limited = setting > 0;  // 0: keep-alive off; kNoLimit: no idle timeout
  t.keepalive = limited ? setting + p.grace : setting;
  t.hint = p.advertises && limited ? setting : kNoLimit;
  if (st.hint != kUnset) t.hint = st.hint == 0 ? kNoLimit : st.hint;
  return t;
}

bool allows(const HopPreset& p, HopRole role) {
  switch (role) {
    case HopRole::kClient: return (p.roles & (kAsClient | kAsProxy)) != 0;
    case HopRole::kProxy: return (p.roles & kAsProxy) != 0;
    case HopRole::kServer: return (p.roles & (kAsServer | kAsProxy)) != 0;
    case HopRole::kMiddlebox: return (p.roles & kAsMiddlebox) != 0;
  }
  return false;
}

std::string knownNames() {
  std::string out;
  for (std::string_view n : hopPresetNames())
    out += fmt::format("{}{}", out.empty() ? "" : ", ", n);
  return out;
}

}  // namespace

const char* hopRoleName(HopRole r) noexcept {
  switch (r) {
    case HopRole::kClient: return "client";
    case HopRole::kProxy: return "proxy";
    case HopRole::kServer: return "server";
    case HopRole::kMiddlebox: return "middlebox";
  }
  return "?";
}

std::vector<Hop> parsePath(const std::vector<std::string>& specs) {
  std::vector<const HopPreset*> presets;
  std::vector<std::string_view> lists;
  std::size_t firstHttp = specs.size(), lastHttp = 0, httpHops = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    std::string_view spec = specs[i];
    std::size_t colon = spec.find(':');
    std::string_view name = spec.substr(0, colon);
    const HopPreset* p = findHopPreset(name);
    if (p == nullptr) fail(fmt::format("unknown hop '{}' (known: {})", name, knownNames()));
    presets.push_back(p);
    lists.push_back(colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1));
    if (p->roles != kAsMiddlebox) {
      firstHttp = std::min(firstHttp, i);
      lastHttp = i;
      ++httpHops;
    }
  }
  if (httpHops < 2) fail("a path needs at least two HTTP hops (e.g. client ... server)");
  if (firstHttp != 0 || lastHttp != specs.size() - 1)
    fail("a middlebox sits between two HTTP hops, never at an end of the path");
  std::vector<Hop> hops;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const HopPreset& p = *presets[i];
    HopRole role = p.roles == kAsMiddlebox ? HopRole::kMiddlebox
                   : i == 0                ? HopRole::kClient
                   : i + 1 == specs.size() ? HopRole::kServer
                                           : HopRole::kProxy;
    if (!allows(p, role))
      fail(fmt::format("{} cannot be a {} (hop {} of {})", p.name, hopRoleName(role), i + 1,
                       specs.size()));
    if (role == HopRole::kClient && (p.roles & kAsProxy) != 0)
      role = HopRole::kProxy;  // a proxy first
    Settings st = parseSettings(p.name, lists[i]);
    Hop h;
    h.name = std::string(p.name);
    h.role = role;
    h.t = apply(p, role, st);
    h.source = std::string(p.source);
    if (!st.given.empty()) h.source += fmt::format(" (your values: {})", st.given);
    hops.push_back(std::move(h));
  }
  return hops;
}

}  // namespace tether::liveness
