#ifndef PERFWIRE_CLIENTS_LIB_CONTENTION_VERDICT_H_
#define PERFWIRE_CLIENTS_LIB_CONTENTION_VERDICT_H_

// What a thread (or process) spent its wall time on, and a one-word verdict
// with a one-line reason stating the numbers. Pure functions; no I/O.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace perfwire {

// Nanoseconds over an observation window. Blocked time is attributed when
// the wait ends, so parts may not sum to the window exactly.
struct WaitBreakdown {
  uint64_t window_ns = 0;     // wall time observed; 0: use the sum of the parts
  uint64_t on_cpu_ns = 0;     // threads section: on_cpu_ns
  uint64_t run_queue_ns = 0;  // run_queue_wait_ns
  uint64_t lock_ns = 0;       // futex_sleep_ns + lock_sleep_ns
  uint64_t io_ns = 0;         // io_sleep_ns
  uint64_t sleep_ns = 0;      // other_sleep_ns

  WaitBreakdown& operator+=(const WaitBreakdown& o);
  // max(window, sum of parts): the denominator of every share.
  uint64_t TotalNs() const;
  // run queue + lock + IO: time lost waiting for something.
  uint64_t WaitingNs() const { return run_queue_ns + lock_ns + io_ns; }
};

enum class Verdict {
  kIdle,
  kCpuBound,
  kCpuStarved,
  kLockBound,
  kIoBound,
  kBalanced
};

std::string_view VerdictName(Verdict v);  // "cpu-bound", "cpu-starved", ...

struct VerdictThresholds {
  double idle_below = 0.05;  // on-CPU + waits under this share of wall: idle
  double wait_at_least =
      0.25;  // a wait this large (the largest) names the verdict
  double cpu_at_least = 0.50;  // on-CPU this large with no such wait: cpu-bound
};

struct Judgement {
  Verdict verdict = Verdict::kIdle;
  std::string
      reason;  // e.g. "run queue 74.9% of 10.00 s (7.49 s); on-CPU 25.0%"
};

// Rules, in order (shares of TotalNs()):
//   1. nothing observed, or on-CPU + waits < idle_below          -> idle
//   2. the largest of run queue / lock / IO >= wait_at_least     -> cpu-starved
//   /
//      lock-bound / io-bound
//   3. on-CPU >= cpu_at_least                                    -> cpu-bound
//   4. otherwise                                                 -> balanced
Judgement Judge(const WaitBreakdown& b, const VerdictThresholds& t = {});

// Percentile (0..1) of a log2-ns histogram (slot i: [2^i, 2^(i+1)) ns),
// interpolated linearly inside the slot; 0 for an empty histogram.
double HistogramPercentileNs(const uint64_t* slots, size_t n, double q);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_CONTENTION_VERDICT_H_
