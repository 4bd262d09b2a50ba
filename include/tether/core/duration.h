// Parsing and printing of the human units used on every command line:
// durations in nginx style (`500ms`, `30s`, `5m`, `1h`; a bare number means
// seconds) and sizes (`512`, `16k`, `1m`, `2g`; binary multiples).
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tether/core/time.h"

namespace tether::core {

/// Parses a non-negative duration into milliseconds. Units: ms, s, m, h; a bare
/// number is seconds. Compound forms (`1m30s`) are accepted, as nginx does, and
/// decimal fractions (`1.5s`, `0.25`) as curl and Go do, when they come out in
/// whole milliseconds (`0.5ms` is an error).
/// Returns nullopt on syntax errors and on values beyond ~290 million years.
std::optional<Millis> parseDuration(std::string_view text);

/// Parses a byte size: a number with an optional k, m or g suffix (case-insensitive,
/// powers of 1024). Returns nullopt on syntax errors or overflow.
std::optional<std::uint64_t> parseSize(std::string_view text);

/// Formats milliseconds compactly for humans and logs: `75s`, `1500ms`, `2m`, `1h`.
std::string formatDuration(Millis ms);

}  // namespace tether::core
