// Server::every's engine in virtual time: a Worker on a ManualClock runs its
// periodic call once per period, and no more once the shutdown has begun (so
// the loop can quit when drained).
#include <gtest/gtest.h>

#include "http/worker.h"
#include "tether/http/server.h"

namespace tether::http {
namespace {

class WorkerPeriodicTest : public ::testing::Test {
 protected:
  static ServerOptions oneWorker() {
    ServerOptions o;
    o.workers = 1;
    return o;
  }
  void runAt(Millis at) {
    clock.set(kStart + at);
    worker.loop().runOnce(0);
  }

  static constexpr Millis kStart = 1'000'000;
  core::ManualClock clock{kStart};
  Server server{oneWorker()};
  SharedCounters shared;
  Worker worker{server, {}, shared, -1, clock};
  int calls = 0;
};

TEST_F(WorkerPeriodicTest, RunsOncePerPeriodUntilTheShutdown) {
  worker.addPeriodic(1000, [this] { ++calls; });
  worker.startPeriodic();
  runAt(990);
  EXPECT_EQ(calls, 0);
  runAt(1010);
  EXPECT_EQ(calls, 1);
  runAt(1500);
  EXPECT_EQ(calls, 1);
  runAt(2020);
  EXPECT_EQ(calls, 2);
  worker.requestShutdown();
  runAt(2030);
  runAt(5000);
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace tether::http
