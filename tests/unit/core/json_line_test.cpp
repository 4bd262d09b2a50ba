#include "core/json_line.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace tether::core {
namespace {

TEST(JsonLine, CompactOrderedOneLine) {
  Json doc;
  doc["z"] = 1;
  doc["a"] = {{"n", nullptr}, {"b", true}, {"u", std::uint64_t{18446744073709551615u}}};
  doc["s"] = Json::array({1.5, "x"});
  EXPECT_EQ(
      jsonLine(doc),
      "{\"z\":1,\"a\":{\"n\":null,\"b\":true,\"u\":18446744073709551615},\"s\":[1.5,\"x\"]}\n");
}

TEST(JsonLine, EscapesStringsAndReplacesInvalidUtf8) {
  EXPECT_EQ(jsonLine(Json("a\"b\\c")), "\"a\\\"b\\\\c\"\n");
  EXPECT_EQ(jsonLine(Json(std::string("t\tn\n\x01", 5))), "\"t\\tn\\n\\u0001\"\n");
  EXPECT_EQ(jsonLine(Json("h\xc3\xa9")), "\"h\xc3\xa9\"\n");      // UTF-8 passes through
  EXPECT_EQ(jsonLine(Json("bad\xff")), "\"bad\xef\xbf\xbd\"\n");  // U+FFFD, no exception
}

}  // namespace
}  // namespace tether::core
