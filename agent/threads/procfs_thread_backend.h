#ifndef PERFWIRE_AGENT_THREADS_PROCFS_THREAD_BACKEND_H_
#define PERFWIRE_AGENT_THREADS_PROCFS_THREAD_BACKEND_H_

// The /proc thread backend: per-thread counters polled from
// <proc_root>/<pid>/task/<tid>/{stat,status,schedstat,io} each interval.
// perfwired uses it when BPF is refused (not root, no CAP_BPF, no BTF), and
// the BPF backend uses it, restricted to pid 1, for the threads its task
// iterator skips on some kernels.
//
// Each snapshot lists every process and thread and reports all of them
// (every snapshot is full). A thread whose schedstat on-CPU time has not
// moved has not run, so nothing it counts can have moved: its last sample
// is reported again for one kept-open schedstat read instead of four file
// reads. Threads that were listed last time and are gone now are reported
// by DrainExits with their last-read counts.
//
// Blind spots, by construction: a thread born and gone between two
// snapshots is never seen, and what a thread did after its last snapshot is
// lost; no run-queue or lock waits; no per-thread block IO (its io file's
// rchar/wchar are syscall bytes, and only readable for threads we may
// ptrace: has_io false gives 0 bytes, unknown). Keys are (tid, start time):
// stat's starttime in clock ticks since boot, as ns.
//
// Not thread-safe: the collector thread owns it.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "agent/threads/proc_thread_reader.h"
#include "agent/threads/thread_backend.h"

namespace perfwire {

struct ProcfsThreadBackendOptions {
  std::string proc_root = "/proc";
  // Never reported (perfwired's own pid); 0: none.
  uint32_t skip_pid = 0;
  // Only this process's threads (the pid-1 gap); 0: every process.
  uint32_t only_pid = 0;
  // Schedstat files kept open at most (each is an fd); threads beyond it
  // read their schedstat by path. 0: a quarter of RLIMIT_NOFILE's soft
  // limit.
  uint32_t max_kept_files = 0;
};

class ProcfsThreadBackend : public ThreadBackend {
 public:
  explicit ProcfsThreadBackend(ProcfsThreadBackendOptions options);

  const std::string& hook() const override { return hook_; }
  absl::Status ForEachLiveThread(
      absl::FunctionRef<void(const ThreadSample&)> fn) override;
  bool last_snapshot_full() const override { return true; }
  absl::Status DrainExits(
      absl::FunctionRef<void(const ThreadSample&)> on_exit,
      absl::FunctionRef<void(const ThreadFinal&)> on_final) override;
  absl::Status TakeBlockIoOfExited(std::vector<ThreadSample>&) override {
    return absl::OkStatus();
  }
  int exit_wakeup_fd() const override { return -1; }
  absl::StatusOr<ThreadLostCounts> ReadLost() const override {
    return ThreadLostCounts{};
  }

  // Threads tracked after the last snapshot.
  size_t tracked_count() const { return threads_.size(); }
  // Full reads (4 files) and unchanged threads (one schedstat read) in the
  // last snapshot.
  uint64_t last_full_reads() const { return full_reads_; }
  uint64_t last_unchanged() const { return unchanged_; }

 private:
  struct Known {
    ThreadSample sample;
    KeptFile schedstat;  // may be closed (over max_kept_files)
    uint64_t snapshot = 0;
  };
  // Reads one thread; false when it is gone or unreadable.
  bool Observe(uint32_t pid, uint32_t tid,
               absl::FunctionRef<void(const ThreadSample&)> fn);

  ProcfsThreadBackendOptions options_;
  std::string hook_ = "procfs";
  ProcThreadReader reader_;
  uint64_t ns_per_tick_;
  uint32_t max_kept_files_;
  uint32_t kept_files_ = 0;
  uint64_t snapshot_ = 0;
  uint64_t full_reads_ = 0, unchanged_ = 0;
  absl::flat_hash_map<uint32_t, Known> threads_;  // by tid
  std::vector<ThreadSample> exited_;              // since DrainExits
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_PROCFS_THREAD_BACKEND_H_
