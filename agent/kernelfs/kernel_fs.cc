#include "agent/kernelfs/kernel_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"

namespace perfwire {
namespace {

constexpr size_t kChunk = 4096;

// Reads `fd` from `offset` (or the file position when offset < 0) to end of
// file into `out`: one loop of read(2)/pread(2), growing the buffer.
absl::Status ReadToEnd(int fd, off_t offset, const std::string& path,
                       std::string& out) {
  out.clear();
  if (out.capacity() < kChunk) out.reserve(kChunk);
  size_t used = 0;
  for (;;) {
    if (used == KernelFs::kMaxFileBytes) {
      out.clear();
      return absl::OutOfRangeError(absl::StrCat(
          path, ": larger than ", KernelFs::kMaxFileBytes >> 20, " MiB"));
    }
    if (out.size() < used + kChunk) {
      out.resize(std::min(std::max(out.capacity(), used + kChunk),
                          KernelFs::kMaxFileBytes));
    }
    const size_t want = out.size() - used;
    const ssize_t n = offset < 0 ? read(fd, out.data() + used, want)
                                 : pread(fd, out.data() + used, want,
                                         offset + static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      out.clear();
      return FileError(err, "read", path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out.resize(used);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KeptFile> KeptFile::Open(std::string path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return FileError(errno, "open", path);
  return KeptFile(std::move(fd), std::move(path));
}

absl::Status KeptFile::Reread(std::string& out) const {
  if (!fd_) {
    out.clear();
    return absl::FailedPreconditionError(
        absl::StrCat(path_.empty() ? "kept file" : path_, ": not open"));
  }
  return ReadToEnd(fd_.get(), 0, path_, out);
}

KernelFs::KernelFs(std::string proc_root, std::string sys_root)
    : proc_root_(std::move(proc_root)), sys_root_(std::move(sys_root)) {}

std::string KernelFs::Proc(absl::string_view rel) const {
  return absl::StrCat(proc_root_, rel);
}

std::string KernelFs::Sys(absl::string_view rel) const {
  return absl::StrCat(sys_root_, rel);
}

absl::Status KernelFs::Read(const std::string& path, std::string& out) const {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    out.clear();
    return FileError(errno, "open", path);
  }
  return ReadToEnd(fd.get(), -1, path, out);
}

bool KernelFs::Exists(const std::string& path) const {
  return access(path.c_str(), F_OK) == 0;
}

bool KernelFs::CanRead(const std::string& path) const {
  return access(path.c_str(), R_OK) == 0;
}

absl::Status KernelFs::ForEachEntry(
    const std::string& path,
    absl::FunctionRef<void(absl::string_view)> fn) const {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(path.c_str()), &closedir);
  if (dir == nullptr) return FileError(errno, "opendir", path);
  for (;;) {
    errno = 0;
    const dirent* e = readdir(dir.get());
    if (e == nullptr) break;
    if (e->d_name[0] != '.') fn(e->d_name);
  }
  // ENOENT from readdir: the directory (a task's) went away while listed.
  if (errno != 0) return FileError(errno, "readdir", path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> KernelFs::ListDir(
    const std::string& path) const {
  std::vector<std::string> names;
  absl::Status s = ForEachEntry(
      path, [&](absl::string_view name) { names.emplace_back(name); });
  if (!s.ok()) return s;
  return names;
}

absl::StatusOr<std::vector<uint32_t>> KernelFs::ListIds(
    const std::string& path) const {
  std::vector<uint32_t> ids;
  absl::Status s = ForEachEntry(path, [&](absl::string_view name) {
    uint64_t id = 0;
    if (ParseU64(name, id) && id > 0 && id <= UINT32_MAX) {
      ids.push_back(static_cast<uint32_t>(id));
    }
  });
  if (!s.ok()) return s;
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace perfwire
