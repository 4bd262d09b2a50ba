#include "tools/bench/bench_timewait.h"

#include <gtest/gtest.h>

#include <string>

namespace tether::tools::bench {
namespace {

// Lines in the kernel's format (net/ipv4/tcp_ipv4.c get_tcp4_sock / tw sock).
constexpr const char* kTcp4 =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
    "0 1001 1 0000000000000000 100 0 0 10 0\n"  // listener
    "   1: 0100007F:1F90 0100007F:9C40 06 00000000:00000000 03:00001770 00000000     0        "
    "0 0 3 0000000000000000\n"  // server TW
    "   2: 0100007F:1F90 0100007F:9C41 06 00000000:00000000 03:00001770 00000000     0        "
    "0 0 3 0000000000000000\n"  // server TW
    "   3: 0100007F:9C42 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        "
    "0 0 3 0000000000000000\n"  // client TW
    "   4: 0100007F:9C43 0100007F:1F90 05 00000000:00000000 00:00000000 00000000     0        "
    "0 0 1 0000000000000000\n"  // FIN_WAIT2
    "   5: 0100007F:1F91 0100007F:9C44 06 00000000:00000000 03:00001770 00000000     0        "
    "0 0 3 0000000000000000\n"  // other port
    "   6: garbage\n";

constexpr const char* kTcp6 =
    "  sl  local_address                         remote_address                        st\n"
    "   0: 00000000000000000000000001000000:9C45 00000000000000000000000001000000:1F90 06 "
    "00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";

TEST(BenchTimeWait, CountsBySideForThePort) {
  PortSocketCounts c;
  countTcpTable(kTcp4, 8080, c);
  EXPECT_EQ(c.serverTimeWait, 2u);
  EXPECT_EQ(c.clientTimeWait, 1u);
  EXPECT_EQ(c.clientClosing, 1u);
  EXPECT_EQ(c.serverClosing, 0u);
  countTcpTable(kTcp6, 8080, c);
  EXPECT_EQ(c.clientTimeWait, 2u);
}

TEST(BenchTimeWait, ASocketPrintedTwiceCountsOnce) {
  // The kernel prints the table in pieces; a socket that moved between two
  // reads comes out again under another slot number.
  std::string twice = std::string(kTcp4) +
                      "   7: 0100007F:1F90 0100007F:9C40 06 00000000:00000000 03:00001770 "
                      "00000000     0        0 0 3 0000000000000000\n";
  PortSocketCounts c;
  countTcpTable(twice, 8080, c);
  EXPECT_EQ(c.serverTimeWait, 2u);
}

TEST(BenchTimeWait, OtherPortAndEmptyInput) {
  PortSocketCounts c;
  countTcpTable(kTcp4, 8081, c);
  EXPECT_EQ(c.serverTimeWait, 1u);
  EXPECT_EQ(c.clientTimeWait, 0u);
  PortSocketCounts e;
  countTcpTable("", 8080, e);
  countTcpTable("no newline", 8080, e);
  EXPECT_EQ(e.serverTimeWait + e.clientTimeWait, 0u);
}

TEST(BenchTimeWait, OwnPortsKeepOnlyTheRunsConnections) {
  // Only 0x9C40 (server TW) and 0x9C42 (client TW) are the run's client ports;
  // 0x9C41 stands for another process's connection that shares the port.
  PortSet own;
  own.set(0x9C40);
  own.set(0x9C42);
  PortSocketCounts c;
  countTcpTable(kTcp4, 8080, c, &own);
  EXPECT_EQ(c.serverTimeWait, 1u);
  EXPECT_EQ(c.clientTimeWait, 1u);
  EXPECT_EQ(c.clientClosing, 0u);
}

TEST(BenchTimeWait, ReadsTheRealTables) {
  // /proc is always there on Linux; the numbers depend on the host.
  EXPECT_TRUE(readPortSocketCounts(1).has_value());
}

}  // namespace
}  // namespace tether::tools::bench
