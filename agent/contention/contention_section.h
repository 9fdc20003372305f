#ifndef PERFWIRE_AGENT_CONTENTION_CONTENTION_SECTION_H_
#define PERFWIRE_AGENT_CONTENTION_CONTENTION_SECTION_H_

// Turns one interval of contention data into the Frame's contention
// sections (Frame ids 20-24). Pure: no BPF, unit-tested.

#include <cstddef>
#include <vector>

#include "agent/contention/contention_bpf.h"
#include "agent/frame_sections.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

struct ContentionInterval {
  std::vector<ThreadContentionDelta>
      threads;  // may hold a thread twice (live + exit)
  std::vector<DiskLatencyTotals> disks;  // interval deltas
  std::vector<WakeEdgeCount> edges;      // every pair counted in the interval
  std::vector<CpuRunQueueTotals> cpus;   // interval deltas
  ContentionLostCounts lost;             // interval deltas
  bool futex_syscalls_measured = false;
};

// Sums rows of the same thread (tid, start time); an exit row makes the
// merged row exited. Order: by tid.
std::vector<ThreadContentionDelta> MergeThreadRows(
    std::vector<ThreadContentionDelta> rows);

// The `n` pairs with the most wakeups (ties: lower waker, then wakee tid).
std::vector<WakeEdgeCount> TopEdges(std::vector<WakeEdgeCount> edges, size_t n);

// now - before, per disk (matched by dev) and per CPU; a disk new since
// `before` counts from zero. Rows with nothing new are dropped.
std::vector<DiskLatencyTotals> DiskDeltas(
    const std::vector<DiskLatencyTotals>& before,
    const std::vector<DiskLatencyTotals>& now);
std::vector<CpuRunQueueTotals> CpuDeltas(
    const std::vector<CpuRunQueueTotals>& before,
    const std::vector<CpuRunQueueTotals>& now);

// Builds the sections into `fbb` and records their offsets in `sections`.
void BuildContentionSections(flatbuffers::FlatBufferBuilder& fbb,
                             ContentionInterval interval, size_t top_edges,
                             FrameSections& sections);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_CONTENTION_CONTENTION_SECTION_H_
