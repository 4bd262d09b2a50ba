#include "tether/liveness/adaptive_interval.h"

#include <algorithm>

namespace tether::liveness {

std::string_view validateAdaptiveSettings(const AdaptiveSettings& s) noexcept {
  if (s.min <= 0) return "min must be greater than 0";
  if (s.step <= 0) return "step must be greater than 0";
  if (s.margin < 0) return "margin must not be negative";
  if (s.max - s.margin < s.min) return "max minus margin must not be below min";
  if (s.successesPerStep < 1) return "successes per step must be at least 1";
  if (s.failuresAllowed < 1) return "failures allowed must be at least 1";
  if (s.warmupSuccesses < 0) return "warm-up successes must not be negative";
  if (s.reprobeAfter <= 0) return "re-probe period must be greater than 0";
  return {};
}

AdaptiveInterval::AdaptiveInterval(const AdaptiveSettings& s, Millis now)
    : settings_(s), current_(s.min), lastChange_(now) {}

void AdaptiveInterval::onConnected() noexcept {
  warmup_ = 0;
  successes_ = 0;
}

AdaptiveInterval::Change AdaptiveInterval::set(Millis interval, State state, Millis now,
                                               Change change) noexcept {
  current_ = std::clamp(interval, settings_.min, cap());
  state_ = state;
  lastChange_ = now;
  successes_ = 0;
  failures_ = 0;
  return change;
}

AdaptiveInterval::Change AdaptiveInterval::onSuccess(Millis interval, Millis now) noexcept {
  if (!warm()) {
    if (++warmup_ < settings_.warmupSuccesses || current_ == settings_.min) return Change::kNone;
    return Change::kWarmedUp;  // next() moves from min to current_
  }
  if (interval != current_) return Change::kNone;
  failures_ = 0;
  if (state_ == State::kStable) {
    if (now - lastChange_ >= settings_.reprobeAfter && current_ < cap()) {
      return set(current_ + settings_.margin, State::kSearching, now, Change::kReprobe);
    }
    return Change::kNone;
  }
  if (++successes_ < settings_.successesPerStep) return Change::kNone;
  if (current_ >= cap()) return set(cap(), State::kStable, now, Change::kSettled);
  return set(current_ + settings_.step, State::kSearching, now, Change::kStepUp);
}

AdaptiveInterval::Change AdaptiveInterval::onFailure(Millis interval, Millis now) noexcept {
  successes_ = 0;
  if (!warm() || interval != current_ || current_ <= settings_.min) return Change::kNone;
  if (++failures_ < settings_.failuresAllowed) return Change::kNone;
  if (state_ == State::kStable) return set(settings_.min, State::kSearching, now, Change::kRecalc);
  return set(current_ - settings_.step - settings_.margin, State::kStable, now, Change::kSettled);
}

std::string_view adaptiveStateName(AdaptiveInterval::State s) noexcept {
  return s == AdaptiveInterval::State::kStable ? "stable" : "searching";
}

std::string_view adaptiveChangeName(AdaptiveInterval::Change c) noexcept {
  switch (c) {
    case AdaptiveInterval::Change::kNone: return "none";
    case AdaptiveInterval::Change::kStepUp: return "step_up";
    case AdaptiveInterval::Change::kSettled: return "settled";
    case AdaptiveInterval::Change::kRecalc: return "recalc";
    case AdaptiveInterval::Change::kReprobe: return "reprobe";
    case AdaptiveInterval::Change::kWarmedUp: return "warmed_up";
  }
  return "none";
}

}  // namespace tether::liveness
