// Software perf counters against `perf stat -a` over (nearly) the same
// interval, with a known load; the hardware section's reason on this machine.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "agent/perf/perf_counters.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/host_test_util.h"

namespace perfwire::testing {
namespace {

// perf stat -x, lines: "<count>,<unit>,<event>,...".
uint64_t PerfStatCount(const std::string& out, const std::string& event) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ',');
    if (f.size() >= 3 && f[2] == event) {
      uint64_t v = 0;
      if (absl::SimpleAtoi(f[0], &v)) return v;
    }
  }
  return 0;
}

const fb::PerfEvent* FindEvent(const fb::PerfCounters* c,
                               const std::string& name) {
  if (!c || !c->events()) return nullptr;
  for (const auto* e : *c->events()) {
    if (e->name()->str() == name) return e;
  }
  return nullptr;
}

// Known load: 20,000 pipe round trips (>= 40,000 context switches) and
// 20,000 touched pages (>= 20,000 page faults).
void KnownLoad() {
  int ab[2], ba[2];
  ASSERT_EQ(pipe(ab), 0);
  ASSERT_EQ(pipe(ba), 0);
  std::thread peer([&] {
    char c;
    for (int i = 0; i < 20000; ++i) {
      if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1) break;
    }
  });
  char c = 'x';
  for (int i = 0; i < 20000; ++i) {
    if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) break;
  }
  peer.join();
  for (int fd : {ab[0], ab[1], ba[0], ba[1]}) close(fd);
  const size_t len = 20000 * 4096ul;
  char* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t off = 0; off < len; off += 4096) p[off] = 1;
  munmap(p, len);
}

TEST(HostPerf, SoftwareCountsMatchPerfStat) {
  PERFWIRE_REQUIRE_BPF();  // root: system-wide counting
  int st = 0;
  Shell("command -v perf", &st);
  if (st != 0) {
    if (InCi())
      FAIL()
          << "CI=true but perf(1) is missing (make deps installs linux-perf)";
    GTEST_SKIP() << "perf(1) not installed";
  }
  PerfCounterSource source(PerfEventKind::kSoftware, HostOptions{});
  std::string perf_out;
  SourceWindow w = RunWindow(source, [&] {
    std::thread load([] {
      usleep(300 * 1000);  // inside perf's window
      KnownLoad();
    });
    perf_out =
        Shell("perf stat -a -x, -e context-switches,page-faults sleep 2", &st);
    load.join();
  });
  ASSERT_EQ(st, 0) << perf_out;
  const fb::PerfCounters* c = w.frame->perf_software();
  ASSERT_NE(c, nullptr) << source.status().reason;
  const uint64_t perf_cs = PerfStatCount(perf_out, "context-switches");
  const uint64_t perf_pf = PerfStatCount(perf_out, "page-faults");
  ASSERT_GT(perf_cs, 40000u) << perf_out;
  ASSERT_GT(perf_pf, 20000u) << perf_out;
  const fb::PerfEvent* cs = FindEvent(c, "context-switches");
  const fb::PerfEvent* pf = FindEvent(c, "page-faults");
  ASSERT_NE(cs, nullptr);
  ASSERT_NE(pf, nullptr);
  std::printf(
      "perf stat -a: context-switches=%lu page-faults=%lu; perf.software: %lu "
      "%lu\n",
      perf_cs, perf_pf, cs->scaled_count(), pf->scaled_count());
  // Our window contains perf's (plus perf's own start-up, a few ms): ours is
  // at least perf's minus 2%, at most 15% above it.
  EXPECT_GE(cs->scaled_count(), perf_cs * 0.98);
  EXPECT_LE(cs->scaled_count(), perf_cs * 1.15);
  EXPECT_GE(pf->scaled_count(), perf_pf * 0.98);
  EXPECT_LE(pf->scaled_count(),
            perf_pf * 1.15 + 5000);  // perf(1) start-up faults
  // cpu-clock summed over CPUs is the window length times the CPU count.
  const fb::PerfEvent* clock = FindEvent(c, "cpu-clock");
  ASSERT_NE(clock, nullptr);
  const double cpus = c->cpus()->size();
  EXPECT_GE(clock->scaled_count(), w.inner_ns * cpus * 0.98);
  EXPECT_LE(clock->scaled_count(), w.outer_ns * cpus * 1.02);
  EXPECT_FLOAT_EQ(clock->running_percent(),
                  100.0f);  // software events never multiplex
}

TEST(HostPerf, HardwareSectionSaysWhyWhenThereIsNoPmu) {
  PERFWIRE_REQUIRE_BPF();
  HostOptions o;
  o.perf_per_thread_ipc = true;
  PerfCounterSource source(PerfEventKind::kHardware, o);
  absl::Status s = source.Start();
  if (access("/sys/bus/event_source/devices/cpu", F_OK) == 0 ||
      access("/sys/bus/event_source/devices/cpu_core", F_OK) == 0) {
    GTEST_SKIP() << "this machine has a PMU: " << source.status().reason;
  }
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(source.status().available);
  const std::string& r = source.status().reason;
  EXPECT_NE(r.find("ENOENT: no hardware PMU (virtualized?)"), std::string::npos)
      << r;
  EXPECT_NE(r.find("cycles"), std::string::npos) << r;
  EXPECT_NE(r.find("stalled-cycles-backend"), std::string::npos) << r;
  EXPECT_NE(r.find("--perf_per_thread_ipc unavailable"), std::string::npos)
      << r;
}

}  // namespace
}  // namespace perfwire::testing
