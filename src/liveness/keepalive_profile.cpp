#include "tether/liveness/keepalive_profile.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <stdexcept>

#include "tether/core/duration.h"
#include "tether/net/socket.h"

namespace tether::liveness {
namespace {

constexpr std::string_view kExamples = "examples: on, off, 30:1:3, 30m::10, 500ms:1s:3";

[[noreturn]] void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument(fmt::format("invalid keepalive '{}': {} ({})", spec, why, kExamples));
}

// IDLE or INTVL: a duration rounded up to whole seconds (the kernel's unit).
int parseSeconds(std::string_view spec, std::string_view name, std::string_view field, int max,
                 std::vector<std::string>* warnings) {
  auto ms = core::parseDuration(field);
  if (!ms) fail(spec, fmt::format("{} '{}' is not a duration", name, field));
  Millis seconds = (*ms + 999) / 1000;
  if (seconds < 1 || seconds > max) {
    fail(spec, fmt::format("{} '{}' is outside the kernel's range 1-{} s", name, field, max));
  }
  if (*ms % 1000 != 0 && warnings != nullptr) {
    warnings->push_back(fmt::format(
        "keepalive {} {} rounded up to {}s: the kernel counts keepalive time in whole seconds",
        name, core::formatDuration(*ms), seconds));
  }
  return static_cast<int>(seconds);
}

int parseCount(std::string_view spec, std::string_view field) {
  int value = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (ec != std::errc() || end != field.data() + field.size()) {
    fail(spec, fmt::format("count '{}' is not a whole number", field));
  }
  if (value < 1 || value > kMaxKeepCnt) {
    fail(spec, fmt::format("count {} is outside the kernel's range 1-{}", value, kMaxKeepCnt));
  }
  return value;
}

// Reads one integer sysctl; false when the file is missing or malformed.
bool readSysctl(const std::string& path, int& out) {
  std::ifstream in(path);
  long long value = 0;
  if (!(in >> value) || value < 0 || value > 1'000'000'000) return false;
  out = static_cast<int>(value);
  return true;
}

std::string secondsField(int s) { return s > 0 ? core::formatDuration(Millis{s} * 1000) : ""; }

}  // namespace

SystemKeepaliveDefaults readSystemKeepaliveDefaults(const std::string& dir) {
  SystemKeepaliveDefaults d;
  bool all = readSysctl(dir + "/tcp_keepalive_time", d.idleS);
  all = readSysctl(dir + "/tcp_keepalive_intvl", d.intervalS) && all;
  all = readSysctl(dir + "/tcp_keepalive_probes", d.count) && all;
  all = readSysctl(dir + "/tcp_retries2", d.retries2) && all;
  d.fromSystem = all;
  return d;
}

KeepaliveProfile parseKeepaliveProfile(std::string_view text, std::vector<std::string>* warnings) {
  KeepaliveProfile p;
  if (text == "off") return p;
  p.enabled = true;
  if (text == "on") return p;
  std::string_view fields[3];
  std::size_t n = 0;
  std::string_view rest = text;
  for (;;) {
    std::size_t colon = rest.find(':');
    if (n == 2 && colon != std::string_view::npos) fail(text, "more than three fields");
    fields[n++] = rest.substr(0, colon);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (fields[0].empty() && fields[1].empty() && fields[2].empty()) {
    fail(text, "expected on, off or IDLE:INTVL:CNT");
  }
  if (!fields[0].empty()) p.idleS = parseSeconds(text, "idle", fields[0], kMaxKeepIdleS, warnings);
  if (!fields[1].empty()) {
    p.intervalS = parseSeconds(text, "interval", fields[1], kMaxKeepIntvlS, warnings);
  }
  if (!fields[2].empty()) p.count = parseCount(text, fields[2]);
  return p;
}

Millis parseUserTimeout(std::string_view text) {
  auto ms = core::parseDuration(text);
  if (!ms) {
    throw std::invalid_argument(
        fmt::format("invalid user timeout '{}' (examples: 0, 500ms, 20s, 2m)", text));
  }
  if (*ms > kMaxUserTimeoutMs) {
    throw std::invalid_argument(fmt::format(
        "user timeout '{}' is outside the kernel's range 0-{} ms", text, kMaxUserTimeoutMs));
  }
  return *ms;
}

KeepaliveProfile resolveKeepaliveProfile(const KeepaliveProfile& profile,
                                         const SystemKeepaliveDefaults& system) {
  KeepaliveProfile r = profile;
  if (r.idleS == 0) r.idleS = system.idleS;
  if (r.intervalS == 0) r.intervalS = system.intervalS;
  if (r.count == 0) r.count = system.count;
  return r;
}

std::string formatKeepaliveSpec(const KeepaliveProfile& p) {
  if (!p.enabled) return "off";
  if (p.idleS == 0 && p.intervalS == 0 && p.count == 0) return "on";
  return fmt::format("{}:{}:{}", secondsField(p.idleS), secondsField(p.intervalS),
                     p.count > 0 ? std::to_string(p.count) : "");
}

bool applyKeepaliveProfile(int fd, const KeepaliveProfile& p) {
  if (p.enabled && !net::setKeepalive(fd, true, p.idleS, p.intervalS, p.count)) return false;
  return p.userTimeout == 0 || net::setUserTimeout(fd, static_cast<unsigned>(p.userTimeout));
}

}  // namespace tether::liveness
