#include "agent/host/filesystems.h"

#include <poll.h>
#include <sys/statvfs.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "filesystems";

// Mount table fields escape ' ', '\t', '\n' and '\\' as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' &&
        s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 +
                                      (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool IsPseudoFilesystem(absl::string_view t) {
  static constexpr absl::string_view kPseudo[] = {
      "autofs",   "binfmt_misc", "bpf",        "cgroup",
      "cgroup2",  "configfs",    "debugfs",    "devpts",
      "devtmpfs", "efivarfs",    "fusectl",    "hugetlbfs",
      "mqueue",   "nsfs",        "proc",       "procfs",
      "pstore",   "rpc_pipefs",  "securityfs", "selinuxfs",
      "sysfs",    "tracefs",     "ramfs",      "rootfs",
      "overlay",  "squashfs",    "fuse.lxcfs", "fuse.gvfsd-fuse",
      "nfsd",     "binder"};
  for (absl::string_view p : kPseudo) {
    if (t == p) return true;
  }
  return false;
}

absl::Status ParseMounts(absl::string_view text, std::vector<MountEntry>& out) {
  if (absl::Status s = CheckNotTruncated("mounts", text); !s.ok()) return s;
  out.clear();
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    FieldSplitter f(line);
    absl::string_view dev, dir, type;
    if (!f.Next(dev)) continue;
    if (!f.Next(dir) || !f.Next(type)) {
      return MalformedFile("mounts", lines.line_number(),
                           absl::StrCat("malformed: ", Excerpt(line)));
    }
    if (IsPseudoFilesystem(type)) continue;
    MountEntry e{Unescape(dev), Unescape(dir), std::string(type)};
    auto same = std::find_if(out.begin(), out.end(), [&](const MountEntry& m) {
      return m.mount_point == e.mount_point;
    });
    if (same != out.end()) out.erase(same);
    out.push_back(std::move(e));
  }
  return absl::OkStatus();
}

FilesystemSource::FilesystemSource(HostOptions options)
    : options_(std::move(options)), fs_(options_.proc_root, options_.sys_root) {
  status_.name = kSourceName;
}

absl::Status FilesystemSource::Start() {
  status_.available = false;
  // Watch first, then read: a change in between is then seen next interval.
  // Re-reading the watched file (from offset 0) saves an open per change.
  absl::StatusOr<KeptFile> mounts = fs_.Keep(fs_.Proc("/self/mounts"));
  absl::Status s = mounts.status();
  if (s.ok()) {
    mounts_file_ = std::move(*mounts);
    s = mounts_file_.Reread(buf_);
  }
  if (s.ok()) s = ParseMounts(buf_, mounts_);
  if (!s.ok()) {
    status_.reason = std::string(s.message());
    return s;
  }
  status_.available = true;
  status_.reason =
      "/proc/self/mounts (re-read when it changes) + statvfs; pseudo "
      "filesystems skipped";
  return absl::OkStatus();
}

void FilesystemSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                               FrameSections& sections) {
  absl::Status s;
  pollfd changed{mounts_file_.fd(), POLLPRI, 0};
  if (poll(&changed, 1, 0) > 0 && (changed.revents & (POLLERR | POLLPRI))) {
    s = mounts_file_.Reread(buf_);
    if (s.ok()) s = ParseMounts(buf_, mounts_);
  }
  if (!s.ok()) {
    MarkBroken(status_, s);
    return;
  }
  std::vector<flatbuffers::Offset<fb::HostFilesystem>> out;
  for (const MountEntry& m : mounts_) {
    struct statvfs st;
    if (statvfs(m.mount_point.c_str(), &st) != 0 || st.f_blocks == 0) continue;
    const uint64_t frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
    out.push_back(fb::CreateHostFilesystemDirect(
        fbb, m.mount_point.c_str(), m.device.c_str(), m.fs_type.c_str(),
        st.f_blocks * frsize,
        (st.f_blocks - std::min(st.f_bfree, st.f_blocks)) * frsize,
        st.f_bfree * frsize, st.f_bavail * frsize, st.f_files,
        st.f_files - std::min(st.f_ffree, st.f_files), st.f_ffree));
  }
  sections.Set(fb::Frame::VT_FILESYSTEMS, fbb.CreateVector(out));
}

}  // namespace perfwire
