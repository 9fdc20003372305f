#ifndef PERFWIRE_AGENT_HOST_CPU_H_
#define PERFWIRE_AGENT_HOST_CPU_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_options.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

// Cumulative CPU time of one "cpu" line of /proc/stat, in USER_HZ ticks.
// Columns the kernel does not print (older formats) stay 0.
struct CpuTicks {
  int cpu = -1;  // -1: the aggregate "cpu" line
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
           softirq = 0, steal = 0, guest = 0, guest_nice = 0;
};

struct ProcStat {
  CpuTicks total;
  std::vector<CpuTicks> cores;  // in file order
  uint64_t interrupts = 0;      // "intr" first number
  uint64_t context_switches = 0;
  uint64_t forks = 0;  // "processes"
  uint32_t procs_running = 0;
  uint32_t procs_blocked = 0;
};

// Parses /proc/stat. Needs the aggregate "cpu" line with at least 4 columns
// (user nice system idle); other lines are optional. InvalidArgument otherwise.
absl::Status ParseProcStat(absl::string_view text, ProcStat& out);

// Percent of each state between two readings of the same CPU (or of the
// aggregate line) `elapsed_ticks` apart: the wall time between the reads in
// USER_HZ ticks, times the number of CPUs the line covers. idle and iowait are
// their ticks over elapsed (the kernel accounts them exactly under NO_HZ). The
// other modes are tick samples that can sum to much less than the busy time
// (PLATFORM.md "Host CPU accounting trap"), so they share the busy remainder
// 100 - idle - iowait in proportion to their ticks. user and nice exclude
// guest and guest_nice (the kernel includes them), so the ten parts sum to 100
// whenever a busy tick was sampled. When the ticks' own sum exceeds
// `elapsed_ticks` (a read within a tick of the kernel's clock, or fixture
// files), that sum is the denominator instead. No tick and no time: all 0.
struct CpuPercent {
  float user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
        softirq = 0, steal = 0, guest = 0, guest_nice = 0;
};
CpuPercent CpuSplit(const CpuTicks& before, const CpuTicks& after,
                    double elapsed_ticks);

// USER_HZ (sysconf(_SC_CLK_TCK)): the unit of /proc/stat's CPU columns.
uint64_t UserHz();
// /proc/stat ticks to nanoseconds (ticks x 1e9 / USER_HZ), exact for USER_HZ
// dividing 1e9.
uint64_t TicksToNs(uint64_t ticks);

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  uint32_t runnable = 0;  // "1/87": currently runnable scheduling entities
  uint32_t threads = 0;   // "1/87": scheduling entities that exist
};
// Parses /proc/loadavg ("0.64 0.49 0.23 1/87 23812").
absl::Status ParseLoadAvg(absl::string_view text, LoadAvg& out);

// "cpu MHz" per "processor" of /proc/cpuinfo, indexed by processor number
// (0 where missing). Empty when the file has no such lines.
std::vector<float> ParseCpuInfoMhz(absl::string_view text);

// The "cpu" source. Start() takes the baseline; each Collect() reports the
// split over the time since the previous read.
class CpuSource : public Source {
 public:
  explicit CpuSource(HostOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  struct Sensor {
    std::string label;
    std::string path;
  };
  void DiscoverSensors();
  void ReadFrequencies(std::vector<float>& mhz_by_cpu);
  void Fail(const absl::Status& s);

  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  SourceStatus status_;
  std::string buf_;
  ProcStat prev_;
  ProcStat cur_;
  uint64_t prev_ns_ = 0;
  std::vector<Sensor> sensors_;
  bool cpufreq_ = false;  // sysfs cpufreq present; else /proc/cpuinfo
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_CPU_H_
