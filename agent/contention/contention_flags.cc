// Command-line flags of the contention source. In its own file so that only
// binaries calling ContentionSourceFromFlags() (perfwired) link absl::flags.

#include "absl/flags/flag.h"
#include "agent/contention/contention_source.h"
#include "agent/disabled_source.h"

ABSL_FLAG(
    bool, contention, false,
    "opt-in contention source: run-queue wait, off-CPU time by cause, "
    "futex and kernel-lock waits, IO latency, wakers (slows context-switch-"
    "heavy loads; cost: docs/BENCHMARKS.md, docs/CONTENTION.md)");
ABSL_FLAG(bool, contention_futex_syscalls, false,
          "with --contention: also time FUTEX_WAIT* syscalls through "
          "sys_enter/sys_exit hooks (every syscall: costs more)");

namespace perfwire {

std::unique_ptr<Source> ContentionSourceFromFlags(
    const std::string& proc_root) {
  if (!absl::GetFlag(FLAGS_contention)) {
    return std::make_unique<DisabledSource>(
        "contention",
        "off by default (adds work to every context switch and wakeup); "
        "enable with --contention");
  }
  ContentionSourceOptions o;
  o.futex_syscalls = absl::GetFlag(FLAGS_contention_futex_syscalls);
  o.proc_root = proc_root;
  return std::make_unique<ContentionSource>(o);
}

}  // namespace perfwire
