#include "tether/http/static_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <system_error>

namespace tether::http {
namespace {

class FileSource final : public BodySource {
 public:
  FileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  std::uint64_t size() const override { return size_; }
  net::IoResult writeTo(net::Stream& stream, std::uint64_t offset, std::size_t max) override {
    return stream.sendFile(fd_, offset, max);
  }

 private:
  int fd_;
  std::uint64_t size_;
};

// Owns the root directory descriptor for as long as a handler copy lives.
struct RootDir {
  explicit RootDir(int d) : fd(d) {}
  RootDir(const RootDir&) = delete;
  RootDir& operator=(const RootDir&) = delete;
  ~RootDir() { ::close(fd); }
  int fd;
};

std::string_view contentType(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css"},
      {".js", "text/javascript"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".xml", "application/xml"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".pdf", "application/pdf"},
      {".woff2", "font/woff2"},
      {".mp4", "video/mp4"},
  };
  std::size_t dot = path.rfind('.');
  if (dot != std::string_view::npos && path.find('/', dot) == std::string_view::npos) {
    for (const auto& [ext, type] : kTypes) {
      if (equalsIgnoreCase(path.substr(dot), ext)) return type;
    }
  }
  return "application/octet-stream";
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `path`; false on malformed escapes or a NUL byte.
bool decodePath(std::string_view path, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size()) return false;
      int hi = hexValue(path[i + 1]), lo = hexValue(path[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out.push_back(c);
  }
  return true;
}

std::string httpDate(time_t t) {
  tm utc;
  gmtime_r(&t, &utc);
  char buf[64];
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return buf;
}

time_t parseHttpDate(std::string_view text) {
  tm parsed{};
  std::string s(text);
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parsed) == nullptr) return -1;
  return timegm(&parsed);
}

void plainError(Response& res, int status) {
  res.setStatus(status);
  res.setContentType("text/plain");
  res.setBody(fmt::format("{} {}\n", status, reasonPhrase(status)));
}

int openBeneath(int dirfd, const std::string& relative) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, relative.c_str(), &how, sizeof how));
}

int statusForOpenError(int err) {
  if (err == ENOENT || err == ENOTDIR) return 404;
  if (err == EXDEV || err == EACCES || err == EPERM || err == ELOOP) return 403;
  return 500;
}

void serveFile(int rootFd, const Request& req, Response& res) {
  if (req.method != "GET" && req.method != "HEAD") {
    plainError(res, 405);
    res.addHeader("Allow", "GET, HEAD");
    return;
  }
  std::string path;
  if (!decodePath(req.path, path) || path.empty() || path.front() != '/')
    return plainError(res, 400);
  std::string relative = path.size() > 1 ? path.substr(1) : ".";
  int fd = openBeneath(rootFd, relative);
  if (fd < 0) return plainError(res, statusForOpenError(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    if (path.back() != '/') {  // relative links in the index need the slash
      res.setStatus(301);
      res.addHeader("Location", std::string(req.path) + "/");
      return;
    }
    fd = openBeneath(rootFd, relative + "/index.html");
    if (fd < 0) return plainError(res, errno == ENOENT ? 404 : statusForOpenError(errno));
    path += "index.html";
    fstat(fd, &st);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return plainError(res, 403);
  }
  res.addHeader("Last-Modified", httpDate(st.st_mtime));
  std::string_view since = req.header("if-modified-since");
  if (!since.empty() && parseHttpDate(since) >= st.st_mtime) {
    ::close(fd);
    res.setStatus(304);
    return;
  }
  res.setContentType(contentType(path));
  res.setBodySource(std::make_unique<FileSource>(fd, static_cast<std::uint64_t>(st.st_size)));
}

}  // namespace

void installStaticFiles(Server& server, const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "--root " + root);
  auto dir = std::make_shared<RootDir>(fd);
  server.setFallback([dir](const Request& req, Response& res) { serveFile(dir->fd, req, res); });
}

}  // namespace tether::http
