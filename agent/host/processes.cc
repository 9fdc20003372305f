#include "agent/host/processes.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/host/cpu.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "processes";

}  // namespace

absl::Status ParseFileNr(absl::string_view text, FileNr& out) {
  if (absl::Status s = CheckNotTruncated("/proc/sys/fs/file-nr", text); !s.ok())
    return s;
  FieldSplitter f(text);
  absl::string_view a, b, c;
  if (!f.Next(a) || !f.Next(b) || !f.Next(c) || !ParseU64(a, out.allocated) ||
      !ParseU64(b, out.unused) ||
      !ParseU64(absl::StripAsciiWhitespace(c), out.max)) {
    return MalformedFile("/proc/sys/fs/file-nr", 1, Excerpt(text));
  }
  return absl::OkStatus();
}

void KeepTopFdCounts(std::vector<FdCount>& counts, size_t n) {
  auto larger = [](const FdCount& a, const FdCount& b) {
    return a.fds != b.fds ? a.fds > b.fds : a.pid < b.pid;
  };
  if (counts.size() > n) {
    std::partial_sort(counts.begin(), counts.begin() + n, counts.end(), larger);
    counts.resize(n);
  } else {
    std::sort(counts.begin(), counts.end(), larger);
  }
}

ProcessSource::ProcessSource(HostOptions options)
    : options_(std::move(options)), fs_(options_.proc_root, options_.sys_root) {
  status_.name = kSourceName;
}

uint32_t ProcessSource::CountFds(uint32_t pid) {
  path_.clear();
  absl::StrAppend(&path_, fs_.proc_root(), "/", pid, "/fd");
  if (fd_size_works_) {
    struct stat st;
    return stat(path_.c_str(), &st) == 0 ? static_cast<uint32_t>(st.st_size)
                                         : 0;
  }
  uint32_t n = 0;
  // Exited, or not ours to read: 0.
  fs_.ForEachEntry(path_, [&n](absl::string_view) { ++n; }).IgnoreError();
  return n;
}

absl::Status ProcessSource::ScanProcesses() {
  absl::StatusOr<std::vector<uint32_t>> pids = fs_.ListIds(fs_.proc_root());
  if (!pids.ok()) return pids.status();
  fds_.clear();
  const uint32_t process_count = static_cast<uint32_t>(pids->size());
  if (options_.fd_top_count > 0) {
    for (uint32_t pid : *pids) {
      const uint32_t n = CountFds(pid);
      if (n > 0) fds_.push_back({pid, n});
    }
  }
  process_count_ = process_count;
  KeepTopFdCounts(fds_, options_.fd_top_count);
  top_.clear();
  for (const FdCount& c : fds_) {
    path_.clear();
    absl::StrAppend(&path_, fs_.proc_root(), "/", c.pid, "/comm");
    FdHolder h{c.pid, "", c.fds};
    if (fs_.Read(path_, buf_).ok())
      h.comm = std::string(absl::StripTrailingAsciiWhitespace(buf_));
    top_.push_back(std::move(h));
  }
  return absl::OkStatus();
}

absl::Status ProcessSource::Start() {
  status_.available = false;
  FileNr nr;
  absl::Status s = fs_.ReadProc("/sys/fs/file-nr", buf_);
  if (s.ok()) s = ParseFileNr(buf_, nr);
  LoadAvg la;
  if (s.ok()) s = fs_.ReadProc("/loadavg", buf_);
  if (s.ok()) s = ParseLoadAvg(buf_, la);
  if (!s.ok()) {
    status_.reason = std::string(s.message());
    return s;
  }
  // Since 6.2, stat(/proc/<pid>/fd).st_size is the number of open fds: our
  // own fd table is never empty, so a size of 0 means an older kernel. Only
  // procfs means this (a directory elsewhere, e.g. a fixture, has a block
  // size).
  struct statfs sfs;
  struct stat st;
  fd_size_works_ = statfs(options_.proc_root.c_str(), &sfs) == 0 &&
                   sfs.f_type == PROC_SUPER_MAGIC &&
                   stat((options_.proc_root + "/self/fd").c_str(), &st) == 0 &&
                   st.st_size > 0;
  status_.available = true;
  status_.reason = absl::StrCat(
      "/proc/loadavg, /proc/sys/fs/file-nr; /proc/<pid> scan every ",
      absl::FormatDuration(options_.process_scan_refresh), ", fd counts by ",
      fd_size_works_ ? "stat(/proc/<pid>/fd).st_size"
                     : "readdir(/proc/<pid>/fd)");
  return absl::OkStatus();
}

void ProcessSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                            FrameSections& sections) {
  FileNr nr;
  LoadAvg la;
  absl::Status s = fs_.ReadProc("/sys/fs/file-nr", buf_);
  if (s.ok()) s = ParseFileNr(buf_, nr);
  if (s.ok()) s = fs_.ReadProc("/loadavg", buf_);
  if (s.ok()) s = ParseLoadAvg(buf_, la);
  const absl::Time now = absl::Now();
  if (s.ok() && now - scanned_at_ >= options_.process_scan_refresh) {
    s = ScanProcesses();
    scanned_at_ = now;
  }
  if (!s.ok()) {
    MarkBroken(status_, s);
    return;
  }
  std::vector<flatbuffers::Offset<fb::HostFdHolder>> top;
  for (const FdHolder& h : top_) {
    top.push_back(
        fb::CreateHostFdHolder(fbb, h.pid, fbb.CreateString(h.comm), h.fds));
  }
  const auto top_vec = fbb.CreateVector(top);
  fb::HostProcessesBuilder b(fbb);
  b.add_process_count(process_count_);
  b.add_thread_count(la.threads);
  b.add_open_file_count(nr.allocated > nr.unused ? nr.allocated - nr.unused
                                                 : 0);
  b.add_file_max_count(nr.max);
  b.add_top_fd_holders(top_vec);
  sections.Set(fb::Frame::VT_PROCESSES, b.Finish());
}

}  // namespace perfwire
