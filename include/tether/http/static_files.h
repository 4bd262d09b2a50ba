// `--root DIR`: GET/HEAD of files under DIR, with Content-Type by extension,
// Last-Modified / If-Modified-Since (304), index.html for directories, and
// large bodies sent with sendfile. Paths are resolved by the kernel with
// openat2(RESOLVE_BENEATH): no `..`, absolute path or symlink escapes DIR (403).
//
// sendfile() has no MSG_NOSIGNAL: a peer that resets mid-file raises SIGPIPE, so
// a program serving files must ignore SIGPIPE (tether serve does; the library
// leaves signal dispositions to the program).
#pragma once

#include <string>

#include "tether/http/server.h"

namespace tether::http {

/// Serves `root` as the server's fallback handler. Throws std::system_error if
/// `root` is not an openable directory. The directory fd lives as long as the
/// server's handlers.
void installStaticFiles(Server& server, const std::string& root);

}  // namespace tether::http
