// JSON output of the library (status document, bench and inspect reports).
// Documents are nlohmann::ordered_json, so keys keep the order they were added
// in. Private to the library: nlohmann-json never appears in include/tether/.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tether::core {

using Json = nlohmann::ordered_json;

/// `doc` compact on one line, then '\n'. Bytes that are not UTF-8 (a URL or an
/// error text as received) become U+FFFD instead of throwing.
inline std::string jsonLine(const Json& doc) {
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace) + '\n';
}

}  // namespace tether::core
