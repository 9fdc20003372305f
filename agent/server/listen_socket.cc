#include "agent/server/listen_socket.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace perfwire {
namespace {

constexpr int kListenBacklog = 16;

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

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

// Makes room for a new socket at `path`; see OpenListenSocket.
absl::Status ClearStaleSocket(const std::string& path,
                              const sockaddr_un& addr) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, "cannot stat", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " exists and is not a socket; refusing to replace it"));
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return absl::ErrnoToStatus(errno, "socket(AF_UNIX)");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr),
                sizeof(addr)) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("another perfwired is already serving ", path));
  }
  if (errno != ECONNREFUSED) {
    return ErrnoStatus(errno, "cannot probe existing socket", path);
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
    return absl::NotFoundError(
        absl::StrCat("unknown group \"", group, "\" for the perfwire socket"));
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

absl::StatusOr<ListenSocket> OpenListenSocket(const std::string& path,
                                              const std::string& group,
                                              mode_t mode) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  if (absl::Status s = MakeParentDirectories(path); !s.ok()) return s;
  if (absl::Status s = ClearStaleSocket(path, *addr); !s.ok()) return s;

  ListenSocket sock;
  sock.path = path;
  sock.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.fd) return absl::ErrnoToStatus(errno, "socket(AF_UNIX)");
  if (::bind(sock.fd.get(), reinterpret_cast<const sockaddr*>(&*addr),
             sizeof(*addr)) != 0) {
    return ErrnoStatus(errno, "cannot bind", path);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const absl::Status status = ErrnoStatus(errno, "cannot stat", path);
    ::unlink(path.c_str());
    return status;
  }
  sock.device = st.st_dev;
  sock.inode = st.st_ino;
  // Until listen() nobody can connect, so the default mode bind() used is
  // never exposed.
  absl::Status status = SetPermissions(path, group, mode);
  if (status.ok() && ::listen(sock.fd.get(), kListenBacklog) != 0) {
    status = ErrnoStatus(errno, "cannot listen on", path);
  }
  if (!status.ok()) {
    UnlinkIfStillOurs(sock);
    return status;
  }
  return sock;
}

void UnlinkIfStillOurs(const ListenSocket& socket) {
  struct stat st;
  if (::lstat(socket.path.c_str(), &st) != 0) return;
  if (st.st_dev == socket.device && st.st_ino == socket.inode) {
    ::unlink(socket.path.c_str());
  }
}

}  // namespace perfwire
