#include "agent/server/frame_queue.h"

#include <utility>

namespace perfwire {

FrameQueue::FrameQueue(size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity) {}

void FrameQueue::Push(Frame frame) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  if (frames_.size() >= capacity_) {
    frames_.pop_front();
    ++dropped_count_;
  }
  frames_.push_back(std::move(frame));
}

std::optional<FrameQueue::Popped> FrameQueue::Pop() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &FrameQueue::ReadyToPop));
  if (closed_) return std::nullopt;
  Popped popped{std::move(frames_.front()), dropped_count_};
  frames_.pop_front();
  return popped;
}

bool FrameQueue::ReadyToPop() const { return closed_ || !frames_.empty(); }

void FrameQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  frames_.clear();
}

size_t FrameQueue::size() const {
  absl::MutexLock lock(&mu_);
  return frames_.size();
}

uint64_t FrameQueue::dropped_count() const {
  absl::MutexLock lock(&mu_);
  return dropped_count_;
}

}  // namespace perfwire
