// Every host source on this machine starts and stays available over 20
// back-to-back collections; the thread CPU time of each Collect() (median of
// the 20) is printed for docs/FRAME_HOST.md. Timings are not asserted here:
// budgets are checked by `make bench`.

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "agent/self_stats.h"
#include "agent/source_registry.h"
#include "base/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

uint64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

TEST(HostCost, CollectCpuPerIntervalPerSource) {
  PERFWIRE_REQUIRE_BPF();  // root: perf sources and every /proc/<pid>/fd
  HostOptions options;
  options.software_perf_counters = true;  // measure the opt-in one too
  std::vector<std::unique_ptr<Source>> sources = CreateHostSources(options);
  uint64_t total_median = 0;
  for (auto& src : sources) {
    if (!src->Start().ok()) {
      std::printf("%-14s unavailable: %s\n", src->status().name.c_str(),
                  src->status().reason.c_str());
      continue;
    }
    std::vector<uint64_t> cpu, wall;
    for (int i = 0; i < 20; ++i) {
      flatbuffers::FlatBufferBuilder fbb(64 * 1024);
      FrameSections s;
      const uint64_t c0 = ThreadCpuNs(), w0 = MonotonicNs();
      src->Collect(fbb, s);
      cpu.push_back(ThreadCpuNs() - c0);
      wall.push_back(MonotonicNs() - w0);
    }
    std::sort(cpu.begin(), cpu.end());
    std::sort(wall.begin(), wall.end());
    total_median += cpu[10];
    std::printf(
        "%-14s Collect: cpu median %6.1f us (max %6.1f), wall median %6.1f "
        "us\n",
        src->status().name.c_str(), cpu[10] / 1e3, cpu.back() / 1e3,
        wall[10] / 1e3);
    // Cost is printed, not asserted: timings belong to `make bench`.
    EXPECT_TRUE(src->status().available) << src->status().reason;
  }
  std::printf("all host sources: %.1f us CPU per interval (sum of medians)\n",
              total_median / 1e3);
}

}  // namespace
}  // namespace perfwire::testing
