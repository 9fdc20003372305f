// Command-line flags of the host sources. In its own file so that only
// binaries calling HostOptionsFromFlags() (perfwired) link absl::flags.

#include "agent/host/host_flags.h"

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, proc_root, "/proc",
          "Root of the proc filesystem the host sources read (tests inject "
          "fake or missing roots)");
ABSL_FLAG(std::string, sys_root, "/sys", "Root of sysfs the host sources read");
ABSL_FLAG(bool, include_loopback, false,
          "Report the loopback interface (lo) in network");
ABSL_FLAG(bool, include_virtual_disks, false,
          "Report loop, ram and zram block devices in disks");
ABSL_FLAG(uint32_t, fd_top_count, 10,
          "Processes listed as the largest fd holders (0: skip per-process fd "
          "counts)");
ABSL_FLAG(
    bool, perf_per_thread_ipc, false,
    "Attribute cycles and instructions per thread; needs a hardware PMU (the "
    "perf.hardware status says why it is unavailable)");

ABSL_FLAG(
    bool, perf_counters, false,
    "Count software perf events system-wide (cpu-clock, task-clock, "
    "context-switches, cpu-migrations, page-faults). Off by default: like "
    "`perf stat -a` they add work to every context switch and page fault "
    "(cost: docs/BENCHMARKS.md, perf stat -a's rows); the same totals "
    "are in the cpu and memory sections and per thread for free");

ABSL_FLAG(absl::Duration, socket_count_refresh, absl::Seconds(30),
          "How often TCP-by-state and UDP socket counts are re-read (each read "
          "walks the kernel's whole TCP hash, ~5 ms on this 24 GiB host); "
          "frames in between carry the last counts. 0: every interval");
ABSL_FLAG(absl::Duration, process_scan_refresh, absl::Seconds(10),
          "How often the process count and the largest fd holders are "
          "re-read (a readdir of /proc plus one stat per process); frames in "
          "between carry the last values. 0: every interval");

namespace perfwire {

HostOptions HostOptionsFromFlags() {
  HostOptions o;
  o.proc_root = absl::GetFlag(FLAGS_proc_root);
  o.sys_root = absl::GetFlag(FLAGS_sys_root);
  o.include_loopback = absl::GetFlag(FLAGS_include_loopback);
  o.include_virtual_disks = absl::GetFlag(FLAGS_include_virtual_disks);
  o.fd_top_count = absl::GetFlag(FLAGS_fd_top_count);
  o.perf_per_thread_ipc = absl::GetFlag(FLAGS_perf_per_thread_ipc);
  o.software_perf_counters = absl::GetFlag(FLAGS_perf_counters);
  o.socket_count_refresh = absl::GetFlag(FLAGS_socket_count_refresh);
  o.process_scan_refresh = absl::GetFlag(FLAGS_process_scan_refresh);
  return o;
}

}  // namespace perfwire
