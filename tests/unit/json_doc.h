// Reading back the JSON documents the writers print, for their unit tests.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tether::jsondoc {

using Doc = nlohmann::ordered_json;

/// `text` must be one JSON document on one line, ending in '\n'.
inline Doc parseJsonLine(const std::string& text) {
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
  return Doc::parse(text);
}

/// The keys of an object, in document order.
inline std::vector<std::string> keysOf(const Doc& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

}  // namespace tether::jsondoc
