#include "tether/core/plural.h"

namespace tether::core {

std::string counted(std::uint64_t n, std::string_view noun) {
  std::string out = std::to_string(n);
  out.append(" ").append(noun);
  if (n != 1) out.push_back('s');
  return out;
}

}  // namespace tether::core
