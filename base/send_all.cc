#include "base/send_all.h"

#include <errno.h>
#include <sys/socket.h>

#include "base/errno_status.h"

namespace perfwire {

absl::Status SendAll(int fd, absl::Span<const uint8_t> bytes, size_t* sent) {
  size_t done = 0;
  absl::Status status;
  while (done < bytes.size()) {
    const ssize_t n =
        ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    status = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                 ? absl::UnavailableError("send would block")
                 : ErrnoStatus(n < 0 ? errno : EPIPE, "send");
    break;
  }
  if (sent != nullptr) *sent = done;
  return status;
}

}  // namespace perfwire
