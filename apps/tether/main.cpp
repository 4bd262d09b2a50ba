// tether: HTTP keep-alive, TCP keepalive and heartbeat tools.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli_docs.h"
#include "commands.h"
#include "help_format.h"

namespace {

// "tether serve", "tether heartbeat connect": the deepest command the parser entered.
std::string commandPath(const CLI::App& app) {
  std::string path = "tether";
  const CLI::App* at = &app;
  for (bool deeper = true; deeper;) {
    deeper = false;
    for (const CLI::App* sub : at->get_subcommands()) {
      path += " " + sub->get_name();
      at = sub;
      deeper = true;
      break;
    }
  }
  return path;
}

// "tether: " and, below the top level, the command: the prefix every message
// of the tool starts with ("tether: heartbeat connect: ...").
std::string prefix(const std::string& path) {
  return path == "tether" ? "tether: " : "tether: " + path.substr(7) + ": ";
}

// One line naming the command and what was wrong; the options are in its --help.
int usageError(const CLI::App& app, const CLI::ParseError& e) {
  std::string where = commandPath(app);
  if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e)) {
    (void)extras;
    fmt::print(stderr, "{}{} (see {} --help)\n", prefix(where), e.what(), where);
  } else {
    fmt::print(stderr, "{}{}\n", prefix(where), e.what());
  }
  return 2;
}

std::string commandList(const CLI::App& app) {
  std::string list;
  for (const CLI::App* sub : app.get_subcommands({})) {
    list += (list.empty() ? "" : ", ") + sub->get_name();
  }
  return list;
}

// `tether frobnicate`, `tether heartbeat foo`, `tether heartbeat`: name the
// unknown word (or the missing one) and list the commands; CLI11 alone would
// say "A subcommand is required". Walks the leading words of the command line.
// Returns 2 after printing, or 0 when the words are fine.
int checkCommandWords(const CLI::App& app, int argc, char** argv) {
  const CLI::App* at = &app;
  std::string path = "tether";
  for (int i = 1; !at->get_subcommands({}).empty(); ++i) {
    if (i >= argc || argv[i][0] == '-') {
      if (at == &app || (i < argc && std::string_view(argv[i]) == "--help")) return 0;
      fmt::print(stderr, "{}a command is needed: {} (see {} --help)\n", prefix(path),
                 commandList(*at), path);
      return 2;
    }
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : at->get_subcommands({})) {
      if (sub->check_name(argv[i])) next = sub;
    }
    if (next == nullptr) {
      fmt::print(stderr, "{}unknown command '{}'; the commands are {} (see {} --help)\n",
                 prefix(path), argv[i], commandList(*at), path);
      return 2;
    }
    path += " " + next->get_name();
    at = next;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tether::app;
  CLI::App app{"tether: connections that stay alive when they should and die fast when they must",
               "tether"};
  app.formatter(std::make_shared<HelpFormatter>());  // inherited by every subcommand
  app.require_subcommand(1);
  app.set_version_flag("--version", "tether 0.1.0");
  // One line per subcommand; each lives in its own file.
  std::vector<Command> commands;
  commands.push_back(addServeCommand(app));
  commands.push_back(addBenchCommand(app));
  commands.push_back(addHeartbeatCommand(app));
  commands.push_back(addExplainCommand(app));
  commands.push_back(addInspectCommand(app));
  addGeneratorFlags(app);  // hidden: --generate-man, --generate-bash-completion
  if (argc == 1) {         // a bare `tether`: what it can do
    fmt::print("{}", app.help());
    return 0;
  }
  if (int code = checkCommandWords(app, argc, argv); code != 0) return code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usageError(app, e);
  }
  try {
    for (const Command& c : commands) {
      if (c.cli->parsed()) return c.run();
    }
    return 2;  // unreachable: require_subcommand(1)
  } catch (const UsageError& e) {
    fmt::print(stderr, "tether: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tether: {}\n", e.what());
    return 1;
  }
}
