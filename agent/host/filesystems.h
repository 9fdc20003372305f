#ifndef PERFWIRE_AGENT_HOST_FILESYSTEMS_H_
#define PERFWIRE_AGENT_HOST_FILESYSTEMS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/host/host_options.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

struct MountEntry {
  std::string device;
  std::string mount_point;  // octal escapes (\040 ...) decoded
  std::string fs_type;
};

// Parses /proc/self/mounts (fstab format), keeping real filesystems only:
// pseudo types (proc, sysfs, cgroup, devpts, ...) are dropped and a mount
// point mounted twice keeps its last (visible) entry. InvalidArgument on a
// line with fewer than 3 fields.
absl::Status ParseMounts(absl::string_view text, std::vector<MountEntry>& out);
bool IsPseudoFilesystem(absl::string_view fs_type);

// The "filesystems" source: statvfs of every real mounted filesystem. The
// mount table is re-read only when it changed: procfs flags a change of the
// mount namespace on an open /proc/self/mounts with POLLPRI (on anything
// else, e.g. a fixture file, it is read once, at Start).
class FilesystemSource : public Source {
 public:
  explicit FilesystemSource(HostOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  SourceStatus status_;
  std::string buf_;
  std::vector<MountEntry> mounts_;
  KeptFile mounts_file_;  // /proc/self/mounts, polled for changes
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_FILESYSTEMS_H_
