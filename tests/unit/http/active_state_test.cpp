#include "http/active_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace tether::http {
namespace {

// Copies as much of `wire` (from `fed`) as fits after `a.end`, as a read would.
void readInto(ActiveState& a, const std::string& wire, std::size_t& fed) {
  std::size_t n = std::min<std::size_t>(a.capacity - a.end, wire.size() - fed);
  std::memcpy(a.buffer.get() + a.end, wire.data() + fed, n);
  a.end += static_cast<std::uint32_t>(n);
  fed += n;
}

RequestParser::Event parseAll(ActiveState& a) {
  std::size_t consumed = 0;
  const char* base = a.buffer.get();
  auto ev = a.parser.execute(base, base + a.parsed, a.end - a.parsed, consumed);
  a.parsed += static_cast<std::uint32_t>(consumed);
  return ev;
}

TEST(ActiveState, CompactMovesAPartialHeadToTheFrontAndItsOffsetsWithIt) {
  std::string first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string second = "GET /two HTTP/1.1\r\nHost: b\r\nX-Long: 0123456789\r\n\r\n";
  std::string wire = first + second;
  ActiveState a(64);
  a.parser.reset(1024);
  std::size_t fed = 0;
  readInto(a, wire, fed);
  ASSERT_EQ(parseAll(a), RequestParser::Event::kMessageComplete);
  a.start = a.parsed;
  ASSERT_EQ(parseAll(a), RequestParser::Event::kNeedMore);  // the buffer is full mid-head
  ASSERT_EQ(a.end, a.capacity);
  a.compact();
  EXPECT_EQ(a.start, 0u);
  EXPECT_EQ(a.parsed, a.end);
  EXPECT_EQ(std::string(a.buffer.get(), 8), "GET /two");
  readInto(a, wire, fed);
  ASSERT_EQ(fed, wire.size());
  ASSERT_EQ(parseAll(a), RequestParser::Event::kMessageComplete);
  Request r;
  a.parser.fillRequest(a.buffer.get(), r);
  EXPECT_EQ(r.target, "/two");
  EXPECT_EQ(r.header("host"), "b");
  EXPECT_EQ(r.header("x-long"), "0123456789");
}

TEST(ActiveState, CompactMidBodyKeepsTheHeadAndDropsConsumedBodyBytes) {
  std::string body(200, 'x');
  body[0] = 'A';
  body[199] = 'Z';
  std::string wire = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 200\r\n\r\n" + body;
  ActiveState a(96);
  a.parser.reset(1024);
  std::size_t fed = 0;
  readInto(a, wire, fed);
  ASSERT_EQ(parseAll(a), RequestParser::Event::kHeadComplete);
  a.headEnd = a.parsed;
  std::uint32_t headLen = a.headEnd;
  int compactions = 0;
  RequestParser::Event ev = parseAll(a);
  while (ev == RequestParser::Event::kNeedMore) {
    ASSERT_EQ(a.parsed, a.end);
    a.compact();
    ++compactions;
    EXPECT_EQ(a.end, headLen);  // only the head is left
    EXPECT_EQ(a.headEnd, headLen);
    readInto(a, wire, fed);
    ev = parseAll(a);
  }
  ASSERT_EQ(ev, RequestParser::Event::kMessageComplete);
  EXPECT_GE(compactions, 2);
  Request r;
  a.parser.fillRequest(a.buffer.get(), r);
  EXPECT_EQ(r.target, "/p");
  EXPECT_EQ(r.header("content-length"), "200");
  EXPECT_EQ(r.body, body);
}

}  // namespace
}  // namespace tether::http
