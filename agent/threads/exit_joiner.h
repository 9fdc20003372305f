#ifndef PERFWIRE_AGENT_THREADS_EXIT_JOINER_H_
#define PERFWIRE_AGENT_THREADS_EXIT_JOINER_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "agent/threads/thread_counters.h"

namespace perfwire {

// What a thread's last slice and final switch changed, read by the kernel
// after them (sched_process_free): the counters that can still move once a
// thread has entered do_exit.
struct ThreadFinal {
  uint32_t tid = 0;
  uint64_t start_time_ns = 0;
  uint64_t on_cpu_ns = 0;
  uint64_t voluntary_switch_count = 0;
  uint64_t involuntary_switch_count = 0;
  uint64_t minor_fault_count = 0;
  uint64_t major_fault_count = 0;
};

// Joins a thread's two exit records: the exit sample, taken when the thread
// enters do_exit (always sent), and its final counts, taken after its last
// slice (normally some milliseconds later; on some kernels never, for a
// small fraction of threads). A sample is released once its final has been
// applied, or once it has waited `final_wait_ns` without one, so that a
// missing final costs the thread's last slice, never the thread.
//
// Keys are (tid, start_time_ns). The two records may come in either order
// (they travel through different CPUs' rings): a final with no waiting
// sample is kept for `final_wait_ns` for its sample to come, then dropped
// (a sample lost to a full ring, or one already released). Without
// `finals_expected` (perfwired without --exit_last_slice) every sample is
// ready as it comes. Not thread-safe: the collector thread owns it.
class ExitJoiner {
 public:
  explicit ExitJoiner(uint64_t final_wait_ns, bool finals_expected = true)
      : final_wait_ns_(final_wait_ns), finals_expected_(finals_expected) {}

  void AddExit(const ThreadSample& sample, uint64_t now_ns);
  void AddFinal(const ThreadFinal& final, uint64_t now_ns);

  // Samples ready to report, in the order their exits arrived: those joined
  // with their final, those that waited `final_wait_ns` (counted in
  // TakeWithoutFinalCount) and, with `flush`, every other one too.
  std::vector<ThreadSample> TakeReady(uint64_t now_ns, bool flush = false);

  size_t waiting() const { return waiting_.size(); }
  size_t early_finals() const { return early_finals_.size(); }
  // Samples released without their final since the last call.
  uint64_t TakeWithoutFinalCount();

 private:
  struct Waiting {
    ThreadSample sample;
    uint64_t added_ns = 0;
    bool joined = false;
  };
  using Key = std::pair<uint32_t, uint64_t>;

  struct EarlyFinal {
    ThreadFinal final;
    uint64_t added_ns = 0;
  };
  static void Apply(const ThreadFinal& final, Waiting& w);

  const uint64_t final_wait_ns_;
  const bool finals_expected_;
  std::vector<Waiting> waiting_;            // arrival order
  absl::flat_hash_map<Key, size_t> index_;  // key -> position in waiting_
  absl::flat_hash_map<Key, EarlyFinal> early_finals_;  // no sample yet
  uint64_t without_final_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_EXIT_JOINER_H_
