#ifndef PERFWIRE_AGENT_SERVER_FRAME_QUEUE_H_
#define PERFWIRE_AGENT_SERVER_FRAME_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

// The frames waiting for one consumer: a bounded FIFO that never makes the
// producer wait. When it is full, Push drops the OLDEST frame and counts it,
// so a slow consumer loses old data and keeps getting the newest.
// Thread-safe: any number of threads may call any method concurrently.
class FrameQueue {
 public:
  using Frame = std::shared_ptr<const flatbuffers::DetachedBuffer>;

  // One frame taken from the queue, with the number of frames this queue had
  // dropped (cumulative) at the moment it was taken.
  struct Popped {
    Frame frame;
    uint64_t dropped_count = 0;
  };

  // `capacity` frames at most; 0 is treated as 1.
  explicit FrameQueue(size_t capacity);
  FrameQueue(const FrameQueue&) = delete;
  FrameQueue& operator=(const FrameQueue&) = delete;

  // Appends `frame`; when full, first drops the oldest frame and increments
  // dropped_count(). Never blocks beyond a short critical section. Does
  // nothing after Close().
  void Push(Frame frame);

  // Blocks until a frame is available or the queue is closed. Returns the
  // oldest frame, or nullopt once closed (frames still queued are discarded).
  std::optional<Popped> Pop();

  // Wakes every Pop() and makes the queue permanently empty. Idempotent.
  void Close();

  // Frames queued now.
  size_t size() const;

  // Frames dropped because the queue was full, since construction.
  uint64_t dropped_count() const;

 private:
  bool ReadyToPop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<Frame> frames_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_SERVER_FRAME_QUEUE_H_
