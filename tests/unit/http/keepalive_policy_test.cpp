#include "http/keepalive_policy.h"

#include <gtest/gtest.h>

namespace tether::http {
namespace {

ConnectionTokens tokens(std::string_view value) {
  ConnectionTokens t;
  addConnectionTokens(value, t);
  return t;
}

// RFC 9112 §9.3 decision table: version x Connection header.
struct PersistCase {
  int major, minor;
  const char* connection;
  bool persistent;
};

TEST(KeepalivePolicy, Rfc9112PersistenceTable) {
  const PersistCase cases[] = {
      {1, 1, "", true},
      {1, 1, "keep-alive", true},
      {1, 1, "close", false},
      {1, 1, "Close", false},
      {1, 1, "keep-alive, close", false},  // close wins
      {1, 1, "Upgrade, close", false},
      {1, 1, "upgrade", true},
      {1, 0, "", false},
      {1, 0, "keep-alive", true},
      {1, 0, "Keep-Alive", true},
      {1, 0, " keep-alive ,foo", true},
      {1, 0, "keep-alive, close", false},
      {1, 0, "close", false},
      {0, 9, "keep-alive", false},
      {2, 0, "", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(requestWantsPersistence(c.major, c.minor, tokens(c.connection)), c.persistent)
        << "HTTP/" << c.major << "." << c.minor << " Connection: " << c.connection;
  }
}

TEST(KeepalivePolicy, TokensAreCaseInsensitiveAndCommaSeparated) {
  ConnectionTokens t = tokens("Keep-Alive,UPGRADE , x-foo");
  EXPECT_TRUE(t.keepAlive);
  EXPECT_TRUE(t.upgrade);
  EXPECT_FALSE(t.close);
  EXPECT_FALSE(tokens("closed").close);  // whole tokens only
  EXPECT_FALSE(tokens("keep-alive-ish").keepAlive);
}

TEST(KeepalivePolicy, KeepsByDefault) {
  PersistenceInput in;
  EXPECT_FALSE(closeAfterResponse(in).has_value());
}

TEST(KeepalivePolicy, EachCauseClosesWithItsReason) {
  auto reason = [](auto mutate) {
    PersistenceInput in;
    in.maxRequests = 1000;
    mutate(in);
    return closeAfterResponse(in);
  };
  EXPECT_EQ(reason([](auto& in) { in.requestPersistent = false; }), CloseReason::kClientRequested);
  EXPECT_EQ(reason([](auto& in) { in.handlerClose = true; }), CloseReason::kClientRequested);
  EXPECT_EQ(reason([](auto& in) { in.keepaliveEnabled = false; }), CloseReason::kKeepaliveDisabled);
  EXPECT_EQ(reason([](auto& in) { in.requestNumber = 1000; }), CloseReason::kMaxRequests);
  EXPECT_EQ(reason([](auto& in) { in.requestNumber = 999; }), std::nullopt);
  EXPECT_EQ(reason([](auto& in) { in.lifetimeExpired = true; }), CloseReason::kLifetime);
  EXPECT_EQ(reason([](auto& in) { in.shuttingDown = true; }), CloseReason::kShutdown);
  EXPECT_EQ(reason([](auto& in) { in.protocolError = true; }), CloseReason::kBadRequest);
  EXPECT_EQ(reason([](auto& in) { in.bodyUnread = true; }), CloseReason::kBadRequest);
}

TEST(KeepalivePolicy, UnlimitedRequestsWhenMaxIsZero) {
  PersistenceInput in;
  in.maxRequests = 0;
  in.requestNumber = 1'000'000;
  EXPECT_FALSE(closeAfterResponse(in).has_value());
}

TEST(KeepalivePolicy, ClientCloseBeatsPolicyReasons) {
  PersistenceInput in;
  in.requestPersistent = false;
  in.maxRequests = 1;
  in.lifetimeExpired = true;
  EXPECT_EQ(closeAfterResponse(in), CloseReason::kClientRequested);
}

TEST(KeepalivePolicy, AdvertisedTimeoutIsWholeSecondsAtLeastOne) {
  EXPECT_EQ(advertisedTimeoutSeconds(75'000), 75);
  EXPECT_EQ(advertisedTimeoutSeconds(1'500), 1);
  EXPECT_EQ(advertisedTimeoutSeconds(500), 1);
  EXPECT_EQ(advertisedTimeoutSeconds(2'999), 2);  // never promise more than we wait
}

}  // namespace
}  // namespace tether::http
