#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::http {
namespace {

struct Outcome {
  std::vector<Request> requests;  // views into `wire` (kept alive by the test)
  std::vector<std::string> bodies;
  int errorStatus = 0;
};

// Feeds `wire` in pieces of `step` bytes, the way reads would deliver it.
Outcome parse(const std::string& wire, std::size_t step = 1 << 20,
              std::uint64_t maxBody = 1 << 20) {
  RequestParser p;
  p.reset(maxBody);
  Outcome out;
  std::size_t pos = 0, available = 0;
  bool resume = false;
  while (pos < wire.size() || resume) {
    available = std::max(available, std::min(wire.size(), pos + step));
    std::size_t consumed = 0;
    auto ev = p.execute(wire.data(), wire.data() + pos, available - pos, consumed);
    pos += consumed;
    resume = ev == RequestParser::Event::kHeadComplete;
    if (ev == RequestParser::Event::kMessageComplete) {
      Request r;
      p.fillRequest(wire.data(), r);
      out.bodies.emplace_back(r.body);
      out.requests.push_back(r);
    }
    if (ev == RequestParser::Event::kError) {
      out.errorStatus = p.errorStatus();
      break;
    }
    if (ev == RequestParser::Event::kNeedMore && available == wire.size()) break;
  }
  return out;
}

TEST(RequestParser, ParsesSimpleGet) {
  std::string wire = "GET /a?x=1&y=2 HTTP/1.1\r\nHost: example\r\nX-Pad:  v  \r\n\r\n";
  Outcome o = parse(wire);
  ASSERT_EQ(o.requests.size(), 1u);
  const Request& r = o.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/a?x=1&y=2");
  EXPECT_EQ(r.path, "/a");
  EXPECT_EQ(r.queryParam("y"), "2");
  EXPECT_EQ(r.header("HOST"), "example");
  EXPECT_EQ(r.header("x-pad"), "v");  // optional whitespace trimmed
  EXPECT_EQ(r.versionMinor, 1);
}

TEST(RequestParser, SameResultWhenBytesArriveOneAtATime) {
  std::string wire =
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "GET /q HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  for (std::size_t step : {1u, 2u, 7u, 1000u}) {
    Outcome o = parse(wire, step);
    ASSERT_EQ(o.requests.size(), 2u) << "step " << step;
    EXPECT_EQ(o.bodies[0], "hello");
    EXPECT_EQ(o.bodies[1], "abcde");  // de-chunked
    EXPECT_EQ(o.requests[1].path, "/q");
    EXPECT_EQ(o.requests[1].header("host"), "h");
  }
}

TEST(RequestParser, PipelinedRequestsComeOutInOrder) {
  std::string wire;
  for (int i = 0; i < 5; ++i) wire += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
  Outcome o = parse(wire);
  ASSERT_EQ(o.requests.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(o.requests[i].path, "/" + std::to_string(i));
}

TEST(RequestParser, Http10WithoutHostIsFine) {
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").requests.size(), 1u);
}

struct BadCase {
  const char* name;
  std::string wire;
  int status;
};

TEST(RequestParser, RejectsBadInputWithTheRightStatus) {
  const BadCase cases[] = {
      {"garbage request line", "HELLO\r\n\r\n", 400},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"whitespace before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
      {"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"CL with TE",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"TE with CL",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       400},
      {"conflicting CL",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"non-numeric CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\nabc", 400},
      {"negative CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       400},
      {"chunk without CRLF",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/3.1", "GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505},
      {"HTTP/1.x", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400},
      {"junk after version", "GET / HTTP/1.1 junk\r\nHost: h\r\n\r\n", 400},
      {"HTTP/11.1", "GET / HTTP/11.1\r\nHost: h\r\n\r\n", 400},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
      {"HTTP/1.10", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400},
      {"body over limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n", 413},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse(c.wire, 1 << 20, 1000).errorStatus, c.status) << c.name;
    EXPECT_EQ(parse(c.wire, 3, 1000).errorStatus, c.status) << c.name << " (split)";
  }
}

// Found by the fuzzer reading through a compacted buffer: llhttp rejects an
// unsupported version at its last digit, and the status used to depend on the
// byte after it, which may not have been read yet (stale bytes in the buffer,
// or one past its end).
TEST(RequestParser, VersionStatusIgnoresBytesNotYetRead) {
  for (char unread : {'\r', 'X', '\0'}) {
    for (const char* line : {"GET / HTTP/3.1", "GET / HTTP/1.2"}) {
      std::string buf = std::string(line) + unread;
      RequestParser p;
      p.reset(1000);
      std::size_t consumed = 0;
      auto ev = p.execute(buf.data(), buf.data(), buf.size() - 1, consumed);
      ASSERT_EQ(ev, RequestParser::Event::kError) << line;
      EXPECT_EQ(p.errorStatus(), 505) << line << " then byte " << int(unread);
    }
  }
}

TEST(RequestParser, ChunkedBodyOverLimitIs413) {
  std::string wire = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) wire += "64\r\n" + std::string(100, 'x') + "\r\n";
  wire += "0\r\n\r\n";
  EXPECT_EQ(parse(wire, 1 << 20, 1000).errorStatus, 413);
  EXPECT_EQ(parse(wire, 1 << 20, 4000).requests.size(), 1u);
}

TEST(RequestParser, ShiftKeepsViewsValidAfterCompaction) {
  // The connection moves the current head to the buffer start; offsets follow.
  std::string first = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string wire = first + "GET /two HTTP/1.1\r\nHo";
  RequestParser p;
  p.reset(1000);
  std::size_t consumed = 0;
  ASSERT_EQ(p.execute(wire.data(), wire.data(), wire.size(), consumed),
            RequestParser::Event::kMessageComplete);
  std::size_t pos = consumed;
  ASSERT_EQ(p.execute(wire.data(), wire.data() + pos, wire.size() - pos, consumed),
            RequestParser::Event::kNeedMore);
  std::string moved = wire.substr(first.size()) + "st: h\r\n\r\n";
  p.shift(static_cast<std::uint32_t>(first.size()));
  std::size_t tail = wire.size() - first.size();
  ASSERT_EQ(p.execute(moved.data(), moved.data() + tail, moved.size() - tail, consumed),
            RequestParser::Event::kMessageComplete);
  Request r;
  p.fillRequest(moved.data(), r);
  EXPECT_EQ(r.path, "/two");
  EXPECT_EQ(r.header("host"), "h");
}

TEST(RequestParser, PausesAfterTheHeadOnlyWhenABodyFollows) {
  // Bodiless: one execute completes the message (the common path stays one call).
  std::string get = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestParser p;
  p.reset(1000);
  std::size_t consumed = 0;
  EXPECT_EQ(p.execute(get.data(), get.data(), get.size(), consumed),
            RequestParser::Event::kMessageComplete);
  EXPECT_EQ(consumed, get.size());
  // With a body: the head pauses first so limits and 100-continue apply before it.
  std::string post = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok";
  p.reset(1000);
  EXPECT_EQ(p.execute(post.data(), post.data(), post.size(), consumed),
            RequestParser::Event::kHeadComplete);
  EXPECT_EQ(consumed, post.size() - 2);
  std::size_t pos = consumed;
  EXPECT_EQ(p.execute(post.data(), post.data() + pos, post.size() - pos, consumed),
            RequestParser::Event::kMessageComplete);
}

TEST(RequestParser, RequestPathMustsRejectBeforeTheBody) {
  struct Case {
    const char* wire;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost:\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400},
      {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501},
      {"GET /#f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: gzip\r\n\r\n",
       400},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse(c.wire).errorStatus, c.status) << c.wire;
    EXPECT_EQ(parse(c.wire, 1).errorStatus, c.status) << c.wire << " (byte by byte)";
  }
}

TEST(RequestParser, AbsoluteFormRoutesByPathAndNamesTheHost) {
  std::string wire = "GET http://b.example:81/p?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n";
  Outcome o = parse(wire);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].path, "/p");
  EXPECT_EQ(o.requests[0].query, "x=1");
  EXPECT_EQ(o.requests[0].host, "b.example:81");
  std::string originWire = "GET /p HTTP/1.1\r\nHost: a.example\r\n\r\n";
  Outcome origin = parse(originWire);
  ASSERT_EQ(origin.requests.size(), 1u);
  EXPECT_EQ(origin.requests[0].host, "a.example");
}

TEST(RequestParser, OptionsAsterisk) {
  std::string wire = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  Outcome o = parse(wire);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].path, "*");
}

// ---- chunked framing bombs ---------------------------------------------------

const std::string kChunkedHead =
    "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::size_t kOverFraming = RequestParser::kMaxChunkFraming + 1024;

TEST(RequestParser, ChunkExtensionWithoutEndIs413) {
  std::string wire = kChunkedHead + "1;name=" + std::string(kOverFraming, 'v');
  for (std::size_t step : {1000u, 1u << 20}) {
    EXPECT_EQ(parse(wire, step).errorStatus, 413) << "step " << step;
  }
}

TEST(RequestParser, LeadingZerosWithoutEndAre413) {
  // No callback sees these digits: the check after each execute() does.
  std::string wire = kChunkedHead + std::string(kOverFraming, '0');
  for (std::size_t step : {1000u, 1u << 20}) {
    EXPECT_EQ(parse(wire, step).errorStatus, 413) << "step " << step;
  }
}

TEST(RequestParser, TrailerSectionWithoutEndIs431) {
  std::string trailers;
  while (trailers.size() < kOverFraming) trailers += "X-T: v\r\n";
  std::string wire = kChunkedHead + "1\r\nx\r\n0\r\n" + trailers;
  for (std::size_t step : {1000u, 1u << 20}) {
    EXPECT_EQ(parse(wire, step).errorStatus, 431) << "step " << step;
  }
}

TEST(RequestParser, FramingIsBoundedPerRunNotPerMessage) {
  // Several extensions each under the bound, with data between them: accepted.
  std::string ext(RequestParser::kMaxChunkFraming / 2, 'e');
  std::string wire = kChunkedHead;
  for (int i = 0; i < 4; ++i) wire += "1;" + ext + "\r\nx\r\n";
  wire += "0\r\nX-T: v\r\n\r\n";
  Outcome o = parse(wire, 1000);
  EXPECT_EQ(o.errorStatus, 0);
  ASSERT_EQ(o.bodies.size(), 1u);
  EXPECT_EQ(o.bodies[0], "xxxx");
}

TEST(RequestParser, TrailerFieldsAreDiscarded) {
  // Their bytes may have been compacted away by the time the message completes,
  // so they must not reach the request (a long name once read past the buffer).
  std::string wire =
      kChunkedHead + "1\r\nx\r\n0\r\n" + std::string(3000, 'T') + ": v\r\nX-T: w\r\n\r\n";
  for (std::size_t step : {1u, 1000u}) {
    Outcome o = parse(wire, step);
    ASSERT_EQ(o.requests.size(), 1u) << "step " << step;
    EXPECT_EQ(o.requests[0].headers.size(), 2u);  // Host, Transfer-Encoding
    EXPECT_EQ(o.requests[0].header("x-t"), "");
    EXPECT_EQ(o.bodies[0], "x");
  }
}

TEST(RequestParser, ChunkOverTheBodyLimitIs413AtItsSizeLine) {
  // The data never comes: the size line alone decides (no wait for a body timeout).
  EXPECT_EQ(parse(kChunkedHead + "FFFFFFFFFF\r\n", 1u << 20, 1000).errorStatus, 413);
  EXPECT_EQ(parse(kChunkedHead + "3e8\r\n", 1u << 20, 1000).errorStatus, 0);  // 1000 fits
  EXPECT_EQ(parse(kChunkedHead + "3e8\r\n" + std::string(1000, 'a') + "\r\n1\r\n", 1u << 20, 1000)
                .errorStatus,
            413);
}

}  // namespace
}  // namespace tether::http
