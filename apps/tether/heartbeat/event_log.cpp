#include "heartbeat/event_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tether/core/round.h"
#include "tether/core/time.h"

namespace tether::app::heartbeat {
namespace {

std::int64_t monotonicMicros() noexcept { return core::monotonicClock().nanos() / 1000; }

}  // namespace

EventLog::EventLog(bool json, std::FILE* out)
    : startUs_(monotonicMicros()), json_(json), out_(out) {}

double EventLog::elapsedSeconds() const noexcept {
  return static_cast<double>(monotonicMicros() - startUs_) / 1e6;
}

void EventLog::emit(std::string_view event, const json::Value& fields, std::string_view human) {
  double t = elapsedSeconds();
  if (json_) {
    json::Value doc = {{"t", core::roundDecimals(t, 3)}, {"event", std::string(event)}};
    if (fields.is_object()) doc.update(fields);
    fmt::print(out_, "{}", json::line(doc));
  } else {
    fmt::print(out_, "[{:9.3f}] {}\n", t, human);
  }
  std::fflush(out_);
}

double eventMs(double ms) { return core::roundDecimals(ms, 3); }

void RttStats::add(double ms) {
  min_ = samples_.empty() ? ms : std::min(min_, ms);
  max_ = samples_.empty() ? ms : std::max(max_, ms);
  sum_ += ms;
  samples_.push_back(ms);
}

double RttStats::percentile(double p) const {
  if (samples_.empty()) return 0;
  std::vector<double> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace tether::app::heartbeat
