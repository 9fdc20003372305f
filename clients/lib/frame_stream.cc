#include "clients/lib/frame_stream.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/unix_socket.h"
#include "clients/lib/wire.h"

namespace perfwire {

absl::StatusOr<FrameStream> FrameStream::Connect(
    const std::string& socket_path) {
  absl::StatusOr<UniqueFd> fd = ConnectUnixSocket(socket_path);
  if (!fd.ok()) {
    const std::string not_listening =
        absl::StrCat("no perfwired is listening on ", socket_path,
                     " (start it with `make run` or `perfwired`)");
    switch (fd.status().code()) {
      case absl::StatusCode::kNotFound:
        return absl::NotFoundError(not_listening);
      case absl::StatusCode::kUnavailable:
        return absl::UnavailableError(not_listening);
      case absl::StatusCode::kPermissionDenied:
        return absl::PermissionDeniedError(
            absl::StrCat("permission denied on ", socket_path,
                         ": run as root or join the socket's group"));
      default:
        return fd.status();
    }
  }
  return FrameStream(*std::move(fd), socket_path);
}

FrameStream FrameStream::FromFd(UniqueFd fd) {
  std::string name = absl::StrCat("fd ", fd.get());
  return FrameStream(std::move(fd), std::move(name));
}

FrameStream::FrameStream(UniqueFd fd, std::string name)
    : fd_(std::move(fd)), name_(std::move(name)) {}

absl::Span<const uint8_t> FrameStream::last_message() const { return message_; }

absl::StatusOr<const fb::Frame*> FrameStream::Next(absl::Time deadline) {
  if (!error_.ok()) return error_;
  deadline_ = deadline;
  absl::StatusOr<const fb::Frame*> frame = ReadFrame();
  if (!frame.ok()) {
    message_.clear();
    if (!absl::IsOutOfRange(frame.status())) error_ = frame.status();
  }
  return frame;
}

absl::StatusOr<const fb::Frame*> FrameStream::ReadFrame() {
  const uint64_t start = offset_;
  message_.resize(kWirePrefixBytes);
  absl::StatusOr<size_t> got = ReadFully(message_.data(), kWirePrefixBytes);
  if (!got.ok()) return got.status();
  if (*got == 0) {
    return absl::OutOfRangeError(absl::StrCat("end of stream from ", name_));
  }
  if (*got < kWirePrefixBytes) {
    return absl::DataLossError(absl::StrFormat(
        "%s ends inside a frame length at byte %d", name_, start));
  }
  const uint32_t size = flatbuffers::ReadScalar<uint32_t>(message_.data());
  if (size == 0 || size > kMaxFrameBytes) {
    return absl::DataLossError(absl::StrFormat(
        "corrupt stream from %s: frame length %u at byte %d (allowed: 1 to "
        "%u bytes, the 64 MiB maximum)",
        name_, size, start, kMaxFrameBytes));
  }
  got = ReadGrowing(message_, size, [this](uint8_t* out, size_t n) {
    return ReadFully(out, n);
  });
  if (!got.ok()) return got.status();
  if (*got < size) {
    return absl::DataLossError(absl::StrFormat(
        "%s ends inside a frame: %u of its %u bytes arrived (frame at byte "
        "%d)",
        name_, *got, size, start));
  }
  const uint8_t* body = message_.data() + kWirePrefixBytes;
  if (absl::Status s = VerifyFrame(body, size); !s.ok()) return s;
  const fb::Frame* frame = fb::GetFrame(body);
  // perfwired's refusal (agent/server/frame_server.h): no AgentStats, one
  // unavailable source named "perfwired" whose reason says why.
  if (frame->agent() == nullptr && frame->sources() != nullptr &&
      frame->sources()->size() == 1) {
    const fb::SourceStatus* only = frame->sources()->Get(0);
    if (!only->available() && only->name() != nullptr &&
        only->name()->string_view() == "perfwired") {
      return absl::ResourceExhaustedError(absl::StrCat(
          "perfwired refused: ",
          only->reason() ? only->reason()->str() : std::string("no reason")));
    }
  }
  return frame;
}

absl::StatusOr<size_t> FrameStream::ReadFully(uint8_t* out, size_t size) {
  size_t got = 0;
  while (got < size) {
    if (deadline_ != absl::InfiniteFuture()) {
      pollfd p = {.fd = fd_.get(), .events = POLLIN, .revents = 0};
      const absl::Duration left = deadline_ - absl::Now();
      const int ms = left <= absl::ZeroDuration()
                         ? 0
                         : static_cast<int>(std::min<int64_t>(
                               absl::ToInt64Milliseconds(
                                   absl::Ceil(left, absl::Milliseconds(1))),
                               1 << 30));
      const int ready = ::poll(&p, 1, ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return absl::ErrnoToStatus(errno, absl::StrCat("poll ", name_));
      }
      if (ready == 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("no frame from ", name_, " before the deadline"));
      }
    }
    const ssize_t n = ::read(fd_.get(), out + got, size - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("read from ", name_));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
    offset_ += static_cast<uint64_t>(n);
  }
  return got;
}

}  // namespace perfwire
