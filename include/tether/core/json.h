// The one JSON string encoder every JSON output uses (status page excepted: it
// has no free-form text). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tether::core {

/// `s` as a JSON string literal: quotes added, `"` and `\` escaped, control
/// characters as \u00XX. Bytes >= 0x80 pass through (UTF-8 stays UTF-8).
std::string jsonString(std::string_view s);

}  // namespace tether::core
