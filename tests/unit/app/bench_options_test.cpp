#include "bench_options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "commands.h"

namespace tether::app {
namespace {

tools::bench::BenchConfig parse(std::vector<std::string> argv) {
  CLI::App cmd;
  BenchArgs args;
  addBenchOptions(cmd, args);
  std::reverse(argv.begin(), argv.end());  // CLI11 takes a reversed vector
  cmd.parse(argv);
  return toBenchConfig(args);
}

TEST(BenchOptions, DefaultsLikeWrk) {
  auto c = parse({"http://127.0.0.1:8080/plaintext"});
  EXPECT_EQ(c.connections, 64);
  EXPECT_EQ(c.threads, 1);
  EXPECT_EQ(c.pipeline, 1);
  EXPECT_EQ(c.duration, 10'000);
  EXPECT_EQ(c.requests, 0u);
  EXPECT_EQ(c.timeout, 2'000);
  EXPECT_TRUE(c.keepAlive);
  EXPECT_EQ(c.target.toString(), "127.0.0.1:8080");
  EXPECT_EQ(c.request, "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

TEST(BenchOptions, EveryOption) {
  auto c = parse({"http://[::1]:9000",
                  "-c",
                  "8",
                  "-t",
                  "2",
                  "-n",
                  "100",
                  "--no-keepalive",
                  "-m",
                  "PUT",
                  "-H",
                  "X-A: 1",
                  "--header",
                  "X-B: 2",
                  "--body",
                  "xy",
                  "--timeout",
                  "500ms",
                  "--rate",
                  "250",
                  "--warmup",
                  "1s"});
  EXPECT_EQ(c.connections, 8);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.requests, 100u);
  EXPECT_FALSE(c.keepAlive);
  EXPECT_EQ(c.timeout, 500);
  EXPECT_DOUBLE_EQ(c.rate, 250);
  EXPECT_EQ(c.warmup, 1'000);
  EXPECT_EQ(c.target.toString(), "[::1]:9000");
  EXPECT_EQ(c.request,
            "PUT / HTTP/1.1\r\nHost: [::1]:9000\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\nxy");
}

TEST(BenchOptions, UrlForms) {
  EXPECT_EQ(parseHttpUrl("http://example.test").port, 80);
  EXPECT_EQ(parseHttpUrl("http://example.test").target, "/");
  EXPECT_EQ(parseHttpUrl("http://a:81?q=1").target, "/?q=1");
  EXPECT_EQ(parseHttpUrl("http://a:81/p#frag").target, "/p");
  EXPECT_EQ(parseHttpUrl("http://[::1]/x").host, "::1");
  EXPECT_EQ(parseHttpUrl("http://localhost:8080/").authority, "localhost:8080");
}

TEST(BenchOptions, HttpsBuildsAClientContextAndNamesTheHost) {
  auto c = parse({"https://localhost:8443/x", "-k"});
  ASSERT_NE(c.tls, nullptr);
  EXPECT_TRUE(c.tlsResume);
  EXPECT_FALSE(parse({"https://localhost:8443/x", "-k", "--no-tls-resume"}).tlsResume);
  EXPECT_EQ(c.tlsServerName, "localhost");
  EXPECT_EQ(c.target.port(), 8443);
  EXPECT_EQ(parse({"http://127.0.0.1:8080/", "--cacert", "/nonexistent"}).tls, nullptr)
      << "http: the TLS options are ignored, as curl does";
}

TEST(BenchOptions, BadValuesAreUsageErrors) {
  std::vector<std::vector<std::string>> bad = {
      {"https://127.0.0.1/", "--cacert", "/nonexistent/ca.pem"},
      {"127.0.0.1:8080"},
      {"http://:80/"},
      {"http://127.0.0.1:0/"},
      {"http://127.0.0.1:99999/"},
      {"http://127.0.0.1:8x/"},
      {"http://[::1/"},
      {"http://127.0.0.1/", "-c", "0"},
      {"http://127.0.0.1/", "-t", "3", "-c", "2"},
      {"http://127.0.0.1/", "--pipeline", "0"},
      {"http://127.0.0.1/", "-d", "1s", "-n", "5"},
      {"http://127.0.0.1/", "-n", "0"},
      {"http://127.0.0.1/", "-n", "-3"},
      {"http://127.0.0.1/", "-d", "soon"},
      {"http://127.0.0.1/", "-d", "0"},
      {"http://127.0.0.1/", "--timeout", "0"},
      {"http://127.0.0.1/", "--rate", "-1"},
      {"http://127.0.0.1/", "--rate", "10", "--pipeline", "4"},
      {"http://127.0.0.1/", "--no-keepalive", "--pipeline", "4"},
      {"http://127.0.0.1/", "--body", "x", "--body-file", "/etc/hostname"},
      {"http://127.0.0.1/", "--body-file", "/nonexistent/file"},
      {"http://127.0.0.1/", "-H", "no colon"},
      {"http://127.0.0.1/", "-m", "GE T"},
      {"http://127.0.0.1/", "--warmup", "x"},
  };
  for (const auto& argv : bad) {
    EXPECT_THROW(parse(argv), UsageError) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "");
  }
}

}  // namespace
}  // namespace tether::app
