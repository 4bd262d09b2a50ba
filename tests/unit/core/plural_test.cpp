#include "tether/core/plural.h"

#include <gtest/gtest.h>

namespace tether::core {
namespace {

TEST(Counted, SingularOnlyForOne) {
  EXPECT_EQ(counted(0, "connection"), "0 connections");
  EXPECT_EQ(counted(1, "connection"), "1 connection");
  EXPECT_EQ(counted(2, "request"), "2 requests");
  EXPECT_EQ(counted(18446744073709551615ULL, "byte"), "18446744073709551615 bytes");
}

}  // namespace
}  // namespace tether::core
