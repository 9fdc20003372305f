#ifndef PERFWIRE_AGENT_HOST_DISKS_H_
#define PERFWIRE_AGENT_HOST_DISKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_options.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

// One /proc/diskstats line. Kernels print 14 fields (< 4.18), 18 (discards,
// 4.18+) or 20 (flushes, 5.5+); only the first 14 are used here.
struct DiskStat {
  std::string name;
  uint64_t reads = 0, read_sectors = 0, read_ms = 0;
  uint64_t writes = 0, write_sectors = 0, write_ms = 0;
  uint64_t in_flight = 0, io_ms = 0;
  uint64_t weighted_io_ms = 0;  // field 14: time in queue x requests (ms)
};

// Parses /proc/diskstats. Lines with fewer than 14 fields (the 2.6 partition
// format) are skipped and counted in `skipped_lines`. Empty text is valid (no
// block devices); a file where no line parses is InvalidArgument.
absl::Status ParseDiskStats(absl::string_view text, std::vector<DiskStat>& out,
                            int* skipped_lines = nullptr);

// Devices skipped unless --include_virtual_disks: loop*, ram*, zram*.
bool IsVirtualDiskName(absl::string_view name);

// The "disks" source: per block device rates from /proc/diskstats.
class DiskSource : public Source {
 public:
  explicit DiskSource(HostOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  absl::Status Read(std::vector<DiskStat>& out);
  bool IsPartition(const std::string& name);

  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  SourceStatus status_;
  std::string buf_;
  std::vector<DiskStat> prev_, cur_;
  uint64_t prev_ns_ = 0;
  absl::flat_hash_map<std::string, bool> partition_cache_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_DISKS_H_
