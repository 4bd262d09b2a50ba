// buildRequest(): the bytes of the request `tether bench` sends.
#include "tether/http/request.h"
#include "tether/tools/bench.h"

namespace tether::tools::bench {

using http::equalsIgnoreCase;

namespace {

bool hasHeader(const std::vector<std::string>& headers, std::string_view name) {
  for (const std::string& h : headers) {
    std::string_view line = h;
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && equalsIgnoreCase(line.substr(0, colon), name)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string buildRequest(const RequestSpec& spec) {
  std::string out;
  out.reserve(128 + spec.body.size());
  out += spec.method;
  out += ' ';
  out += spec.target;
  out += " HTTP/1.1\r\n";
  if (!hasHeader(spec.headers, "host")) out += "Host: " + spec.host + "\r\n";
  for (const std::string& h : spec.headers) out += h + "\r\n";
  bool bodyMethod = spec.method == "POST" || spec.method == "PUT" || spec.method == "PATCH";
  if ((!spec.body.empty() || bodyMethod) && !hasHeader(spec.headers, "content-length")) {
    out += "Content-Length: " + std::to_string(spec.body.size()) + "\r\n";
  }
  if (!spec.keepAlive && !hasHeader(spec.headers, "connection")) out += "Connection: close\r\n";
  out += "\r\n";
  out += spec.body;
  return out;
}

}  // namespace tether::tools::bench
