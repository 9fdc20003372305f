#ifndef PERFWIRE_AGENT_PERF_PERF_COUNTERS_H_
#define PERFWIRE_AGENT_PERF_PERF_COUNTERS_H_

#include <linux/perf_event.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_options.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

// One event as perf(1) names it.
struct PerfEventSpec {
  const char* name;
  uint32_t type;  // PERF_TYPE_HARDWARE, PERF_TYPE_HW_CACHE, PERF_TYPE_SOFTWARE
  uint64_t config;
};
enum class PerfEventKind { kHardware, kSoftware };
// cycles, instructions, ..., iTLB-load-misses, stalled-cycles-*; or the five
// software events cpu-clock, task-clock, context-switches, cpu-migrations,
// page-faults.
const std::vector<PerfEventSpec>& PerfEvents(PerfEventKind kind);

// One read() of a counter opened with TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING.
struct PerfReading {
  uint64_t value = 0;
  uint64_t enabled_ns = 0;
  uint64_t running_ns = 0;
};
// Count between two readings, scaled up by enabled/running when the counter
// was multiplexed (running < enabled); 0 when it never ran.
uint64_t ScaledDelta(const PerfReading& before, const PerfReading& after);

// "ENOENT: no hardware PMU (virtualized?)": errno name and what it means for
// perf_event_open. `pmu_present` tells ENOENT's two meanings apart.
std::string PerfOpenErrorText(int err, bool pmu_present);

// Parses a kernel CPU list ("0-3,8,10-11"), e.g.
// /sys/devices/system/cpu/online.
absl::Status ParseCpuList(absl::string_view text, std::vector<uint32_t>& cpus);

// The system calls, injectable so the logic is testable without a PMU.
struct PerfSyscalls {
  // Returns an fd, or -errno.
  std::function<int(perf_event_attr& attr, int cpu)> open;
  // Returns false when the read fails.
  std::function<bool(int fd, PerfReading& out)> read;
  std::function<void(int fd)> close;
};
PerfSyscalls RealPerfSyscalls();

// The "perf.hardware" or "perf.software" source: every event of `kind`
// counted system-wide, one fd per event and online CPU, not grouped (the
// kernel multiplexes hardware counters; the scaling is reported). Start()
// fails when every event is refused, with each errno and its meaning; events
// refused while others count are listed in the section.
class PerfCounterSource : public Source {
 public:
  PerfCounterSource(PerfEventKind kind, HostOptions options,
                    PerfSyscalls syscalls = RealPerfSyscalls());
  ~PerfCounterSource() override;
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  struct Counter {
    const PerfEventSpec* spec;
    std::vector<int> fds;  // per cpus_ entry; -1 where refused
    std::vector<PerfReading> last;
  };
  struct Refused {
    std::string name;
    std::string error;
  };
  void CloseAll();

  PerfEventKind kind_;
  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  PerfSyscalls sys_;
  SourceStatus status_;
  std::vector<uint32_t> cpus_;
  std::vector<Counter> counters_;
  std::vector<Refused> refused_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_PERF_PERF_COUNTERS_H_
