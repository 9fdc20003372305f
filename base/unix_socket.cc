#include "base/unix_socket.h"

#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace perfwire {
namespace {

constexpr int kListenBacklog = 16;

// mkdir -p of the directory holding `path`.
absl::Status MakeParentDirectories(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "cannot create directory", dir);
    }
  }
  return absl::OkStatus();
}

// Makes room for a new socket at `path`; see BindUnixSocket.
absl::Status ClearStaleSocket(const std::string& path, int type) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, "cannot stat", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " exists and is not a socket; refusing to replace it"));
  }
  absl::StatusOr<UniqueFd> probe = ConnectUnixSocket(path, type);
  if (probe.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, " is in use: another process serves it"));
  }
  if (!absl::IsUnavailable(probe.status())) {
    return absl::Status(probe.status().code(),
                        absl::StrCat("cannot probe existing socket: ",
                                     probe.status().message()));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove stale socket", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<gid_t> LookUpGroup(const std::string& group) {
  std::vector<char> scratch(16384);
  struct group entry;
  struct group* found = nullptr;
  const int err = ::getgrnam_r(group.c_str(), &entry, scratch.data(),
                               scratch.size(), &found);
  if (err != 0) return ErrnoStatus(err, "cannot look up group", group);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown group \"", group, "\""));
  }
  return found->gr_gid;
}

// Sets mode and group of the bound (not yet listening) socket file.
absl::Status SetPermissions(const std::string& path, const std::string& group,
                            mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) {
    return ErrnoStatus(errno, "cannot chmod", path);
  }
  if (group.empty()) return absl::OkStatus();
  absl::StatusOr<gid_t> gid = LookUpGroup(group);
  if (!gid.ok()) return gid.status();
  if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
    return ErrnoStatus(errno, absl::StrCat("cannot chown to group ", group),
                       path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path must be 1 to ", sizeof(addr.sun_path) - 1,
                     " bytes long: \"", path, "\""));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

BoundUnixSocket::BoundUnixSocket(BoundUnixSocket&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      device_(other.device_),
      inode_(std::exchange(other.inode_, 0)) {}

BoundUnixSocket& BoundUnixSocket::operator=(BoundUnixSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::move(other.fd_);
    path_ = std::move(other.path_);
    device_ = other.device_;
    inode_ = std::exchange(other.inode_, 0);
  }
  return *this;
}

void BoundUnixSocket::Close() {
  if (inode_ != 0) {
    struct stat st;
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == device_ &&
        st.st_ino == inode_) {
      ::unlink(path_.c_str());
    }
    inode_ = 0;
  }
  fd_.reset();
}

absl::StatusOr<BoundUnixSocket> BindUnixSocket(
    const std::string& path, const UnixSocketOptions& options) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  if (absl::Status s = MakeParentDirectories(path); !s.ok()) return s;
  if (absl::Status s = ClearStaleSocket(path, options.type); !s.ok()) return s;

  BoundUnixSocket sock;
  sock.path_ = path;
  sock.fd_.reset(::socket(
      AF_UNIX,
      options.type | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0),
      0));
  if (!sock.fd_) return ErrnoStatus(errno, "socket(AF_UNIX)");
  if (options.before_bind) {
    if (absl::Status s = options.before_bind(sock.fd_.get()); !s.ok()) return s;
  }
  if (::bind(sock.fd_.get(), reinterpret_cast<const sockaddr*>(&*addr),
             sizeof(*addr)) != 0) {
    return ErrnoStatus(errno, "cannot bind", path);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const absl::Status status = ErrnoStatus(errno, "cannot stat", path);
    ::unlink(path.c_str());
    return status;
  }
  sock.device_ = st.st_dev;
  sock.inode_ = st.st_ino;  // from here on, failure removes the file
  // Until listen() (or, for datagrams, until the mode is set) nobody may
  // connect, so the default mode bind() used is never exposed.
  if (absl::Status s = SetPermissions(path, options.group, options.mode);
      !s.ok()) {
    return s;
  }
  if (options.type == SOCK_STREAM &&
      ::listen(sock.fd_.get(), kListenBacklog) != 0) {
    return ErrnoStatus(errno, "cannot listen on", path);
  }
  return sock;
}

absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path, int type) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket(AF_UNIX)");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr),
                sizeof(*addr)) != 0) {
    const int err = errno;
    // ECONNREFUSED maps to Unavailable (nobody listening), as callers expect.
    if (err == ECONNREFUSED) {
      return absl::UnavailableError(
          absl::StrCat("connect ", path, ": nobody is listening"));
    }
    return ErrnoStatus(err, "connect", path);
  }
  return fd;
}

}  // namespace perfwire
