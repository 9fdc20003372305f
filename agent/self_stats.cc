#include "agent/self_stats.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "agent/kernelfs/kernel_fs.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"

namespace perfwire {
namespace {

uint64_t ProcessCpuNs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1000000000ull +
           static_cast<uint64_t>(tv.tv_usec) * 1000ull;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

}  // namespace

SelfStats::SelfStats() : last_cpu_ns_(ProcessCpuNs()) {}

uint64_t SelfStats::TakeCpuNs() {
  const uint64_t now = ProcessCpuNs();
  const uint64_t delta = now - last_cpu_ns_;
  last_cpu_ns_ = now;
  return delta;
}

uint64_t SelfStats::RssBytes() {
  // The agent's own process: always the real /proc, whatever --proc_root.
  std::string statm;
  if (!KernelFs().ReadProc("/self/statm", statm).ok()) return 0;
  FieldSplitter f(statm);
  absl::string_view size, resident;
  uint64_t pages = 0;
  if (!f.Next(size) || !f.Next(resident) || !ParseU64(resident, pages)) {
    return 0;
  }
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace perfwire
