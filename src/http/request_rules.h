// The request-path MUSTs of RFC 9110/9112 that llhttp leaves to its user, as
// pure decisions over the parsed pieces: the Host value, the request-target's
// form, and the Transfer-Encoding list. Each answers 0 (fine) or the status to
// reject with; every rejection also closes the connection, because a message
// framed or routed one way here and another way by a proxy in front is request
// smuggling. Pure; thread-safe.
#pragma once

#include <string_view>

namespace tether::http {

/// A Host value (RFC 9112 §3.2, RFC 3986 §3.2.2): uri-host [":" port], where
/// uri-host is an IP literal in brackets, or a name of unreserved, %-escaped
/// and sub-delimiter characters except ',' (a list of hosts is never one host).
/// Empty, userinfo ('@'), a path, whitespace or a bad port are all invalid.
bool validHost(std::string_view host) noexcept;

enum class TargetForm { kOrigin, kAbsolute, kAsterisk };

struct TargetCheck {
  int status = 0;  // 0: acceptable
  const char* reason = "";
  TargetForm form = TargetForm::kOrigin;
  std::string_view authority;  // absolute-form: the host it names (replaces Host)
  std::string_view path;       // absolute-form: path and query ("/" when empty)
};

/// RFC 9112 §3.2: origin-form ("/p?q"), absolute-form ("http://h/p", accepted
/// from any client, its authority wins over Host), asterisk-form ("*", with
/// OPTIONS only); authority-form belongs to CONNECT, which the caller rejects
/// first. A fragment, a byte outside visible ASCII, or any other shape is 400.
TargetCheck checkTarget(std::string_view method, std::string_view target) noexcept;

/// Transfer-Encoding (RFC 9112 §6.1, §6.3), `values` being every TE field line
/// joined with ", ": 400 for an empty list or element, a coding that is not a
/// token, chunked twice or not last, or any TE in HTTP/1.0; 501 for a coding
/// other than chunked (the only one this server decodes).
int checkTransferEncoding(std::string_view values, bool http10) noexcept;

}  // namespace tether::http
