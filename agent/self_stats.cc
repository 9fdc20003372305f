#include "agent/self_stats.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

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
  FILE* f = std::fopen("/proc/self/statm", "re");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace perfwire
