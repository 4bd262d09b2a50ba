// The plain socket operations under a Stream, one syscall each (EINTR
// retried), with errno turned into IoResult: shared by the Stream's built-in
// path and the io_uring backend's receiving transport.
//
// Threading: any thread that owns the fd.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "tether/net/stream.h"

namespace tether::net::socket_io {

/// kFailed with `err`.
IoResult failed(int err) noexcept;
/// One read(): kDone (bytes > 0), kEof, kBlocked or kFailed.
IoResult read(int fd, char* buf, std::size_t len) noexcept;
/// One send() (MSG_NOSIGNAL): kDone with the bytes taken, kBlocked or kFailed.
IoResult send(int fd, const char* data, std::size_t len) noexcept;
/// One sendmsg() of at most IOV_MAX pieces.
IoResult writev(int fd, const iovec* iov, int count) noexcept;
/// One sendfile(); kDone with bytes == 0 when the file ended early.
IoResult sendFile(int fd, int fileFd, std::uint64_t offset, std::size_t len) noexcept;
/// True when at least one byte is waiting to be read (a MSG_PEEK).
bool hasBytes(int fd) noexcept;
/// True when nothing is waiting to be read and the peer has not closed (a
/// MSG_PEEK of one byte: 0 is a FIN, > 0 a stray byte, an error a reset).
bool quiet(int fd) noexcept;

}  // namespace tether::net::socket_io
