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

uint32_t ThreadTable::FindOrInsert(const Key& key, bool* inserted) {
  auto [it, is_new] = index_.try_emplace(key, 0);
  *inserted = is_new;
  if (!is_new) return it->second;
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slab_.size());
    slab_.emplace_back();
  }
  slab_[slot] = Slot{key, true, Entry{}};
  it->second = slot;
  return slot;
}

void ThreadTable::Free(uint32_t slot) {
  index_.erase(slab_[slot].key);
  slab_[slot].live = false;
  free_slots_.push_back(slot);
}

uint32_t ThreadTable::HintedSlot(const Key& key) {
  // The last interval saw threads in this order (ascending tid).
  constexpr size_t kPrefetchAhead = 8;
  while (cursor_ < last_order_.size() && last_order_[cursor_].key.tid < key.tid)
    ++cursor_;
  uint32_t slot = UINT32_MAX;
  if (cursor_ < last_order_.size() && last_order_[cursor_].key == key) {
    const uint32_t hint = last_order_[cursor_++].slot;
    // A hint may be stale (the thread exited or vanished since): check it.
    if (slab_[hint].live && slab_[hint].key == key) slot = hint;
  }
  if (cursor_ + kPrefetchAhead < last_order_.size()) {
    const char* ahead = reinterpret_cast<const char*>(
        &slab_[last_order_[cursor_ + kPrefetchAhead].slot]);
    for (size_t off = 0; off < sizeof(Slot); off += 64)
      __builtin_prefetch(ahead + off);
  }
  return slot;
}

void ThreadTable::ObserveLive(const ThreadSample& sample) {
  const Key key{sample.tid, sample.start_time_ns};
  if (!recently_exited_.empty() && recently_exited_.contains(key)) return;
  uint32_t slot = HintedSlot(key);
  bool inserted = false;
  if (slot == UINT32_MAX) slot = FindOrInsert(key, &inserted);
  order_.push_back({key, slot});

  Entry& entry = slab_[slot].entry;
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
  auto it = index_.find(key);
  Entry entry;
  if (it != index_.end()) {
    entry = slab_[it->second].entry;
  } else if (sample.start_time_ns < watch_start_ns_) {
    // Older than the agent and never sampled: its earlier counts are not
    // ours to report, so the exit carries no delta.
    entry.last = sample.counters;
  }
  ThreadDelta& d = PendingFor(entry, sample);
  d.delta += sample.counters.Minus(entry.last);
  d.exited = true;
  if (it != index_.end()) Free(it->second);
}

void ThreadTable::NoteExiting(uint32_t tid, uint64_t start_time_ns) {
  auto it = index_.find(Key{tid, start_time_ns});
  if (it != index_.end()) slab_[it->second].entry.exiting = true;
}

std::vector<ThreadDelta> ThreadTable::EndInterval(bool saw_every_thread) {
  std::vector<ThreadDelta> out = std::move(pending_);
  pending_.clear();
  for (uint32_t slot = 0; saw_every_thread && slot < slab_.size(); ++slot) {
    const Slot& s = slab_[slot];
    if (s.live && !s.entry.exiting &&
        interval_ - s.entry.last_seen_interval >= vanish_after_intervals_) {
      ++vanished_count_;
      Free(slot);
    }
  }
  absl::erase_if(recently_exited_, [this](const auto& kv) {
    return interval_ - kv.second >= kExitMemoryIntervals;
  });
  std::swap(last_order_, order_);
  order_.clear();
  cursor_ = 0;
  ++interval_;
  return out;
}

uint64_t ThreadTable::TakeVanishedCount() {
  return std::exchange(vanished_count_, 0);
}

}  // namespace perfwire
