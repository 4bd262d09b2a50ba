// Rounding of measured values to the decimals they are reported with (JSON
// numbers such as rtt_ms 0.081 or requests_per_s 1234.5), so a report does not
// carry the 17 significant digits of a double. Pure; thread-safe.
#pragma once

namespace tether::core {

/// `value` rounded to `decimals` places (0 to 17): exactly the number that
/// fmt's `{:.Nf}` prints, read back. NaN and infinities pass through.
double roundDecimals(double value, int decimals);

}  // namespace tether::core
