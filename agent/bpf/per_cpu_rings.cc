#include "agent/bpf/per_cpu_rings.h"

#include <atomic>

#include "absl/strings/str_cat.h"

namespace perfwire {

absl::Status DrainPerCpuRings(const PerCpuRings& rings,
                              absl::FunctionRef<void(const void*)> fn) {
  absl::Status status;
  const uint64_t mask = rings.slots_per_cpu - 1;
  for (uint32_t cpu = 0; cpu < rings.cpus; ++cpu) {
    pw_ring_pos& pos =
        rings.positions[static_cast<size_t>(cpu) * rings.position_stride];
    // Acquire: the records up to head were written before it.
    const uint64_t head =
        std::atomic_ref<__u64>(pos.head).load(std::memory_order_acquire);
    const uint64_t tail =
        std::atomic_ref<__u64>(pos.tail).load(std::memory_order_relaxed);
    if (head - tail > rings.slots_per_cpu) {
      status.Update(absl::DataLossError(
          absl::StrCat("exit ring of CPU ", cpu, ": head ", head, " is ",
                       head - tail, " records past tail ", tail,
                       ", more than its ", rings.slots_per_cpu, " slots")));
      continue;
    }
    const char* base = rings.records + static_cast<size_t>(cpu) *
                                           rings.slots_per_cpu *
                                           rings.record_size;
    for (uint64_t i = tail; i != head; ++i) {
      fn(base + static_cast<size_t>(i & mask) * rings.record_size);
    }
    // Release: the slots are reused only after they were read.
    std::atomic_ref<__u64>(pos.tail).store(head, std::memory_order_release);
  }
  return status;
}

}  // namespace perfwire
