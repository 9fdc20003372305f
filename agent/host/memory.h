#ifndef PERFWIRE_AGENT_HOST_MEMORY_H_
#define PERFWIRE_AGENT_HOST_MEMORY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_options.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

// /proc/meminfo values, converted to bytes (hugepage counts stay counts).
struct MemInfo {
  uint64_t total = 0, free = 0, available = 0, buffers = 0, cached = 0,
           shared = 0, slab = 0, slab_reclaimable = 0, swap_total = 0,
           swap_free = 0, hugepages_total = 0, hugepages_free = 0,
           hugepages_reserved = 0, hugepage_size = 0;
  bool has_available = false;  // MemAvailable exists since 3.14
};
// Needs MemTotal and MemFree; InvalidArgument otherwise. Before 3.14 (no
// MemAvailable) available is estimated as MemFree + Buffers + Cached.
absl::Status ParseMemInfo(absl::string_view text, MemInfo& out);

// The /proc/vmstat counters the memory section reports.
struct VmStat {
  uint64_t pgpgin = 0, pgpgout = 0, pswpin = 0, pswpout = 0, pgfault = 0,
           pgmajfault = 0;
};
// Needs pgfault; InvalidArgument otherwise.
absl::Status ParseVmStat(absl::string_view text, VmStat& out);

// One /proc/pressure/<resource> file.
struct Pressure {
  double some_avg10 = 0, some_avg60 = 0, some_avg300 = 0;
  uint64_t some_total_us = 0;
  bool has_full = false;  // the "full" line (cpu has it since 5.13)
  double full_avg10 = 0;
  uint64_t full_total_us = 0;
};
// Needs the "some" line; InvalidArgument otherwise.
absl::Status ParsePressure(absl::string_view text, Pressure& out);

// The "memory" source: /proc/meminfo, /proc/vmstat rates and PSI.
class MemorySource : public Source {
 public:
  explicit MemorySource(HostOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  absl::Status ReadAll(MemInfo& mem, VmStat& vm,
                       std::optional<Pressure> (&psi)[3]);

  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  SourceStatus status_;
  std::string buf_;
  VmStat prev_vm_;
  std::optional<Pressure> prev_psi_[3];
  uint64_t prev_ns_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_MEMORY_H_
