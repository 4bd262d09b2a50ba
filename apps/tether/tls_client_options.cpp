#include "tls_client_options.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "commands.h"
#include "help_format.h"

namespace tether::app {

void addTlsClientOptions(CLI::App& cmd, TlsClientArgs& a) {
  label(
      cmd.add_option("--cacert", a.caFile,
                     "Trust the CA certificates in FILE (PEM) instead of the system store (https)"),
      "FILE");
  cmd.add_flag("-k,--insecure", a.insecure,
               "Accept any certificate and name (https; for tests: nothing is verified)");
}

std::shared_ptr<const net::TlsContext> toTlsContext(const TlsClientArgs& a, const http::Url& url) {
  if (!url.tls) return nullptr;
  if (!a.caFile.empty() && ::access(a.caFile.c_str(), R_OK) != 0) {
    throw UsageError("--cacert " + a.caFile + ": " + std::strerror(errno));
  }
  try {
    return net::TlsContext::client({a.caFile, !a.insecure});
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());  // "--cacert FILE: <OpenSSL's reason>"
  }
}

}  // namespace tether::app
