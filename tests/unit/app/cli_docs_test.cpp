#include "cli_docs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tether::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A small program with the shapes tether uses: subcommands, a nested one, options with
// values and defaults, flags, a positional, a hidden option, text that roff would misread.
struct Demo {
  CLI::App app{"demo: keeps things alive", "demo"};
  int count = 3;
  bool fast = false;
  std::string url, secret, file;

  Demo() {
    app.require_subcommand(1);
    CLI::App* run = app.add_subcommand("run", "Run the thing");
    run->add_option("-c,--count", count, "how many - at most 9")->capture_default_str();
    run->add_flag("--fast", fast, "go fast\n.starts with a dot\n'and a quote; a\\b");
    run->add_option("--secret", secret, "not for users")->group("");
    CLI::App* nest = app.add_subcommand("nest", "Commands below");
    nest->require_subcommand(1);
    CLI::App* leaf = nest->add_subcommand("leaf", "The leaf");
    leaf->add_option("url", url, "where to go")->required();
    leaf->add_option("--file", file, "a file");
    addGeneratorFlags(app);
  }
};

// The text after the first `n` lines (the generated-by comments name the flags).
std::string afterFirstLines(const std::string& text, int n) {
  std::size_t pos = 0;
  for (int i = 0; i < n; ++i) pos = text.find('\n', pos) + 1;
  return text.substr(pos);
}
std::string afterFirstLine(const std::string& text) { return afterFirstLines(text, 1); }

TEST(ManPage, HeaderNameAndOneSectionPerCommand) {
  Demo d;
  std::string man = manPage(d.app, "9.9");
  EXPECT_THAT(man, HasSubstr(".TH DEMO 1 \"\" \"demo 9.9\" \"User Commands\"\n"));
  EXPECT_THAT(man, HasSubstr(".SH NAME\ndemo \\- keeps things alive\n"));
  EXPECT_THAT(man, HasSubstr(".SH SYNOPSIS\n\\fBdemo\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR\n.br\n"
                             "\\fBdemo run\\fR [\\fIOPTIONS\\fR]\n"));
  EXPECT_THAT(man, HasSubstr("\\fBdemo nest leaf\\fR [\\fIOPTIONS\\fR] \\fIurl\\fR\n"));
  for (const char* section :
       {".SH COMMANDS\n.TP\n\\fBrun\\fR\nRun the thing\n", ".SH OPTIONS\n", ".SH \"DEMO RUN\"\n",
        ".SH \"DEMO NEST\"\n", ".SH \"DEMO NEST LEAF\"\n", ".SH \"EXIT STATUS\"\n"}) {
    EXPECT_THAT(man, HasSubstr(section));
  }
  // nest lists its commands.
  EXPECT_THAT(man, HasSubstr("Commands:\n.TP\n\\fBleaf\\fR\nThe leaf\n"));
}

TEST(ManPage, OptionsAsHelpShowsThemEscaped) {
  Demo d;
  std::string man = manPage(d.app, "9.9");
  // Names and value as --help prints them ("-c,--count INT=3"), every '-' a literal \-.
  EXPECT_THAT(man,
              HasSubstr(".TP\n\\fB\\-c,\\-\\-count\\fR\\fI INT=3\\fR\nhow many \\- at most 9\n"));
  // Line breaks kept; a line starting with '.' or '\'' is protected; '\' is \e.
  EXPECT_THAT(man, HasSubstr(".TP\n\\fB\\-\\-fast\\fR\ngo fast\n.br\n\\&.starts with a dot\n.br\n"
                             "\\&'and a quote; a\\eb\n"));
  EXPECT_THAT(man, HasSubstr(".TP\n\\fBurl\\fR\\fI TEXT REQUIRED\\fR\nwhere to go\n"));
  // Hidden options (the generators' own flags too) stay out.
  EXPECT_THAT(man, Not(HasSubstr("secret")));
  EXPECT_THAT(afterFirstLine(man), Not(HasSubstr("generate")));
  EXPECT_THAT(man, HasSubstr("\\fB\\-h,\\-\\-help\\fR"));
}

TEST(ManPage, NoLineStartsWithAnUnintendedControlCharacter) {
  Demo d;
  std::string man = manPage(d.app, "9.9");
  std::size_t start = 0;
  while (start < man.size()) {
    std::size_t end = man.find('\n', start);
    std::string line = man.substr(start, end - start);
    if (!line.empty() && (line[0] == '.' || line[0] == '\'')) {
      EXPECT_TRUE(line.rfind(".TH ", 0) == 0 || line.rfind(".SH ", 0) == 0 ||
                  line.rfind(".SS ", 0) == 0 || line == ".TP" || line == ".PP" || line == ".nh" ||
                  line == ".br" || line.rfind(".\\\" ", 0) == 0)
          << line;
    }
    start = end + 1;
  }
}

TEST(BashCompletion, OneCasePerCommandWithItsOptions) {
  Demo d;
  std::string script = bashCompletion(d.app);
  EXPECT_THAT(script, HasSubstr("_demo() {\n"));
  EXPECT_THAT(script, HasSubstr("\ncomplete -F _demo demo\n"));
  EXPECT_THAT(script, HasSubstr("      /run|/nest|/nest/leaf) path="));
  EXPECT_THAT(script, HasSubstr("    \"\")\n      subs=\"run nest\"\n      opts=\"-h --help\"\n"
                                "      valued=\"\"\n"));
  EXPECT_THAT(script, HasSubstr("    \"/run\")\n      subs=\"\"\n"
                                "      opts=\"-h --help -c --count --fast\"\n"
                                "      valued=\"-c --count\"\n"));
  EXPECT_THAT(script, HasSubstr("    \"/nest/leaf\")\n      subs=\"\"\n"
                                "      opts=\"-h --help --file\"\n      valued=\"--file\"\n"));
  EXPECT_THAT(script, Not(HasSubstr("secret")));
  EXPECT_THAT(afterFirstLines(script, 2), Not(HasSubstr("generate")));
}

TEST(GeneratorFlags, PrintTheDocumentAndEndTheParseWithSuccess) {
  Demo d;
  testing::internal::CaptureStdout();
  EXPECT_THROW(d.app.parse(std::string("--generate-man")), CLI::Success);
  EXPECT_THAT(testing::internal::GetCapturedStdout(), HasSubstr(".SH \"DEMO NEST LEAF\"\n"));
  Demo e;
  testing::internal::CaptureStdout();
  EXPECT_THROW(e.app.parse(std::string("--generate-bash-completion")), CLI::Success);
  EXPECT_THAT(testing::internal::GetCapturedStdout(), HasSubstr("complete -F _demo demo\n"));
}

}  // namespace
}  // namespace tether::app
