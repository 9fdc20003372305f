#ifndef PERFWIRE_BASE_SEND_ALL_H_
#define PERFWIRE_BASE_SEND_ALL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace perfwire {

// Sends every byte of `bytes` on the connected socket `fd`, retrying short
// sends and EINTR, with MSG_NOSIGNAL (a gone peer is an error, never
// SIGPIPE). On a non-blocking socket EAGAIN is returned as Unavailable with
// the count already sent in `*sent` (if given), so the caller can resume.
// Other failures carry their errno (EPIPE/ECONNRESET: the peer left).
absl::Status SendAll(int fd, absl::Span<const uint8_t> bytes,
                     size_t* sent = nullptr);

}  // namespace perfwire

#endif  // PERFWIRE_BASE_SEND_ALL_H_
