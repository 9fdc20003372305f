#ifndef PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_
#define PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_

#include <memory>
#include <optional>
#include <string>

#include "agent/source.h"
#include "agent/threads/procfs_thread_backend.h"
#include "agent/threads/thread_backend.h"
#include "agent/threads/thread_bpf.h"
#include "agent/threads/thread_table.h"

namespace perfwire {

struct ThreadSourceOptions {
  uint32_t max_threads = 0;        // 0: /proc/sys/kernel/pid_max
  uint32_t exit_buffer_bytes = 0;  // exit rings, all CPUs; 0: from max_threads
  // Where /proc is read: pid_max, the /proc backend, the pid-1 gap.
  std::string proc_root = "/proc";
  ThreadSnapshotMode snapshot = ThreadSnapshotMode::kAuto;
  // perfwired --exit_last_slice: also count what an exiting thread does
  // after sched_process_exit (from sched_process_free).
  bool exit_last_slice = false;
  // perfwired --require_bpf: when BPF is refused, Start() fails (the agent
  // refuses to run) instead of falling back to polling /proc.
  bool require_bpf = false;
};

// The "threads" source: per-thread counters from the kernel. Start() picks
// the backend (thread_backend.h): BPF (ThreadBpf, hook tp_btf or raw_tp)
// when the kernel lets us load it; otherwise, unless require_bpf, /proc
// polling (ProcfsThreadBackend, hook "procfs", its blind spots in the
// status reason). Each Collect() takes the backend's snapshot and exits and
// emits the interval's deltas. Exit records that arrive early (an exit ring
// half full) are taken in by OnWakeup(), so a burst of exits is not dropped.
// With exit_last_slice, an exit is reported once its final counts arrived, or
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
  // Starts the BPF backend; on failure, its error.
  absl::Status StartBpf();
  void StartProcfs(const absl::Status& bpf_error);
  // Feeds pid 1's threads from /proc (init_gap_) to the table.
  void ObserveInitProcessFromProc();
  // Moves queued exit records into exits_.
  absl::Status DrainExitRing();

  ThreadSourceOptions options_;
  SourceStatus status_;
  std::unique_ptr<ThreadBackend> backend_;
  ThreadBpf* bpf_ = nullptr;  // backend_ when it is BPF
  std::optional<ThreadTable> table_;
  std::optional<ExitJoiner> exits_;
  bool stopping_ = false;
  ThreadLostCounts last_lost_;
  bool saw_init_process_ = false;
  // With BPF: pid 1's threads from /proc when the task iterator skips them.
  std::unique_ptr<ProcfsThreadBackend> init_gap_;
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
