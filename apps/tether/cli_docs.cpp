#include "cli_docs.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace tether::app {
namespace docs {

std::string programName(const CLI::App& app) {
  std::string name = app.get_name();
  if (auto slash = name.rfind('/'); slash != std::string::npos) name.erase(0, slash + 1);
  return name.empty() ? "tether" : name;
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) {
    return !sub->get_name().empty() && !sub->get_disabled() && !sub->get_group().empty();
  });
}

namespace {
void collect(const CLI::App& app, const std::string& path, std::vector<CommandNode>& out) {
  out.push_back({path, &app});
  for (const CLI::App* sub : subcommands(app)) {
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
}
}  // namespace

std::vector<CommandNode> commandTree(const CLI::App& app) {
  std::vector<CommandNode> out;
  collect(app, "", out);
  return out;
}

std::vector<const CLI::Option*> visibleOptions(const CLI::App& app) {
  auto options = app.get_options([](const CLI::Option* o) { return o->get_positional(); });
  for (const CLI::Option* o : app.get_options(
           [](const CLI::Option* o) { return o->nonpositional() && !o->get_group().empty(); })) {
    options.push_back(o);
  }
  return options;
}

}  // namespace docs

void addGeneratorFlags(CLI::App& app) {
  CLI::App* root = &app;
  app.add_flag_callback(
         "--generate-man",
         [root] {
           std::fputs(manPage(*root, TETHER_VERSION).c_str(), stdout);
           throw CLI::Success();
         },
         "print the man page (roff) and exit")
      ->group("");
  app.add_flag_callback(
         "--generate-bash-completion",
         [root] {
           std::fputs(bashCompletion(*root).c_str(), stdout);
           throw CLI::Success();
         },
         "print the bash completion script and exit")
      ->group("");
}

}  // namespace tether::app
