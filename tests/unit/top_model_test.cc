#include "clients/lib/top_model.h"

#include <cwchar>

#include "absl/time/clock.h"
#include "flatbuffers/flatbuffers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/host_counters_frame.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::HostCountersFrame;
using ::perfwire::testing::HostCountersSpec;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::TestThread;
using ::perfwire::testing::Thread;
using ::testing::ElementsAre;

std::vector<TopRow> Rows() {
  TestFrame spec;
  spec.interval_ns = 2'000'000'000;
  auto a = Thread(100, 100, "server", 1'000'000'000);
  a.voluntary_switch_count = 10;
  auto b = Thread(101, 100, "worker", 500'000'000);
  b.minor_fault_count = 400;
  b.read_bytes = 4096;
  auto c = Thread(200, 200, "spinner", 1'800'000'000);
  auto gone = Thread(300, 300, "gone", 1);
  gone.exited = true;
  spec.threads = {a, b, c, gone};
  const auto buffer = BuildFrame(spec);
  return BuildThreadRows(*fb::GetSizePrefixedFrame(buffer->data()));
}

// A frame with the host sections top's header reads, built the way the
// agent builds frames (FlatBufferBuilder).
struct HostSpec {
  uint64_t seq = 1;
  uint64_t interval_ns = 2'000'000'000;
  uint64_t monotonic_ns = 1'000'000'000'000;
  absl::Time realtime = absl::Now();
  std::string hostname = "testhost";
  std::vector<TestThread> threads;
  bool host = false;  // cpu, memory, disks, network, processes
  bool app = false;
};

std::vector<uint8_t> HostFrame(const HostSpec& spec) {
  flatbuffers::FlatBufferBuilder fbb;
  auto thread_vector = BuildThreads(fbb, spec.threads);
  flatbuffers::Offset<fb::HostCpu> cpu;
  flatbuffers::Offset<fb::HostMemory> memory;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::HostDisk>>>
      disks;
  flatbuffers::Offset<fb::HostNetwork> network;
  flatbuffers::Offset<fb::HostProcesses> processes;
  if (spec.host) {
    auto times = [&](int cpu_number, float idle) {
      fb::HostCpuTimesBuilder t(fbb);
      t.add_cpu(cpu_number);
      t.add_idle_percent(idle);
      return t.Finish();
    };
    auto total = times(-1, 60);
    std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores = {times(0, 90),
                                                                times(1, 30)};
    auto core_vector = fbb.CreateVector(cores);
    fb::HostCpuBuilder c(fbb);
    c.add_total(total);
    c.add_cores(core_vector);
    c.add_load_1m_count(1.5f);
    c.add_context_switch_per_sec(1234);
    c.add_fork_per_sec(5);
    c.add_running_task_count(3);
    c.add_blocked_task_count(1);
    cpu = c.Finish();

    auto pressure = [&](uint64_t stall_ns) {
      fb::HostPressureBuilder p(fbb);
      p.add_some_stall_ns(stall_ns);
      return p.Finish();
    };
    auto cpu_p = pressure(200'000'000);  // 10% of 2 s
    auto io_p = pressure(20'000'000);    // 1%
    fb::HostMemoryBuilder m(fbb);
    m.add_total_bytes(8ull << 30);
    m.add_used_bytes(2ull << 30);
    m.add_swap_total_bytes(1ull << 30);
    m.add_swap_used_bytes(1ull << 20);
    m.add_cpu_pressure(cpu_p);
    m.add_io_pressure(io_p);
    memory = m.Finish();

    auto disk = [&](const char* name, bool partition, double r, double w) {
      auto n = fbb.CreateString(name);
      fb::HostDiskBuilder d(fbb);
      d.add_name(n);
      d.add_partition(partition);
      d.add_read_bytes_per_sec(r);
      d.add_write_bytes_per_sec(w);
      return d.Finish();
    };
    std::vector<flatbuffers::Offset<fb::HostDisk>> list = {
        disk("vda", false, 1000, 10), disk("vda1", true, 1000, 10),
        disk("vdb", false, 24, 6)};
    disks = fbb.CreateVector(list);

    auto iface = [&](const char* name, double rx, double tx) {
      auto n = fbb.CreateString(name);
      fb::HostInterfaceBuilder i(fbb);
      i.add_name(n);
      i.add_receive_bytes_per_sec(rx);
      i.add_transmit_bytes_per_sec(tx);
      return i.Finish();
    };
    std::vector<flatbuffers::Offset<fb::HostInterface>> ifaces = {
        iface("lo", 1e9, 1e9), iface("eth0", 300, 100)};
    auto iface_vector = fbb.CreateVector(ifaces);
    fb::HostNetworkBuilder nb(fbb);
    nb.add_interfaces(iface_vector);
    network = nb.Finish();

    fb::HostProcessesBuilder pb(fbb);
    pb.add_process_count(150);
    pb.add_thread_count(420);
    processes = pb.Finish();
  }
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::AppSeries>>>
      app;
  if (spec.app) {
    auto series = [&](const char* name, fb::AppMetricType type,
                      uint64_t samples, double value, double count, double sum,
                      bool tagged) {
      auto n = fbb.CreateString(name);
      flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::AppTag>>>
          tags;
      if (tagged) {
        std::vector<flatbuffers::Offset<fb::AppTag>> list = {
            fb::CreateAppTagDirect(fbb, "model", "m1"),
            fb::CreateAppTagDirect(fbb, "canary", "")};
        tags = fbb.CreateVector(list);
      }
      fb::AppSeriesBuilder s(fbb);
      s.add_name(n);
      s.add_type(type);
      if (tagged) s.add_tags(tags);
      s.add_sample_count(samples);
      s.add_value(value);
      s.add_count(count);
      s.add_sum(sum);
      return s.Finish();
    };
    std::vector<flatbuffers::Offset<fb::AppSeries>> list = {
        series("quiet", fb::AppMetricType::Counter, 1, 1, 0, 0, false),
        series("req", fb::AppMetricType::Counter, 50, 50, 0, 0, false),
        series("tokens_per_sec", fb::AppMetricType::Gauge, 20, 812.5, 0, 0,
               true),
        series("lat", fb::AppMetricType::Timing, 30, 0, 40, 120, false),
    };
    app = fbb.CreateVector(list);
  }
  auto hostname = fbb.CreateString(spec.hostname);
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_seq(spec.seq);
  frame.add_interval_ns(spec.interval_ns);
  frame.add_monotonic_ns(spec.monotonic_ns);
  frame.add_realtime_ns(
      static_cast<uint64_t>(absl::ToUnixNanos(spec.realtime)));
  frame.add_hostname(hostname);
  frame.add_threads(thread_vector);
  if (spec.host) {
    frame.add_cpu(cpu);
    frame.add_memory(memory);
    frame.add_disks(disks);
    frame.add_network(network);
    frame.add_processes(processes);
  }
  if (spec.app) frame.add_app_metrics(app);
  fbb.Finish(frame.Finish(), fb::FrameIdentifier());
  return std::vector<uint8_t>(fbb.GetBufferPointer(),
                              fbb.GetBufferPointer() + fbb.GetSize());
}

const fb::Frame& AsFrame(const std::vector<uint8_t>& bytes) {
  return *fb::GetFrame(bytes.data());
}

TEST(TopModelTest, RatesPerSecondAndExitedLeftOut) {
  const std::vector<TopRow> rows = Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_DOUBLE_EQ(rows[0].cpu_percent, 50.0);
  EXPECT_DOUBLE_EQ(rows[0].switch_per_sec, 5.0);
  EXPECT_DOUBLE_EQ(rows[1].fault_per_sec, 200.0);
  EXPECT_DOUBLE_EQ(rows[1].read_bytes_per_sec, 2048.0);
  EXPECT_FALSE(rows[0].run_queue_wait_percent.has_value());
}

TEST(TopModelTest, SortAndFilter) {
  std::vector<TopRow> rows = Rows();
  SortRows(rows, TopSort::kCpu);
  EXPECT_EQ(rows[0].comm, "spinner");
  SortRows(rows, TopSort::kFaults);
  EXPECT_EQ(rows[0].comm, "worker");
  SortRows(rows, TopSort::kSwitches);
  EXPECT_EQ(rows[0].comm, "server");
  SortRows(rows, TopSort::kIo);
  EXPECT_EQ(rows[0].comm, "worker");
  EXPECT_EQ(FilterRows(rows, "SPIN").size(), 1u);
  EXPECT_EQ(FilterRows(rows, "100").size(), 2u);  // pid
  EXPECT_EQ(FilterRows(rows, "101").size(), 1u);  // tid
  EXPECT_EQ(FilterRows(rows, "").size(), 3u);
  EXPECT_TRUE(FilterRows(rows, "nomatch").empty());
}

TEST(TopModelTest, AggregateByProcessWithoutHistory) {
  std::vector<TopRow> procs = AggregateByProcess(Rows());
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0].pid, 100u);
  EXPECT_EQ(procs[0].comm, "server");
  EXPECT_EQ(procs[0].thread_count, 2);
  EXPECT_DOUBLE_EQ(procs[0].cpu_percent, 75.0);
  EXPECT_EQ(procs[0].tid, 0u);
}

// Issue 15.13: the process view counted only the threads active in this
// interval and took a random thread's comm.
TEST(TopModelTest, ProcessViewCountsEveryLiveThreadAndNamesTheLeader) {
  TopModel model;
  const bool now = false;  // live
  HostSpec first;
  first.seq = 1;
  first.threads = {Thread(100, 100, "server", 1), Thread(101, 100, "wrk-a", 1),
                   Thread(102, 100, "wrk-b", 1), Thread(200, 200, "lone", 1),
                   // A process whose leader never ran while we watched.
                   Thread(302, 300, "pool-2", 1),
                   Thread(301, 300, "pool-1", 1)};
  model.Add(HostFrame(first), now);
  EXPECT_EQ(model.known_thread_count(), 6u);

  // Only one worker is busy now: the process still has three threads and
  // its name is the leader's, not the busy thread's.
  HostSpec second = first;
  second.seq = 2;
  second.monotonic_ns += 2'000'000'000;
  second.threads = {Thread(102, 100, "wrk-b", 1'000'000'000),
                    Thread(302, 300, "pool-2", 1)};
  model.Add(HostFrame(second), now);
  std::vector<TopRow> procs = model.ProcessRows();
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0].pid, 100u);
  EXPECT_EQ(procs[0].thread_count, 3);
  EXPECT_EQ(procs[0].comm, "server");
  EXPECT_DOUBLE_EQ(procs[0].cpu_percent, 50.0);
  EXPECT_EQ(procs[1].pid, 300u);
  EXPECT_EQ(procs[1].thread_count, 2);
  EXPECT_EQ(procs[1].comm, "pool-1");  // no leader seen: the lowest tid

  // An exit record removes one thread; the leader's removes the process.
  HostSpec third = second;
  third.seq = 3;
  third.monotonic_ns += 2'000'000'000;
  TestThread exited = Thread(101, 100, "wrk-a", 1);
  exited.exited = true;
  third.threads = {exited, Thread(102, 100, "wrk-b", 1)};
  model.Add(HostFrame(third), now);
  EXPECT_EQ(model.processes().at(100).thread_count, 2);
  HostSpec fourth = third;
  fourth.seq = 4;
  fourth.monotonic_ns += 2'000'000'000;
  TestThread leader_exit = Thread(100, 100, "server", 1);
  leader_exit.exited = true;
  fourth.threads = {leader_exit};
  model.Add(HostFrame(fourth), now);
  EXPECT_FALSE(model.processes().contains(100));
  EXPECT_EQ(model.known_thread_count(), 3u);  // 200, 301, 302

  // A stream that starts over (seq back: agent restarted, replay again)
  // forgets what the old one knew.
  HostSpec restart;
  restart.seq = 0;
  restart.threads = {Thread(500, 500, "new", 1)};
  model.Add(HostFrame(restart), now);
  EXPECT_EQ(model.known_thread_count(), 1u);
  EXPECT_EQ(model.frame_count(), 1u);
}

// The header's rates come from the cumulative counters of two frames
// (host_counters_frame.h; the agent's own rate fields hold other values).
TEST(TopModelTest, HeaderRatesComeFromTwoFramesCounters) {
  HostCountersSpec at;
  at.at_seconds = 100;
  const std::vector<uint8_t> first = HostCountersFrame(at);
  at.seq = 2;
  at.at_seconds = 102;
  const std::vector<uint8_t> second = HostCountersFrame(at);
  const HeaderRates r = DeriveHeaderRates(&AsFrame(first), AsFrame(second));
  EXPECT_DOUBLE_EQ(*r.cpu_busy_percent, 70.0);  // 100 - idle, of 2 CPUs
  EXPECT_THAT(r.core_busy_percent, ElementsAre(50.0, 90.0));
  EXPECT_DOUBLE_EQ(*r.disk_read_bytes_per_sec, 1024.0);  // partitions left out
  EXPECT_DOUBLE_EQ(*r.disk_write_bytes_per_sec, 16.0);
  EXPECT_DOUBLE_EQ(*r.net_receive_bytes_per_sec, 300.0);  // lo left out
  EXPECT_DOUBLE_EQ(*r.net_transmit_bytes_per_sec, 100.0);
  EXPECT_DOUBLE_EQ(*r.cpu_pressure_percent, 10.0);
  EXPECT_DOUBLE_EQ(*r.io_pressure_percent, 1.0);
  EXPECT_FALSE(r.memory_pressure_percent.has_value());  // no such file
  EXPECT_DOUBLE_EQ(*r.context_switch_per_sec, 1000.0);
  EXPECT_DOUBLE_EQ(*r.fork_per_sec, 5.0);

  // Without a frame before, across streams and from an agent without the
  // counters: nothing, rather than the agent's rate fields or zeros.
  at.cumulative = false;
  at.seq = 3;
  at.at_seconds = 104;
  const std::vector<uint8_t> old_agent = HostCountersFrame(at);
  for (const HeaderRates& none :
       {DeriveHeaderRates(nullptr, AsFrame(second)),
        DeriveHeaderRates(&AsFrame(second), AsFrame(first)),
        DeriveHeaderRates(&AsFrame(second), AsFrame(old_agent))}) {
    EXPECT_FALSE(none.cpu_busy_percent.has_value());
    EXPECT_TRUE(none.core_busy_percent.empty());
    EXPECT_FALSE(none.disk_read_bytes_per_sec.has_value());
    EXPECT_FALSE(none.net_receive_bytes_per_sec.has_value());
    EXPECT_FALSE(none.cpu_pressure_percent.has_value());
    EXPECT_FALSE(none.context_switch_per_sec.has_value());
  }
}

TEST(TopModelTest, HeaderValuesOfOneFrame) {
  HostSpec spec;
  spec.host = true;
  const std::vector<uint8_t> bytes = HostFrame(spec);
  const TopHeader h = BuildHeader(nullptr, AsFrame(bytes));
  EXPECT_EQ(*h.memory_used_bytes, 2ull << 30);
  EXPECT_EQ(*h.swap_used_bytes, 1ull << 20);
  EXPECT_EQ(*h.swap_total_bytes, 1ull << 30);
  EXPECT_EQ(*h.process_count, 150u);
  EXPECT_EQ(*h.thread_count, 420u);
  EXPECT_EQ(*h.running_task_count, 3u);
  EXPECT_EQ(*h.blocked_task_count, 1u);
  EXPECT_FLOAT_EQ(static_cast<float>(*h.load_1m), 1.5f);
}

TEST(TopModelTest, HeaderWithoutHostSections) {
  TestFrame spec;
  spec.seq = 9;
  const auto buffer = BuildFrame(spec);
  const TopHeader h =
      BuildHeader(nullptr, *fb::GetSizePrefixedFrame(buffer->data()));
  EXPECT_EQ(h.seq, 9u);
  EXPECT_EQ(h.hostname, "testhost");
  EXPECT_FALSE(h.rates.cpu_busy_percent.has_value());
  EXPECT_TRUE(h.rates.core_busy_percent.empty());
  EXPECT_FALSE(h.rates.net_receive_bytes_per_sec.has_value());
  EXPECT_FALSE(h.swap_used_bytes.has_value());
  EXPECT_FALSE(h.process_count.has_value());
  EXPECT_TRUE(h.app.empty());
}

TEST(TopModelTest, BusiestAppSeriesWithTheirRates) {
  HostSpec spec;
  spec.app = true;  // interval 2 s
  const std::vector<uint8_t> bytes = HostFrame(spec);
  const std::vector<AppRate> app = BusiestAppSeries(AsFrame(bytes), 3);
  ASSERT_EQ(app.size(), 3u);  // "quiet" (1 sample) left out
  EXPECT_EQ(app[0].name, "req");
  EXPECT_EQ(app[0].type, "c");
  EXPECT_DOUBLE_EQ(app[0].value, 25.0);  // 50 in 2 s
  EXPECT_EQ(app[0].unit, "/s");
  EXPECT_EQ(app[1].name, "lat");
  EXPECT_DOUBLE_EQ(app[1].value, 20.0);  // 40 samples in 2 s
  EXPECT_DOUBLE_EQ(*app[1].mean, 3.0);   // 120 / 40
  EXPECT_EQ(app[2].name, "tokens_per_sec{model:m1,canary}");
  EXPECT_EQ(app[2].type, "g");
  EXPECT_DOUBLE_EQ(app[2].value, 812.5);  // a gauge is its value
  EXPECT_EQ(app[2].unit, "");
}

TEST(TopModelTest, HistoryKeepsSixtySecondsOfStreamTime) {
  SeriesHistory h;
  constexpr uint64_t kSecond = 1'000'000'000;
  for (uint64_t s = 0; s < 90; ++s) h.Add(s * kSecond, static_cast<double>(s));
  EXPECT_EQ(h.size(), 60u);  // 30 .. 89
  EXPECT_DOUBLE_EQ(h.Max(), 89.0);
  std::vector<std::optional<double>> b = h.Buckets(6);  // 10 s each
  ASSERT_EQ(b.size(), 6u);
  EXPECT_DOUBLE_EQ(*b[0], 39.0);
  EXPECT_DOUBLE_EQ(*b[5], 89.0);
  // A 2 s interval fills every other bucket of a 60-wide line.
  SeriesHistory sparse;
  for (uint64_t s = 0; s < 120; s += 2) sparse.Add(s * kSecond, 1);
  b = sparse.Buckets(60);
  EXPECT_EQ(std::count(b.begin(), b.end(), std::nullopt), 30);
  // Time going back (another stream) starts over.
  h.Add(5 * kSecond, 1);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(SeriesHistory().Buckets(3),
            (std::vector<std::optional<double>>(3)));
}

TEST(TopModelTest, ModelHistoriesFollowFrames) {
  TopModel model;
  HostCountersSpec spec;
  for (int i = 0; i < 5; ++i) {
    spec.seq = i + 1;
    spec.at_seconds = 100 + 2 * i;
    model.Add(HostCountersFrame(spec), false);
    // The header of the last frame shows the share over the last interval.
    EXPECT_EQ(model.Header().rates.cpu_busy_percent.has_value(), i > 0);
  }
  // A share needs two frames: four from five frames.
  EXPECT_EQ(model.history(TopModel::kCpuHistory).size(), 4u);
  EXPECT_DOUBLE_EQ(model.history(TopModel::kCpuHistory).Max(), 70.0);
  EXPECT_DOUBLE_EQ(model.history(TopModel::kNetReceiveHistory).Max(), 300.0);
  EXPECT_EQ(model.history(TopModel::kMemoryHistory).size(), 5u);
  EXPECT_DOUBLE_EQ(model.history(TopModel::kMemoryHistory).Max(),
                   static_cast<double>(2ull << 30));
  // The recording played again from its start: not appended to the line,
  // and no share across the two streams.
  spec.seq = 1;
  spec.at_seconds = 100;
  model.Add(HostCountersFrame(spec), false);
  EXPECT_EQ(model.history(TopModel::kCpuHistory).size(), 0u);
  EXPECT_EQ(model.history(TopModel::kMemoryHistory).size(), 1u);
  EXPECT_FALSE(model.Header().rates.cpu_busy_percent.has_value());
}

TEST(TopModelTest, SparklineAndBytes) {
  const std::vector<std::optional<double>> b = {std::nullopt, 0, 50, 100};
  EXPECT_EQ(Sparkline(b, 100, false), "  +@");
  EXPECT_EQ(Sparkline(b, 100, true), " \u2581\u2585\u2588");
  EXPECT_EQ(Sparkline({200}, 100, false), "@");  // clamped
  EXPECT_EQ(HumanBytes(512), "512");
  EXPECT_EQ(HumanBytes(1536), "1.5K");
}

// Issue 15.15: a replayed stream is marked, with its recorded time.
TEST(TopModelTest, ReplayIsToldByTheFirstFramesClocks) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  constexpr uint64_t kMonoNow = 5'000'000'000'000;  // 5000 s after boot
  HostSpec live;  // built a moment ago on this host
  live.realtime = now - absl::Milliseconds(300);
  live.monotonic_ns = kMonoNow - 300'000'000;
  EXPECT_FALSE(IsReplayStart(AsFrame(HostFrame(live)), now, kMonoNow));
  // Recorded yesterday.
  HostSpec old = live;
  old.realtime = now - absl::Hours(26);
  old.monotonic_ns = 1'000'000'000;
  EXPECT_TRUE(IsReplayStart(AsFrame(HostFrame(old)), now, kMonoNow));
  // Recorded a minute ago and served at once: the wall clock is close
  // enough, but the recording's monotonic start is a minute behind.
  HostSpec recent = live;
  recent.realtime = now - absl::Seconds(3);
  recent.monotonic_ns = kMonoNow - 60'000'000'000;
  EXPECT_TRUE(IsReplayStart(AsFrame(HostFrame(recent)), now, kMonoNow));
  // From another boot or host: monotonic times are unrelated.
  HostSpec other_boot = live;
  other_boot.monotonic_ns = kMonoNow * 7;
  EXPECT_TRUE(IsReplayStart(AsFrame(HostFrame(other_boot)), now, kMonoNow));
  // A 30 s interval: a live first frame may be up to one interval old.
  HostSpec slow = live;
  slow.interval_ns = 30'000'000'000;
  slow.monotonic_ns = kMonoNow - 20'000'000'000;
  slow.realtime = now - absl::Seconds(20);
  EXPECT_FALSE(IsReplayStart(AsFrame(HostFrame(slow)), now, kMonoNow));

  TopModel model;
  model.Add(HostFrame(live), false);
  EXPECT_FALSE(model.replay());
  TopModel replay;
  for (int i = 0; i < 3; ++i) {
    old.seq = i + 1;
    old.monotonic_ns += 2'000'000'000;
    old.realtime += absl::Seconds(2);
    replay.Add(HostFrame(old), true);
  }
  EXPECT_TRUE(replay.replay());
  EXPECT_EQ(replay.first_time(), now - absl::Hours(26) + absl::Seconds(2));
  EXPECT_EQ(replay.last_time(), now - absl::Hours(26) + absl::Seconds(6));
  EXPECT_EQ(replay.frame_count(), 3u);
  replay.Reset();
  EXPECT_FALSE(replay.replay());
  EXPECT_EQ(replay.frame(), nullptr);
}

int TestWidth(char32_t c) { return c == U'\u4e2d' ? 2 : 1; }

TEST(TopModelTest, FitToColumnsCutsWithAnEllipsisAndCleansBytes) {
  EXPECT_EQ(FitToColumns("spinner", 16), "spinner");
  EXPECT_EQ(FitToColumns("spinner_with_lo", 8), "spinner\u2026");
  EXPECT_EQ(FitToColumns("spinner_with_lo", 8, nullptr, false), "spinner~");
  EXPECT_EQ(FitToColumns("abc", 0), "");
  // A thread may name itself anything: invalid UTF-8 and controls.
  EXPECT_EQ(FitToColumns("a\xff\xfe", 10), "a\uFFFD\uFFFD");
  EXPECT_EQ(FitToColumns("a\tb\x1b", 10), "a?b?");
  EXPECT_EQ(FitToColumns("\xe4\xb8", 10), "\uFFFD\uFFFD");  // truncated
  EXPECT_EQ(FitToColumns("caf\u00e9", 10, nullptr, false), "caf?");
  // Wide characters take two columns.
  EXPECT_EQ(DisplayColumns("\u4e2d\u4e2dx", &TestWidth), 5u);
  EXPECT_EQ(FitToColumns("\u4e2d\u4e2dx", 4, &TestWidth), "\u4e2d\u2026");
}

TEST(TopModelTest, ColumnsReLayOutForTheWidth) {
  auto ids = [](const std::vector<TopColumn>& cols) {
    std::vector<TopColumnId> out;
    for (const TopColumn& c : cols) out.push_back(c.id);
    return out;
  };
  auto comm_width = [](const std::vector<TopColumn>& cols) {
    for (const TopColumn& c : cols) {
      if (c.id == TopColumnId::kComm) return c.width;
    }
    return size_t{0};
  };
  auto width = [](const std::vector<TopColumn>& cols) {
    size_t n = cols.size() - 1;
    for (const TopColumn& c : cols) n += c.width;
    return n;
  };
  std::vector<TopColumn> wide = LayoutColumns(120, false, false);
  EXPECT_EQ(wide.size(), 8u);
  EXPECT_EQ(comm_width(wide), 16u);
  EXPECT_STREQ(wide[0].title, "TID");
  EXPECT_STREQ(LayoutColumns(120, true, false)[0].title, "THREADS");
  // 80 columns: COMM gives one column, nothing goes.
  std::vector<TopColumn> eighty = LayoutColumns(80, false, false);
  EXPECT_EQ(eighty.size(), 8u);
  EXPECT_EQ(comm_width(eighty), 15u);
  EXPECT_LE(width(eighty), 80u);
  // 40 columns: the rate columns go, COMM gets room back.
  std::vector<TopColumn> narrow = LayoutColumns(40, false, false);
  EXPECT_THAT(ids(narrow), ElementsAre(TopColumnId::kId, TopColumnId::kPid,
                                       TopColumnId::kComm, TopColumnId::kCpu));
  EXPECT_EQ(comm_width(narrow), 15u);
  EXPECT_LE(width(narrow), 40u);
  // Contention columns are the first to go.
  EXPECT_EQ(LayoutColumns(120, false, true).size(), 10u);
  EXPECT_EQ(ids(LayoutColumns(90, false, true)).back(), TopColumnId::kRunQueue);
  // Too narrow for even the kept ones: they stay (the screen cuts them).
  EXPECT_EQ(LayoutColumns(10, false, false).size(), 4u);
}

TEST(TopModelTest, ScrollIsClampedToFullPages) {
  EXPECT_EQ(ClampScroll(-5, 100, 20), 0u);
  EXPECT_EQ(ClampScroll(10, 100, 20), 10u);
  EXPECT_EQ(ClampScroll(1'000, 100, 20), 80u);  // End: the last page
  EXPECT_EQ(ClampScroll(3, 10, 20), 0u);        // all rows fit
  EXPECT_EQ(ClampScroll(3, 0, 20), 0u);
}

}  // namespace
}  // namespace perfwire
