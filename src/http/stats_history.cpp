#include "stats_history.h"

#include "json_line.h"

namespace tether::http {

StatsHistory::StatsHistory(std::size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

void StatsHistory::record(const ServerStatsSnapshot& s, std::int64_t unixMs) {
  Sample sample{unixMs, s.idle, s.reading, s.writing, s.lingering, s.accepted, s.requests};
  std::lock_guard lock(mutex_);
  ring_[next_] = sample;
  next_ = (next_ + 1) % ring_.size();
  if (size_ < ring_.size()) ++size_;
}

std::vector<StatsHistory::Sample> StatsHistory::samples() const {
  std::lock_guard lock(mutex_);
  std::vector<Sample> out;
  out.reserve(size_);
  std::size_t first = (next_ + ring_.size() - size_) % ring_.size();
  for (std::size_t i = 0; i < size_; ++i) out.push_back(ring_[(first + i) % ring_.size()]);
  return out;
}

std::string StatsHistory::json() const {
  json::Value list = json::Value::array();
  for (const Sample& s : samples()) {
    list.push_back({{"t", s.unixMs},
                    {"idle", s.idle},
                    {"reading", s.reading},
                    {"writing", s.writing},
                    {"lingering", s.lingering},
                    {"accepted", s.accepted},
                    {"requests", s.requests}});
  }
  json::Value doc = {
      {"interval_ms", 1000}, {"capacity", ring_.size()}, {"samples", std::move(list)}};
  return json::line(doc);
}

}  // namespace tether::http
