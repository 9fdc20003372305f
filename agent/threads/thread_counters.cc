#include "agent/threads/thread_counters.h"

namespace perfwire {
namespace {

// Applies `f(a_field, b_field)` to every counter, in declaration order.
template <typename A, typename B, typename F>
void ForEachCounter(A& a, B& b, F f) {
  f(a.on_cpu_ns, b.on_cpu_ns);
  f(a.voluntary_switch_count, b.voluntary_switch_count);
  f(a.involuntary_switch_count, b.involuntary_switch_count);
  f(a.minor_fault_count, b.minor_fault_count);
  f(a.major_fault_count, b.major_fault_count);
  f(a.read_bytes, b.read_bytes);
  f(a.write_bytes, b.write_bytes);
  f(a.block_read_bytes, b.block_read_bytes);
  f(a.block_write_bytes, b.block_write_bytes);
  f(a.block_read_op_count, b.block_read_op_count);
  f(a.block_write_op_count, b.block_write_op_count);
}

}  // namespace

bool ThreadCounters::IsZero() const { return *this == ThreadCounters{}; }

ThreadCounters ThreadCounters::Minus(const ThreadCounters& before) const {
  ThreadCounters out = *this;
  ForEachCounter(out, before, [](uint64_t& now, const uint64_t& then) {
    now = now > then ? now - then : 0;
  });
  return out;
}

ThreadCounters& ThreadCounters::operator+=(const ThreadCounters& other) {
  ForEachCounter(*this, other, [](uint64_t& a, const uint64_t& b) { a += b; });
  return *this;
}

}  // namespace perfwire
