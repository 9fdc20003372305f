#include "clients/lib/prometheus_exposition.h"

#include <cstdio>
#include <cstdlib>
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

// A frame with host sections: cpu (total + 1 core), memory, one disk (and a
// partition that must be skipped), one interface, agent stats.
std::string HostFrameBytes(uint64_t interval_ns) {
  flatbuffers::FlatBufferBuilder fbb;
  auto total = fb::CreateHostCpuTimes(fbb, -1, 10, 0, 5, 85);
  std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores = {
      fb::CreateHostCpuTimes(fbb, 0, 20, 0, 10, 70)};
  auto cpu =
      fb::CreateHostCpuDirect(fbb, total, &cores, nullptr, 1.5f, 1.0f, 0.5f);
  fb::HostMemoryBuilder mb(fbb);
  mb.add_total_bytes(1000);
  mb.add_available_bytes(600);
  mb.add_used_bytes(400);
  auto memory = mb.Finish();
  std::vector<flatbuffers::Offset<fb::HostDisk>> disks = {
      fb::CreateHostDiskDirect(fbb, "vda", false, 1000, 2000),
      fb::CreateHostDiskDirect(fbb, "vda1", true, 1000, 2000)};
  std::vector<flatbuffers::Offset<fb::HostInterface>> itfs = {
      fb::CreateHostInterfaceDirect(fbb, "eth\"0", 100, 50)};
  auto network = fb::CreateHostNetworkDirect(fbb, &itfs);
  auto disks_vec = fbb.CreateVector(disks);
  fb::AgentStatsBuilder ab(fbb);
  ab.add_cpu_ns(500'000'000);
  ab.add_rss_bytes(8 << 20);
  auto agent = ab.Finish();
  fb::FrameBuilder frame(fbb);
  frame.add_interval_ns(interval_ns);
  frame.add_cpu(cpu);
  frame.add_memory(memory);
  frame.add_disks(disks_vec);
  frame.add_network(network);
  frame.add_agent(agent);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                     fbb.GetSize());
}

TEST(PrometheusEscapeTest, LabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q");
}

TEST(PrometheusEscapeTest, SampleValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(12345678901234), "12345678901234");
  EXPECT_EQ(FormatSampleValue(1.5), "1.5");
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
                             "pid=\"100\",comm=\"worker\"} 0.75\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_thread_context_switches_total{tid="
                             "\"101\",pid=\"100\",comm=\"worker\",kind="
                             "\"voluntary\"} 5\n"));
  // The process sums its threads and is named after its leader.
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{pid=\"100\","
                             "comm=\"server\"} 1.75\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_process_io_bytes_total{pid=\"100\","
                             "comm=\"server\",direction=\"read\"} 30\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_exporter_frames_total 2\n"));
  EXPECT_EQ(e.thread_series(), 2u);
}

TEST(PrometheusExpositionTest, ThreadsAreOptIn) {
  PrometheusExposition e({});
  TestFrame f;
  f.threads = {MakeThread(5, 5, "a", 1, 1)};
  AddFrame(e, f);
  const std::string out = e.Render();
  EXPECT_THAT(out, Not(HasSubstr("perfwire_thread_")));
  EXPECT_THAT(out, HasSubstr("perfwire_process_cpu_seconds_total{pid=\"5\""));
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
  EXPECT_THAT(out, Not(HasSubstr("comm=\"c\"")));
}

TEST(PrometheusExpositionTest, ExitedThreadsExpireAfterRetention) {
  PrometheusExposition e({.threads = true, .exited_retention_frames = 2});
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
  EXPECT_THAT(e.Render(), Not(HasSubstr("comm=\"new\"")));
  AddFrame(e, TestFrame{});
  AddFrame(e, f);  // tid 1 idle for 3 frames: dropped, tid 2 takes its place
  EXPECT_EQ(e.thread_series(), 1u);
  EXPECT_THAT(e.Render(), HasSubstr("perfwire_thread_cpu_seconds_total{tid="
                                    "\"2\",pid=\"1\",comm=\"new\"}"));
}

TEST(PrometheusExpositionTest, EscapesCommInLabels) {
  PrometheusExposition e({.threads = true});
  TestFrame f;
  f.threads = {MakeThread(7, 7, "we\"ird\\", 1, 1)};
  AddFrame(e, f);
  EXPECT_THAT(e.Render(), HasSubstr("comm=\"we\\\"ird\\\\\""));
}

TEST(PrometheusExpositionTest, HostSectionsBecomeGaugesAndTotals) {
  PrometheusExposition e({});
  const std::string bytes = HostFrameBytes(2'000'000'000);
  const auto* frame = fb::GetSizePrefixedFrame(bytes.data());
  e.Add(*frame);
  e.Add(*frame);
  const std::string out = e.Render();
  EXPECT_THAT(out, HasSubstr("perfwire_host_cpu_percent{cpu=\"all\",mode="
                             "\"user\"} 10\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_cpu_percent{cpu=\"0\",mode="
                             "\"idle\"} 70\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_load1 1.5\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_host_memory_bytes{state=\"available\"}"
                             " 600\n"));
  // 1000 B/s x 2 s x 2 frames.
  EXPECT_THAT(out, HasSubstr("perfwire_host_disk_bytes_total{device=\"vda\","
                             "direction=\"read\"} 4000\n"));
  EXPECT_THAT(out, Not(HasSubstr("vda1")));
  EXPECT_THAT(out, HasSubstr("perfwire_host_network_bytes_total{interface="
                             "\"eth\\\"0\",direction=\"transmit\"} 200\n"));
  EXPECT_THAT(out, HasSubstr("perfwire_agent_cpu_seconds_total 1\n"));
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
               MakeThread(101, 100, "worker", 5, 3)};
  AddFrame(e, f);
  const std::string host = HostFrameBytes(1'000'000'000);
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
