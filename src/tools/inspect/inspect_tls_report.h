// The https findings of `tether inspect`, from the raw probe outcomes: pure
// functions (unit-tested), and their text and JSON forms.
#pragma once

#include <string>

#include "json_line.h"
#include "tether/tools/inspect.h"

namespace tether::tools::inspect {

/// Fills `enabled` from `tls`; everything else from the probes.
TlsFindings tlsFindings(bool tls, const InspectResult& r);
/// The report's "TLS" section (empty for http).
std::string tlsText(const TlsFindings& t);
/// null for http.
json::Value tlsJson(const TlsFindings& t);

}  // namespace tether::tools::inspect
