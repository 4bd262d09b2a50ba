// Counts in messages: "1 connection", "2 connections", "0 connections". Pure;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tether::core {

/// `n` and `noun`, with an "s" unless n == 1 (regular English nouns only).
std::string counted(std::uint64_t n, std::string_view noun);

}  // namespace tether::core
