#ifndef PERFWIRE_AGENT_HOST_PROCESSES_H_
#define PERFWIRE_AGENT_HOST_PROCESSES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/host/host_options.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

struct FileNr {
  uint64_t allocated = 0;  // file handles allocated
  uint64_t unused = 0;     // allocated but unused (always 0 since 2.6)
  uint64_t max = 0;        // fs.file-max
};
// Parses /proc/sys/fs/file-nr ("448\t0\t2466193").
absl::Status ParseFileNr(absl::string_view text, FileNr& out);

struct FdCount {
  uint32_t pid = 0;
  uint32_t fds = 0;
};
// Keeps the `n` largest of `counts` in `counts`, largest first (ties: lower
// pid).
void KeepTopFdCounts(std::vector<FdCount>& counts, size_t n);

// The "processes" source: process/thread counts, file-nr, top fd holders.
// Thread count and file-nr are read every interval. The process scan (a
// readdir of /proc, which the kernel walks task by task, plus per process one
// stat() of /proc/<pid>/fd, whose st_size is the number of open fds since
// Linux 6.2; on older kernels a readdir of it, noted in status) runs at most
// every options.process_scan_refresh; frames in between repeat its result.
class ProcessSource : public Source {
 public:
  explicit ProcessSource(HostOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  // Refreshes process_count_ and top_ from a scan of /proc.
  absl::Status ScanProcesses();
  uint32_t CountFds(uint32_t pid);

  struct FdHolder {
    uint32_t pid = 0;
    std::string comm;
    uint32_t fds = 0;
  };

  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  SourceStatus status_;
  std::string buf_;
  std::string path_;
  std::vector<FdCount> fds_;
  bool fd_size_works_ = false;
  absl::Time scanned_at_ = absl::InfinitePast();
  uint32_t process_count_ = 0;
  std::vector<FdHolder> top_;  // largest first
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_PROCESSES_H_
