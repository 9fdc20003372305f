#ifndef PERFWIRE_AGENT_BPF_PER_CPU_RINGS_H_
#define PERFWIRE_AGENT_BPF_PER_CPU_RINGS_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "pw_exit_ring.h"  // bpf/include: struct pw_ring_pos

namespace perfwire {

// The consumer side of one kind of per-CPU record ring (the protocol is in
// bpf/include/pw_exit_ring.h): `cpus` rings of `slots_per_cpu` records of
// `record_size` bytes each, CPU c's records from records + c * slots_per_cpu
// * record_size, its positions at positions[c * position_stride]. Both
// usually live in mmap'ed BPF arrays.
struct PerCpuRings {
  const char* records = nullptr;
  size_t record_size = 0;
  pw_ring_pos* positions = nullptr;
  uint32_t position_stride = 1;
  uint32_t cpus = 0;
  uint32_t slots_per_cpu = 0;  // a power of two
};

// Calls `fn` with every record published so far, CPU by CPU, each CPU's in
// the order written, then frees their slots for the producer. A record is
// valid only during its call. A ring whose positions are impossible (more
// waiting than it holds) is an error; the other rings are still drained.
absl::Status DrainPerCpuRings(const PerCpuRings& rings,
                              absl::FunctionRef<void(const void*)> fn);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_BPF_PER_CPU_RINGS_H_
