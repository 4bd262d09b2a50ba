// The one JSON writer of the project: the library's documents (status, bench
// and inspect reports) and the CLI's (`explain --json`, heartbeat event lines).
// Documents are nlohmann::ordered_json, so keys keep the order they were added
// in. Private: the target tether_json carries it to the library and the CLI,
// and nlohmann-json never appears in include/tether/.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tether::json {

using Value = nlohmann::ordered_json;

/// `doc` compact on one line, then '\n'. Bytes that are not UTF-8 (a URL, a
/// peer's text or an error as received) become U+FFFD instead of throwing.
inline std::string line(const Value& doc) {
  return doc.dump(-1, ' ', false, Value::error_handler_t::replace) + '\n';
}

}  // namespace tether::json
