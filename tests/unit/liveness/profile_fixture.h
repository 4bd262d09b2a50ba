// Shorthand for keepalive profiles in the liveness unit tests.
#pragma once

#include "tether/liveness/keepalive_profile.h"

namespace tether::liveness::test_support {

inline KeepaliveProfile profile(bool on, int idle, int intvl, int cnt, Millis uto = 0) {
  KeepaliveProfile p;
  p.enabled = on;
  p.idleS = idle;
  p.intervalS = intvl;
  p.count = cnt;
  p.userTimeout = uto;
  return p;
}

}  // namespace tether::liveness::test_support
