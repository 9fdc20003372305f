#include "clients/lib/frame_feed.h"

#include <sys/socket.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/lib/frame_stream.h"

namespace perfwire {

absl::string_view StreamLossName(StreamLoss loss) {
  switch (loss) {
    case StreamLoss::kAgentGone:
      return "agent gone";
    case StreamLoss::kCorruptFrame:
      return "corrupt frame";
    case StreamLoss::kIncompatibleSchema:
      return "incompatible schema";
    case StreamLoss::kRefused:
      return "refused";
    case StreamLoss::kOther:
      return "error";
  }
  return "error";
}

StreamLoss ClassifyLoss(const absl::Status& status, bool connected,
                        uint64_t frames) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:     // ENOENT on connect
    case absl::StatusCode::kUnavailable:  // ECONNREFUSED on connect
      return StreamLoss::kAgentGone;
    case absl::StatusCode::kOutOfRange:  // EOF at a frame boundary
      // A live agent that closes before the first frame did not serve us.
      return connected && frames == 0 ? StreamLoss::kRefused
                                      : StreamLoss::kAgentGone;
    case absl::StatusCode::kDataLoss:
      return StreamLoss::kCorruptFrame;
    case absl::StatusCode::kFailedPrecondition:
      // One connection is one agent and one schema: after frames that
      // verified, a frame that is "not perfwire" is damage, not a schema.
      return frames > 0 ? StreamLoss::kCorruptFrame
                        : StreamLoss::kIncompatibleSchema;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
      return StreamLoss::kRefused;
    default:
      return StreamLoss::kOther;
  }
}

FrameFeed::FrameFeed(Options options) : options_(std::move(options)) {}

void FrameFeed::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

absl::Status FrameFeed::StopStatus() const {
  if (absl::Now() >= options_.deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline reached reading ", options_.socket_path));
  }
  return absl::CancelledError("frame feed cancelled");
}

bool FrameFeed::Wait(absl::Duration d) {
  const absl::Time until = std::min(absl::Now() + d, options_.deadline);
  mu_.LockWhenWithDeadline(absl::Condition(&cancelled_), until);
  const bool go_on = !cancelled_ && absl::Now() < options_.deadline;
  mu_.Unlock();
  return go_on;
}

absl::Status FrameFeed::Run(FrameSink& sink) {
  // A blocked read does not see the deadline: a watchdog ends it then.
  absl::Mutex watchdog_mu;
  bool run_done = false;
  std::thread watchdog;
  if (options_.deadline != absl::InfiniteFuture()) {
    watchdog = std::thread([&] {
      watchdog_mu.LockWhenWithDeadline(absl::Condition(&run_done),
                                       options_.deadline);
      const bool expired = !run_done;
      watchdog_mu.Unlock();
      if (expired) Cancel();
    });
  }
  absl::Status result;
  absl::Duration backoff = options_.initial_backoff;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_ || absl::Now() >= options_.deadline) {
        result = StopStatus();
        break;
      }
    }
    LossReport report;
    absl::StatusOr<FrameStream> stream =
        FrameStream::Connect(options_.socket_path);
    if (!stream.ok()) {
      report.status = stream.status();
    } else {
      report.connected = true;
      {
        absl::MutexLock lock(&mu_);
        fd_ = stream->fd();
        if (cancelled_) ::shutdown(fd_, SHUT_RDWR);
      }
      sink.OnConnected();
      for (;;) {
        absl::StatusOr<const fb::Frame*> frame = stream->Next();
        if (!frame.ok()) {
          report.status = frame.status();
          break;
        }
        ++report.frames;
        sink.OnFrame(**frame, stream->last_message());
      }
      absl::MutexLock lock(&mu_);
      fd_ = -1;  // before the stream closes it
    }
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_ || absl::Now() >= options_.deadline) {
        result = StopStatus();  // our own shutdown, not a loss
        break;
      }
    }
    if (report.frames > 0) backoff = options_.initial_backoff;
    report.reason =
        ClassifyLoss(report.status, report.connected, report.frames);
    report.retry_in = backoff;
    if (!sink.OnLost(report)) {
      result = absl::OkStatus();
      break;
    }
    if (!Wait(backoff)) {
      absl::MutexLock lock(&mu_);
      result = StopStatus();
      break;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  if (watchdog.joinable()) {
    {
      absl::MutexLock lock(&watchdog_mu);
      run_done = true;
    }
    watchdog.join();
  }
  return result;
}

}  // namespace perfwire
