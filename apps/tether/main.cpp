// tether: HTTP keep-alive, TCP keepalive and heartbeat tools.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <vector>

#include "cli_docs.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace tether::app;
  CLI::App app{"tether: connections that stay alive when they should and die fast when they must"};
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
    fmt::print(stderr, "tether: {}\n", e.what());
    return 2;
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
