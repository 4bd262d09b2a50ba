#include "tether/http/prometheus_text.h"

#include <fmt/format.h>

#include <iterator>

namespace tether::http {
namespace {

// A recorded value in the exported unit (ms -> s).
double inUnits(const HistogramSpec& spec, std::uint64_t v) {
  return static_cast<double>(v) / static_cast<double>(spec.perUnit);
}

}  // namespace

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusText::sample(std::string_view name, std::uint64_t value) {
  fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
}

void PrometheusText::sample(std::string_view name, std::string_view label,
                            std::string_view labelValue, std::uint64_t value) {
  fmt::format_to(std::back_inserter(out_), "{}{{{}=\"{}\"}} {}\n", name, label, labelValue, value);
}

void PrometheusText::histogram(const HistogramSpec& spec, const HistogramSnapshot& h) {
  family(spec.name, "histogram", spec.help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= spec.size; ++i) {
    cumulative += h.buckets[i];
    std::string le = i < spec.size ? fmt::format("{}", inUnits(spec, spec.bounds[i])) : "+Inf";
    fmt::format_to(std::back_inserter(out_), "{}_bucket{{le=\"{}\"}} {}\n", spec.name, le,
                   cumulative);
  }
  fmt::format_to(std::back_inserter(out_), "{}_sum {}\n{}_count {}\n", spec.name,
                 inUnits(spec, h.sum), spec.name, h.count);
}

}  // namespace tether::http
