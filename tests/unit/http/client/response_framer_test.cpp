// ResponseFramer must frame exactly as ResponseParser (llhttp) does: same
// responses, same statuses, same reuse decision, same errors, whatever the read
// boundaries. Each case is fed whole, split at every offset, and byte by byte.
#include "tether/http/client/response_framer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tether/http/client/response_parser.h"

namespace tether::http::client {
namespace {

struct Trace {
  std::vector<std::string> events;  // "200 reuse @40", "error", "eof-clean", ...
  bool operator==(const Trace& o) const { return events == o.events; }
};

std::ostream& operator<<(std::ostream& os, const Trace& t) {
  for (const auto& e : t.events) os << "[" << e << "] ";
  return os;
}

// Feeds `wire` in the given pieces, each copied into a fresh buffer of exactly its
// size (so ASan sees any read past a piece), then EOF.
template <class Framer>
Trace run(Framer& f, const std::string& wire, const std::vector<std::size_t>& cuts) {
  Trace t;
  std::size_t offset = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(wire.size());
  for (std::size_t end : ends) {
    std::size_t size = end - offset;
    auto piece = std::make_unique<char[]>(size);
    wire.copy(piece.get(), size, offset);
    std::size_t at = 0;
    while (at < size) {
      std::size_t used = 0;
      auto ev = f.execute(piece.get() + at, size - at, used);
      at += used;
      if (ev == ResponseParser::Event::kError) {
        t.events.push_back("error");
        return t;
      }
      if (ev == ResponseParser::Event::kNeedMore) break;
      t.events.push_back(std::to_string(f.status()) + (f.reusable() ? " reuse @" : " close @") +
                         std::to_string(offset + at));
    }
    offset = end;
  }
  auto ev = f.finish();
  if (ev == ResponseParser::Event::kMessageComplete) {
    t.events.push_back(std::to_string(f.status()) + " eof-body");
  } else {
    t.events.push_back(ev == ResponseParser::Event::kError ? "eof-truncated" : "eof-clean");
  }
  return t;
}

Trace reference(const std::string& wire, const std::vector<std::size_t>& cuts, bool head) {
  ResponseParser p;
  p.setFramingOnly(true);
  p.setRequestIsHead(head);
  return run(p, wire, cuts);
}

Trace framed(const std::string& wire, const std::vector<std::size_t>& cuts, bool head,
             std::uint64_t* slow = nullptr) {
  ResponseFramer f;
  f.setRequestIsHead(head);
  Trace t = run(f, wire, cuts);
  if (slow != nullptr) *slow = f.slowResponses();
  return t;
}

std::vector<std::size_t> everyByte(const std::string& wire) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < wire.size(); ++i) cuts.push_back(i);
  return cuts;
}

void expectSameEverywhere(const std::string& wire, bool head = false) {
  SCOPED_TRACE(wire);
  Trace whole = reference(wire, {}, head);
  EXPECT_EQ(framed(wire, {}, head), whole);
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    SCOPED_TRACE("split at " + std::to_string(cut));
    EXPECT_EQ(framed(wire, {cut}, head), reference(wire, {cut}, head));
  }
  EXPECT_EQ(framed(wire, everyByte(wire), head), reference(wire, everyByte(wire), head));
}

const char kPlain[] =
    "HTTP/1.1 200 OK\r\nServer: tether\r\nContent-Length: 13\r\n"
    "Content-Type: text/plain\r\n\r\nHello, World!";

TEST(ResponseFramer, CommonResponsesTakeTheFastPath) {
  std::string wire = std::string(kPlain) + kPlain + kPlain;
  std::uint64_t slow = 99;
  Trace t = framed(wire, {}, false, &slow);
  EXPECT_EQ(slow, 0u);
  ASSERT_EQ(t.events.size(), 4u) << t;
  EXPECT_EQ(t.events[0], "200 reuse @" + std::to_string(sizeof kPlain - 1));
  EXPECT_EQ(t.events[3], "eof-clean");
  expectSameEverywhere(wire);
}

TEST(ResponseFramer, SplitHeadFallsBackAndReturns) {
  std::string wire = std::string(kPlain) + kPlain;
  std::uint64_t slow = 0;
  framed(wire, {10}, false, &slow);
  EXPECT_EQ(slow, 1u);  // the first head was split; the second one is fast again
}

TEST(ResponseFramer, AgreesWithLlhttpOnFraming) {
  const std::vector<std::string> cases = {
      // Connection management.
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhiHTTP/1.0 404 "
      "Nope\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nxHTTP/1.1 200 OK\r\n",
      // Lengths: OWS, zero, equal duplicates, conflicting, lists, junk.
      "HTTP/1.1 200 OK\r\ncontent-length:   3 \r\n\r\nabc",
      "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: "
      "1\r\n\r\nz",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",  // llhttp: error
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      // No body whatever the length says; no length at all.
      "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
      "0\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\nclose-delimited body",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nbody",
      // Chunked, interim, upgrade: llhttp's job.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nraw",
      // Status lines.
      "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
      "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      // Header syntax.
      "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n: empty-name\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n",
      // Bytes llhttp rejects in a value, tabs where llhttp reads framing headers its own way.
      std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n", 43),
      "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: y\r\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\x7f\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\tb\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\t\r\n\r\nabcde",
      "HTTP/1.1 200 OK\r\nContent-Length:\t5\r\n\r\nabcde",
      "HTTP/1.1 200 OK\r\nConnection: close\t\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\t\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nProxy-Connection: keep-alive\r\nContent-Length: 0\r\n\r\n",
      // llhttp's response, then a fast one in the same read.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
      // Truncated.
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
      "HTTP/1.1 200 OK\r\nContent-Len",
  };
  for (const auto& wire : cases) {
    expectSameEverywhere(wire);
    expectSameEverywhere(wire, /*head=*/true);
  }
}

// Every byte value in every part of a head: status line, reason, name, value,
// Content-Length and Connection values. Whole, and one byte per read.
TEST(ResponseFramer, AgreesWithLlhttpOnEveryByteInEveryField) {
  const std::string templates[] = {
      "HTTP/1.1 200 O@K\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.@ 200 OK\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 2@0 OK\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200@OK\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nX-N@me: v\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nX-Name: v@lue\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nX-Name:@value\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nX-Name: value@\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nContent-Length: 1@\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nContent-Length:@1\r\n\r\n!",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive@\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nConnection: clo@e\r\nContent-Length: 1\r\n\r\n!",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n@\r\n!",
  };
  for (const std::string& t : templates) {
    std::size_t at = t.find('@');
    for (int b = 0; b < 256; ++b) {
      std::string wire = t;
      wire[at] = static_cast<char>(b);
      SCOPED_TRACE(t + " byte " + std::to_string(b));
      ASSERT_EQ(framed(wire, {}, false), reference(wire, {}, false));
      ASSERT_EQ(framed(wire, everyByte(wire), false), reference(wire, everyByte(wire), false));
    }
  }
}

// Found by fuzz/response_framer_fuzz.cpp: llhttp frames "HTTP/1.0 \n" as a
// closing response with status 0; the bytes after it are an error, as after
// any response that ends the connection.
TEST(ResponseFramer, BytesAfterAClosingStatusZeroResponseAreAnError) {
  expectSameEverywhere("HTTP/1.0 \n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  expectSameEverywhere("HTTP/1.0 \n\r\nHTTP/1.0 400 O\r\n\r\n", /*head=*/true);
}

TEST(ResponseFramer, HeadResponsesHaveNoBody) {
  std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n";
  std::uint64_t slow = 9;
  Trace t = framed(wire, {}, true, &slow);
  EXPECT_EQ(slow, 0u);
  EXPECT_EQ(t.events.size(), 3u) << t;
  expectSameEverywhere(wire, true);
}

TEST(ResponseFramer, ResetStartsANewConnection) {
  ResponseFramer f;
  std::string close = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(f.execute(close.data(), close.size(), used), ResponseParser::Event::kMessageComplete);
  EXPECT_FALSE(f.reusable());
  EXPECT_EQ(f.execute(kPlain, sizeof kPlain - 1, used), ResponseParser::Event::kError);
  f.reset();
  EXPECT_EQ(f.execute(kPlain, sizeof kPlain - 1, used), ResponseParser::Event::kMessageComplete);
  EXPECT_EQ(used, sizeof kPlain - 1);
  EXPECT_TRUE(f.reusable());
}

}  // namespace
}  // namespace tether::http::client
