// Command-line flags of the threads source. In its own file so that only
// binaries calling ThreadSourceOptionsFromFlags() (perfwired) link absl::flags.

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "agent/threads/thread_source.h"

ABSL_FLAG(uint32_t, max_threads, 0,
          "capacity of per-thread kernel maps; 0 = /proc/sys/kernel/pid_max");
ABSL_FLAG(uint32_t, exit_buffer_bytes, 0,
          "memory for thread-exit records, all CPUs (per-CPU rings of a power "
          "of two records each, at least 64); 0 = sized from max_threads");
ABSL_FLAG(bool, exit_last_slice, false,
          "also count each exiting thread's last slice, the CPU time and "
          "final switch after sched_process_exit (~20 us on average here, up "
          "to 2 ms for a process's last thread), from sched_process_free: "
          "a second BPF program per thread exit (cost: docs/BENCHMARKS.md)");
ABSL_FLAG(std::string, thread_snapshot, "auto",
          "how the threads source walks the tasks each interval: auto (one "
          "run of an open-coded task iterator on kernels >= 6.7; else "
          "iter/task), walk (that or fail), iter (iter/task, several times "
          "the cost per thread; see docs/BENCHMARKS.md)");

ABSL_FLAG(bool, require_bpf, false,
          "refuse to run when BPF is refused (not root, no CAP_BPF + "
          "CAP_PERFMON, no kernel BTF) instead of taking per-thread data "
          "from /proc (threads source hook \"procfs\": no threads shorter "
          "than an interval, no waits, no per-thread block IO)");

namespace perfwire {

absl::StatusOr<ThreadSourceOptions> ThreadSourceOptionsFromFlags(
    const std::string& proc_root) {
  absl::StatusOr<ThreadSnapshotMode> mode =
      ParseThreadSnapshotMode(absl::GetFlag(FLAGS_thread_snapshot));
  if (!mode.ok()) return mode.status();
  ThreadSourceOptions o;
  o.snapshot = *mode;
  o.max_threads = absl::GetFlag(FLAGS_max_threads);
  o.exit_buffer_bytes = absl::GetFlag(FLAGS_exit_buffer_bytes);
  o.exit_last_slice = absl::GetFlag(FLAGS_exit_last_slice);
  o.proc_root = proc_root;
  o.require_bpf = absl::GetFlag(FLAGS_require_bpf);
  return o;
}

}  // namespace perfwire
