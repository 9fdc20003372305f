#ifndef PERFWIRE_AGENT_SELF_STATS_H_
#define PERFWIRE_AGENT_SELF_STATS_H_

#include <cstdint>

namespace perfwire {

// The agent's own cost, read from the kernel (getrusage, /proc/self/statm).
class SelfStats {
 public:
  SelfStats();
  // CPU (user + system) the whole agent used since the previous call.
  uint64_t TakeCpuNs();
  // Resident set size now; 0 if unreadable.
  static uint64_t RssBytes();

 private:
  uint64_t last_cpu_ns_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_SELF_STATS_H_
