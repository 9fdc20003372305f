#ifndef PERFWIRE_BASE_UNIX_SOCKET_H_
#define PERFWIRE_BASE_UNIX_SOCKET_H_

// The one way perfwire binds, listens on and connects to Unix sockets: the
// agent's frame socket, its app-metrics datagram socket, `replay --serve`,
// and every client's connect.

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace perfwire {

// `path` as a sockaddr_un; InvalidArgument naming the limit when it is empty
// or does not fit in sun_path.
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path);

struct UnixSocketOptions {
  int type = SOCK_STREAM;  // SOCK_STREAM (listened on) or SOCK_DGRAM
  bool nonblocking = false;
  mode_t mode = 0660;  // of the socket file, set before anyone can connect
  std::string group;   // group of the socket file; empty keeps ours
  // Called on the new socket before bind(), e.g. to set SO_PASSCRED; a
  // non-OK status fails the bind.
  std::function<absl::Status(int fd)> before_bind;
};

// A socket bound to a path, and the identity (device, inode) of the socket
// file it created. Move-only. Destruction closes the fd and removes the file
// if it is still the one this socket created, so a successor's socket at the
// same path is left alone.
class BoundUnixSocket {
 public:
  BoundUnixSocket() = default;
  BoundUnixSocket(BoundUnixSocket&& other) noexcept;
  BoundUnixSocket& operator=(BoundUnixSocket&& other) noexcept;
  BoundUnixSocket(const BoundUnixSocket&) = delete;
  BoundUnixSocket& operator=(const BoundUnixSocket&) = delete;
  ~BoundUnixSocket() { Close(); }

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  bool valid() const { return fd_.valid(); }

  // Removes the socket file if still ours, then closes the fd. Idempotent.
  void Close();

 private:
  friend absl::StatusOr<BoundUnixSocket> BindUnixSocket(
      const std::string& path, const UnixSocketOptions& options);
  UniqueFd fd_;
  std::string path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

// Creates `path`'s missing parent directories (mode 0755), binds a socket of
// `options.type` (close-on-exec) at `path`, sets the file's mode and group,
// and for SOCK_STREAM listens. An existing file at `path`:
//   * not a socket: FailedPrecondition naming it; nothing is touched;
//   * a socket someone serves (a connect of the same type succeeds):
//     AlreadyExists "<path> is in use: another process serves it"; nothing
//     is touched;
//   * a socket nobody serves (ECONNREFUSED: left by a crash): replaced.
// Other failures: InvalidArgument for a bad path, NotFound for an unknown
// group, else the errno of the failing call, naming it and the path. On
// failure no file created by this call is left behind. Thread-compatible.
absl::StatusOr<BoundUnixSocket> BindUnixSocket(
    const std::string& path, const UnixSocketOptions& options);

// Connects a close-on-exec socket of `type` to `path`. Errors keep errno's
// meaning in their code: NotFound (no such file), Unavailable (nobody
// listening: ECONNREFUSED), PermissionDenied (EACCES/EPERM), InvalidArgument
// (bad path), else the errno's code; messages name the path.
absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path,
                                           int type = SOCK_STREAM);

}  // namespace perfwire

#endif  // PERFWIRE_BASE_UNIX_SOCKET_H_
