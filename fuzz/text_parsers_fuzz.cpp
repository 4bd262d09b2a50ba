// The parsers of command-line values and of request-path rules on arbitrary
// text: durations, sizes, keepalive profiles, user timeouts, Host values,
// request targets and Transfer-Encoding lists. Invariants: no crash, only the
// documented exception (std::invalid_argument) for bad input, and a parsed
// duration prints back to text that parses to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_rules.h"
#include "tether/core/duration.h"
#include "tether/liveness/keepalive_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto ms = tether::core::parseDuration(text)) {
    auto again = tether::core::parseDuration(tether::core::formatDuration(*ms));
    if (!again || *again != *ms) std::abort();
  }
  tether::core::parseSize(text);
  std::vector<std::string> warnings;
  try {
    tether::liveness::parseKeepaliveProfile(text, &warnings);
  } catch (const std::invalid_argument&) {
  }
  try {
    tether::liveness::parseUserTimeout(text);
  } catch (const std::invalid_argument&) {
  }
  tether::http::validHost(text);
  tether::http::checkTarget("GET", text);
  tether::http::checkTarget("OPTIONS", text);
  int te = tether::http::checkTransferEncoding(text, false);
  if (te != 0 && te != 400 && te != 501) std::abort();
  return 0;
}
