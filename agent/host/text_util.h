#ifndef PERFWIRE_AGENT_HOST_TEXT_UTIL_H_
#define PERFWIRE_AGENT_HOST_TEXT_UTIL_H_

// Helpers for the kernel's monotonic counters the host sources read. Reading
// and parsing the files they come from is agent/kernelfs/'s.

#include <cstdint>

namespace perfwire {

// Rate of a monotonic kernel counter between two reads `dt_ns` apart. A
// counter that went backwards (reset, wrap, device re-created) gives 0.
inline double RatePerSec(uint64_t before, uint64_t after, uint64_t dt_ns) {
  if (after < before || dt_ns == 0) return 0.0;
  return static_cast<double>(after - before) * 1e9 / static_cast<double>(dt_ns);
}
inline uint64_t CounterDelta(uint64_t before, uint64_t after) {
  return after >= before ? after - before : 0;
}

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_TEXT_UTIL_H_
