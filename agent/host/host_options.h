#ifndef PERFWIRE_AGENT_HOST_HOST_OPTIONS_H_
#define PERFWIRE_AGENT_HOST_HOST_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace perfwire {

// Where the host sources read the kernel's files, and what they skip. Tests
// point the roots at fixture trees or at a path that does not exist.
struct HostOptions {
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  bool include_loopback = false;  // report "lo" in network interfaces
  bool include_virtual_disks =
      false;                   // report loop*, ram*, zram* block devices
  uint32_t fd_top_count = 10;  // processes listed in top_fd_holders
  bool perf_per_thread_ipc =
      false;  // opt-in per-thread cycles/instructions (PMU only)
  // Opt-in: system-wide software perf events (context-switches, page-faults
  // ...) add work to every switch and fault, as `perf stat -a` does.
  bool software_perf_counters = false;
  std::string nvml_library = "libnvidia-ml.so.1";
  // How stale the costly, slow-moving counts may get. A TCP state count walks
  // the kernel's whole established hash (~5 ms on a 24 GiB host, whatever
  // the socket count); a process scan is a readdir of /proc (every task, not
  // just processes) plus one stat per process. Between refreshes a frame
  // carries the last values. Zero refreshes every interval.
  absl::Duration socket_count_refresh = absl::Seconds(30);
  absl::Duration process_scan_refresh = absl::Seconds(10);
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_HOST_OPTIONS_H_
