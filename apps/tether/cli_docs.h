// The tether(1) man page and the bash completion script, generated from the CLI11 tree that
// also prints --help, so the three cannot drift apart. The build runs the hidden flags
// (`tether --generate-man`, `tether --generate-bash-completion`) and installs their output.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tether::app {

/// roff (man(7) macros) source of the man page of `app`: NAME, SYNOPSIS, DESCRIPTION, the
/// top-level options, then one section per subcommand (nested ones too, e.g. "TETHER HEARTBEAT
/// SERVE") with its description and every visible option as `--help` shows it.
std::string manPage(const CLI::App& app, std::string_view version);

/// A bash completion script for `app`: subcommand names, then each command's options; the
/// value of an option that takes one completes as a file name.
std::string bashCompletion(const CLI::App& app);

/// Registers the hidden flags --generate-man and --generate-bash-completion on `app`. Each
/// prints its document (for the app as finally built, with the project's version from the
/// build) to stdout and ends the parse with CLI::Success, which main() turns into exit code 0.
void addGeneratorFlags(CLI::App& app);

namespace docs {

/// One command of the tree: its words after the program name ("heartbeat serve"; empty for
/// the program itself) and its definition.
struct CommandNode {
  std::string path;
  const CLI::App* app;
};

/// The program and its named subcommands, depth first, in definition order.
std::vector<CommandNode> commandTree(const CLI::App& app);

/// The options --help lists (hidden ones, in the group "", are left out); positionals first.
std::vector<const CLI::Option*> visibleOptions(const CLI::App& app);

/// The program's name: the file name of argv[0] once parsed ("tether" if unnamed).
std::string programName(const CLI::App& app);

/// The named subcommands of `app`, in definition order.
std::vector<const CLI::App*> subcommands(const CLI::App& app);

}  // namespace docs
}  // namespace tether::app
