#ifndef PERFWIRE_CLIENTS_LIB_FRAME_FEED_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_FEED_H_

// The one reconnecting frame reader that every long-running consumer (`top`,
// `export prometheus`) uses: connects with FrameStream::Connect, hands each
// frame to a sink, and when the stream is lost says why, waits (exponential
// backoff) and connects again, until cancelled, past its deadline, or told
// to stop by the sink.

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "perfwire_generated.h"

namespace perfwire {

// Why a stream was lost, one value per thing a user does about it.
enum class StreamLoss {
  // Nobody listens (ENOENT, ECONNREFUSED), or the stream ended cleanly at a
  // frame boundary (EOF): the agent stopped, or a replay reached its end.
  kAgentGone,
  // A frame that does not verify, a bad length, or EOF inside a frame
  // (FrameStream's DataLoss).
  kCorruptFrame,
  // Not a perfwire stream, or a schema version this client cannot read
  // (FrameStream's FailedPrecondition) in the connection's first frame;
  // after frames that verified it counts as kCorruptFrame.
  kIncompatibleSchema,
  // The agent would not serve us: permission denied on the socket, a
  // server-side refusal (ResourceExhausted, e.g. --max_consumers), or a
  // connection closed before its first frame.
  kRefused,
  // Any other error (a read error with its errno, a path too long).
  kOther,
};

// "agent gone", "corrupt frame", "incompatible schema", "refused", "error".
absl::string_view StreamLossName(StreamLoss loss);

// What the feed tells its sink when a stream is lost.
struct LossReport {
  StreamLoss reason = StreamLoss::kOther;
  // The status the stream or connect returned. Its message is meant for
  // users and may come from the server (a refusal says why): display it.
  absl::Status status;
  uint64_t frames = 0;     // frames this connection delivered before the loss
  bool connected = false;  // false: the connect itself failed
  absl::Duration retry_in = absl::ZeroDuration();  // backoff before retrying
};

// Maps the status of FrameStream::Connect or FrameStream::Next (with how
// many frames the connection delivered) to a reason. Pure.
StreamLoss ClassifyLoss(const absl::Status& status, bool connected,
                        uint64_t frames);

// Receives what the feed reads, on the thread that called FrameFeed::Run.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // A connection was made.
  virtual void OnConnected() {}
  // One verified frame; `message` is its 4-byte length prefix and bytes
  // (for recorders). Both are valid only during the call.
  virtual void OnFrame(const fb::Frame& frame,
                       absl::Span<const uint8_t> message) = 0;
  // The stream was lost or the connect failed. Return false to stop the
  // feed (Run returns OK) instead of retrying after `report.retry_in`.
  virtual bool OnLost(const LossReport& report) = 0;
};

// Thread-safe: Cancel may be called from any thread while Run runs on
// another (not from a signal handler: it takes a mutex).
class FrameFeed {
 public:
  struct Options {
    std::string socket_path;
    // Waits between attempts: the first after a loss is initial_backoff,
    // doubled after each failed attempt up to max_backoff, and back to
    // initial_backoff after a connection that delivered a frame.
    absl::Duration initial_backoff = absl::Milliseconds(250);
    absl::Duration max_backoff = absl::Seconds(4);
    // Run returns DeadlineExceeded at this time, even while blocked in a
    // read or a connect backoff.
    absl::Time deadline = absl::InfiniteFuture();
  };

  explicit FrameFeed(Options options);
  FrameFeed(const FrameFeed&) = delete;
  FrameFeed& operator=(const FrameFeed&) = delete;

  // Reads until Cancel (returns Cancelled), the deadline (DeadlineExceeded)
  // or a sink that returns false from OnLost (OK). Call at most once at a
  // time.
  absl::Status Run(FrameSink& sink);

  // Makes Run return soon: interrupts a blocked read (shutdown of the
  // socket) and a backoff wait. Idempotent; later Runs return at once.
  void Cancel();

 private:
  // Waits up to `d` or until cancelled/deadline; returns false when Run
  // must return.
  bool Wait(absl::Duration d);
  absl::Status StopStatus() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;  // the connected stream's, for Cancel
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_FEED_H_
