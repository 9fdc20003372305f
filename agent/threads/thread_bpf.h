#ifndef PERFWIRE_AGENT_THREADS_THREAD_BPF_H_
#define PERFWIRE_AGENT_THREADS_THREAD_BPF_H_

// Adapter around bpf/threads.bpf.c: load (with fallbacks), attach, and read
// the maps and rings. Deltas, exit joining and frames are above it
// (ThreadTable, ExitJoiner, ThreadSource) and testable without root. What it
// does besides libbpf calls is the bookkeeping its maps need: which
// snapshots are full, resuming the task walk where a run stopped, draining
// the exit rings, and collecting block_io entries of threads that vanished
// without an exit record. It is tested against the real kernel.
//
// Not thread-safe: one collector thread owns it.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/bpf/libbpf_util.h"
#include "agent/bpf/mmap_region.h"
#include "agent/bpf/per_cpu_rings.h"
#include "agent/threads/exit_joiner.h"
#include "agent/threads/thread_backend.h"
#include "agent/threads/thread_counters.h"
#include "threads_shared.h"  // bpf/include: struct pw_thread_sample

struct threads_bpf;

namespace perfwire {

template <>
void SkeletonDeleter<threads_bpf>::operator()(threads_bpf* skel) const;

// How snapshots walk the tasks (perfwired --thread_snapshot).
enum class ThreadSnapshotMode {
  kAuto,      // the task walk where the kernel has it, else iter/task
  kWalk,      // the task walk or fail
  kIterTask,  // iter/task
};
// "auto", "walk" or "iter"; anything else is InvalidArgument.
absl::StatusOr<ThreadSnapshotMode> ParseThreadSnapshotMode(
    absl::string_view name);

struct ThreadBpfOptions {
  uint32_t agent_tgid = 0;       // this process: never counted
  uint32_t max_threads = 32768;  // capacity of the per-thread block IO map
  // Exit records each CPU's rings hold between two drains: a power of two,
  // at least 2 (Open refuses others). That many exit samples (128 bytes) per
  // CPU, and as many finals (56 bytes) with exit_last_slice.
  uint32_t exit_slots_per_cpu = 4096;
  // Also hook sched_process_free for each exiting thread's last slice (the
  // CPU time and final switch after sched_process_exit): a second program
  // per exit, on a cold task (cost: docs/BENCHMARKS.md).
  bool exit_last_slice = false;
  ThreadSnapshotMode snapshot = ThreadSnapshotMode::kAuto;
  // Samples one task-walk run can hand over; more changed tasks take more
  // runs. Memory: 128 bytes each, in the kernel.
  uint32_t walk_batch = 8192;
};

// A task's identity in the block_io map: (tid, start_time_ns).
using BlockIoKey = std::pair<uint32_t, uint64_t>;

class ThreadBpf : public ThreadBackend {
 public:
  // Opens, loads and attaches the programs, trying in order tp_btf + task
  // walk, tp_btf + iter/task, raw_tp + iter/task (options.snapshot leaves
  // out the ones it excludes); the first the kernel accepts wins, hook() and
  // snapshot_mechanism() say which, load_failures() why the better ones
  // failed. InvalidArgument for a bad exit_slots_per_cpu; when every
  // attempt fails, the last one's code and a message naming what the
  // kernel refused in each attempt and why.
  static absl::StatusOr<std::unique_ptr<ThreadBpf>> Open(
      const ThreadBpfOptions& options);
  ~ThreadBpf() override;  // detaches everything

  struct PassKey {
   private:
    friend class ThreadBpf;
    PassKey() = default;
  };
  explicit ThreadBpf(PassKey) {}  // use Open()

  const std::string& hook() const override { return hook_; }
  // How snapshots walk the tasks: "task walk" (one run of an open-coded task
  // iterator, kernel >= 6.7) or "iter/task" (a task iterator program).
  const char* snapshot_mechanism() const {
    return walk_ ? "task walk" : "iter/task";
  }
  // Why the better load attempts failed, if they did ("" otherwise).
  const std::string& load_failures() const { return load_failures_; }

  // Walks the tasks once: calls `fn` for every live task but the agent's
  // own, with its block IO counters from the block_io map. The
  // first and every kFullSnapshotEvery-th snapshot is full; the others leave
  // out the tasks that have not run since the previous one (their counters
  // have not moved; cgroup and comm may have, hence the full ones). Both
  // walks miss pid 1's threads on some kernels (6.18 here): the caller fills
  // that gap. The task walk may call `fn` twice for a task, or leave one
  // born during the walk to the next snapshot, when tasks come and go
  // between its runs. After a full snapshot, block_io entries of tasks
  // missing from two full snapshots in a row are deleted. Errors: a failed
  // program run or block_io read; `fn` may have been called for some tasks.
  absl::Status ForEachLiveThread(
      absl::FunctionRef<void(const ThreadSample&)> fn) override;
  // Whether the last ForEachLiveThread reported every live task.
  bool last_snapshot_full() const override { return last_full_; }
  static constexpr uint64_t kFullSnapshotEvery = 10;

  // Consumes every queued exit record: `on_exit` for each exit sample (taken
  // at sched_process_exit, block IO zero: TakeBlockIoOfExited fills it in),
  // then, with exit_last_slice, `on_final` for each thread's final counts
  // (taken at sched_process_free). ExitJoiner pairs them; a final can come
  // before its exit sample (different CPUs' rings). Re-arms the half-full
  // wakeup. On an error from one ring the other is still drained.
  absl::Status DrainExits(
      absl::FunctionRef<void(const ThreadSample&)> on_exit,
      absl::FunctionRef<void(const ThreadFinal&)> on_final) override;

  // Fills in the block IO of dead threads from the block_io map and deletes
  // their entries. On a failed map read the samples keep zero block IO and
  // the error is returned.
  absl::Status TakeBlockIoOfExited(std::vector<ThreadSample>& exited) override;

  // Readable when an exit ring reached half full (call DrainExits).
  int exit_wakeup_fd() const override;

  // Cumulative loss counters, summed over CPUs.
  absl::StatusOr<ThreadLostCounts> ReadLost() const override;

 private:
  SkeletonPtr<threads_bpf> skel_;
  RingBufferPtr exit_wakeups_;
  // The exit rings (bpf/include/threads_shared.h), mapped.
  MmapRegion exit_samples_;
  MmapRegion exit_finals_;
  MmapRegion exit_pos_;
  uint32_t cpus_ = 0;
  uint32_t exit_slots_per_cpu_ = 0;
  PerCpuRings ExitRings(pw_exit_kind kind);
  std::string hook_;
  bool walk_ = false;
  std::string load_failures_;
  uint32_t walk_batch_ = 0;
  MmapRegion walk_out_;  // snapshot_out: walk_batch_ samples
  absl::Status ReadBlockIoMap();
  // The task walk: runs snapshot_walk until it reaches the last task.
  absl::Status Walk(absl::FunctionRef<void(const pw_thread_sample&)> deliver);
  // Deletes a block_io entry and takes it off the kernel's entry count.
  void DeleteBlockIoEntry(const pw_block_io_key& key);
  // After a full snapshot: deletes entries of tasks that are gone without an
  // exit record (exit ring full), once they were missing from two full
  // snapshots in a row; a task started during a walk is in the next one.
  void CollectOrphanBlockIo(const absl::flat_hash_set<BlockIoKey>& live);

  std::vector<char> iter_buffer_;  // reused across intervals
  uint64_t snapshots_ = 0;
  bool last_full_ = true;
  // block_io map contents, read when needed; buffers reused.
  absl::flat_hash_map<BlockIoKey, pw_block_io> block_io_;
  std::vector<pw_block_io_key> batch_keys_;
  std::vector<pw_block_io> batch_values_;
  absl::flat_hash_set<BlockIoKey> orphan_candidates_;
};

// Convert the kernel's records into the agent's types.
ThreadSample ToThreadSample(const pw_thread_sample& s);
ThreadFinal ToThreadFinal(const pw_thread_final& f);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_BPF_H_
