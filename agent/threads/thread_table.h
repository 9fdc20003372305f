#ifndef PERFWIRE_AGENT_THREADS_THREAD_TABLE_H_
#define PERFWIRE_AGENT_THREADS_THREAD_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "agent/threads/thread_counters.h"

namespace perfwire {

// What one thread did during one interval.
struct ThreadDelta {
  uint32_t tid = 0;
  uint32_t pid = 0;
  uint64_t cgroup_id = 0;
  std::array<char, 16> comm{};
  bool exited = false;  // final counts: the thread is gone
  ThreadCounters delta;
};

// Turns cumulative per-thread samples into per-interval deltas.
//
// Threads are keyed by (tid, start_time) because tids wrap quickly on busy
// hosts. A thread that started at or after `watch_start_ns` is counted from
// zero (so one born and dead within an interval loses nothing); an older one
// is counted from its first sighting, and an older one first seen at its
// exit is reported as exited with a zero delta. After ObserveExit the key's
// live samples and repeated exits are ignored for two intervals, long enough
// for any sample taken before the exit was processed; a (tid, start_time) pair
// does not recur after that. A thread that disappears without an exit record
// (and without NoteExiting) is forgotten, and counted as vanished, once it has
// been missing for `vanish_after_intervals` intervals, judged only at the
// end of an interval that saw every thread (EndInterval).
//
// Cost: ObserveLive is the per-thread step of every interval, and with
// thousands of idle threads its memory, cold after a second of other work,
// dominates. Entries live in a slab; the order in which the last interval
// observed them is kept, so the next interval finds each entry by walking
// that order, in ascending tid, instead of probing a hash table, prefetching
// a few entries ahead. A sample out of that order (iter/task walks by tid;
// the task walk goes by the kernel's task list, where a new thread of an
// older process comes before younger processes; pid 1's threads come from
// /proc) falls back to the key index. Freed slots are reused, so the slab
// stays at the largest population seen (EndInterval's vanish sweep walks all
// of it).
//
// Not thread-safe: one collector thread owns it.
class ThreadTable {
 public:
  explicit ThreadTable(uint64_t watch_start_ns,
                       uint32_t vanish_after_intervals = 3);

  // A live thread's cumulative counters. A second sample of the same thread
  // in one interval adds only what moved since the first (the task walk can
  // deliver a task twice when tasks come and go between its runs).
  void ObserveLive(const ThreadSample& sample);
  // A thread's cumulative counters at its exit: the exit record of
  // sched_process_exit, with its last slice joined in by ExitJoiner when
  // --exit_last_slice is on, and its block IO filled in. Its delta is
  // reported, marked exited, by the next EndInterval; the key is freed.
  void ObserveExit(const ThreadSample& sample);
  // The thread has exited and its ObserveExit will come: until then it is
  // not counted as vanished, however many intervals it is missing from.
  void NoteExiting(uint32_t tid, uint64_t start_time_ns);

  // Closes the interval. Returns the threads with anything new plus every
  // exit seen in it (each thread once), and starts the next interval.
  // `saw_every_thread`: this interval observed every live thread (a full
  // snapshot); only then are unseen ones counted as vanished, since a
  // partial one leaves out threads that have not run.
  std::vector<ThreadDelta> EndInterval(bool saw_every_thread = true);

  size_t tracked_count() const { return index_.size(); }
  // Threads forgotten without an exit record since the last call.
  uint64_t TakeVanishedCount();

 private:
  struct Key {
    uint32_t tid;
    uint64_t start_time_ns;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.tid, k.start_time_ns);
    }
  };
  struct Entry {
    ThreadCounters last;
    uint64_t last_seen_interval = 0;
    bool exiting = false;  // NoteExiting: never vanishes
    // Index into pending_ of this thread's delta, valid while
    // pending_interval == interval_.
    uint64_t pending_interval = UINT64_MAX;
    uint32_t pending_index = 0;
  };
  struct Slot {
    Key key{};
    bool live = false;
    Entry entry;
  };
  struct Seen {
    Key key;
    uint32_t slot;
  };

  ThreadDelta& PendingFor(Entry& entry, const ThreadSample& sample);
  // The slot of `key` from the last interval's order, or UINT32_MAX.
  uint32_t HintedSlot(const Key& key);
  // The slot of `key` (created when new, `*inserted` then true).
  uint32_t FindOrInsert(const Key& key, bool* inserted);
  void Free(uint32_t slot);

  const uint64_t watch_start_ns_;
  const uint32_t vanish_after_intervals_;
  uint64_t interval_ = 0;
  uint64_t vanished_count_ = 0;
  std::vector<Slot> slab_;
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<Key, uint32_t> index_;  // live key -> slab_ slot
  absl::flat_hash_map<Key, uint64_t> recently_exited_;  // key -> interval
  std::vector<Seen> last_order_;  // the previous interval's ObserveLive order
  std::vector<Seen> order_;       // this interval's, so far
  size_t cursor_ = 0;             // into last_order_
  std::vector<ThreadDelta> pending_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_TABLE_H_
