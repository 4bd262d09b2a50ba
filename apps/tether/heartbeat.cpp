// `tether heartbeat serve|connect`: the application heartbeat tools
// (protocol: docs/heartbeat-protocol.md).
#include <memory>

#include "commands.h"
#include "heartbeat/options.h"

namespace tether::app {

Command addHeartbeatCommand(CLI::App& app) {
  using heartbeat::HeartbeatArgs;
  using heartbeat::Role;
  CLI::App* cmd = app.add_subcommand(
      "heartbeat",
      "Application heartbeat server and client (ping/pong over TCP, RTT, dead-peer "
      "detection)");
  cmd->require_subcommand(1);
  auto serveArgs = std::make_shared<HeartbeatArgs>();
  CLI::App* serve = cmd->add_subcommand(
      "serve",
      "Accept heartbeat clients, answer and send pings, close clients that stop answering");
  heartbeat::addHeartbeatOptions(*serve, *serveArgs, Role::kServe);
  auto connectArgs = std::make_shared<HeartbeatArgs>();
  CLI::App* connect = cmd->add_subcommand(
      "connect",
      "Keep one heartbeat connection; exit 0 at --duration or on a signal, 1 error, 2 usage, "
      "3 heartbeat timeout, 4 TCP keepalive/user timeout, 5 peer closed, 6 peer reset");
  heartbeat::addHeartbeatOptions(*connect, *connectArgs, Role::kConnect);
  return {cmd, [=] {
            return serve->parsed() ? heartbeat::runServe(*serveArgs)
                                   : heartbeat::runConnect(*connectArgs);
          }};
}

}  // namespace tether::app
