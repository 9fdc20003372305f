#ifndef PERFWIRE_AGENT_CONTENTION_CONTENTION_BPF_H_
#define PERFWIRE_AGENT_CONTENTION_CONTENTION_BPF_H_

// Thin adapter around bpf/contention.bpf.c: load, attach, read. No logic
// beyond translating libbpf calls (tested against the real kernel); the
// deltas, top-N and frame building above it are plain code.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/bpf/libbpf_util.h"
#include "agent/bpf/mmap_region.h"
#include "agent/bpf/per_cpu_rings.h"
#include "contention_shared.h"  // bpf/include

struct contention_bpf;

namespace perfwire {

template <>
void SkeletonDeleter<contention_bpf>::operator()(contention_bpf* skel) const;

struct ContentionBpfOptions {
  uint32_t agent_tgid = 0;       // this process: never counted
  uint32_t max_threads = 32768;  // per-thread hash capacity (raw_tp path only)
  // Memory for exit records, all CPUs and both exit-ring kinds; the rings'
  // size is ContentionExitSlotsPerCpu() of it.
  uint32_t exit_buffer_bytes = 1u << 20;
  // Hook sys_enter/sys_exit to time FUTEX_WAIT* syscalls. Off by default:
  // it costs every syscall (~+11% on W1, docs/CONTENTION.md).
  bool futex_syscalls = false;
  bool force_raw_tp = false;  // skip the tp_btf attempt (tests)
  // sched_process_free, the fallback for exit records the final switch-out
  // could not send. Tests turn it off to show the switch-out sends them.
  bool free_fallback = true;
};

// Records per CPU in each exit ring (bpf/include/pw_exit_ring.h; one kind per
// producing hook, PW_CT_EXIT_KINDS): the power of two at or below what
// `buffer_bytes` holds over `cpus` CPUs and both kinds, at least 2.
uint32_t ContentionExitSlotsPerCpu(uint64_t buffer_bytes, uint32_t cpus);

using HistogramSlots = std::array<uint64_t, PW_CT_HIST_SLOTS>;

// One thread's counters over one interval (computed in the kernel).
struct ThreadContentionDelta {
  uint32_t tid = 0;
  uint32_t pid = 0;
  uint64_t start_time_ns = 0;
  bool exited = false;
  pw_ct_counters delta{};
};

struct DiskLatencyTotals {  // cumulative since load
  uint32_t dev = 0;         // kernel dev_t: major << 20 | minor
  std::string name;
  uint64_t request_count = 0;
  uint64_t latency_total_ns = 0;
  HistogramSlots hist{};
};

struct WakeEdgeCount {
  uint32_t waker_tid = 0;
  uint32_t waker_pid = 0;
  uint32_t wakee_tid = 0;
  uint32_t wakee_pid = 0;
  uint64_t count = 0;
};

struct CpuRunQueueTotals {  // cumulative since load
  uint32_t cpu = 0;
  uint64_t wait_count = 0;
  uint64_t wait_total_ns = 0;
  HistogramSlots hist{};
};

struct ContentionLostCounts {  // cumulative since load
  uint64_t state = 0;
  uint64_t exit_records = 0;
  uint64_t inflight = 0;
  uint64_t wake_edges = 0;
  uint64_t disks = 0;
};

class ContentionBpf {
 public:
  // Opens, loads and attaches. Prefers tp_btf (with task storage) and falls
  // back to raw_tp (hash by tid); hook() says which won. When the lock
  // tracepoints are missing the rest still loads (lock_hooks() false).
  static absl::StatusOr<std::unique_ptr<ContentionBpf>> Open(
      const ContentionBpfOptions& options);
  ~ContentionBpf();

  struct PassKey {
   private:
    friend class ContentionBpf;
    PassKey() = default;
  };
  explicit ContentionBpf(PassKey) {}  // use Open()

  const std::string& hook() const { return hook_; }
  bool futex_syscalls() const { return futex_syscalls_; }
  bool lock_hooks() const { return lock_hooks_; }

  // Runs the task iterator: `fn` for every live thread whose counters moved
  // since the last call (the kernel keeps the last-reported copy).
  absl::Status ForEachThreadDelta(
      absl::FunctionRef<void(const ThreadContentionDelta&)> fn);
  // Consumes queued exit records (final deltas of exited threads), those
  // of the final switch-out first.
  absl::Status DrainExits(
      absl::FunctionRef<void(const ThreadContentionDelta&)> fn);
  // Readable when an exit ring is half full: DrainExits() then.
  int exit_wakeup_fd() const;
  uint32_t exit_slots_per_cpu() const { return exit_slots_per_cpu_; }

  // Reads and removes every waker->wakee pair counted since the last call.
  absl::Status TakeWakeEdges(std::vector<WakeEdgeCount>* out);
  absl::Status ReadDisks(std::vector<DiskLatencyTotals>* out) const;
  absl::Status ReadCpuRunQueue(std::vector<CpuRunQueueTotals>* out) const;
  absl::StatusOr<ContentionLostCounts> ReadLost() const;

 private:
  PerCpuRings ExitRings(pw_ct_exit_kind kind);

  SkeletonPtr<contention_bpf> skel_;
  // The exit rings (bpf/include/contention_shared.h), mapped.
  RingBufferPtr exit_wakeups_;
  MmapRegion exit_records_[PW_CT_EXIT_KINDS];
  MmapRegion exit_pos_;
  uint32_t cpus_ = 0;
  uint32_t exit_slots_per_cpu_ = 0;
  std::string hook_;
  bool futex_syscalls_ = false;
  bool lock_hooks_ = false;
  std::vector<char> iter_buffer_;
  std::vector<pw_ct_wake_key> edge_keys_;
  std::vector<pw_ct_wake_value> edge_values_;
};

ThreadContentionDelta ToThreadContentionDelta(const pw_ct_record& r);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_CONTENTION_CONTENTION_BPF_H_
