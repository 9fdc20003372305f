#ifndef PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_
#define PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "agent/source.h"
#include "agent/threads/thread_bpf.h"
#include "agent/threads/thread_table.h"
#include "base/unique_fd.h"

namespace perfwire {

struct ThreadSourceOptions {
  uint32_t max_threads = 0;        // 0: /proc/sys/kernel/pid_max
  uint32_t exit_buffer_bytes = 0;  // exit rings, all CPUs; 0: from max_threads
  std::string proc_root = "/proc";
  ThreadSnapshotMode snapshot = ThreadSnapshotMode::kAuto;
  // perfwired --exit_last_slice: also count what an exiting thread does
  // after sched_process_exit (from sched_process_free).
  bool exit_last_slice = false;
};

// The "threads" source: per-thread counters from the kernel, via BPF.
// Each Collect() walks the tasks, drains exit records and emits the
// interval's deltas. Exit records that arrive early (an exit ring half full)
// are taken in by OnWakeup(), so a burst of exits is not dropped. With
// exit_last_slice, an exit is reported once its final counts arrived, or
// after kExitFinalWaitNs without them; after Stop() the next Collect()
// reports every exit it has.
class ThreadSource : public Source {
 public:
  explicit ThreadSource(ThreadSourceOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }
  int wakeup_fd() const override;
  void OnWakeup() override;
  void Stop() override { stopping_ = true; }

  // sched_process_free comes 2-40 ms after sched_process_exit here (measured
  // under CPU contention with 10,000 short threads); 25x that.
  static constexpr uint64_t kExitFinalWaitNs = 1'000'000'000;

 private:
  void ObserveInitProcessFromProc();
  void MarkBroken(const absl::Status& error);
  // Moves queued exit records into exits_.
  absl::Status DrainExitRing();

  ThreadSourceOptions options_;
  SourceStatus status_;
  std::unique_ptr<ThreadBpf> bpf_;
  std::optional<ThreadTable> table_;
  ExitJoiner exits_;
  bool stopping_ = false;
  ThreadLostCounts last_lost_;
  bool saw_init_process_ = false;
  // pid 1's threads as last read from /proc, by tid.
  struct InitThread {
    ThreadSample sample;  // on_cpu_ns 0 until first read
    UniqueFd schedstat;   // <tid>/schedstat, kept open
  };
  absl::flat_hash_map<uint32_t, InitThread> init_threads_;
};

// ThreadSourceOptions from perfwired's flags (--max_threads,
// --exit_buffer_bytes, --exit_last_slice, --thread_snapshot; defined in
// agent/threads/thread_flags.cc). InvalidArgument for a bad --thread_snapshot.
absl::StatusOr<ThreadSourceOptions> ThreadSourceOptionsFromFlags(
    const std::string& proc_root);

// Reads /proc/sys/kernel/pid_max under `proc_root`; 32768 if unreadable.
uint32_t ReadPidMax(const std::string& proc_root);
// Memory for the exit rings, all CPUs: an exit sample and a final per
// possible thread, rounded down to a power of two, within [256 KiB, 16 MiB].
// Exits seldom all come at once, and the agent is woken as a ring fills.
uint32_t ExitBufferBytesFor(uint32_t max_threads);
// Slots per CPU ring (each holding one exit sample and one final) that fit
// in `buffer_bytes` over `cpus` CPUs: a power of two, at least 64.
uint32_t ExitSlotsPerCpu(uint64_t buffer_bytes, uint32_t cpus);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_
