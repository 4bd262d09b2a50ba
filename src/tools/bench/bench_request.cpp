// buildRequest(): the bytes of the request `tether bench` sends, written by the http client's
// serializer (the one the pool uses), once before the run.
#include <stdexcept>

#include "tether/http/client/request_writer.h"
#include "tether/tools/bench.h"

namespace tether::tools::bench {

std::string buildRequest(const RequestSpec& spec) {
  http::client::RequestLines request;
  request.method = spec.method;
  request.target = spec.target;
  request.headers = spec.headers;
  request.body = spec.body;
  // The user's -H lines are sent as typed, framing ones included.
  http::client::RequestWriteOptions options;
  options.close = !spec.keepAlive;
  options.callerFraming = true;
  std::string out;
  const char* err = http::client::serializeRequestLines(request, spec.host, out, options);
  if (*err != '\0') throw std::invalid_argument(std::string("cannot build the request: ") + err);
  return out;
}

}  // namespace tether::tools::bench
