// Host sources run on fixture trees (a copy of a real /proc capture that the
// test then advances), on missing roots, and with a fake perf_event_open.
// No root needed.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "agent/collector.h"
#include "agent/frame_builder.h"
#include "agent/host/cpu.h"
#include "agent/host/disks.h"
#include "agent/host/gpu.h"
#include "agent/host/memory.h"
#include "agent/host/network.h"
#include "agent/host/processes.h"
#include "agent/perf/perf_counters.h"
#include "agent/self_stats.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

namespace fs = std::filesystem;

const std::string kReal =
    std::string(PERFWIRE_FIXTURES_DIR) + "/host/6.18.44-fc-v595/proc";

// A writable copy of the captured /proc tree.
class FixtureRoot {
 public:
  FixtureRoot() {
    char tmpl[] = "/tmp/perfwire_host_XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::copy(kReal, dir_ + "/proc", fs::copy_options::recursive);
  }
  ~FixtureRoot() { fs::remove_all(dir_); }
  std::string proc() const { return dir_ + "/proc"; }
  std::string sys() const { return dir_ + "/sys"; }
  void Write(const std::string& rel, const std::string& text) const {
    fs::create_directories(fs::path(proc() + "/" + rel).parent_path());
    std::ofstream(proc() + "/" + rel, std::ios::trunc) << text;
  }

 private:
  std::string dir_;
};

HostOptions Options(const FixtureRoot& root) {
  HostOptions o;
  o.proc_root = root.proc();
  o.sys_root = root.sys();
  return o;
}

// Finishes a frame holding `sections` so tests read them back like a consumer.
const fb::Frame* Finish(flatbuffers::FlatBufferBuilder& fbb,
                        const FrameSections& s) {
  FinishFrame(fbb, FrameHeader{}, s);
  flatbuffers::Verifier v(fbb.GetBufferPointer(), fbb.GetSize());
  EXPECT_TRUE(fb::VerifySizePrefixedFrameBuffer(v));
  return fb::GetSizePrefixedFrame(fbb.GetBufferPointer());
}

TEST(CpuSource, SplitOverAdvancedFixture) {
  FixtureRoot root;
  CpuSource src(Options(root));
  ASSERT_TRUE(src.Start().ok()) << src.status().reason;
  // Advance: cpu0 +60 user +20 system +20 idle; cpu1 +100 idle; totals
  // accordingly.
  root.Write("stat",
             "cpu  24216 0 6678 148632 606 0 65 32 0 0\n"
             "cpu0 10267 0 2929 76811 92 0 9 11 0 0\n"
             "cpu1 13949 0 3749 71820 514 0 55 20 0 0\n"
             "intr 400000\nctxt 763363\nprocesses 24519\nprocs_running "
             "3\nprocs_blocked 1\n");
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  ASSERT_TRUE(src.status().available) << src.status().reason;
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->cpu(), nullptr);
  EXPECT_FLOAT_EQ(f->cpu()->total()->user_percent(), 30.0f);
  EXPECT_FLOAT_EQ(f->cpu()->total()->system_percent(), 10.0f);
  EXPECT_FLOAT_EQ(f->cpu()->total()->idle_percent(), 60.0f);
  ASSERT_EQ(f->cpu()->cores()->size(), 2u);
  EXPECT_FLOAT_EQ(f->cpu()->cores()->Get(0)->user_percent(), 60.0f);
  EXPECT_FLOAT_EQ(f->cpu()->cores()->Get(1)->idle_percent(), 100.0f);
  // Frequency from the captured /proc/cpuinfo (no cpufreq in the fixture tree).
  ASSERT_TRUE(f->cpu()->cores()->Get(1)->frequency_mhz().has_value());
  EXPECT_NEAR(*f->cpu()->cores()->Get(1)->frequency_mhz(), 2445.4, 0.1);
  EXPECT_EQ(f->cpu()->temperatures(), nullptr);  // no sensors: absent, not zero
  EXPECT_GT(f->cpu()->context_switch_per_sec(), 0.0);
  EXPECT_EQ(f->cpu()->running_task_count(), 3u);
  EXPECT_EQ(f->cpu()->blocked_task_count(), 1u);
  EXPECT_FLOAT_EQ(f->cpu()->load_1m_count(), 1.11f);
}

TEST(CpuSource, ReadsThermalAndHwmonSensors) {
  FixtureRoot root;
  fs::create_directories(root.sys() + "/class/thermal/thermal_zone0");
  std::ofstream(root.sys() + "/class/thermal/thermal_zone0/type")
      << "x86_pkg_temp\n";
  std::ofstream(root.sys() + "/class/thermal/thermal_zone0/temp") << "45000\n";
  fs::create_directories(root.sys() + "/class/hwmon/hwmon1");
  std::ofstream(root.sys() + "/class/hwmon/hwmon1/name") << "coretemp\n";
  std::ofstream(root.sys() + "/class/hwmon/hwmon1/temp2_input") << "51500\n";
  std::ofstream(root.sys() + "/class/hwmon/hwmon1/temp2_label") << "Core 0\n";
  fs::create_directories(root.sys() + "/devices/system/cpu/cpu0/cpufreq");
  fs::create_directories(root.sys() + "/devices/system/cpu/cpu1/cpufreq");
  std::ofstream(root.sys() +
                "/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
      << "3400000\n";
  std::ofstream(root.sys() +
                "/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq")
      << "1200000\n";
  CpuSource src(Options(root));
  ASSERT_TRUE(src.Start().ok());
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->cpu()->temperatures(), nullptr);
  ASSERT_EQ(f->cpu()->temperatures()->size(), 2u);
  EXPECT_EQ(f->cpu()->temperatures()->Get(0)->sensor()->str(),
            "coretemp:Core 0");
  EXPECT_FLOAT_EQ(f->cpu()->temperatures()->Get(0)->temperature_celsius(),
                  51.5f);
  EXPECT_EQ(f->cpu()->temperatures()->Get(1)->sensor()->str(),
            "thermal_zone0:x86_pkg_temp");
  EXPECT_FLOAT_EQ(*f->cpu()->cores()->Get(0)->frequency_mhz(), 3400.0f);
  EXPECT_FLOAT_EQ(*f->cpu()->cores()->Get(1)->frequency_mhz(), 1200.0f);
  EXPECT_FLOAT_EQ(*f->cpu()->total()->frequency_mhz(), 2300.0f);
}

TEST(CpuSource, BreaksAloneOnGarbageAtRunTime) {
  FixtureRoot root;
  CpuSource src(Options(root));
  ASSERT_TRUE(src.Start().ok());
  root.Write("stat", "garbage\n");
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  EXPECT_FALSE(s.HasFrameField(fb::Frame::VT_CPU));
  EXPECT_FALSE(src.status().available);
  EXPECT_NE(src.status().reason.find("/proc/stat"), std::string::npos);
}

TEST(MemorySource, RatesAndPressureDeltas) {
  FixtureRoot root;
  MemorySource src(Options(root));
  ASSERT_TRUE(src.Start().ok()) << src.status().reason;
  root.Write("pressure/memory",
             "some avg10=0.27 avg60=0.81 avg300=0.34 total=5436942\n"
             "full avg10=0.22 avg60=0.63 avg300=0.27 total=5016001\n");
  root.Write("pressure/cpu",  // cpu: +1000 us some
             "some avg10=0.62 avg60=1.82 avg300=2.37 total=19269969\n"
             "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  fs::remove(root.proc() +
             "/pressure/io");  // PSI for io gone: that part absent
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->memory(), nullptr);
  EXPECT_EQ(f->memory()->total_bytes(), 24684096ull * 1024);
  EXPECT_EQ(f->memory()->used_bytes(), (24684096ull - 23929844ull) * 1024);
  ASSERT_NE(f->memory()->cpu_pressure(), nullptr);
  EXPECT_EQ(f->memory()->cpu_pressure()->some_stall_ns(), 1000000u);
  EXPECT_FLOAT_EQ(f->memory()->cpu_pressure()->some_avg10_percent(), 0.62f);
  ASSERT_TRUE(f->memory()->cpu_pressure()->full_stall_ns().has_value());
  EXPECT_EQ(f->memory()->io_pressure(), nullptr);
  EXPECT_NE(f->memory()->memory_pressure(), nullptr);
}

TEST(DiskSource, RatesFromAdvancedFixture) {
  FixtureRoot root;
  root.Write("diskstats",
             " 254 0 vda 1000 0 2000 100 500 0 4000 50 0 10 0 0 0 0 0 0 0\n"
             "   7 0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  DiskSource src(Options(root));
  ASSERT_TRUE(src.Start().ok());
  // +100 reads, +2048 sectors (1 MiB) taking 300 ms; +10 writes 20 ms; 2 in
  // flight.
  root.Write("diskstats",
             " 254 0 vda 1100 0 4048 400 510 0 4100 70 2 60 0 0 0 0 0 0 0\n"
             "   7 0 loop0 9 0 20 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->disks(), nullptr);
  ASSERT_EQ(f->disks()->size(), 1u);  // loop0 skipped by default
  const fb::HostDisk* d = f->disks()->Get(0);
  EXPECT_EQ(d->name()->str(), "vda");
  EXPECT_EQ(d->read_latency_avg_ns(), 3000000u);
  EXPECT_EQ(d->write_latency_avg_ns(), 2000000u);
  EXPECT_EQ(d->in_flight_count(), 2u);
  // The rate's interval is the real time between the two reads; the ratio is
  // exact.
  EXPECT_DOUBLE_EQ(d->read_bytes_per_sec() / d->read_op_per_sec(),
                   2048.0 * 512 / 100);
}

TEST(NetworkSource, SkipsLoopbackAndCountsSockets) {
  FixtureRoot root;
  NetworkSource src(Options(root));
  ASSERT_TRUE(src.Start().ok());
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->network(), nullptr);
  for (const auto* i : *f->network()->interfaces())
    EXPECT_NE(i->name()->str(), "lo");
  EXPECT_EQ(f->network()->interfaces()->size(), 3u);
  EXPECT_EQ(f->network()->tcp_listen_count(), 1u);
}

TEST(ProcessSource, CountsFromFixture) {
  FixtureRoot root;
  for (const char* pid : {"1", "42", "4242"})
    fs::create_directories(root.proc() + "/" + pid);
  HostOptions o = Options(root);
  o.fd_top_count = 0;
  ProcessSource src(o);
  ASSERT_TRUE(src.Start().ok()) << src.status().reason;
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->processes(), nullptr);
  EXPECT_EQ(f->processes()->process_count(), 3u);
  EXPECT_EQ(f->processes()->thread_count(), 99u);
  EXPECT_EQ(f->processes()->open_file_count(), 606u);
  EXPECT_EQ(f->processes()->file_max_count(), 2466193u);
}

TEST(ProcessSource, CountsFdEntriesOnKernelsWithoutFdSize) {
  FixtureRoot root;
  // A fixture tree's fd directories report st_size as a real directory does,
  // not as /proc/<pid>/fd on >= 6.2: an empty self/fd selects the readdir path.
  fs::create_directories(root.proc() + "/self/fd");
  for (const char* f : {"42/fd/0", "42/fd/1", "42/fd/2", "43/fd/0"}) {
    fs::create_directories(fs::path(root.proc() + "/" + f).parent_path());
    std::ofstream(root.proc() + "/" + f) << "";
  }
  std::ofstream(root.proc() + "/42/comm") << "server\n";
  ProcessSource src(Options(root));
  ASSERT_TRUE(src.Start().ok());
  EXPECT_NE(src.status().reason.find("readdir"), std::string::npos)
      << src.status().reason;
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  const auto* top = f->processes()->top_fd_holders();
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ(top->Get(0)->pid(), 42u);
  EXPECT_EQ(top->Get(0)->fd_count(), 3u);
  EXPECT_EQ(top->Get(0)->comm()->str(), "server");
  EXPECT_EQ(top->Get(1)->fd_count(), 1u);
}

TEST(ProcessSource, TopFdHoldersOnRealProc) {
  // This process holds many fds: it must be listed with at least that many.
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) fds.push_back(dup(0));
  HostOptions o;
  ProcessSource src(o);
  ASSERT_TRUE(src.Start().ok()) << src.status().reason;
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  for (int fd : fds) close(fd);
  ASSERT_NE(f->processes()->top_fd_holders(), nullptr);
  bool found = false;
  for (const auto* h : *f->processes()->top_fd_holders()) {
    if (h->pid() == static_cast<uint32_t>(getpid())) {
      found = true;
      EXPECT_GE(h->fd_count(), 300u);
      EXPECT_FALSE(h->comm()->str().empty());
    }
  }
  EXPECT_TRUE(found);
}

TEST(HostSources, MissingRootMakesEachUnavailableWithReason) {
  HostOptions o;
  o.proc_root = "/nonexistent/proc";
  o.sys_root = "/nonexistent/sys";
  CpuSource cpu(o);
  MemorySource mem(o);
  DiskSource disks(o);
  NetworkSource net(o);
  ProcessSource procs(o);
  for (Source* src :
       std::initializer_list<Source*>{&cpu, &mem, &disks, &net, &procs}) {
    absl::Status st = src->Start();
    EXPECT_FALSE(st.ok()) << src->status().name;
    EXPECT_FALSE(src->status().available);
    EXPECT_NE(src->status().reason.find("/nonexistent/proc"), std::string::npos)
        << src->status().name << ": " << src->status().reason;
  }
}

TEST(HostSources, CollectorFrameKeepsOtherSectionsWhenOneRootIsMissing) {
  FixtureRoot root;
  HostOptions broken;
  broken.proc_root = "/nonexistent/proc";
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<CpuSource>(Options(root)));
  sources.push_back(std::make_unique<MemorySource>(broken));
  sources.push_back(std::make_unique<NetworkSource>(Options(root)));
  Collector collector(std::move(sources));
  collector.StartSources();
  auto buf = collector.CollectFrame();
  const fb::Frame* f = fb::GetSizePrefixedFrame(buf->data());
  EXPECT_NE(f->cpu(), nullptr);
  EXPECT_NE(f->network(), nullptr);
  EXPECT_EQ(f->memory(), nullptr);
  bool memory_reported = false;
  for (const auto* st : *f->sources()) {
    if (st->name()->str() == "memory") {
      memory_reported = true;
      EXPECT_FALSE(st->available());
      EXPECT_NE(st->reason()->str().find("/nonexistent/proc/meminfo"),
                std::string::npos);
    } else {
      EXPECT_TRUE(st->available()) << st->name()->str();
    }
  }
  EXPECT_TRUE(memory_reported);
}

// ---- perf with a fake kernel

PerfSyscalls FakePerf(int hw_errno, int* open_fds) {
  PerfSyscalls s;
  s.open = [hw_errno, open_fds](perf_event_attr& attr, int cpu) {
    EXPECT_EQ(attr.read_format,
              PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING);
    if (attr.type != PERF_TYPE_SOFTWARE && hw_errno) return -hw_errno;
    ++*open_fds;
    return 100 + cpu * 100 + static_cast<int>(attr.config) +
           static_cast<int>(attr.type << 5);
  };
  s.read = [](int fd, PerfReading& out) {
    static thread_local std::map<int, int> calls;
    const uint64_t n = ++calls[fd];
    // Each read: +1000 events, enabled +10 ms, running +5 ms (multiplexed 50%).
    out = {n * 1000, n * 10000000, n * 5000000};
    return true;
  };
  s.close = [open_fds](int) { --*open_fds; };
  return s;
}

TEST(PerfCounterSource, HardwareRefusedSaysWhyForEachEvent) {
  int fds = 0;
  HostOptions o;
  o.sys_root = "/nonexistent/sys";  // online CPUs from sysconf
  o.perf_per_thread_ipc = true;
  PerfCounterSource src(PerfEventKind::kHardware, o, FakePerf(ENOENT, &fds));
  absl::Status st = src.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(src.status().available);
  const std::string& r = src.status().reason;
  EXPECT_NE(r.find("ENOENT: no hardware PMU (virtualized?)"), std::string::npos)
      << r;
  for (const auto& e : PerfEvents(PerfEventKind::kHardware)) {
    EXPECT_NE(r.find(e.name), std::string::npos) << e.name;
  }
  EXPECT_NE(r.find("--perf_per_thread_ipc unavailable"), std::string::npos)
      << r;
  EXPECT_EQ(fds, 0);
}

TEST(PerfCounterSource, SoftwareCountsScaledAndSummedOverCpus) {
  int fds = 0;
  FixtureRoot root;
  fs::create_directories(root.sys() + "/devices/system/cpu");
  std::ofstream(root.sys() + "/devices/system/cpu/online") << "0-1\n";
  {
    PerfCounterSource src(PerfEventKind::kSoftware, Options(root),
                          FakePerf(ENOENT, &fds));
    ASSERT_TRUE(src.Start().ok()) << src.status().reason;
    EXPECT_EQ(fds, 10);
    flatbuffers::FlatBufferBuilder fbb;
    FrameSections s;
    src.Collect(fbb, s);
    const fb::Frame* f = Finish(fbb, s);
    ASSERT_NE(f->perf_software(), nullptr);
    EXPECT_EQ(f->perf_hardware(), nullptr);
    ASSERT_EQ(f->perf_software()->events()->size(), 5u);
    const fb::PerfEvent* e = f->perf_software()->events()->Get(2);
    EXPECT_EQ(e->name()->str(), "context-switches");
    EXPECT_EQ(e->scaled_count(), 4000u);  // 2 CPUs x 1000 x (10/5)
    EXPECT_EQ(e->per_cpu_scaled_count()->size(), 2u);
    EXPECT_FLOAT_EQ(e->running_percent(), 50.0f);
    EXPECT_FALSE(f->perf_software()->instructions_per_cycle().has_value());
  }
  EXPECT_EQ(fds, 0);  // closed on destruction
}

TEST(PerfCounterSource, DerivedRatiosWhenThePmuCounts) {
  int fds = 0;
  HostOptions o;
  o.sys_root = "/nonexistent/sys";
  PerfCounterSource src(PerfEventKind::kHardware, o, FakePerf(0, &fds));
  ASSERT_TRUE(src.Start().ok());
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  src.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->perf_hardware(), nullptr);
  ASSERT_TRUE(f->perf_hardware()->instructions_per_cycle().has_value());
  EXPECT_FLOAT_EQ(*f->perf_hardware()->instructions_per_cycle(), 1.0f);
  EXPECT_FLOAT_EQ(*f->perf_hardware()->cache_miss_percent(), 100.0f);
}

TEST(GpuSource, MissingLibraryIsUnavailableWithReason) {
  GpuSource gpu(HostOptions{});
  absl::Status st = gpu.Start();
  if (st.ok()) GTEST_SKIP() << "NVML present on this machine";
  EXPECT_FALSE(gpu.status().available);
  EXPECT_EQ(gpu.status().reason, "libnvidia-ml.so.1 not found");
}

TEST(GpuSource, ReadsEveryMetricThroughNvml) {
  HostOptions o;
  o.nvml_library = PERFWIRE_FAKE_NVML;
  GpuSource gpu(o);
  ASSERT_TRUE(gpu.Start().ok()) << gpu.status().reason;
  EXPECT_NE(gpu.status().reason.find("1 devices"), std::string::npos);
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  gpu.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  ASSERT_NE(f->gpus(), nullptr);
  ASSERT_EQ(f->gpus()->size(), 1u);
  const fb::GpuDevice* d = f->gpus()->Get(0);
  EXPECT_EQ(d->name()->str(), "Fake GPU 9000");
  EXPECT_EQ(d->uuid()->str(), "GPU-00000000-fake");
  EXPECT_FLOAT_EQ(*d->utilization_percent(), 42.0f);
  EXPECT_FLOAT_EQ(*d->memory_utilization_percent(), 17.0f);
  EXPECT_EQ(*d->memory_total_bytes(), 16ull << 30);
  EXPECT_EQ(*d->memory_used_bytes(), 3ull << 30);
  EXPECT_FLOAT_EQ(*d->temperature_celsius(), 61.0f);
  EXPECT_FLOAT_EQ(*d->power_watts(), 123.456f);
  EXPECT_EQ(*d->sm_clock_mhz(), 1800u);
  EXPECT_FALSE(d->memory_clock_mhz().has_value());  // unsupported: absent
}

TEST(GpuSource, LibraryWithoutNvmlSymbolsIsUnavailable) {
  HostOptions o;
  o.nvml_library = "libc.so.6";
  GpuSource gpu(o);
  EXPECT_FALSE(gpu.Start().ok());
  EXPECT_NE(gpu.status().reason.find("missing NVML symbol"), std::string::npos)
      << gpu.status().reason;
}

// #14.6: frames carry the kernel's cumulative counters as read, in the
// named unit, from the captured files of a real 6.18 machine.
TEST(HostCumulative, FramesCarryTheKernelsOwnTotals) {
  FixtureRoot root;
  CpuSource cpu(Options(root));
  DiskSource disks(Options(root));
  NetworkSource net(Options(root));
  MemorySource memory(Options(root));
  for (Source* s :
       std::initializer_list<Source*>{&cpu, &disks, &net, &memory}) {
    ASSERT_TRUE(s->Start().ok()) << s->status().reason;
  }
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections s;
  const uint64_t before = MonotonicNs();
  cpu.Collect(fbb, s);
  disks.Collect(fbb, s);
  net.Collect(fbb, s);
  memory.Collect(fbb, s);
  const fb::Frame* f = Finish(fbb, s);
  // /proc/stat "cpu0 10207 0 2909 76791 92 0 9 11 0 0" (USER_HZ ticks).
  ASSERT_NE(f->cpu(), nullptr);
  const fb::HostCpuTimes* cpu0 = f->cpu()->cores()->Get(0);
  EXPECT_EQ(cpu0->user_total_ns(), TicksToNs(10207));
  EXPECT_EQ(cpu0->system_total_ns(), TicksToNs(2909));
  EXPECT_EQ(cpu0->idle_total_ns(), TicksToNs(76791));
  EXPECT_EQ(cpu0->iowait_total_ns(), TicksToNs(92));
  EXPECT_EQ(cpu0->softirq_total_ns(), TicksToNs(9));
  EXPECT_EQ(cpu0->steal_total_ns(), TicksToNs(11));
  EXPECT_EQ(f->cpu()->total()->idle_total_ns(), TicksToNs(148512));
  EXPECT_EQ(TicksToNs(148512), 148512 * (1000000000 / UserHz()));
  EXPECT_GT(f->cpu()->context_switch_total_count(), 0u);
  EXPECT_GE(f->cpu()->read_monotonic_ns(), before);
  // /proc/diskstats "254 0 vda 58283 9690 3696482 23897 8305 9980 1674088
  // 6253 0 8912 30947 ...".
  ASSERT_NE(f->disks(), nullptr);
  const fb::HostDisk* vda = nullptr;
  for (const fb::HostDisk* d : *f->disks()) {
    if (d->name()->str() == "vda") vda = d;
  }
  ASSERT_NE(vda, nullptr);
  EXPECT_EQ(vda->read_op_total_count(), 58283u);
  EXPECT_EQ(vda->read_total_bytes(), 3696482ull * 512);
  EXPECT_EQ(vda->read_time_total_ns(), 23897ull * 1000000);
  EXPECT_EQ(vda->write_op_total_count(), 8305u);
  EXPECT_EQ(vda->write_total_bytes(), 1674088ull * 512);
  EXPECT_EQ(vda->write_time_total_ns(), 6253ull * 1000000);
  EXPECT_EQ(vda->io_time_total_ns(), 8912ull * 1000000);
  EXPECT_EQ(vda->io_weighted_time_total_ns(), 30947ull * 1000000);
  // /proc/net/dev "eth0: 28276309 717 0 0 ... 37726 467 0 0 ...".
  ASSERT_NE(f->network(), nullptr);
  const fb::HostInterface* eth0 = nullptr;
  for (const fb::HostInterface* i : *f->network()->interfaces()) {
    if (i->name()->str() == "eth0") eth0 = i;
  }
  ASSERT_NE(eth0, nullptr);
  EXPECT_EQ(eth0->receive_total_bytes(), 28276309u);
  EXPECT_EQ(eth0->receive_packet_total_count(), 717u);
  EXPECT_EQ(eth0->transmit_total_bytes(), 37726u);
  EXPECT_EQ(eth0->transmit_packet_total_count(), 467u);
  // /proc/vmstat and /proc/pressure/io.
  ASSERT_NE(f->memory(), nullptr);
  EXPECT_EQ(f->memory()->page_in_total_bytes(), 1848241ull * 1024);
  EXPECT_EQ(f->memory()->page_out_total_bytes(), 837044ull * 1024);
  EXPECT_EQ(f->memory()->page_fault_total_count(), 9834638u);
  EXPECT_EQ(f->memory()->major_page_fault_total_count(), 1812u);
  ASSERT_NE(f->memory()->io_pressure(), nullptr);
  EXPECT_EQ(f->memory()->io_pressure()->some_total_ns(), 5466272ull * 1000);
  ASSERT_TRUE(f->memory()->io_pressure()->full_total_ns().has_value());
  EXPECT_EQ(*f->memory()->io_pressure()->full_total_ns(), 5041534ull * 1000);
  EXPECT_GE(f->memory()->read_monotonic_ns(), before);
}

}  // namespace
}  // namespace perfwire
