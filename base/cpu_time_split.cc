#include "base/cpu_time_split.h"

#include <algorithm>

namespace perfwire {

CpuModeShares SplitCpuTime(const CpuModeDeltas& d, double elapsed) {
  CpuModeShares s;
  const uint64_t user = d.user > d.guest ? d.user - d.guest : 0;
  const uint64_t nice = d.nice > d.guest_nice ? d.nice - d.guest_nice : 0;
  const double accounted =
      static_cast<double>(user + nice + d.system + d.idle + d.iowait + d.irq +
                          d.softirq + d.steal + d.guest + d.guest_nice);
  elapsed = std::max(elapsed, accounted);
  if (!(elapsed > 0)) return s;
  const uint64_t sampled = user + nice + d.system + d.irq + d.softirq +
                           d.steal + d.guest + d.guest_nice;
  if (sampled == 0) {
    // No busy tick at all: what elapsed time idle does not cover is within
    // the counters' rounding (USER_HZ, 10 ms per CPU), not busy time that
    // could be given a mode; the ticks' own shares are the answer.
    const double quiet = static_cast<double>(d.idle + d.iowait);
    if (quiet > 0) {
      s.idle = static_cast<double>(d.idle) / quiet;
      s.iowait = static_cast<double>(d.iowait) / quiet;
    }
    return s;
  }
  s.idle = static_cast<double>(d.idle) / elapsed;
  s.iowait = static_cast<double>(d.iowait) / elapsed;
  s.busy = std::max(0.0, 1.0 - s.idle - s.iowait);
  auto part = [&](uint64_t t) {
    return s.busy * static_cast<double>(t) / static_cast<double>(sampled);
  };
  s.user = part(user);
  s.nice = part(nice);
  s.system = part(d.system);
  s.irq = part(d.irq);
  s.softirq = part(d.softirq);
  s.steal = part(d.steal);
  s.guest = part(d.guest);
  s.guest_nice = part(d.guest_nice);
  return s;
}

}  // namespace perfwire
