#include "tether/http/client/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::http::client {
namespace {

struct Parsed {
  int status = 0;
  std::string reason;
  std::string body;
  std::string contentType;
  bool reusable = false;
  bool upgraded = false;
  int interim = 0;
  KeepAliveHint hint;
  bool operator==(const Parsed& o) const {
    return status == o.status && reason == o.reason && body == o.body &&
           contentType == o.contentType && reusable == o.reusable && upgraded == o.upgraded &&
           interim == o.interim && hint.timeoutSeconds == o.hint.timeoutSeconds &&
           hint.max == o.hint.max;
  }
};

struct Outcome {
  std::vector<Parsed> responses;
  std::string error;      // empty: none
  std::size_t rest = 0;   // bytes left unparsed after an upgrade
  bool cleanEof = false;  // finish() found nothing in progress
};

void appendBody(void* ctx, std::string_view bytes) {
  static_cast<std::string*>(ctx)->append(bytes);
}

// Feeds `wire` in reads of `step` bytes (each read copied into a fresh buffer,
// so nothing may point into an earlier one), then signals EOF if `eof`.
Outcome parse(const std::string& wire, std::size_t step = 1 << 20, bool head = false,
              bool eof = true) {
  ResponseParser p;
  p.setRequestIsHead(head);
  std::string sunk;
  p.setBodySink(&appendBody, &sunk);
  Outcome out;
  auto take = [&] {
    Parsed r{p.status(),
             std::string(p.reason()),
             sunk,
             std::string(p.header("content-type")),
             p.reusable(),
             p.upgraded(),
             p.interimResponses(),
             p.keepAliveHint()};
    out.responses.push_back(r);
    sunk.clear();
  };
  for (std::size_t pos = 0; pos < wire.size();) {
    std::string read = wire.substr(pos, step);
    std::size_t off = 0;
    while (off < read.size()) {
      std::size_t consumed = 0;
      auto ev = p.execute(read.data() + off, read.size() - off, consumed);
      off += consumed;
      if (ev == ResponseParser::Event::kError) {
        out.error = p.errorReason();
        return out;
      }
      if (ev == ResponseParser::Event::kMessageComplete) {
        take();
        if (p.upgraded()) {
          out.rest = wire.size() - (pos + off);
          return out;
        }
      }
    }
    pos += read.size();
  }
  if (!eof) return out;
  auto ev = p.finish();
  if (ev == ResponseParser::Event::kMessageComplete) take();
  if (ev == ResponseParser::Event::kError) out.error = p.errorReason();
  out.cleanEof = ev == ResponseParser::Event::kNeedMore;
  return out;
}

// Every split of the input must give the same result as one read.
Outcome parseAllSplits(const std::string& wire, bool head = false) {
  Outcome whole = parse(wire, 1 << 20, head);
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    Outcome split = parse(wire, step, head);
    EXPECT_EQ(split.responses, whole.responses) << "step " << step;
    EXPECT_EQ(split.error, whole.error) << "step " << step;
    EXPECT_EQ(split.rest, whole.rest) << "step " << step;
  }
  return whole;
}

TEST(ClientResponseParser, ContentLength) {
  Outcome o = parseAllSplits(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain \r\nKeep-Alive: timeout=5, max=100\r\n"
      "Content-Length: 13\r\n\r\nHello, World!");
  ASSERT_EQ(o.responses.size(), 1u);
  const Parsed& r = o.responses[0];
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.body, "Hello, World!");
  EXPECT_EQ(r.contentType, "text/plain");  // trailing whitespace trimmed
  EXPECT_TRUE(r.reusable);
  EXPECT_EQ(r.hint.timeoutSeconds, 5);
  EXPECT_EQ(r.hint.max, 100);
  EXPECT_TRUE(o.cleanEof);
}

TEST(ClientResponseParser, ReportsFramingHeadersAndKeepsBodyOnRequest) {
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nabcde";
  ResponseParser p;
  p.setKeepBody(16);
  std::size_t consumed = 0;
  ASSERT_EQ(p.execute(wire.data(), wire.size(), consumed), ResponseParser::Event::kMessageComplete);
  EXPECT_EQ(consumed, wire.size());
  EXPECT_TRUE(p.hasContentLength());
  EXPECT_EQ(p.contentLength(), 5u);
  EXPECT_FALSE(p.chunked());
  EXPECT_FALSE(p.closeDelimited());
  EXPECT_TRUE(p.connectionTokens().keepAlive);
  EXPECT_EQ(p.body(), "abcde");
  EXPECT_EQ(p.bodyBytes(), 5u);
  EXPECT_EQ(p.headerCount(), 2u);
  EXPECT_EQ(p.headerName(1), "Connection");
}

TEST(ClientResponseParser, BodyLargerThanTheCopyLimitIsAnError) {
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde";
  ResponseParser p;
  p.setKeepBody(4);
  std::size_t consumed = 0;
  EXPECT_EQ(p.execute(wire.data(), wire.size(), consumed), ResponseParser::Event::kError);
  EXPECT_STREQ(p.errorReason(), "response body too large");
}

TEST(ClientResponseParser, Chunked) {
  Outcome o = parseAllSplits(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nHello\r\n8\r\n, World!\r\n0\r\nTrailer: x\r\n\r\n");
  ASSERT_EQ(o.responses.size(), 1u);
  EXPECT_EQ(o.responses[0].body, "Hello, World!");
  EXPECT_TRUE(o.responses[0].reusable);
}

TEST(ClientResponseParser, CloseDelimitedEndsAtEof) {
  Outcome o = parseAllSplits("HTTP/1.1 200 OK\r\nContent-Type: a/b\r\n\r\nuntil the end");
  ASSERT_EQ(o.responses.size(), 1u);
  EXPECT_EQ(o.responses[0].body, "until the end");
  EXPECT_FALSE(o.responses[0].reusable);  // RFC 9112 §6.3: the close is the framing
  EXPECT_EQ(o.error, "");
}

TEST(ClientResponseParser, CloseDelimitedWithoutEofIsStillInProgress) {
  Outcome o = parse("HTTP/1.1 200 OK\r\n\r\npartial", 1 << 20, false, /*eof=*/false);
  EXPECT_TRUE(o.responses.empty());
}

TEST(ClientResponseParser, TruncatedResponsesAreErrorsAtEof) {
  for (const char* wire : {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                           "HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 2"}) {
    Outcome o = parse(wire);
    EXPECT_TRUE(o.responses.empty()) << wire;
    EXPECT_EQ(o.error, "connection closed before the response was complete") << wire;
  }
}

TEST(ClientResponseParser, EofBeforeAnyByteIsClean) {
  Outcome o = parse("");
  EXPECT_TRUE(o.cleanEof);
  EXPECT_EQ(o.error, "");
}

TEST(ClientResponseParser, InterimResponsesAreSkipped) {
  Outcome o = parseAllSplits(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(o.responses.size(), 2u);
  EXPECT_EQ(o.responses[0].status, 201);
  EXPECT_EQ(o.responses[0].interim, 2);
  EXPECT_EQ(o.responses[0].body, "ok");
  EXPECT_EQ(o.responses[1].interim, 0);  // counted per exchange
}

TEST(ClientResponseParser, SwitchingProtocolsIsReportedAndStopsParsing) {
  Outcome o = parseAllSplits(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "\x81\x05hello");
  ASSERT_EQ(o.responses.size(), 1u);
  EXPECT_EQ(o.responses[0].status, 101);
  EXPECT_TRUE(o.responses[0].upgraded);
  EXPECT_FALSE(o.responses[0].reusable);
  EXPECT_EQ(o.rest, 7u);  // the frame is left to the new protocol
}

TEST(ClientResponseParser, HeadResponseHasNoBodyDespiteContentLength) {
  Outcome o = parseAllSplits(
      "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n",
      /*head=*/true);
  ASSERT_EQ(o.responses.size(), 2u);
  EXPECT_EQ(o.responses[0].body, "");
  EXPECT_TRUE(o.responses[0].reusable);
  EXPECT_TRUE(o.cleanEof);
}

TEST(ClientResponseParser, NoContentAndNotModifiedHaveNoBody) {
  Outcome o = parseAllSplits(
      "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_EQ(o.responses.size(), 3u);
  EXPECT_EQ(o.responses[0].status, 204);
  EXPECT_EQ(o.responses[1].status, 304);
  EXPECT_EQ(o.responses[1].body, "");
  EXPECT_EQ(o.responses[2].body, "x");
  EXPECT_TRUE(o.responses[1].reusable);
}

TEST(ClientResponseParser, PipelinedResponsesStopOneAtATime) {
  std::string one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
  std::string wire = one + one + one;
  ResponseParser p;
  std::size_t off = 0;
  for (int i = 0; i < 3; ++i) {
    std::size_t consumed = 0;
    ASSERT_EQ(p.execute(wire.data() + off, wire.size() - off, consumed),
              ResponseParser::Event::kMessageComplete);
    EXPECT_EQ(consumed, one.size());
    off += consumed;
  }
  EXPECT_EQ(off, wire.size());
}

TEST(ClientResponseParser, PersistenceFollowsRfc9112) {
  struct Case {
    const char* head;
    bool reusable;
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: foo, Close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    Outcome o = parse(c.head);
    ASSERT_EQ(o.responses.size(), 1u) << c.head;
    EXPECT_EQ(o.responses[0].reusable, c.reusable) << c.head;
  }
}

TEST(ClientResponseParser, FramingOnlyKeepsStatusFramingAndPersistence) {
  // Pipelined: chunked, a closing Content-Length response last.
  std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";
  ResponseParser p;
  p.setFramingOnly(true);
  std::size_t off = 0, consumed = 0;
  ASSERT_EQ(p.execute(wire.data(), wire.size(), consumed), ResponseParser::Event::kMessageComplete);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.bodyBytes(), 3u);
  EXPECT_TRUE(p.reusable());
  EXPECT_EQ(p.headerCount(), 0u);  // nothing copied
  off += consumed;
  ASSERT_EQ(p.execute(wire.data() + off, wire.size() - off, consumed),
            ResponseParser::Event::kMessageComplete);
  EXPECT_EQ(p.status(), 404);
  EXPECT_EQ(p.bodyBytes(), 2u);
  EXPECT_FALSE(p.reusable());  // llhttp saw Connection: close itself
  EXPECT_EQ(off + consumed, wire.size());
}

TEST(ClientResponseParser, MalformedResponsesAreErrors) {
  for (const char* wire : {
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 2x0 OK\r\n\r\n",
           "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
           "SSH-2.0-OpenSSH\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
       }) {
    Outcome o = parseAllSplits(wire);
    EXPECT_TRUE(o.responses.empty()) << wire;
    EXPECT_NE(o.error, "") << wire;
  }
}

TEST(ClientResponseParser, DataAfterConnectionCloseIsAnError) {
  Outcome o = parse(
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
      "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(o.responses.size(), 1u);
  EXPECT_NE(o.error, "");
}

TEST(ClientResponseParser, HeadLimits) {
  ResponseParser::Limits limits;
  limits.maxHeadBytes = 64;
  limits.maxHeaders = 2;
  std::string big = "HTTP/1.1 200 OK\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
  std::string many = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  ResponseParser p(limits);
  std::size_t consumed = 0;
  EXPECT_EQ(p.execute(big.data(), big.size(), consumed), ResponseParser::Event::kError);
  EXPECT_STREQ(p.errorReason(), "response head too large");
  p.reset();
  EXPECT_EQ(p.execute(many.data(), many.size(), consumed), ResponseParser::Event::kError);
  EXPECT_STREQ(p.errorReason(), "too many response headers");
  p.reset();  // usable again
  std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(p.execute(ok.data(), ok.size(), consumed), ResponseParser::Event::kMessageComplete);
}

TEST(ClientResponseParser, EmptyHeaderValueDoesNotMergeNames) {
  ResponseParser p;
  std::string wire = "HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n";
  std::size_t consumed = 0;
  ASSERT_EQ(p.execute(wire.data(), wire.size(), consumed), ResponseParser::Event::kMessageComplete);
  ASSERT_EQ(p.headerCount(), 2u);
  EXPECT_EQ(p.headerName(0), "X-Empty");
  EXPECT_EQ(p.headerValue(0), "");
  EXPECT_EQ(p.headerName(1), "Content-Length");
}

TEST(ClientResponseParser, NoStorageGrowthInSteadyState) {
  std::string one =
      "HTTP/1.1 200 OK\r\nServer: tether\r\nDate: Sat, 21 Nov 2026 10:00:00 GMT\r\n"
      "Content-Type: text/plain\r\nKeep-Alive: timeout=4\r\nContent-Length: 13\r\n\r\n"
      "Hello, World!";
  ResponseParser p;
  p.setKeepBody(64);
  std::size_t consumed = 0;
  ASSERT_EQ(p.execute(one.data(), one.size(), consumed), ResponseParser::Event::kMessageComplete);
  std::size_t warm = p.storageCapacity();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(p.execute(one.data(), one.size(), consumed), ResponseParser::Event::kMessageComplete);
  }
  EXPECT_EQ(p.storageCapacity(), warm);
}

TEST(ClientKeepAliveHeader, Parameters) {
  struct Case {
    const char* value;
    std::int64_t timeout;
    std::int64_t max;
  } cases[] = {
      {"timeout=5, max=100", 5, 100},
      {"Timeout=5", 5, -1},
      {"max=3,timeout=\"7\"", 7, 3},
      {" timeout = 2 ", 2, -1},
      {"timeout=-1", -1, -1},
      {"timeout=abc, max=", -1, -1},
      {"", -1, -1},
      {"timeout", -1, -1},
      {"timeout=1.5", -1, -1},
  };
  for (const Case& c : cases) {
    KeepAliveHint hint;
    parseKeepAliveHeader(c.value, hint);
    EXPECT_EQ(hint.timeoutSeconds, c.timeout) << c.value;
    EXPECT_EQ(hint.max, c.max) << c.value;
  }
}

}  // namespace
}  // namespace tether::http::client
