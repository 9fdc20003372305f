#ifndef PERFWIRE_AGENT_THREADS_PROC_THREAD_READER_H_
#define PERFWIRE_AGENT_THREADS_PROC_THREAD_READER_H_

// Reads threads' kernel counters from /proc/<pid>/task/<tid>/. One
// implementation for every user: the /proc thread backend (per-thread data
// where BPF is refused) and the BPF backend's pid-1 gap (the task iterator
// skips pid 1 and its threads on some kernels).
//
// Error contract for everything below (agent/kernelfs/file_errors.h):
//   NotFound          the process or thread is gone (ENOENT/ESRCH);
//   PermissionDenied  a file is not readable by us (e.g. io without ptrace
//                     rights);
//   DataLoss          a file's content is malformed (empty, truncated,
//                     garbage); the message names the file, the line where
//                     there is one, and what is wrong;
//   other codes       any other read error, from errno.
// Nothing here crashes on any input.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/kernelfs/kernel_fs.h"

namespace perfwire {

struct ProcThreadSample {
  uint32_t tid = 0, pid = 0;
  std::string comm;
  uint64_t start_time_ticks = 0;  // stat field 22, clock ticks since boot
  uint64_t on_cpu_ns = 0;         // schedstat field 1
  uint64_t nvcsw = 0,
           nivcsw = 0;  // status voluntary_/nonvoluntary_ctxt_switches
  uint64_t min_flt = 0, maj_flt = 0;  // stat fields 10, 12
  uint64_t rchar = 0, wchar = 0;      // io
  // False when <tid>/io may not be read (it needs ptrace access: as root
  // without CAP_SYS_RESOURCE, pid 1's io is denied on this machine; as
  // another user, every other user's). rchar and wchar are then unknown,
  // not zero.
  bool has_io = false;
};

// Reads under fs.proc_root(). Keeps one scratch buffer, so reads allocate
// nothing once warm; hence not thread-safe: one reader per thread.
class ProcThreadReader {
 public:
  explicit ProcThreadReader(KernelFs fs) : fs_(std::move(fs)) {}

  const KernelFs& fs() const { return fs_; }

  // The process ids under <proc_root>, sorted.
  absl::StatusOr<std::vector<uint32_t>> ListProcesses() const;
  // The thread ids of process `pid` (<proc_root>/<pid>/task), sorted.
  // NotFound if the process is gone.
  absl::StatusOr<std::vector<uint32_t>> ListThreads(uint32_t pid) const;

  // One thread's counters from <pid>/task/<tid>/{stat,status,schedstat,io}.
  // Errors name the file's path. An io file we may not read
  // (PermissionDenied) or that does not exist (a kernel without
  // CONFIG_TASK_IO_ACCOUNTING) is not an error: the sample has has_io false.
  absl::StatusOr<ProcThreadSample> Read(uint32_t pid, uint32_t tid);

  // The cheap test of whether a thread ran at all since an earlier read: its
  // schedstat field 1 (on-CPU ns). If that has not moved, none of the
  // counters Read() returns can have. The file is kept open and re-read at
  // offset 0, saving the path walk per read; NotFound once the thread exits.
  absl::StatusOr<KeptFile> OpenSchedstat(uint32_t pid, uint32_t tid) const;
  absl::StatusOr<uint64_t> ReadOnCpuNs(const KeptFile& schedstat);

 private:
  // Reads <dir><name> into buf_ and parses it with `parse`; parse errors get
  // the directory prepended to the file name.
  template <typename Parse>
  auto ReadAndParse(const std::string& dir, absl::string_view name, Parse parse)
      -> decltype(parse(absl::string_view()));

  KernelFs fs_;
  std::string path_;
  std::string buf_;
};

// Pure parsers of one file's whole content each. A value is only taken from
// a complete line (one that ends in '\n'), so a cut-off number is never
// read as a smaller one; errors are DataLoss naming the file kind
// ("stat: ...", "status: line 9: ...").

// From <tid>/stat: comm (field 2, between the first '(' and the last ')', so
// it may hold spaces and parentheses), minflt (field 10), majflt (field 12),
// starttime (field 22).
struct ProcStatFields {
  std::string comm;
  uint64_t min_flt = 0;
  uint64_t maj_flt = 0;
  uint64_t start_time_ticks = 0;
};
absl::StatusOr<ProcStatFields> ParseTaskStat(absl::string_view content);

// From <tid>/status: voluntary_ctxt_switches, nonvoluntary_ctxt_switches.
struct ProcStatusFields {
  uint64_t nvcsw = 0;
  uint64_t nivcsw = 0;
};
absl::StatusOr<ProcStatusFields> ParseTaskStatus(absl::string_view content);

// From <tid>/schedstat ("<on-cpu ns> <run-queue wait ns> <slices>"): field 1.
absl::StatusOr<uint64_t> ParseTaskSchedstat(absl::string_view content);

// From <tid>/io: rchar, wchar.
struct ProcIoFields {
  uint64_t rchar = 0;
  uint64_t wchar = 0;
};
absl::StatusOr<ProcIoFields> ParseTaskIo(absl::string_view content);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_PROC_THREAD_READER_H_
