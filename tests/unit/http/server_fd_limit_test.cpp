// The library leaves process-wide state alone: Server::bind() derives its
// connection limit from the soft RLIMIT_NOFILE without raising it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "tether/http/server.h"

namespace tether::http {
namespace {

TEST(ServerFdLimit, BindDerivesTheLimitWithoutRaisingIt) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  constexpr rlim_t kSoft = 256;
  if (before.rlim_max != RLIM_INFINITY && before.rlim_max <= kSoft) {
    GTEST_SKIP() << "hard RLIMIT_NOFILE " << before.rlim_max << " leaves nothing to raise";
  }
  rlimit lowered = before;
  lowered.rlim_cur = kSoft;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  rlimit after{};
  std::uint64_t maxConnections = 0;
  {
    ServerOptions o;
    o.listen.push_back(*net::parseSocketAddress("127.0.0.1:0"));
    o.workers = 1;
    Server server(o);
    server.bind();
    maxConnections = server.maxConnections();
    getrlimit(RLIMIT_NOFILE, &after);
  }
  setrlimit(RLIMIT_NOFILE, &before);
  EXPECT_EQ(after.rlim_cur, kSoft);
  EXPECT_EQ(maxConnections, kSoft - 64);
}

}  // namespace
}  // namespace tether::http
