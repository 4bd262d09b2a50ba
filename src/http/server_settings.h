// Every effective setting of a server, listed once: the option that sets it,
// its keys and values in the status JSON (`settings`), and its text on the `/`
// page. Both views are built from this table, so neither can miss a setting the
// other shows. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "json_line.h"
#include "tether/http/server_options.h"

namespace tether::http {

struct SettingRow {
  const char* option;                                     // "--keepalive-timeout"
  std::vector<std::pair<const char*, json::Value>> keys;  // status JSON (units in the key)
  std::string text;                                       // for people: "75s"
};

/// The rows in --help order; `maxConnections` is the effective limit
/// (Server::maxConnections(), derived from the fd limit when the option is 0).
std::vector<SettingRow> settingRows(const ServerOptions& options, std::uint64_t maxConnections);

}  // namespace tether::http
