#ifndef PERFWIRE_BASE_CPU_TIME_SPLIT_H_
#define PERFWIRE_BASE_CPU_TIME_SPLIT_H_

#include <cstdint>

namespace perfwire {

// One interval's CPU time by mode, as /proc/stat counts it, in any one unit
// (ticks or ns). user and nice include guest and guest_nice, as the kernel
// adds them.
struct CpuModeDeltas {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
           softirq = 0, steal = 0, guest = 0, guest_nice = 0;
};

// Each mode's share (0..1) of the interval. user and nice exclude guest and
// guest_nice (as mpstat), so the parts sum to 1.
struct CpuModeShares {
  double busy = 0;  // 1 - idle - iowait
  double idle = 0, iowait = 0;
  double user = 0, nice = 0, system = 0, irq = 0, softirq = 0, steal = 0,
         guest = 0, guest_nice = 0;
};

// The one CPU-share derivation (agent and consumers): idle and iowait over
// `elapsed` (same unit as `d`), since NO_HZ idle accounting is exact; the
// busy remainder split over the other modes by their ticks, which are
// samples (under a switch-heavy partial load they summed to ~0.92 of the
// elapsed time here, so busy ticks over their own sum read low). When the
// modes add up to more than `elapsed` (reads a tick apart, fixture files),
// their sum is the denominator; when no busy mode was sampled at all, the
// idle and iowait ticks' own shares (the rest is the counters' rounding).
// The parts always sum to 1, and are all zero when nothing elapsed.
CpuModeShares SplitCpuTime(const CpuModeDeltas& d, double elapsed);

}  // namespace perfwire

#endif  // PERFWIRE_BASE_CPU_TIME_SPLIT_H_
