// The incremental UTF-8 validator: RFC 3629's table (overlongs, surrogates,
// beyond U+10FFFF, stray continuation bytes), and the same verdict however the
// input is split into pieces.
#include "http/websocket/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace tether::http::ws {
namespace {

// Every split into two pieces gives the whole-string verdict.
bool validEverySplit(const std::string& s, bool expected) {
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    Utf8Validator v;
    v.feed(std::string_view(s).substr(0, cut));
    v.feed(std::string_view(s).substr(cut));
    if (v.complete() != expected) return false;
  }
  return true;
}

TEST(Utf8Test, AcceptsWellFormedTextSplitAnywhere) {
  for (std::string s : {std::string(""), std::string("plain ascii text, longer than eight"),
                        std::string("\xC3\xA9t\xC3\xA9"),       // été
                        std::string("\xE2\x82\xAC 100"),        // € 100
                        std::string("\xF0\x9F\x98\x80 smile"),  // U+1F600
                        std::string("\xED\x9F\xBF"),            // U+D7FF, last before surrogates
                        std::string("\xEE\x80\x80"),            // U+E000
                        std::string("\xF4\x8F\xBF\xBF"),        // U+10FFFF
                        std::string("\x00 nul is valid", 15)}) {
    SCOPED_TRACE(s);
    EXPECT_TRUE(validUtf8(s));
    EXPECT_TRUE(validEverySplit(s, true));
  }
}

TEST(Utf8Test, RejectsWhatRfc3629Forbids) {
  for (std::string s : {
           std::string("\x80"),              // continuation without a lead
           std::string("\xC0\xAF"),          // overlong '/'
           std::string("\xC1\xBF"),          // overlong
           std::string("\xE0\x80\xAF"),      // overlong 3-byte
           std::string("\xF0\x80\x80\xAF"),  // overlong 4-byte
           std::string("\xED\xA0\x80"),      // U+D800 surrogate
           std::string("\xED\xBF\xBF"),      // U+DFFF surrogate
           std::string("\xF4\x90\x80\x80"),  // U+110000
           std::string("\xF5\x80\x80\x80"),  // lead beyond F4
           std::string("\xFF"),              // never valid
           std::string("\xC3\x28"),          // lead then ASCII
           std::string("abcdefgh\xE2\x82"),  // ends inside a character
       }) {
    SCOPED_TRACE(testing::PrintToString(s));
    EXPECT_FALSE(validUtf8(s));
    EXPECT_TRUE(validEverySplit(s, false));
  }
}

TEST(Utf8Test, FailsAtTheFirstBadPieceAndStaysFailed) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed("ok \xE2\x82"));
  EXPECT_TRUE(v.ok());
  EXPECT_FALSE(v.complete()) << "a character is still open";
  EXPECT_FALSE(v.feed("x"));  // the third byte of € must be a continuation
  EXPECT_FALSE(v.feed("fine"));
  EXPECT_FALSE(v.complete());
}

TEST(Utf8Test, TruncatesAtACharacterBoundary) {
  std::string s = "ab\xE2\x82\xAC";  // "ab€": 5 bytes
  EXPECT_EQ(truncateUtf8(s, 5), s);
  EXPECT_EQ(truncateUtf8(s, 4), "ab");
  EXPECT_EQ(truncateUtf8(s, 3), "ab");
  EXPECT_EQ(truncateUtf8(s, 2), "ab");
  EXPECT_EQ(truncateUtf8(s, 1), "a");
}

}  // namespace
}  // namespace tether::http::ws
