#include "active_state.h"

#include <cstring>

namespace tether::http {

void ActiveState::compact() noexcept {
  std::uint32_t shift = start;
  char* buf = buffer.get();
  if (parser.headComplete() && parser.messageInProgress()) {
    std::uint32_t headLen = headEnd - start;
    std::memmove(buf, buf + start, headLen);
    std::memmove(buf + headLen, buf + parsed, end - parsed);
    end = headLen + (end - parsed);
    parsed = headEnd = headLen;
  } else {
    std::memmove(buf, buf + start, end - start);
    parsed -= shift;
    end -= shift;
    headEnd = 0;
  }
  start = 0;
  parser.shift(shift);
}

}  // namespace tether::http
