// One style for every `--help`: `--name LABEL  Description (default: X)`.
// Option tables give each option a description (a capitalised phrase, no final
// period), a value label (DURATION, SIZE, N, ADDR:PORT, on|off|always...) and,
// when it has one, its default through CLI11's default_str; this formatter puts
// them in the same places for every command, so no table spells a default in
// its own way.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tether::app {

class HelpFormatter final : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;
};

/// Sets the value label shown in --help (e.g. "DURATION") on `opt`; returns it.
CLI::Option* label(CLI::Option* opt, const std::string& text);

}  // namespace tether::app
