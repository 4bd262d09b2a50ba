// The heartbeat wire codec: round trips, strictness, and input split anywhere.
#include "tether/liveness/heartbeat_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::liveness::wire {
namespace {

using namespace std::string_literals;

struct Decoded {
  FrameType type;
  std::string payload;
  std::uint64_t opaque;
  GoodbyeReason reason;
  std::string text;
};

// Decodes a stream the way a connection does: hello, then frames, with the
// input arriving in chunks of `chunk` bytes. Returns false on a decode error.
bool decodeStream(const std::string& stream, std::size_t chunk, std::vector<Decoded>* out) {
  std::string buffer;
  bool hello = false;
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    buffer += stream.substr(pos, chunk);
    std::size_t used = 0;
    if (!hello) {
      DecodeResult r = decodeHello(buffer);
      if (r.status == DecodeStatus::kError) return false;
      if (r.status == DecodeStatus::kNeedMore) continue;
      hello = true;
      used = r.consumed;
    }
    for (;;) {
      Frame f;
      DecodeResult r = decodeFrame(std::string_view(buffer).substr(used), &f);
      if (r.status == DecodeStatus::kError) return false;
      if (r.status == DecodeStatus::kNeedMore) break;
      EXPECT_GT(r.consumed, 0u);
      used += r.consumed;
      out->push_back({f.type, std::string(f.payload), f.opaque, f.reason, std::string(f.text)});
    }
    buffer.erase(0, used);
  }
  return hello && buffer.empty();  // nothing left half-decoded
}

std::string sampleStream() {
  std::string s;
  appendHello(s);
  appendPing(s, 0x0102030405060708ULL);
  appendData(s, "hello");
  appendData(s, "");
  appendData(s, std::string(kMaxPayload, 'z'));
  appendPong(s, 42);
  appendGoodbye(s, GoodbyeReason::kTooManyPings, "slow down");
  return s;
}

TEST(HeartbeatProtocol, EncodesTheDocumentedBytes) {
  std::string s;
  appendHello(s);
  appendPing(s, 0x0102030405060708ULL);
  EXPECT_EQ(s, "\xB7\x01\x01\x00\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"s);
  s.clear();
  appendGoodbye(s, GoodbyeReason::kHeartbeatTimeout, "t");
  EXPECT_EQ(s, "\x04\x00\x00\x02\x02t"s);
}

TEST(HeartbeatProtocol, RoundTripsEveryFrameType) {
  std::vector<Decoded> frames;
  ASSERT_TRUE(decodeStream(sampleStream(), 1 << 20, &frames));
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].type, FrameType::kPing);
  EXPECT_EQ(frames[0].opaque, 0x0102030405060708ULL);
  EXPECT_EQ(frames[1].type, FrameType::kData);
  EXPECT_EQ(frames[1].payload, "hello");
  EXPECT_EQ(frames[2].payload, "");
  EXPECT_EQ(frames[3].payload.size(), kMaxPayload);
  EXPECT_EQ(frames[4].type, FrameType::kPong);
  EXPECT_EQ(frames[4].opaque, 42u);
  EXPECT_EQ(frames[5].type, FrameType::kGoodbye);
  EXPECT_EQ(frames[5].reason, GoodbyeReason::kTooManyPings);
  EXPECT_EQ(frames[5].text, "slow down");
}

TEST(HeartbeatProtocol, InputSplitAnywhereDecodesTheSame) {
  std::vector<Decoded> whole;
  ASSERT_TRUE(decodeStream(sampleStream(), 1 << 20, &whole));
  for (std::size_t chunk : {1u, 2u, 3u, 5u, 7u, 4096u}) {
    std::vector<Decoded> split;
    ASSERT_TRUE(decodeStream(sampleStream(), chunk, &split)) << "chunk " << chunk;
    ASSERT_EQ(split.size(), whole.size()) << "chunk " << chunk;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(split[i].type, whole[i].type);
      EXPECT_EQ(split[i].payload, whole[i].payload);
      EXPECT_EQ(split[i].opaque, whole[i].opaque);
    }
  }
}

TEST(HeartbeatProtocol, EveryPrefixOfAFrameNeedsMore) {
  std::string frame;
  appendGoodbye(frame, GoodbyeReason::kNormal, "bye");
  for (std::size_t n = 0; n < frame.size(); ++n) {
    Frame f;
    EXPECT_EQ(decodeFrame(frame.substr(0, n), &f).status, DecodeStatus::kNeedMore) << n;
  }
  Frame f;
  EXPECT_EQ(decodeFrame(frame, &f).status, DecodeStatus::kOk);
}

TEST(HeartbeatProtocol, RejectsABadHello) {
  EXPECT_EQ(decodeHello("").status, DecodeStatus::kNeedMore);
  EXPECT_EQ(decodeHello("\xB7"s).status, DecodeStatus::kNeedMore);
  EXPECT_EQ(decodeHello("G").status, DecodeStatus::kError);  // e.g. "GET / HTTP/1.1": at once
  EXPECT_EQ(decodeHello("\xB7\x02"s).status, DecodeStatus::kError);  // unknown version
  EXPECT_EQ(decodeHello("\xB7\x00"s).status, DecodeStatus::kError);
  DecodeResult ok = decodeHello("\xB7\x01\x01"s);
  EXPECT_EQ(ok.status, DecodeStatus::kOk);
  EXPECT_EQ(ok.consumed, 2u);
}

TEST(HeartbeatProtocol, RejectsMalformedFrames) {
  auto status = [](const std::string& bytes) {
    Frame f;
    return decodeFrame(bytes, &f).status;
  };
  EXPECT_EQ(status("\x00\x00\x00\x00"s), DecodeStatus::kError);  // type 0
  EXPECT_EQ(status("\x05\x00\x00\x00"s), DecodeStatus::kError);  // unknown type
  EXPECT_EQ(status("\xFF"s), DecodeStatus::kError);              // judged on the first byte
  EXPECT_EQ(status("\x03\x01"s), DecodeStatus::kError);          // reserved flags
  EXPECT_EQ(status("\x03\x00\x40\x01"s), DecodeStatus::kError);  // 16385 bytes: oversized
  EXPECT_EQ(status("\x03\x00\xFF\xFF"s), DecodeStatus::kError);  // never waits for 64 KiB
  EXPECT_EQ(status("\x01\x00\x00\x07" + std::string(7, 'a')), DecodeStatus::kError);  // short PING
  EXPECT_EQ(status("\x02\x00\x00\x09" + std::string(9, 'a')), DecodeStatus::kError);  // long PONG
  EXPECT_EQ(status("\x04\x00\x00\x00"s), DecodeStatus::kError);       // GOODBYE without a code
  std::string longBye = "\x04\x00\x01\x02"s + std::string(258, 'a');  // text 257 > 256
  EXPECT_EQ(status(longBye), DecodeStatus::kError);
}

TEST(HeartbeatProtocol, ErrorsCarryAMessageAndNeverConsume) {
  Frame f;
  DecodeResult r = decodeFrame("\x09"s, &f);
  EXPECT_EQ(r.status, DecodeStatus::kError);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_STRNE(r.error, "");
}

TEST(HeartbeatProtocol, UnknownGoodbyeCodesDecodeAndNameAsUnknown) {
  std::string s = "\x04\x00\x00\x01\x63"s;  // code 99: a newer peer's reason
  Frame f;
  ASSERT_EQ(decodeFrame(s, &f).status, DecodeStatus::kOk);
  EXPECT_EQ(goodbyeReasonName(static_cast<std::uint8_t>(f.reason)), "unknown");
  EXPECT_EQ(goodbyeReasonName(3), "too_many_pings");
}

TEST(HeartbeatProtocol, GoodbyeTextIsTruncated) {
  std::string s;
  appendGoodbye(s, GoodbyeReason::kNormal, std::string(1000, 'x'));
  Frame f;
  ASSERT_EQ(decodeFrame(s, &f).status, DecodeStatus::kOk);
  EXPECT_EQ(f.text.size(), kMaxGoodbyeText);
}

}  // namespace
}  // namespace tether::liveness::wire
