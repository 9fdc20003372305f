#ifndef PERFWIRE_BASE_CLOCK_H_
#define PERFWIRE_BASE_CLOCK_H_

#include <cstdint>

namespace perfwire {

// CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. Thread-safe; never fail
// (clock_gettime cannot fail for these clocks with a valid pointer).
uint64_t MonotonicNs();
uint64_t RealtimeNs();

}  // namespace perfwire

#endif  // PERFWIRE_BASE_CLOCK_H_
