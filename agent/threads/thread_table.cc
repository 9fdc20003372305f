#include "agent/threads/thread_table.h"

#include <utility>

namespace perfwire {

// Exited keys are remembered this many intervals, long enough for any sample
// taken before the exit was processed to have been consumed.
constexpr uint64_t kExitMemoryIntervals = 2;

ThreadTable::ThreadTable(uint64_t watch_start_ns,
                         uint32_t vanish_after_intervals)
    : watch_start_ns_(watch_start_ns),
      vanish_after_intervals_(vanish_after_intervals) {}

ThreadDelta& ThreadTable::PendingFor(Entry& entry, const ThreadSample& sample) {
  if (entry.pending_interval != interval_) {
    entry.pending_interval = interval_;
    entry.pending_index = static_cast<uint32_t>(pending_.size());
    pending_.emplace_back();
  }
  ThreadDelta& d = pending_[entry.pending_index];
  d.tid = sample.tid;
  d.pid = sample.pid;
  d.cgroup_id = sample.cgroup_id;
  d.comm = sample.comm;
  return d;
}

void ThreadTable::ObserveLive(const ThreadSample& sample) {
  const Key key{sample.tid, sample.start_time_ns};
  if (recently_exited_.contains(key)) return;
  auto [it, inserted] = threads_.try_emplace(key);
  Entry& entry = it->second;
  if (inserted && sample.start_time_ns < watch_start_ns_) {
    entry.last = sample.counters;  // pre-existing thread: count from now on
  }
  entry.last_seen_interval = interval_;
  if (sample.counters == entry.last) return;  // idle: the common case
  const ThreadCounters delta = sample.counters.Minus(entry.last);
  entry.last = sample.counters;
  if (!delta.IsZero()) PendingFor(entry, sample).delta += delta;
}

void ThreadTable::ObserveExit(const ThreadSample& sample) {
  const Key key{sample.tid, sample.start_time_ns};
  if (!recently_exited_.try_emplace(key, interval_).second) return;
  auto it = threads_.find(key);
  Entry entry;
  if (it != threads_.end()) {
    entry = it->second;
  } else if (sample.start_time_ns < watch_start_ns_) {
    // Older than the agent and never sampled: its earlier counts are not
    // ours to report, so the exit carries no delta.
    entry.last = sample.counters;
  }
  ThreadDelta& d = PendingFor(entry, sample);
  d.delta += sample.counters.Minus(entry.last);
  d.exited = true;
  if (it != threads_.end()) threads_.erase(it);
}

std::vector<ThreadDelta> ThreadTable::EndInterval() {
  std::vector<ThreadDelta> out = std::move(pending_);
  pending_.clear();
  absl::erase_if(threads_, [this](const auto& kv) {
    const bool vanished =
        interval_ - kv.second.last_seen_interval >= vanish_after_intervals_;
    vanished_count_ += vanished;
    return vanished;
  });
  absl::erase_if(recently_exited_, [this](const auto& kv) {
    return interval_ - kv.second >= kExitMemoryIntervals;
  });
  ++interval_;
  return out;
}

uint64_t ThreadTable::TakeVanishedCount() {
  return std::exchange(vanished_count_, 0);
}

}  // namespace perfwire
