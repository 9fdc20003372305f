#ifndef PERFWIRE_AGENT_THREADS_PROC_THREAD_READER_H_
#define PERFWIRE_AGENT_THREADS_PROC_THREAD_READER_H_

// Reads one thread's kernel counters from /proc. The BPF task iterator skips
// pid 1 and its threads on some kernels; the thread source fills that gap
// with this reader.
//
// Error contract for everything below:
//   NotFound          the process or thread is gone (ENOENT/ESRCH);
//   PermissionDenied  a file is not readable by us (e.g. io without ptrace
//                     rights);
//   DataLoss          a file's content is malformed (empty, truncated,
//                     garbage); the message names the file and what is wrong;
//   other codes       any other read error, from errno.
// All functions are thread-safe and never crash on any input.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace perfwire {

struct ProcThreadSample {
  uint32_t tid = 0, pid = 0;
  std::string comm;
  uint64_t on_cpu_ns = 0;  // schedstat field 1
  uint64_t nvcsw = 0,
           nivcsw = 0;  // status voluntary_/nonvoluntary_ctxt_switches
  uint64_t min_flt = 0, maj_flt = 0;  // stat fields 10, 12
  uint64_t rchar = 0, wchar = 0;      // io
  // False when <tid>/io may not be read (it needs ptrace access: as root
  // without CAP_SYS_RESOURCE, pid 1's io is denied on this machine). rchar
  // and wchar are then unknown, not zero.
  bool has_io = false;
};

// Lists the thread ids of process `pid` under <proc_root>/<pid>/task, sorted.
// NotFound if the process is gone.
absl::StatusOr<std::vector<uint32_t>> ListProcThreads(
    std::string_view proc_root, uint32_t pid);

// Reads one thread's counters from
// <proc_root>/<pid>/task/<tid>/{stat,status,schedstat,io}. Errors name the
// file's path. An io file we may not read (PermissionDenied) is not an error:
// the sample comes back with has_io false.
absl::StatusOr<ProcThreadSample> ReadProcThread(std::string_view proc_root,
                                                uint32_t pid, uint32_t tid);

// The cheap test of whether a thread ran at all since an earlier read: its
// schedstat field 1 (on-CPU ns). If that has not moved, none of the counters
// ReadProcThread returns can have. The file is opened once and re-read with
// pread at offset 0 (procfs regenerates it), saving the path walk per read.
absl::StatusOr<UniqueFd> OpenProcThreadSchedstat(std::string_view proc_root,
                                                 uint32_t pid, uint32_t tid);
absl::StatusOr<uint64_t> ReadProcThreadOnCpuNs(const UniqueFd& schedstat);

// Pure parsers of one file's whole content each. They accept only a complete
// file (the lines they use must end in '\n') and return DataLoss naming the
// file kind ("stat: ...") otherwise.

// From <tid>/stat: comm (field 2, between the first '(' and the last ')', so
// it may hold spaces and parentheses), minflt (field 10), majflt (field 12).
struct ProcStatFields {
  std::string comm;
  uint64_t min_flt = 0;
  uint64_t maj_flt = 0;
};
absl::StatusOr<ProcStatFields> ParseProcStat(std::string_view content);

// From <tid>/status: voluntary_ctxt_switches, nonvoluntary_ctxt_switches.
struct ProcStatusFields {
  uint64_t nvcsw = 0;
  uint64_t nivcsw = 0;
};
absl::StatusOr<ProcStatusFields> ParseProcStatus(std::string_view content);

// From <tid>/schedstat ("<on-cpu ns> <run-queue wait ns> <slices>"): field 1.
absl::StatusOr<uint64_t> ParseProcSchedstat(std::string_view content);

// From <tid>/io: rchar, wchar.
struct ProcIoFields {
  uint64_t rchar = 0;
  uint64_t wchar = 0;
};
absl::StatusOr<ProcIoFields> ParseProcIo(std::string_view content);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_PROC_THREAD_READER_H_
