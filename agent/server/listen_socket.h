#ifndef PERFWIRE_AGENT_SERVER_LISTEN_SOCKET_H_
#define PERFWIRE_AGENT_SERVER_LISTEN_SOCKET_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "clients/lib/unique_fd.h"

namespace perfwire {

// A listening Unix stream socket bound to a path, and the identity of the
// socket file it created (to remove it later only if it is still ours).
struct ListenSocket {
  UniqueFd fd;
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
};

// Creates `path`'s missing parent directories (mode 0755), then binds a
// SOCK_STREAM | SOCK_CLOEXEC Unix socket at `path`, sets its mode to `mode`,
// changes its group to `group` unless empty, and listens.
// An existing file at `path` is handled as follows:
//   * not a socket: FailedPrecondition naming it, nothing is touched;
//   * a socket someone accepts connections on: AlreadyExists
//     "another perfwired is already serving <path>";
//   * a socket nobody listens on (ECONNREFUSED, left by a crash): removed.
// Fails with InvalidArgument if the path does not fit in sockaddr_un, NotFound
// if `group` is unknown, or the errno of the failing call. On failure no
// socket file created by this call is left behind. Thread-compatible.
absl::StatusOr<ListenSocket> OpenListenSocket(const std::string& path,
                                              const std::string& group,
                                              mode_t mode);

// Removes `socket.path` if it is still the file OpenListenSocket created
// (same device and inode); leaves a file someone else put there alone.
void UnlinkIfStillOurs(const ListenSocket& socket);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_SERVER_LISTEN_SOCKET_H_
