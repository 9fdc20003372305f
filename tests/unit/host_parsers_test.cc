// Parsers of /proc files, on files captured from this machine's kernel
// (tests/fixtures/host/<uname -r>/proc), hand-made older formats
// (tests/fixtures/host/formats) and truncated, empty and garbage input.

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "agent/host/cpu.h"
#include "agent/host/disks.h"
#include "agent/host/filesystems.h"
#include "agent/host/memory.h"
#include "agent/host/network.h"
#include "agent/host/processes.h"
#include "agent/host/text_util.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/kernelfs/numbers.h"
#include "agent/perf/perf_counters.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

const std::string kReal =
    std::string(PERFWIRE_FIXTURES_DIR) + "/host/6.18.44-fc-v595/proc/";
const std::string kFormats =
    std::string(PERFWIRE_FIXTURES_DIR) + "/host/formats/";

std::string Slurp(const std::string& path) {
  std::string out;
  EXPECT_TRUE(KernelFs().Read(path, out).ok()) << path;
  return out;
}

TEST(TextUtil, ParsesNumbersStrictly) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseU64("18446744073709551615", v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616", v));
  EXPECT_FALSE(ParseU64("12a", v));
  EXPECT_FALSE(ParseU64("", v));
  EXPECT_TRUE(ParseHexU64("0A", v));
  EXPECT_EQ(v, 10u);
  EXPECT_EQ(RatePerSec(100, 50, 1000000000), 0.0);  // counter reset
  EXPECT_DOUBLE_EQ(RatePerSec(100, 300, 2000000000), 100.0);
}

TEST(TextUtil, ReadMissingFileIsNotFound) {
  std::string buf;
  absl::Status s = KernelFs().Read("/nonexistent/proc/stat", buf);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/proc/stat"),
            absl::string_view::npos);
}

// ---- /proc/stat

TEST(ProcStat, RealCapture) {
  ProcStat st;
  ASSERT_TRUE(ParseProcStat(Slurp(kReal + "stat"), st).ok());
  EXPECT_EQ(st.total.user, 24156u);
  EXPECT_EQ(st.total.system, 6658u);
  EXPECT_EQ(st.total.idle, 148512u);
  EXPECT_EQ(st.total.steal, 32u);
  ASSERT_EQ(st.cores.size(), 2u);
  EXPECT_EQ(st.cores[1].cpu, 1);
  EXPECT_EQ(st.cores[1].user, 13949u);
  EXPECT_EQ(st.context_switches, 762363u);
  EXPECT_EQ(st.forks, 24509u);
  EXPECT_EQ(st.procs_running, 2u);
  EXPECT_EQ(st.procs_blocked, 0u);
  EXPECT_GT(st.interrupts, 0u);
}

TEST(ProcStat, OldFormatWithoutStealOrGuest) {
  ProcStat st;
  ASSERT_TRUE(
      ParseProcStat(Slurp(kFormats + "stat_2.6.18_no_steal_guest"), st).ok());
  EXPECT_EQ(st.total.softirq, 20u);
  EXPECT_EQ(st.total.steal, 0u);
  EXPECT_EQ(st.total.guest, 0u);
  EXPECT_EQ(st.interrupts, 123456u);
  EXPECT_EQ(st.procs_blocked, 1u);
}

TEST(ProcStat, GuestIsTakenOutOfUser) {
  ProcStat st;
  ASSERT_TRUE(
      ParseProcStat(Slurp(kFormats + "stat_2.6.24_guest_no_guest_nice"), st)
          .ok());
  CpuTicks before;  // all zero
  before.cpu = -1;
  // Elapsed = the ticks' own sum here, so the parts are the ticks' shares.
  CpuPercent p = CpuSplit(before, st.total, 9642);
  // total = 1000 + 10 + 500 + 8000 + 100 + 5 + 20 + 7 (guest inside user) =
  // 9642
  EXPECT_NEAR(p.user, 100.0 * (1000 - 40) / 9642, 1e-3);
  EXPECT_NEAR(p.guest, 100.0 * 40 / 9642, 1e-3);
  EXPECT_NEAR(p.user + p.nice + p.system + p.idle + p.iowait + p.irq +
                  p.softirq + p.steal + p.guest + p.guest_nice,
              100.0, 1e-3);
}

TEST(ProcStat, SplitOverInterval) {
  CpuTicks a, b;
  a.user = 100, a.system = 50, a.idle = 800, a.iowait = 10;
  b = a;
  b.user += 30, b.system += 10, b.idle += 60;
  b.iowait -= 5;  // iowait can go backwards on some kernels: clamped to 0
  CpuPercent p = CpuSplit(a, b, 100);
  EXPECT_FLOAT_EQ(p.user, 30.0f);
  EXPECT_FLOAT_EQ(p.system, 10.0f);
  EXPECT_FLOAT_EQ(p.idle, 60.0f);
  EXPECT_FLOAT_EQ(p.iowait, 0.0f);
  CpuPercent none = CpuSplit(a, a, 0);
  EXPECT_FLOAT_EQ(none.idle, 0.0f);
}

// Under a partial, switch-heavy load the busy modes' ticks sum to much less
// than the busy time (tick sampling), while idle is exact (NO_HZ): idle is
// taken over the elapsed time and the busy modes share the remainder.
TEST(ProcStat, SplitTakesIdleOverElapsedNotOverTheTicksSum) {
  CpuTicks a, b;
  b.user = 30, b.system = 10, b.idle = 80, b.iowait = 20;
  // 200 ticks elapsed, but only 140 were accounted.
  CpuPercent p = CpuSplit(a, b, 200);
  EXPECT_FLOAT_EQ(p.idle, 40.0f);
  EXPECT_FLOAT_EQ(p.iowait, 10.0f);
  EXPECT_FLOAT_EQ(p.user, 37.5f);  // 50% busy, user had 3/4 of its ticks
  EXPECT_FLOAT_EQ(p.system, 12.5f);
  // The reads bracket the kernel's clock only to within a tick: idle can
  // exceed elapsed by a little; it is capped, never above 100.
  CpuTicks c;
  c.idle = 205;
  p = CpuSplit(a, c, 200);
  EXPECT_FLOAT_EQ(p.idle, 100.0f);
  EXPECT_FLOAT_EQ(p.user, 0.0f);
}

TEST(ProcStat, TicksToNsUsesUserHz) {
  EXPECT_EQ(TicksToNs(UserHz()), 1000000000u);
  EXPECT_EQ(TicksToNs(3 * UserHz() + 1), 3000000000u + 1000000000u / UserHz());
}

TEST(ProcStat, TruncatedEmptyGarbage) {
  ProcStat st;
  for (const char* f : {"stat_truncated", "empty", "garbage"}) {
    absl::Status s = ParseProcStat(Slurp(kFormats + f), st);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << f;
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(LoadAvg, RealAndBroken) {
  LoadAvg la;
  ASSERT_TRUE(ParseLoadAvg(Slurp(kReal + "loadavg"), la).ok());
  EXPECT_DOUBLE_EQ(la.load1, 1.11);
  EXPECT_DOUBLE_EQ(la.load15, 0.29);
  EXPECT_EQ(la.runnable, 3u);
  EXPECT_EQ(la.threads, 99u);
  EXPECT_FALSE(ParseLoadAvg("", la).ok());
  EXPECT_FALSE(ParseLoadAvg("1.0 2.0 3.0", la).ok());
  EXPECT_FALSE(ParseLoadAvg("1.0 2.0 3.0 x/y 5", la).ok());
  EXPECT_FALSE(ParseLoadAvg(Slurp(kFormats + "garbage"), la).ok());
}

TEST(CpuInfo, MhzPerProcessor) {
  std::vector<float> mhz = ParseCpuInfoMhz(Slurp(kReal + "cpuinfo"));
  ASSERT_EQ(mhz.size(), 2u);
  EXPECT_NEAR(mhz[1], 2445.428, 0.01);
  EXPECT_TRUE(ParseCpuInfoMhz(Slurp(kFormats + "garbage")).empty());
}

// ---- memory

TEST(MemInfo, RealCapture) {
  MemInfo m;
  ASSERT_TRUE(ParseMemInfo(Slurp(kReal + "meminfo"), m).ok());
  EXPECT_EQ(m.total, 24684096ull * 1024);
  EXPECT_EQ(m.available, 23929844ull * 1024);
  EXPECT_TRUE(m.has_available);
  EXPECT_EQ(m.cached, 692604ull * 1024);
  EXPECT_EQ(m.swap_total, 0u);
  EXPECT_EQ(m.hugepages_total, 0u);  // a count, not scaled
  EXPECT_EQ(m.hugepage_size, 2048ull * 1024);
}

TEST(MemInfo, OldKernelWithoutMemAvailable) {
  MemInfo m;
  ASSERT_TRUE(
      ParseMemInfo(Slurp(kFormats + "meminfo_3.10_no_memavailable"), m).ok());
  EXPECT_FALSE(m.has_available);
  EXPECT_EQ(m.available, (200000ull + 50000 + 300000) * 1024);
  EXPECT_EQ(m.hugepages_total, 16u);
  EXPECT_EQ(m.hugepages_reserved, 2u);
  EXPECT_EQ(m.swap_free, 400000ull * 1024);
}

TEST(MemInfo, EmptyAndGarbage) {
  MemInfo m;
  EXPECT_FALSE(ParseMemInfo("", m).ok());
  EXPECT_FALSE(ParseMemInfo(Slurp(kFormats + "garbage"), m).ok());
  EXPECT_FALSE(ParseMemInfo("MemTotal: 12", m).ok());  // truncated: no MemFree
}

TEST(VmStat, RealAndBroken) {
  VmStat v;
  ASSERT_TRUE(ParseVmStat(Slurp(kReal + "vmstat"), v).ok());
  EXPECT_EQ(v.pgpgin, 1848241u);
  EXPECT_EQ(v.pgfault, 9834638u);
  EXPECT_EQ(v.pgmajfault, 1812u);
  EXPECT_FALSE(ParseVmStat("", v).ok());
  EXPECT_FALSE(ParseVmStat(Slurp(kFormats + "garbage"), v).ok());
}

TEST(Pressure, RealCapture) {
  Pressure p;
  ASSERT_TRUE(ParsePressure(Slurp(kReal + "pressure/cpu"), p).ok());
  EXPECT_DOUBLE_EQ(p.some_avg10, 0.62);
  EXPECT_DOUBLE_EQ(p.some_avg300, 2.37);
  EXPECT_EQ(p.some_total_us, 19268969u);
  EXPECT_TRUE(p.has_full);
  ASSERT_TRUE(ParsePressure(Slurp(kReal + "pressure/memory"), p).ok());
  ASSERT_TRUE(ParsePressure(Slurp(kReal + "pressure/io"), p).ok());
}

TEST(Pressure, OldCpuFileHasNoFullLine) {
  Pressure p;
  ASSERT_TRUE(
      ParsePressure(Slurp(kFormats + "pressure_cpu_5.4_some_only"), p).ok());
  EXPECT_FALSE(p.has_full);
  EXPECT_EQ(p.some_total_us, 123456u);
}

TEST(Pressure, Broken) {
  Pressure p;
  EXPECT_FALSE(ParsePressure("", p).ok());
  EXPECT_FALSE(ParsePressure("some avg10=0.1 avg60=", p).ok());
  EXPECT_FALSE(ParsePressure(Slurp(kFormats + "garbage"), p).ok());
}

// ---- disks

TEST(DiskStats, RealCapture20Fields) {
  std::vector<DiskStat> d;
  int skipped = -1;
  ASSERT_TRUE(ParseDiskStats(Slurp(kReal + "diskstats"), d, &skipped).ok());
  EXPECT_EQ(skipped, 0);
  ASSERT_EQ(d.size(), 10u);
  const DiskStat* vda = nullptr;
  for (const auto& x : d) {
    if (x.name == "vda") vda = &x;
  }
  ASSERT_NE(vda, nullptr);
  EXPECT_GT(vda->reads, 0u);
  EXPECT_GT(vda->read_sectors, 0u);
  EXPECT_TRUE(IsVirtualDiskName("loop0"));
  EXPECT_TRUE(IsVirtualDiskName("zram0"));
  EXPECT_FALSE(IsVirtualDiskName("vda"));
}

TEST(DiskStats, OlderFormats) {
  std::vector<DiskStat> d;
  ASSERT_TRUE(ParseDiskStats(Slurp(kFormats + "diskstats_14_fields"), d).ok());
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "sda");
  EXPECT_EQ(d[0].reads, 1000u);
  EXPECT_EQ(d[0].read_sectors, 2048u);
  EXPECT_EQ(d[0].read_ms, 300u);
  EXPECT_EQ(d[0].writes, 500u);
  EXPECT_EQ(d[0].write_sectors, 4096u);
  EXPECT_EQ(d[0].write_ms, 200u);
  EXPECT_EQ(d[0].in_flight, 0u);
  EXPECT_EQ(d[0].io_ms, 400u);
  ASSERT_TRUE(ParseDiskStats(Slurp(kFormats + "diskstats_18_fields"), d).ok());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].in_flight, 1u);
  EXPECT_EQ(d[1].name, "nvme0n1p1");
  int skipped = 0;
  ASSERT_TRUE(
      ParseDiskStats(Slurp(kFormats + "diskstats_2.6_partition_4_fields"), d,
                     &skipped)
          .ok());
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(skipped, 1);
}

TEST(DiskStats, EmptyIsNoDevicesGarbageIsAnError) {
  std::vector<DiskStat> d(3);
  EXPECT_TRUE(ParseDiskStats("", d).ok());
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(ParseDiskStats(Slurp(kFormats + "garbage"), d).ok());
  EXPECT_FALSE(ParseDiskStats("   8   0 sda 1 2 3", d).ok());  // truncated
}

// ---- network

TEST(NetDev, RealCapture) {
  std::vector<InterfaceStat> ifs;
  ASSERT_TRUE(ParseNetDev(Slurp(kReal + "net/dev"), ifs).ok());
  ASSERT_EQ(ifs.size(), 4u);
  EXPECT_EQ(ifs[0].name, "lo");
  EXPECT_EQ(ifs[3].name, "eth0");
  EXPECT_EQ(ifs[3].rx_bytes, 28276309u);
  EXPECT_EQ(ifs[3].rx_packets, 717u);
  EXPECT_EQ(ifs[3].tx_bytes, 37726u);
  EXPECT_EQ(ifs[3].tx_packets, 467u);
}

TEST(NetDev, TruncatedEmptyGarbage) {
  std::vector<InterfaceStat> ifs;
  EXPECT_FALSE(ParseNetDev(Slurp(kFormats + "net_dev_truncated"), ifs).ok());
  EXPECT_FALSE(ParseNetDev("", ifs).ok());
  EXPECT_FALSE(ParseNetDev(Slurp(kFormats + "garbage"), ifs).ok());
}

TEST(NetTcp, CountsStates) {
  TcpStateCounts c{};
  ASSERT_TRUE(CountTcpStates(Slurp(kReal + "net/tcp"), c).ok());
  EXPECT_EQ(c[10], 1u);  // one LISTEN (0A) in the capture
  ASSERT_TRUE(CountTcpStates(Slurp(kReal + "net/tcp6"), c).ok());
  const std::string two =
      "  sl  local_address rem_address   st tx_queue\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n"
      "   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000\n"
      "   2: 0100007F:1F90 0100007F:9C42 06 00000000:00000000\n";
  TcpStateCounts d{};
  ASSERT_TRUE(CountTcpStates(two, d).ok());
  EXPECT_EQ(d[1], 1u);
  EXPECT_EQ(d[6], 1u);
  EXPECT_EQ(d[10], 1u);
  EXPECT_FALSE(CountTcpStates("", d).ok());
  EXPECT_FALSE(CountTcpStates(Slurp(kFormats + "garbage"), d).ok());
  uint32_t udp = 99;
  ASSERT_TRUE(CountSocketLines(Slurp(kReal + "net/udp"), udp).ok());
  EXPECT_EQ(udp, 0u);
}

// ---- filesystems, processes

TEST(Mounts, SkipsPseudoAndDuplicates) {
  std::vector<MountEntry> m;
  ASSERT_TRUE(ParseMounts(Slurp(kReal + "self/mounts"), m).ok());
  // Real: "/" ext4 and the tmpfs mounts; /dev/shm appears twice in the capture.
  int shm = 0;
  bool root = false;
  for (const auto& e : m) {
    EXPECT_FALSE(IsPseudoFilesystem(e.fs_type)) << e.fs_type;
    if (e.mount_point == "/dev/shm") ++shm;
    if (e.mount_point == "/" && e.fs_type == "ext4") root = true;
  }
  EXPECT_EQ(shm, 1);
  EXPECT_TRUE(root);
  ASSERT_TRUE(ParseMounts("/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n", m).ok());
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mount_point, "/mnt/my disk");
  EXPECT_FALSE(ParseMounts("/dev/sdb1 /mnt\n", m).ok());
  EXPECT_TRUE(ParseMounts("", m).ok());
}

TEST(FileNr, RealAndBroken) {
  FileNr nr;
  ASSERT_TRUE(ParseFileNr(Slurp(kReal + "sys/fs/file-nr"), nr).ok());
  EXPECT_EQ(nr.allocated, 606u);
  EXPECT_EQ(nr.unused, 0u);
  EXPECT_EQ(nr.max, 2466193u);
  EXPECT_FALSE(ParseFileNr("", nr).ok());
  EXPECT_FALSE(ParseFileNr("606\t0", nr).ok());
  EXPECT_FALSE(ParseFileNr(Slurp(kFormats + "garbage"), nr).ok());
}

TEST(FdCounts, KeepsLargest) {
  std::vector<FdCount> c = {{1, 5}, {2, 50}, {3, 7}, {4, 50}, {5, 1}};
  KeepTopFdCounts(c, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].pid, 2u);
  EXPECT_EQ(c[1].pid, 4u);
  EXPECT_EQ(c[2].pid, 3u);
}

// ---- perf helpers

TEST(PerfHelpers, ScalingAndCpuList) {
  // Counted half the enabled time: scaled x2.
  EXPECT_EQ(ScaledDelta({100, 1000, 1000}, {600, 3000, 2000}), 1000u);
  EXPECT_EQ(ScaledDelta({100, 1000, 1000}, {600, 3000, 3000}), 500u);
  EXPECT_EQ(ScaledDelta({100, 1000, 1000}, {100, 3000, 1000}),
            0u);  // never ran
  std::vector<uint32_t> cpus;
  ASSERT_TRUE(ParseCpuList("0-3,8,10-11\n", cpus).ok());
  EXPECT_EQ(cpus, (std::vector<uint32_t>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_FALSE(ParseCpuList("", cpus).ok());
  EXPECT_FALSE(ParseCpuList("3-1", cpus).ok());
  EXPECT_FALSE(ParseCpuList("x", cpus).ok());
  EXPECT_EQ(PerfOpenErrorText(ENOENT, false),
            "ENOENT: no hardware PMU (virtualized?)");
  EXPECT_EQ(PerfOpenErrorText(ENOENT, true),
            "ENOENT: event not supported by this CPU's PMU");
  EXPECT_NE(PerfOpenErrorText(EACCES, true).find("EACCES: not permitted"),
            std::string::npos);
}

// ---- every parser on truncated and garbage files

// One parser of one kernel file, and the real capture it must accept.
struct ParserCase {
  const char* name;
  std::string capture;  // path
  std::function<absl::Status(absl::string_view)> parse;
};

std::vector<ParserCase> AllParsers() {
  return {
      {"stat", kReal + "stat",
       [](absl::string_view t) {
         ProcStat st;
         return ParseProcStat(t, st);
       }},
      {"loadavg", kReal + "loadavg",
       [](absl::string_view t) {
         LoadAvg la;
         return ParseLoadAvg(t, la);
       }},
      {"meminfo", kReal + "meminfo",
       [](absl::string_view t) {
         MemInfo m;
         return ParseMemInfo(t, m);
       }},
      {"vmstat", kReal + "vmstat",
       [](absl::string_view t) {
         VmStat v;
         return ParseVmStat(t, v);
       }},
      {"pressure", kReal + "pressure/io",
       [](absl::string_view t) {
         Pressure p;
         return ParsePressure(t, p);
       }},
      {"diskstats", kReal + "diskstats",
       [](absl::string_view t) {
         std::vector<DiskStat> d;
         return ParseDiskStats(t, d);
       }},
      {"net/dev", kReal + "net/dev",
       [](absl::string_view t) {
         std::vector<InterfaceStat> ifs;
         return ParseNetDev(t, ifs);
       }},
      {"net/tcp", kReal + "net/tcp",
       [](absl::string_view t) {
         TcpStateCounts c{};
         return CountTcpStates(t, c);
       }},
      {"net/udp", kReal + "net/udp",
       [](absl::string_view t) {
         uint32_t n = 0;
         return CountSocketLines(t, n);
       }},
      {"mounts", kReal + "self/mounts",
       [](absl::string_view t) {
         std::vector<MountEntry> m;
         return ParseMounts(t, m);
       }},
      {"file-nr", kReal + "sys/fs/file-nr",
       [](absl::string_view t) {
         FileNr nr;
         return ParseFileNr(t, nr);
       }},
      {"cpu list", kReal + "../sys/devices/system/cpu/online",  // sysfs
       [](absl::string_view t) {
         std::vector<uint32_t> cpus;
         return ParseCpuList(t, cpus);
       }},
  };
}

// Cut anywhere but at a line's end, a capture is rejected as DataLoss (a
// cut-off number must never pass for a smaller one); cut at a line's end it
// is parsed or rejected as DataLoss, never anything else.
TEST(AllParsers, TruncatedCapturesAreDataLoss) {
  for (const ParserCase& p : AllParsers()) {
    std::string text;
    ASSERT_TRUE(KernelFs().Read(p.capture, text).ok()) << p.capture;
    ASSERT_TRUE(p.parse(text).ok()) << p.name << ": " << p.parse(text);
    for (size_t n = 1; n < text.size(); ++n) {
      const absl::Status s = p.parse(absl::string_view(text).substr(0, n));
      if (text[n - 1] != '\n') {
        EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss)
            << p.name << " cut at " << n << ": " << s;
      } else {
        EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kDataLoss)
            << p.name << " cut at " << n << ": " << s;
      }
    }
  }
}

// The garbage fixture (random base64 lines) is DataLoss for every parser,
// and the message names the file.
TEST(AllParsers, GarbageIsDataLossNamingTheFile) {
  const std::string garbage = Slurp(kFormats + "garbage");
  for (const ParserCase& p : AllParsers()) {
    const absl::Status s = p.parse(garbage);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << p.name << ": " << s;
    EXPECT_NE(s.message().find(p.name), absl::string_view::npos)
        << p.name << ": " << s;
  }
  // Every single-byte corruption of a capture is parsed or DataLoss.
  for (const ParserCase& p : AllParsers()) {
    std::string text;
    ASSERT_TRUE(KernelFs().Read(p.capture, text).ok());
    for (size_t i = 0; i < text.size(); i += 7) {
      std::string bad = text;
      bad[i] = '\xff';
      const absl::Status s = p.parse(bad);
      EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kDataLoss)
          << p.name << " byte " << i << ": " << s;
    }
  }
}

}  // namespace
}  // namespace perfwire
