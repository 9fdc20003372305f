#include "clients/lib/prometheus_exposition.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/lib/http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::TestThread;
using ::testing::HasSubstr;
using ::testing::Not;

TestThread MakeThread(uint32_t tid, uint32_t pid, std::string comm,
                      uint64_t cpu_ns, uint64_t switches) {
  TestThread t = ::perfwire::testing::Thread(tid, pid, std::move(comm), cpu_ns);
  t.voluntary_switch_count = switches;
  t.read_bytes = 10;
  return t;
}

void AddFrame(PrometheusExposition& e, const TestFrame& spec) {
  auto buffer = BuildFrame(spec);
  e.Add(*fb::GetSizePrefixedFrame(buffer->data()));
}

// A frame with every section the exporter knows: cpu (1 core), memory with
// PSI, one disk (and a partition that must be skipped), one interface,
// filesystems, a GPU, perf counters, contention histograms, app metrics and
// agent stats. Cumulative counters scale with `k` (frame k of a run).
std::string HostFrameBytes(uint64_t k) {
  flatbuffers::FlatBufferBuilder fbb;
  auto times = [&](int cpu) {
    fb::HostCpuTimesBuilder t(fbb);
    t.add_cpu(cpu);
    t.add_user_percent(20);
    t.add_idle_percent(70);
    t.add_user_total_ns(k * 300'000'000);
    t.add_idle_total_ns(k * 650'000'000);
    t.add_guest_total_ns(k * 10'000'000);
    t.add_system_total_ns(k * 50'000'000);
    return t.Finish();
  };
  auto total = times(-1);
  std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores = {times(0)};
  auto cores_vec = fbb.CreateVector(cores);
  fb::HostCpuBuilder cb(fbb);
  cb.add_total(total);
  cb.add_cores(cores_vec);
  cb.add_load_1m_count(1.5f);
  cb.add_context_switch_total_count(k * 1000);
  cb.add_interrupt_total_count(k * 500);
  cb.add_fork_total_count(k * 3);
  cb.add_read_monotonic_ns(k * 1'000'000'000);
  auto cpu = cb.Finish();
  fb::HostPressureBuilder pb(fbb);
  pb.add_some_avg10_percent(1.0f);
  pb.add_some_total_ns(k * 2'000'000);
  pb.add_full_total_ns(k * 1'000'000);
  auto psi = pb.Finish();
  fb::HostMemoryBuilder mb(fbb);
  mb.add_total_bytes(1000);
  mb.add_available_bytes(600);
  mb.add_used_bytes(400);
  mb.add_page_fault_total_count(k * 77);
  mb.add_cpu_pressure(psi);
  mb.add_read_monotonic_ns(k * 1'000'000'000);
  auto memory = mb.Finish();
  auto disk = [&](const char* name, bool partition) {
    auto n = fbb.CreateString(name);
    fb::HostDiskBuilder d(fbb);
    d.add_name(n);
    d.add_partition(partition);
    d.add_read_bytes_per_sec(1000.5);
    d.add_read_total_bytes(k * 4096);
    d.add_write_total_bytes(k * 512);
    d.add_io_time_total_ns(k * 3'000'000);
    return d.Finish();
  };
  std::vector<flatbuffers::Offset<fb::HostDisk>> disks = {disk("vda", false),
                                                          disk("vda1", true)};
  auto disks_vec = fbb.CreateVector(disks);
  auto itf_name = fbb.CreateString("eth\"0");
  fb::HostInterfaceBuilder ib(fbb);
  ib.add_name(itf_name);
  ib.add_transmit_bytes_per_sec(99.5);
  ib.add_receive_total_bytes(k * 100);
  ib.add_transmit_total_bytes(k * 50);
  std::vector<flatbuffers::Offset<fb::HostInterface>> itfs = {ib.Finish()};
  auto network = fb::CreateHostNetworkDirect(fbb, &itfs, 3);
  std::vector<flatbuffers::Offset<fb::HostFilesystem>> fss = {
      fb::CreateHostFilesystemDirect(fbb, "/", "/dev/vda1", "ext4", 1 << 30,
                                     1 << 29, 1 << 28, 1 << 27, 100, 40, 60)};
  auto fs_vec = fbb.CreateVector(fss);
  fb::GpuDeviceBuilder gb(fbb);
  gb.add_index(0);
  gb.add_utilization_percent(42);
  gb.add_sm_clock_mhz(1500);
  std::vector<flatbuffers::Offset<fb::GpuDevice>> gpus = {gb.Finish()};
  auto gpu_vec = fbb.CreateVector(gpus);
  std::vector<flatbuffers::Offset<fb::PerfEvent>> events = {
      fb::CreatePerfEventDirect(fbb, "context-switches", 10),
      fb::CreatePerfEventDirect(fbb, "cpu-clock", 500'000'000)};
  auto perf = fb::CreatePerfCountersDirect(fbb, nullptr, &events);
  std::vector<uint64_t> hist = {0, 2, 0, 1};
  std::vector<flatbuffers::Offset<fb::DiskLatency>> lat = {
      fb::CreateDiskLatencyDirect(fbb, 253, 0, "vda", 3, 20, &hist)};
  auto lat_vec = fbb.CreateVector(lat);
  std::vector<flatbuffers::Offset<fb::AppTag>> tags = {
      fb::CreateAppTagDirect(fbb, "env", "prod"),
      fb::CreateAppTagDirect(fbb, "bad-key", "\xff")};
  auto app_name = fbb.CreateString("requests");
  auto tags_vec = fbb.CreateVector(tags);
  fb::AppSeriesBuilder apb(fbb);
  apb.add_name(app_name);
  apb.add_type(fb::AppMetricType::Counter);
  apb.add_tags(tags_vec);
  apb.add_value(2.5);
  std::vector<flatbuffers::Offset<fb::AppSeries>> apps = {apb.Finish()};
  auto apps_vec = fbb.CreateVector(apps);
  std::vector<flatbuffers::Offset<fb::SourceStatus>> sources = {
      fb::CreateSourceStatusDirect(fbb, "threads", true, "", "tp_btf"),
      fb::CreateSourceStatusDirect(fbb, "gpu", false, "no NVML", "")};
  auto sources_vec = fbb.CreateVector(sources);
  fb::AgentStatsBuilder ab(fbb);
  ab.add_cpu_ns(500'000'000);
  ab.add_lost_exit_record_count(2);
  ab.add_rss_bytes(8 << 20);
  auto agent = ab.Finish();
  fb::FrameBuilder frame(fbb);
  frame.add_seq(k);
  frame.add_monotonic_ns(k * 1'000'000'000);
  frame.add_interval_ns(1'000'000'000);
  frame.add_cpu(cpu);
  frame.add_memory(memory);
  frame.add_disks(disks_vec);
  frame.add_network(network);
  frame.add_filesystems(fs_vec);
  frame.add_gpus(gpu_vec);
  frame.add_perf_software(perf);
  frame.add_disk_latency(lat_vec);
  frame.add_app_metrics(apps_vec);
  frame.add_agent(agent);
  frame.add_sources(sources_vec);
  frame.add_consumer_dropped_frame_count(k);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                     fbb.GetSize());
}

TEST(PrometheusEscapeTest, LabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q");
}

// #15.1: prctl(PR_SET_NAME, "\xff\xfe") made Prometheus reject every scrape.
TEST(PrometheusEscapeTest, LabelValuesAreAlwaysValidUtf8) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ToValidUtf8("\xff\xfe"), fffd + fffd);
  EXPECT_EQ(ToValidUtf8("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x90\xA7"),
            "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x90\xA7");  // kept as is
  EXPECT_EQ(ToValidUtf8("a\xC3"), "a" + fffd);             // truncated at end
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), fffd + fffd);         // overlong '/'
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80x"),
            fffd + fffd + fffd + "x");  // surrogate
  EXPECT_EQ(ToValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(EscapeLabelValue("w\xff\""), "w" + fffd + "\\\"");
}

TEST(PrometheusEscapeTest, SampleValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(12345678901234), "12345678901234");
  EXPECT_EQ(FormatSampleValue(1.5), "1.5");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");  // shortest round trip
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(1.0 / 0.0), "+Inf");
}

TEST(PrometheusExpositionTest, AccumulatesDeltasIntoTotals) {
  PrometheusExposition e({.threads = true});
  TestFrame f1;
  f1.threads = {MakeThread(100, 100, "server", 1'000'000'000, 7),
                MakeThread(101, 100, "worker", 500'000'000, 3)};
  AddFrame(e, f1);
  TestFrame f2;
  f2.seq = 1;
  f2.threads = {MakeThread(101, 100, "worker", 250'000'000, 2)};
  AddFrame(e, f2);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("# TYPE perfwire_thread_cpu_seconds_total "
                             "counter\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_thread_cpu_seconds_total{tid=\"101\","
                             "pid=\"100\",process=\"server\",thread=\"worker\"}"
                             " 0.75\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_thread_context_switches_total{tid="
                             "\"101\",pid=\"100\",process=\"server\",thread="
                             "\"worker\",kind=\"voluntary\"} 5\n"));
  // The process sums its threads and is named after its leader; by default
  // the series is per name, without a pid.
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{process="
                             "\"server\"} 1.75\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_process_io_bytes_total{process="
                             "\"server\",direction=\"read\"} 30\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_exporter_frames_total 2\n"));
  EXPECT_EQ(e.thread_series(), 2u);
}

TEST(PrometheusExpositionTest, ProcessesOfOneNameShareASeries) {
  PrometheusExposition e({});
  TestFrame f;
  f.threads = {MakeThread(10, 10, "nginx", 1'000'000'000, 1),
               MakeThread(20, 20, "nginx", 500'000'000, 1),
               MakeThread(30, 30, "redis", 1, 1)};
  AddFrame(e, f);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{process="
                             "\"nginx\"} 1.5\n"));
  EXPECT_EQ(e.process_series(), 2u);
  EXPECT_THAT(out, Not(HasSubstr("pid=")));
}

TEST(PrometheusExpositionTest, PerPidIsOptIn) {
  PrometheusExposition e({.per_pid = true});
  TestFrame f;
  f.threads = {MakeThread(10, 10, "nginx", 1'000'000'000, 1),
               MakeThread(20, 20, "nginx", 500'000'000, 1)};
  AddFrame(e, f);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{pid=\"10\","
                             "process=\"nginx\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{pid=\"20\","
                             "process=\"nginx\"} 0.5\n"));
}

// The leader of a process often only sleeps (it joined its workers), so its
// row may never come: the name comes from the lookup, and once chosen it
// stays, whatever threads show up later.
TEST(PrometheusExpositionTest, ProcessNameIsTheLeadersAndDoesNotFlip) {
  PrometheusExposition::Options options;
  options.process_name =
      [](const fb::Thread& row) -> std::optional<std::string> {
    if (row.pid() == 100) return "java";
    return std::nullopt;
  };
  PrometheusExposition e(options);
  TestFrame f;
  f.threads = {MakeThread(101, 100, "GC Thread#0", 1'000'000'000, 1),
               MakeThread(201, 200, "worker-1", 1'000'000'000, 1)};
  AddFrame(e, f);
  f.threads = {MakeThread(102, 100, "C2 Compiler", 1'000'000'000, 1),
               MakeThread(200, 200, "main", 1'000'000'000, 1),
               MakeThread(202, 200, "worker-2", 1'000'000'000, 1)};
  AddFrame(e, f);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{process="
                             "\"java\"} 2\n"));
  // No lookup answer for 200: its first row's name, kept.
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{process="
                             "\"worker-1\"} 3\n"));
  EXPECT_THAT(out, Not(HasSubstr("process=\"main\"")));
  EXPECT_THAT(out, Not(HasSubstr("GC Thread")));
}

TEST(PrometheusExpositionTest, ThreadNamesThatAreNotUtf8) {
  PrometheusExposition e({.threads = true});
  TestFrame f;
  f.threads = {MakeThread(7, 7, "\xff\xfe", 1, 1)};
  AddFrame(e, f);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("process=\"\xEF\xBF\xBD\xEF\xBF\xBD\""));
  EXPECT_THAT(out, Not(HasSubstr("\xff")));
}

// Names that differ only in invalid bytes render alike: one series, never
// two with the same labels (which Prometheus rejects as duplicates).
TEST(PrometheusExpositionTest, NamesThatRenderAlikeShareASeries) {
  PrometheusExposition e({});
  TestFrame f;
  f.threads = {MakeThread(7, 7, "\xff", 1'000'000'000, 1),
               MakeThread(8, 8, "\xfe", 1'000'000'000, 1)};
  AddFrame(e, f);
  EXPECT_EQ(e.process_series(), 1u);
  EXPECT_THAT(e.Render(), HasSubstr("perfwire_process_cpu_seconds_total{"
                                    "process=\"\xEF\xBF\xBD\"} 2\n"));
}

TEST(PrometheusExpositionTest, ThreadsAreOptIn) {
  PrometheusExposition e({});
  TestFrame f;
  f.threads = {MakeThread(5, 5, "a", 1, 1)};
  AddFrame(e, f);
  const std::string out = e.Render();
  EXPECT_THAT(out, Not(HasSubstr("perfwire_thread_")));
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{process="
                             "\"a\"}"));
}

TEST(PrometheusExpositionTest, CapsSeriesAndReportsOverflow) {
  PrometheusExposition e({.threads = true, .max_series = 2});
  TestFrame f;
  f.threads = {MakeThread(1, 1, "a", 1, 1), MakeThread(2, 2, "b", 1, 1),
               MakeThread(3, 3, "c", 1, 1)};
  AddFrame(e, f);
  EXPECT_EQ(e.thread_series(), 2u);
  EXPECT_EQ(e.process_series(), 2u);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("perfwire_exporter_series_overflow{kind="
                             "\"thread\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_exporter_dropped_updates_total{kind="
                             "\"process\"} 1\n"));
  EXPECT_THAT(out, Not(HasSubstr("process=\"c\"")));
}

TEST(PrometheusExpositionTest, ExitedThreadsExpireAfterRetention) {
  PrometheusExposition e(
      {.threads = true, .per_pid = true, .exited_retention_frames = 2});
  TestFrame f;
  f.threads = {MakeThread(9, 9, "gone", 1, 1)};
  f.threads[0].exited = true;
  AddFrame(e, f);
  EXPECT_EQ(e.thread_series(), 1u);
  AddFrame(e, TestFrame{});
  EXPECT_EQ(e.thread_series(), 1u);
  AddFrame(e, TestFrame{});
  EXPECT_EQ(e.thread_series(), 0u);
  EXPECT_EQ(e.process_series(), 0u);
}

TEST(PrometheusExpositionTest, IdleSeriesExpireAndFreeTheirPlace) {
  PrometheusExposition e(
      {.threads = true, .max_series = 1, .idle_retention_frames = 3});
  TestFrame f;
  f.threads = {MakeThread(1, 1, "idle", 1, 1)};
  AddFrame(e, f);
  f.threads = {MakeThread(2, 1, "new", 1, 1)};
  AddFrame(e, f);  // cap reached: tid 2 is not counted
  EXPECT_THAT(e.Render(), Not(HasSubstr("thread=\"new\"")));
  AddFrame(e, TestFrame{});
  AddFrame(e, f);  // tid 1 idle for 3 frames: dropped, tid 2 takes its place
  EXPECT_EQ(e.thread_series(), 1u);
  EXPECT_THAT(e.Render(), HasSubstr("perfwire_thread_cpu_seconds_total{tid="
                                    "\"2\",pid=\"1\",process=\"idle\",thread="
                                    "\"new\"}"));
}

TEST(PrometheusExpositionTest, EscapesCommInLabels) {
  PrometheusExposition e({.threads = true});
  TestFrame f;
  f.threads = {MakeThread(7, 7, "we\"ird\\", 1, 1)};
  AddFrame(e, f);
  EXPECT_THAT(e.Render(), HasSubstr("thread=\"we\\\"ird\\\\\""));
}

// Host counters are the kernel's cumulative values of the latest frame, as
// integers (no integrated rates): a missed frame changes nothing.
TEST(PrometheusExpositionTest, HostCountersAreTheKernelsCumulativeValues) {
  PrometheusExposition e({});
  for (uint64_t k : {1, 2, 5}) {  // frames 3 and 4 missed
    const std::string bytes = HostFrameBytes(k);
    e.Add(*fb::GetSizePrefixedFrame(bytes.data()));
  }
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("perfwire_host_cpu_seconds_total{cpu=\"0\",mode="
                             "\"idle\"} 3.25\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_cpu_seconds_total{cpu=\"0\",mode="
                             "\"user\"} 1.5\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_cpu_guest_seconds_total{cpu=\"0\","
                             "mode=\"user\"} 0.05\n"));
  // No aggregate beside its parts, no percent.
  EXPECT_THAT(out, Not(HasSubstr("cpu=\"all\"")));
  EXPECT_THAT(out, Not(HasSubstr("cpu=\"-1\"")));
  EXPECT_THAT(out, Not(HasSubstr("_percent")));
  EXPECT_THAT(out, Not(HasSubstr("state=\"total\"")));
  EXPECT_THAT(out, HasSubstr("perfwire_host_context_switches_total 5000\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_load1 1.5\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_memory_available_bytes 600\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_page_faults_total 385\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_pressure_waiting_seconds_total{"
                             "resource=\"cpu\"} 0.01\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_pressure_stalled_seconds_total{"
                             "resource=\"cpu\"} 0.005\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_disk_bytes_total{device=\"vda\","
                             "direction=\"read\"} 20480\n"));
  EXPECT_THAT(out, Not(HasSubstr("device=\"vda1\"")));
  EXPECT_THAT(out, HasSubstr("perfwire_host_network_bytes_total{interface="
                             "\"eth\\\"0\",direction=\"transmit\"} 250\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_filesystem_available_bytes{"
                             "mountpoint=\"/\",device=\"/dev/vda1\",fstype="
                             "\"ext4\"} 134217728\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_gpu_utilization_ratio{gpu=\"0\","
                             "name=\"\",uuid=\"\"} 0.42"));
  EXPECT_THAT(out, HasSubstr("perfwire_gpu_sm_clock_hertz{gpu=\"0\",name=\"\","
                             "uuid=\"\"} 1500000000\n"));
  // Delta sections are summed over the frames the exporter read.
  EXPECT_THAT(out, HasSubstr("perfwire_perf_events_total{event=\"context-"
                             "switches\",kind=\"software\"} 30\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_perf_clock_seconds_total{event=\"cpu-"
                             "clock\",kind=\"software\"} 1.5\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_disk_request_duration_seconds_bucket{"
                             "device=\"vda\",le=\"4e-09\"} 6\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_disk_request_duration_seconds_count{"
                             "device=\"vda\"} 9\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_app_total{metric=\"requests\","
                             "tag_env=\"prod\",tag_bad_key=\"\xEF\xBF\xBD\"} "
                             "7.5\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE perfwire_consumer_dropped_frames_total "
                             "counter\nperfwire_consumer_dropped_frames_total "
                             "5\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_agent_cpu_seconds_total 1.5\n"));
  // Losses by cause, no sum beside them.
  EXPECT_THAT(out, HasSubstr("perfwire_agent_lost_events_total{cause=\"exit_"
                             "record\"} 6\n"));
  EXPECT_THAT(out, Not(HasSubstr("perfwire_agent_lost_events_total 0")));
  EXPECT_THAT(out, HasSubstr("perfwire_agent_source_available{source=\"gpu\","
                             "hook=\"\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_agent_source_available{source="
                             "\"threads\",hook=\"tp_btf\"} 1\n"));
}

TEST(PrometheusExpositionTest, PromtoolAcceptsTheExposition) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    if (std::getenv("CI") != nullptr &&
        std::string(std::getenv("CI")) == "true") {
      FAIL() << "CI=true but promtool is missing (make deps installs it)";
    }
    GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  }
  PrometheusExposition e({.threads = true});
  TestFrame f;
  f.threads = {MakeThread(100, 100, "srv \"x\"\\", 1'000'000'000, 7),
               MakeThread(101, 100, "worker", 5, 3),
               MakeThread(102, 102, "\xff\xfe", 5, 3)};
  AddFrame(e, f);
  const std::string host = HostFrameBytes(1);
  e.Add(*fb::GetSizePrefixedFrame(host.data()));
  e.SetConnected(true);
  ::perfwire::testing::TempDir dir;
  const std::string path = dir.File("metrics.txt");
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  const std::string text = e.Render();
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
  const std::string command =
      absl::StrCat("promtool check metrics < ", path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe))
    output.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output << "\n---\n" << text;
  EXPECT_EQ(output, "") << output;
}

TEST(HttpServerTest, ParsesRequestLines) {
  auto line = ParseRequestLine("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->method, "GET");
  EXPECT_EQ(line->path, "/metrics");
  EXPECT_FALSE(ParseRequestLine("GET\r\n\r\n").ok());
  EXPECT_FALSE(ParseRequestLine("GET metrics HTTP/1.1\r\n\r\n").ok());
  EXPECT_FALSE(ParseRequestLine("GET / SPDY\r\n\r\n").ok());
}

TEST(HttpServerTest, FormatsResponses) {
  HttpResponse r;
  r.status = 404;
  r.body = "nope\n";
  EXPECT_EQ(FormatResponse(r, false),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; "
            "charset=utf-8\r\nContent-Length: 5\r\nConnection: "
            "close\r\n\r\nnope\n");
  EXPECT_THAT(FormatResponse(r, true), Not(HasSubstr("nope")));
}

TEST(HttpServerTest, ParsesListenAddresses) {
  auto a = ParseListenAddress("127.0.0.1:9464");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 9464);
  EXPECT_TRUE(a->loopback);
  auto b = ParseListenAddress("localhost:0");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->loopback);
  auto c = ParseListenAddress("0.0.0.0:80");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->loopback);
  EXPECT_FALSE(ParseListenAddress("9464").ok());
  EXPECT_FALSE(ParseListenAddress("host:99999").ok());
  EXPECT_FALSE(ParseListenAddress("example.com:80").ok());
}

}  // namespace
}  // namespace perfwire
