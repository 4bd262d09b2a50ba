// The hop presets of `tether explain --path` (private to liveness).
#pragma once

#include <string_view>

#include "tether/liveness/timeout_ladder.h"

namespace tether::liveness {

enum HopRoles : unsigned {
  kAsClient = 1u << 0,
  kAsProxy = 1u << 1,  // also allowed first (a proxy as the client side) or last
  kAsServer = 1u << 2,
  kAsMiddlebox = 1u << 3,
};

struct HopPreset {
  std::string_view name;
  unsigned roles;      // HopRoles
  HopTimeouts values;  // `keepalive` is the setting; the hop closes at setting + grace
  std::string_view source;
  Millis grace = 0;         // idle wait beyond the setting (tether's grace, Node's buffer)
  bool advertises = false;  // sends `Keep-Alive: timeout=<setting>`
};

/// The preset called `name`, or nullptr.
const HopPreset* findHopPreset(std::string_view name) noexcept;

}  // namespace tether::liveness
