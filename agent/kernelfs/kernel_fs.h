#ifndef PERFWIRE_AGENT_KERNELFS_KERNEL_FS_H_
#define PERFWIRE_AGENT_KERNELFS_KERNEL_FS_H_

// The one reader of kernel files (/proc, /sys) in the agent. Every source
// reads through a KernelFs rooted at perfwired's --proc_root/--sys_root, so
// tests and containers can point all of them at another tree.
//
// Errors follow agent/kernelfs/file_errors.h: NotFound when a file or
// directory is gone (ENOENT, or ESRCH for an exited task), PermissionDenied
// when we may not read it, other codes from errno; each names its path.
// A file larger than kMaxFileBytes is OutOfRange (a /proc file that big is
// a bug or an attack, not data).
//
// All methods are const and thread-safe; buffers passed in are the
// caller's, so a source that reuses one reads without allocating.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/unique_fd.h"

namespace perfwire {

// A kernel file kept open and re-read from offset 0 (procfs and sysfs
// regenerate the content on every read), which saves the path walk of an
// open per read. Move-only; closing is the destructor's.
class KeptFile {
 public:
  KeptFile() = default;
  KeptFile(KeptFile&&) = default;
  KeptFile& operator=(KeptFile&&) = default;

  // Opens `path` read-only. Errors as above.
  static absl::StatusOr<KeptFile> Open(std::string path);

  bool is_open() const { return fd_.valid(); }
  const std::string& path() const { return path_; }
  // The descriptor, for poll() on files that signal changes (mounts).
  int fd() const { return fd_.get(); }
  void Close() { fd_.reset(); }

  // Replaces `out` with the file's whole current content (pread from 0
  // until end of file). NotFound when the file's task has exited since
  // Open (ESRCH).
  absl::Status Reread(std::string& out) const;

 private:
  KeptFile(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

class KernelFs {
 public:
  static constexpr size_t kMaxFileBytes = 64u << 20;

  explicit KernelFs(std::string proc_root = "/proc",
                    std::string sys_root = "/sys");

  const std::string& proc_root() const { return proc_root_; }
  const std::string& sys_root() const { return sys_root_; }
  // Paths under the roots: `rel` starts with '/', as in Proc("/stat").
  std::string Proc(absl::string_view rel) const;
  std::string Sys(absl::string_view rel) const;

  // Replaces `out` with the whole content of `path` (an absolute path, e.g.
  // built with Proc()), reusing out's capacity. On error `out` is empty.
  absl::Status Read(const std::string& path, std::string& out) const;
  absl::Status ReadProc(absl::string_view rel, std::string& out) const {
    return Read(Proc(rel), out);
  }
  absl::Status ReadSys(absl::string_view rel, std::string& out) const {
    return Read(Sys(rel), out);
  }

  // Whether `path` exists / may be read by us (access(2); no error detail).
  bool Exists(const std::string& path) const;
  bool CanRead(const std::string& path) const;

  // Opens `path` to re-read it later (see KeptFile).
  absl::StatusOr<KeptFile> Keep(std::string path) const {
    return KeptFile::Open(std::move(path));
  }

  // Calls `fn` with each name in directory `path` not starting with '.', in
  // directory order (no allocation per entry).
  absl::Status ForEachEntry(
      const std::string& path,
      absl::FunctionRef<void(absl::string_view)> fn) const;
  // The same names, collected.
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) const;
  // The entries of `path` whose names are positive decimal numbers that fit
  // in 32 bits (pids, tids), sorted ascending.
  absl::StatusOr<std::vector<uint32_t>> ListIds(const std::string& path) const;

 private:
  std::string proc_root_;
  std::string sys_root_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_KERNELFS_KERNEL_FS_H_
