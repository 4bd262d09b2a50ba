#include "json_line.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace tether::json {
namespace {

TEST(JsonLine, CompactOrderedOneLine) {
  Value doc;
  doc["z"] = 1;
  doc["a"] = {{"n", nullptr}, {"b", true}, {"u", std::uint64_t{18446744073709551615u}}};
  doc["s"] = Value::array({1.5, "x"});
  EXPECT_EQ(
      line(doc),
      "{\"z\":1,\"a\":{\"n\":null,\"b\":true,\"u\":18446744073709551615},\"s\":[1.5,\"x\"]}\n");
}

TEST(JsonLine, EscapesStringsAndReplacesInvalidUtf8) {
  EXPECT_EQ(line(Value("a\"b\\c")), "\"a\\\"b\\\\c\"\n");
  EXPECT_EQ(line(Value(std::string("t\tn\n\x01", 5))), "\"t\\tn\\n\\u0001\"\n");
  EXPECT_EQ(line(Value("h\xc3\xa9")), "\"h\xc3\xa9\"\n");      // UTF-8 passes through
  EXPECT_EQ(line(Value("bad\xff")), "\"bad\xef\xbf\xbd\"\n");  // U+FFFD, no exception
}

}  // namespace
}  // namespace tether::json
