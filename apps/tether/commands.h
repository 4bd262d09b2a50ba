// Subcommands of the `tether` tool. Each registers its options on the CLI11 app
// and returns the function that runs it (exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>

namespace tether::app {

using Runner = std::function<int()>;

/// A registered subcommand: main() runs `run` when `cli` was the one parsed.
struct Command {
  CLI::App* cli;
  Runner run;
};

/// A bad option value found after parsing; main() prints it on one line, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One function per subcommand (one file each), called by main() in this order.
Command addServeCommand(CLI::App& app);
Command addBenchCommand(CLI::App& app);
Command addHeartbeatCommand(CLI::App& app);
Command addExplainCommand(CLI::App& app);
Command addInspectCommand(CLI::App& app);

}  // namespace tether::app
