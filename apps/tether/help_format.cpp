#include "help_format.h"

namespace tether::app {

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  if (opt->get_type_size() == 0) return "";  // a flag takes no value
  std::string text = opt->get_option_text();
  if (text.empty()) {
    // CLI11's type name carries validator notes after a colon ("INT:INT in [0 - 1024]");
    // the description states ranges in words instead.
    text = opt->get_type_name();
    text = text.substr(0, text.find(':'));
  }
  std::string out = " " + text;
  if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
  if (opt->get_required()) out += " (required)";
  return out;
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  std::string desc = opt->get_description();
  if (opt->get_type_size() != 0 && !opt->get_default_str().empty()) {
    desc += " (default: " + opt->get_default_str() + ")";
  }
  return desc;
}

CLI::Option* label(CLI::Option* opt, const std::string& text) { return opt->option_text(text); }

}  // namespace tether::app
