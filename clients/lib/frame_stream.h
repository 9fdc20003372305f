#ifndef PERFWIRE_CLIENTS_LIB_FRAME_STREAM_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_STREAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/unique_fd.h"
#include "perfwire_generated.h"

namespace perfwire {

// Reads frames, one at a time, from a byte stream in the wire format of
// clients/lib/wire.h: perfwired's socket, or a recorded file.
// Move-only. Thread-compatible: one thread at a time.
class FrameStream {
 public:
  // Connects to perfwired's Unix socket at `socket_path`. Errors say what to
  // do: NotFound (no such file) or Unavailable (nobody listening) read
  // "no perfwired is listening on <path> (start it with `make run` or
  // `perfwired`)"; PermissionDenied reads "permission denied on <path>: run as
  // root or join the socket's group"; InvalidArgument for a path too long for
  // a Unix socket; other errors carry their errno.
  static absl::StatusOr<FrameStream> Connect(const std::string& socket_path);

  // Reads from `fd`, which may be any readable byte stream.
  static FrameStream FromFd(UniqueFd fd);

  FrameStream(FrameStream&&) = default;
  FrameStream& operator=(FrameStream&&) = default;

  // Blocks for the next frame (retrying EINTR), until `deadline` at most.
  // Returns:
  //   OK: a verified frame, valid until the next call or destruction;
  //   OutOfRange: clean end of stream, at a frame boundary;
  //   DataLoss: end of stream inside a frame, a length of 0 or more than
  //     kMaxFrameBytes, or bytes that fail FlatBuffers verification;
  //   FailedPrecondition: not a perfwire stream, or a frame of an incompatible
  //     schema version (see VerifyFrame);
  //   ResourceExhausted: perfwired refused this connection, e.g. "perfwired
  //     refused: 64 consumers already connected (--max_consumers)";
  //   DeadlineExceeded: `deadline` passed before the whole frame arrived
  //     (an agent that stopped sending, or nothing on the other end);
  //   another code for a read error (errno).
  // A frame's buffer grows as its bytes arrive (see ReadGrowing), so a bogus
  // length prefix costs no memory. Any error except OutOfRange leaves the
  // stream out of step: later calls return the same error.
  absl::StatusOr<const fb::Frame*> Next(
      absl::Time deadline = absl::InfiniteFuture());

  // The last frame Next() returned, as it came: the 4-byte length prefix
  // followed by the frame (for recorders). Empty before the first frame and
  // after an error. Valid until the next call.
  absl::Span<const uint8_t> last_message() const;

  // The stream's descriptor, still owned by the stream: for poll(), or for
  // shutdown() from another thread to end a blocked Next (FrameFeed does).
  int fd() const { return fd_.get(); }

 private:
  FrameStream(UniqueFd fd, std::string name);

  // Reads exactly `size` bytes into `out`; returns how many it got before
  // the end of the stream, or an error.
  absl::StatusOr<size_t> ReadFully(uint8_t* out, size_t size);
  absl::StatusOr<const fb::Frame*> ReadFrame();

  UniqueFd fd_;
  std::string name_;              // for error messages
  std::vector<uint8_t> message_;  // prefix + frame
  absl::Status error_;            // sticky error, see Next()
  uint64_t offset_ = 0;           // bytes consumed from the stream
  absl::Time deadline_ = absl::InfiniteFuture();  // of the current Next()
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_STREAM_H_
