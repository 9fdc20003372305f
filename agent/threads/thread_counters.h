#ifndef PERFWIRE_AGENT_THREADS_THREAD_COUNTERS_H_
#define PERFWIRE_AGENT_THREADS_THREAD_COUNTERS_H_

#include <array>
#include <cstdint>

namespace perfwire {

// Monotonic per-thread counters, in the order of the Frame's Thread fields.
struct ThreadCounters {
  uint64_t on_cpu_ns = 0;
  uint64_t voluntary_switch_count = 0;
  uint64_t involuntary_switch_count = 0;
  uint64_t minor_fault_count = 0;
  uint64_t major_fault_count = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t block_read_bytes = 0;
  uint64_t block_write_bytes = 0;
  uint64_t block_read_op_count = 0;
  uint64_t block_write_op_count = 0;

  bool IsZero() const;
  // Field-wise `*this - before`; a field that went backwards gives 0.
  ThreadCounters Minus(const ThreadCounters& before) const;
  ThreadCounters& operator+=(const ThreadCounters& other);
  bool operator==(const ThreadCounters&) const = default;
};

// One observation of a thread: identity plus cumulative counters.
struct ThreadSample {
  uint32_t tid = 0;
  uint32_t pid = 0;
  uint64_t start_time_ns = 0;  // CLOCK_MONOTONIC; with tid, the thread's key
  uint64_t cgroup_id = 0;
  std::array<char, 16> comm{};  // NUL-terminated unless all 16 bytes used
  ThreadCounters counters;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_COUNTERS_H_
