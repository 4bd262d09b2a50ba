#include "heartbeat/event_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "json_doc.h"

namespace tether::app::heartbeat {
namespace {

using jsondoc::keysOf;

// What an EventLog printed, line by line.
class Captured {
 public:
  Captured() : file_(open_memstream(&data_, &size_)) {}
  ~Captured() {
    std::fclose(file_);
    std::free(data_);
  }
  std::FILE* file() { return file_; }
  std::vector<std::string> lines() const {  // emit() flushes: data_ is current
    std::vector<std::string> out;
    std::istringstream in(std::string(data_, size_));
    for (std::string line; std::getline(in, line);) out.push_back(line + "\n");
    return out;
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

TEST(EventLog, JsonLinesWithTimeEventThenFields) {
  Captured out;
  EventLog log(true, out.file());
  log.emit("connected", {{"peer", "127.0.0.1:9000"}}, "connected to 127.0.0.1:9000");
  log.emit("pong", {{"peer", "a\"b"}, {"rtt_ms", eventMs(0.0812345)}}, "");
  log.emit("closed", {{"reason", "peer_closed"}, {"since_last_read_ms", 12}, {"detail", "bye\n"}},
           "");
  log.emit("discovered", {{"outcome", "no_timeout"}, {"idle_timeout_ms", nullptr}}, "");
  auto lines = out.lines();  // each emit() is one line, flushed
  ASSERT_EQ(lines.size(), 4u);

  auto connected = jsondoc::parseJsonLine(lines[0]);
  EXPECT_EQ(keysOf(connected), (std::vector<std::string>{"t", "event", "peer"}));
  EXPECT_TRUE(connected["t"].is_number_float());
  EXPECT_GE(connected["t"].get<double>(), 0.0);
  EXPECT_EQ(connected["event"], "connected");

  auto pong = jsondoc::parseJsonLine(lines[1]);
  EXPECT_EQ(keysOf(pong), (std::vector<std::string>{"t", "event", "peer", "rtt_ms"}));
  EXPECT_EQ(pong["peer"], "a\"b");
  EXPECT_EQ(pong["rtt_ms"], 0.081);  // to the microsecond

  auto closed = jsondoc::parseJsonLine(lines[2]);
  EXPECT_EQ(keysOf(closed),
            (std::vector<std::string>{"t", "event", "reason", "since_last_read_ms", "detail"}));
  EXPECT_TRUE(closed["since_last_read_ms"].is_number_integer());
  EXPECT_EQ(closed["detail"], "bye\n");

  auto discovered = jsondoc::parseJsonLine(lines[3]);
  EXPECT_TRUE(discovered["idle_timeout_ms"].is_null());
}

TEST(EventLog, HumanLinesCarryTheText) {
  Captured out;
  EventLog log(false, out.file());
  log.emit("connected", {{"peer", "127.0.0.1:9000"}}, "connected to 127.0.0.1:9000");
  auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].front(), '[');
  EXPECT_NE(lines[0].find("] connected to 127.0.0.1:9000\n"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace tether::app::heartbeat
