// RFC 6455 framing: every header rule, need-more at every prefix, masking at
// any offset, and both directions checked against Debian's libwslay as an
// independent implementation (its client masks what we unmask, and parses
// what we write).
#include "http/websocket/frame.h"

#include <gtest/gtest.h>
#include <wslay/wslay.h>

#include <cstring>
#include <string>
#include <vector>

namespace tether::http::ws {
namespace {

const std::uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// A client frame: header with mask, masked payload.
std::string clientFrame(Opcode op, std::string_view payload, bool fin = true) {
  std::string out;
  appendHeader(out, op, fin, payload.size(), kMask);
  std::size_t start = out.size();
  out.append(payload);
  unmask(out.data() + start, payload.size(), kMask, 0);  // XOR both ways
  return out;
}

HeaderResult decode(std::string_view bytes) { return decodeHeader(bytes, true); }

TEST(FrameTest, DecodesTheRfcExamples) {
  // RFC 6455 §5.7: a masked "Hello" from a client.
  std::string hello("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  HeaderResult r = decode(hello);
  ASSERT_EQ(r.status, HeaderStatus::kComplete);
  EXPECT_TRUE(r.header.fin);
  EXPECT_EQ(r.header.opcode, Opcode::kText);
  EXPECT_EQ(r.header.length, 5u);
  EXPECT_EQ(r.header.headerSize, 6u);
  std::string payload = hello.substr(6);
  unmask(payload.data(), payload.size(), r.header.mask, 0);
  EXPECT_EQ(payload, "Hello");
  // The unmasked server form, and its encoding by us.
  std::string out;
  appendFrame(out, Opcode::kText, "Hello");
  EXPECT_EQ(out, std::string("\x81\x05Hello", 7));
  HeaderResult s = decodeHeader(out, false);
  EXPECT_EQ(s.status, HeaderStatus::kComplete);
}

TEST(FrameTest, EncodesLengthsInTheirShortestFormAndDecodesThem) {
  for (std::uint64_t len : {0ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 32}) {
    SCOPED_TRACE(len);
    std::string h;
    appendHeader(h, Opcode::kBinary, true, len, kMask);
    std::size_t expected = 2 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8) + 4;
    EXPECT_EQ(h.size(), expected);
    HeaderResult r = decode(h);
    ASSERT_EQ(r.status, HeaderStatus::kComplete);
    EXPECT_EQ(r.header.length, len);
    EXPECT_EQ(r.header.headerSize, expected);
    for (std::size_t cut = 0; cut < h.size(); ++cut) {
      EXPECT_EQ(decode(std::string_view(h).substr(0, cut)).status, HeaderStatus::kNeedMore)
          << "prefix of " << cut;
    }
  }
}

TEST(FrameTest, RefusesWhatSection52Forbids) {
  auto problem = [](std::string bytes, bool fromClient = true) {
    HeaderResult r = decodeHeader(bytes, fromClient);
    return r.status == HeaderStatus::kError ? std::string(r.problem) : std::string("accepted");
  };
  std::string masked = std::string(1, '\x80') + "\x80" + "abcd";  // fin, continuation, len 0
  EXPECT_EQ(problem(std::string("\x81\x05Hello", 7)), "unmasked frame from a client");
  EXPECT_EQ(problem(clientFrame(Opcode::kText, "x"), false), "masked frame from a server");
  EXPECT_EQ(problem("\xC1\x80xxxx"), "reserved bits set without an extension");
  EXPECT_EQ(problem("\xA1\x80xxxx"), "reserved bits set without an extension");
  for (char op : {'\x83', '\x87', '\x8B', '\x8F'}) {
    EXPECT_EQ(problem(std::string(1, op) + "\x80xxxx"), "reserved opcode");
  }
  EXPECT_EQ(problem("\x09\x80xxxx"), "fragmented control frame");
  EXPECT_EQ(problem("\x89\xFExxxxxx"), "control frame over 125 bytes");
  EXPECT_EQ(problem(std::string("\x82\xFE\x00\x7Dxxxx", 8)), "length not in its shortest form");
  EXPECT_EQ(problem(std::string("\x82\xFF\x00\x00\x00\x00\x00\x00\xFF\xFFxxxx", 14)),
            "length not in its shortest form");
  EXPECT_EQ(problem(std::string("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x00xxxx", 14)),
            "length with its top bit set");
  EXPECT_EQ(problem(masked), "accepted");
}

TEST(FrameTest, UnmasksFromAnyOffset) {
  std::string plain = "The quick brown fox jumps over the lazy dog, twice over.";
  std::string masked = plain;
  unmask(masked.data(), masked.size(), kMask, 0);
  for (std::size_t split = 0; split <= masked.size(); ++split) {
    std::string m = masked;
    unmask(m.data(), split, kMask, 0);
    unmask(m.data() + split, m.size() - split, kMask, split);
    ASSERT_EQ(m, plain) << "split at " << split;
  }
}

TEST(FrameTest, CloseFramesCarryTheCodeAndAReasonCutAtACharacter) {
  std::string out;
  appendClose(out, 1001, std::string(200, 'x') + "\xE2\x82\xAC");
  HeaderResult r = decodeHeader(out, false);
  ASSERT_EQ(r.status, HeaderStatus::kComplete);
  EXPECT_LE(r.header.length, kMaxControlPayload);
  EXPECT_EQ(static_cast<std::uint8_t>(out[2]), 1001 >> 8);
  EXPECT_EQ(static_cast<std::uint8_t>(out[3]), 1001 & 0xFF);
  out.clear();
  appendClose(out, kNoStatus, "ignored");
  EXPECT_EQ(out, std::string("\x88\x00", 2));
  for (std::uint16_t ok : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    EXPECT_TRUE(validReceivedCloseCode(ok)) << ok;
  }
  for (std::uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
    EXPECT_FALSE(validReceivedCloseCode(bad)) << bad;
  }
}

// ---- libwslay as the reference peer --------------------------------------------------

struct WslayClient {
  std::string wire;   // what the client wrote
  std::string input;  // what it will read
  std::size_t inputAt = 0;
  std::vector<std::pair<int, std::string>> messages;  // opcode, payload
  wslay_event_context_ptr ctx = nullptr;

  WslayClient() {
    wslay_event_callbacks cb{};
    cb.recv_callback = [](wslay_event_context_ptr c, std::uint8_t* buf, std::size_t len, int,
                          void* self) -> ssize_t {
      auto* me = static_cast<WslayClient*>(self);
      std::size_t n = std::min(len, me->input.size() - me->inputAt);
      if (n == 0) {
        wslay_event_set_error(c, WSLAY_ERR_WOULDBLOCK);
        return -1;
      }
      std::memcpy(buf, me->input.data() + me->inputAt, n);
      me->inputAt += n;
      return static_cast<ssize_t>(n);
    };
    cb.send_callback = [](wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                          void* self) -> ssize_t {
      static_cast<WslayClient*>(self)->wire.append(reinterpret_cast<const char*>(data), len);
      return static_cast<ssize_t>(len);
    };
    cb.genmask_callback = [](wslay_event_context_ptr, std::uint8_t* buf, std::size_t len,
                             void*) -> int {
      for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<std::uint8_t>(0xA5 + 7 * i);
      return 0;
    };
    cb.on_msg_recv_callback = [](wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                                 void* self) {
      static_cast<WslayClient*>(self)->messages.emplace_back(
          arg->opcode, std::string(reinterpret_cast<const char*>(arg->msg), arg->msg_length));
    };
    wslay_event_context_client_init(&ctx, &cb, this);
  }
  ~WslayClient() { wslay_event_context_free(ctx); }
  void queue(std::uint8_t opcode, std::string_view payload) {
    wslay_event_msg msg{opcode, reinterpret_cast<const std::uint8_t*>(payload.data()),
                        payload.size()};
    ASSERT_EQ(wslay_event_queue_msg(ctx, &msg), 0);
    ASSERT_EQ(wslay_event_send(ctx), 0);
  }
};

// Parses `wire` as a server would: every frame's opcode and unmasked payload.
std::vector<std::pair<Opcode, std::string>> serverRead(std::string wire) {
  std::vector<std::pair<Opcode, std::string>> frames;
  std::size_t at = 0;
  while (at < wire.size()) {
    HeaderResult r = decode(std::string_view(wire).substr(at));
    EXPECT_EQ(r.status, HeaderStatus::kComplete);
    if (r.status != HeaderStatus::kComplete) break;
    char* p = wire.data() + at + r.header.headerSize;
    unmask(p, r.header.length, r.header.mask, 0);
    frames.emplace_back(r.header.opcode, std::string(p, r.header.length));
    at += r.header.headerSize + r.header.length;
  }
  return frames;
}

TEST(FrameTest, ReadsWhatWslaysClientWrites) {
  WslayClient client;
  std::string big(70'000, 'b');
  client.queue(WSLAY_TEXT_FRAME, "hello");
  client.queue(WSLAY_BINARY_FRAME, big);
  client.queue(WSLAY_PING, "p");
  client.queue(WSLAY_BINARY_FRAME, std::string(300, 'm'));
  auto frames = serverRead(client.wire);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0], std::make_pair(Opcode::kText, std::string("hello")));
  EXPECT_EQ(frames[1], std::make_pair(Opcode::kBinary, big));
  EXPECT_EQ(frames[2], std::make_pair(Opcode::kPing, std::string("p")));
  EXPECT_EQ(frames[3].second, std::string(300, 'm'));
}

TEST(FrameTest, WritesWhatWslaysClientReads) {
  WslayClient client;
  std::string big(70'000, 'z');
  appendFrame(client.input, Opcode::kText, "hi");
  appendFrame(client.input, Opcode::kBinary, big);
  appendFrame(client.input, Opcode::kText, "frag", false);
  appendFrame(client.input, Opcode::kContinuation, "ment");
  appendFrame(client.input, Opcode::kPing, "are you there");
  ASSERT_EQ(wslay_event_recv(client.ctx), 0);
  ASSERT_EQ(client.messages.size(), 4u);
  EXPECT_EQ(client.messages[0], std::make_pair(int{WSLAY_TEXT_FRAME}, std::string("hi")));
  EXPECT_EQ(client.messages[1], std::make_pair(int{WSLAY_BINARY_FRAME}, big));
  EXPECT_EQ(client.messages[2], std::make_pair(int{WSLAY_TEXT_FRAME}, std::string("fragment")));
  EXPECT_EQ(client.messages[3].first, WSLAY_PING);
  // wslay answers the ping with a masked pong we can read...
  ASSERT_EQ(wslay_event_send(client.ctx), 0);
  auto replies = serverRead(client.wire);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], std::make_pair(Opcode::kPong, std::string("are you there")));
  // ...and our close with its code, echoing the code.
  client.wire.clear();
  appendClose(client.input, 1001, "going away");
  ASSERT_EQ(wslay_event_recv(client.ctx), 0);
  ASSERT_EQ(client.messages.size(), 5u);
  EXPECT_EQ(client.messages[4].first, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(wslay_event_get_status_code_received(client.ctx), 1001);
  ASSERT_EQ(wslay_event_send(client.ctx), 0);
  replies = serverRead(client.wire);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].first, Opcode::kClose);
  EXPECT_EQ(replies[0].second.substr(0, 2), "\x03\xE9");
}

}  // namespace
}  // namespace tether::http::ws
