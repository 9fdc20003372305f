#ifndef PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_
#define PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "agent/source.h"
#include "agent/threads/thread_bpf.h"
#include "agent/threads/thread_table.h"
#include "clients/lib/unique_fd.h"

namespace perfwire {

struct ThreadSourceOptions {
  uint32_t max_threads = 0;        // 0: /proc/sys/kernel/pid_max
  uint32_t exit_buffer_bytes = 0;  // 0: derived from max_threads
  std::string proc_root = "/proc";
  ThreadSnapshotMode snapshot = ThreadSnapshotMode::kAuto;
};

// The "threads" source: per-thread counters from the kernel, via BPF.
// Each Collect() walks the tasks, drains exit records and emits the
// interval's deltas. Exit records that arrive early (ring buffer half full)
// are taken in by OnWakeup(), so a burst of exits is not dropped. An exit is
// reported once its final counts arrived, or after kExitFinalWaitNs without
// them; after Stop() the next Collect() reports every exit it has.
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
  ExitJoiner exits_{kExitFinalWaitNs};
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

// Reads /proc/sys/kernel/pid_max under `proc_root`; 32768 if unreadable.
uint32_t ReadPidMax(const std::string& proc_root);
// Ring buffer size for exit records: an exit sample and a final per possible
// thread, rounded down to a power of two, clamped to [256 KiB, 16 MiB].
uint32_t ExitBufferBytesFor(uint32_t max_threads);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_SOURCE_H_
