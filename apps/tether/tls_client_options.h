// --cacert and --insecure (curl's names): how `bench` and `inspect` check an
// https:// server. Parsing only; thread-safe.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "tether/http/url.h"
#include "tether/net/tls.h"

namespace tether::app {

struct TlsClientArgs {
  std::string caFile;     // empty: the system CA store
  bool insecure = false;  // no certificate or name check
};

void addTlsClientOptions(CLI::App& cmd, TlsClientArgs& args);

/// The client context for an https:// URL; null for http:// (the options are
/// then ignored, as curl does). Throws UsageError for an unreadable CA file.
std::shared_ptr<const net::TlsContext> toTlsContext(const TlsClientArgs& args,
                                                    const http::Url& url);

}  // namespace tether::app
