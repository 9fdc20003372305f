#include "agent/app_metrics/app_metrics_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/frame_builder.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

// Builds a frame holding just the source's parts, and returns its bytes.
struct BuiltFrame {
  flatbuffers::FlatBufferBuilder fbb;
  const fb::Frame* frame = nullptr;
};

void CollectInto(AppMetricsSource& source, BuiltFrame& out) {
  FrameSections sections;
  source.Collect(out.fbb, sections);
  FinishFrame(out.fbb, FrameHeader{}, sections);
  flatbuffers::Verifier verifier(out.fbb.GetBufferPointer(), out.fbb.GetSize());
  ASSERT_TRUE(fb::VerifySizePrefixedFrameBuffer(verifier));
  out.frame = fb::GetSizePrefixedFrame(out.fbb.GetBufferPointer());
}

const fb::AppSeries* Find(const fb::Frame* f, std::string_view name) {
  if (!f->app_metrics()) return nullptr;
  for (const fb::AppSeries* s : *f->app_metrics()) {
    if (s->name()->string_view() == name) return s;
  }
  return nullptr;
}

TEST(AppMetricsSource, IngestToFrameWithoutSockets) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  AppMetricsSource source(options);
  source.IngestDatagram(
      "req:1|c|#route:/a\nreq:1|c|@0.5|#route:/a\nq:3|g\nlat:5|ms\nlat:7|ms",
      42);
  source.IngestDatagram("bogus\nx:1|nope\nu:a|s\nu:b|s", 42);
  BuiltFrame built;
  CollectInto(source, built);
  const fb::Frame* f = built.frame;
  ASSERT_NE(f->app_metrics(), nullptr);
  ASSERT_EQ(f->app_metrics()->size(), 4u);

  const fb::AppSeries* req = Find(f, "req");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->type(), fb::AppMetricType::Counter);
  EXPECT_DOUBLE_EQ(req->value(), 3);
  EXPECT_EQ(req->pid(), 42u);
  ASSERT_EQ(req->tags()->size(), 1u);
  EXPECT_EQ(req->tags()->Get(0)->key()->string_view(), "route");
  EXPECT_EQ(req->tags()->Get(0)->value()->string_view(), "/a");

  const fb::AppSeries* q = Find(f, "q");
  EXPECT_EQ(q->type(), fb::AppMetricType::Gauge);
  EXPECT_DOUBLE_EQ(q->value(), 3);
  EXPECT_TRUE(q->gauge_updated());

  const fb::AppSeries* lat = Find(f, "lat");
  EXPECT_EQ(lat->type(), fb::AppMetricType::Timing);
  EXPECT_DOUBLE_EQ(lat->count(), 2);
  EXPECT_DOUBLE_EQ(lat->sum(), 12);
  EXPECT_EQ(lat->min(), 5);
  EXPECT_EQ(lat->max(), 7);
  EXPECT_NEAR(lat->p50(), 5, 0.05);
  EXPECT_NEAR(lat->p99(), 7, 0.07);

  EXPECT_EQ(Find(f, "u")->distinct_count(), 2u);

  const fb::AppMetricsStats* st = f->agent()->app_metrics();
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->datagram_count(), 2u);
  EXPECT_EQ(st->line_count(), 7u);
  EXPECT_EQ(st->malformed_line_count(), 2u);
  EXPECT_EQ(st->malformed_line_sample()->str(),
            "line 'bogus': missing ':' after name");
  EXPECT_EQ(st->series_count(), 1u);  // the gauge carries over

  // Next interval: counters gone, the gauge carried over, counters reset.
  BuiltFrame next;
  CollectInto(source, next);
  ASSERT_EQ(next.frame->app_metrics()->size(), 1u);
  EXPECT_FALSE(Find(next.frame, "q")->gauge_updated());
  EXPECT_EQ(next.frame->agent()->app_metrics()->malformed_line_count(), 0u);
  EXPECT_EQ(next.frame->agent()->app_metrics()->malformed_line_sample(),
            nullptr);
}

class SocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/perfwire_app_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sub/app.sock";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir((dir_ + "/sub").c_str());
    rmdir(dir_.c_str());
  }
  int Connect() {
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }
  std::string dir_, path_;
};

TEST_F(SocketTest, UnixSocketAttachesSenderPid) {
  AppMetricsSourceOptions options;
  options.unix_path = path_;
  options.unix_mode = 0620;
  options.max_datagram_bytes = 64;
  AppMetricsSource source(options);
  ASSERT_TRUE(source.Start().ok());
  EXPECT_TRUE(source.status().available);
  EXPECT_GE(source.wakeup_fd(), 0);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);

  const int fd = Connect();
  const std::string d1 = "jobs:4|c\njobs:1|c";
  const std::string big(100, 'x');
  ASSERT_EQ(send(fd, d1.data(), d1.size(), 0), static_cast<ssize_t>(d1.size()));
  ASSERT_EQ(send(fd, big.data(), big.size(), 0),
            static_cast<ssize_t>(big.size()));
  source.OnWakeup();
  BuiltFrame built;
  CollectInto(source, built);
  const fb::AppSeries* jobs = Find(built.frame, "jobs");
  ASSERT_NE(jobs, nullptr);
  EXPECT_DOUBLE_EQ(jobs->value(), 5);
  EXPECT_EQ(jobs->pid(), static_cast<uint32_t>(getpid()));
  EXPECT_EQ(built.frame->agent()->app_metrics()->oversize_datagram_count(), 1u);
  EXPECT_EQ(built.frame->agent()->app_metrics()->datagram_count(), 1u);

  // A second agent on the same path is refused while this one lives.
  AppMetricsSource second(options);
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kAlreadyExists);
  close(fd);
  source.Stop();
  EXPECT_NE(access(path_.c_str(), F_OK), 0);  // unlinked on stop
}

TEST_F(SocketTest, ReplacesStaleSocketRefusesRegularFile) {
  AppMetricsSourceOptions options;
  options.unix_path = path_;
  {
    // What a crashed agent leaves: a bound socket file nobody reads.
    ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0755), 0);
    UniqueFd crashed(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(
        bind(crashed.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
        0);
  }
  ASSERT_EQ(access(path_.c_str(), F_OK), 0);
  {
    AppMetricsSource second(options);
    EXPECT_TRUE(second.Start().ok());
    second.Stop();
  }
  FILE* f = fopen(path_.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  AppMetricsSource third(options);
  EXPECT_EQ(third.Start().code(), absl::StatusCode::kFailedPrecondition);
}

// Issue 15.10: a perfwired that gives up after its sources started (its frame
// socket is served by a live agent) destroyed its sources without Stop() and
// left its app socket file behind.
TEST_F(SocketTest, DestroyingAStartedSourceRemovesItsSocket) {
  AppMetricsSourceOptions options;
  options.unix_path = path_;
  {
    AppMetricsSource source(options);
    ASSERT_TRUE(source.Start().ok());
    ASSERT_EQ(access(path_.c_str(), F_OK), 0);
  }
  EXPECT_NE(access(path_.c_str(), F_OK), 0);
}

TEST_F(SocketTest, ReadBudgetLeavesTheRestForLater) {
  AppMetricsSourceOptions options;
  options.unix_path = path_;
  options.budget_datagrams = 4;
  AppMetricsSource source(options);
  ASSERT_TRUE(source.Start().ok());
  const int fd = Connect();
  // net.unix.max_dgram_qlen (default 10) bounds the queue; stay within it.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(send(fd, "n:1|c", 5, MSG_DONTWAIT), 5);
  source.OnWakeup();  // 4
  source.OnWakeup();  // 8
  BuiltFrame built;
  CollectInto(source, built);  // Collect drains within the budget too: 10
  EXPECT_DOUBLE_EQ(Find(built.frame, "n")->value(), 10);
  EXPECT_EQ(built.frame->agent()->app_metrics()->budget_exhausted_count(), 2u);
  close(fd);
}

TEST(AppMetricsSourceUdp, RefusesNonLoopback) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  options.udp_address = "0.0.0.0:8125";
  AppMetricsSource source(options);
  EXPECT_EQ(source.Start().code(), absl::StatusCode::kInvalidArgument);
  options.udp_address = "localhost";
  AppMetricsSource bad(options);
  EXPECT_EQ(bad.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AppMetricsSourceUdp, ReceivesOnLoopback) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  options.udp_address = "127.0.0.1:0";  // port 0 refused: pick a fixed high one
  AppMetricsSource refused(options);
  EXPECT_FALSE(refused.Start().ok());
  options.udp_address = "127.0.0.1:" + std::to_string(20000 + getpid() % 20000);
  AppMetricsSource source(options);
  ASSERT_TRUE(source.Start().ok()) << source.status().reason;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(20000 + getpid() % 20000));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(sendto(fd, "u:2|g", 5, 0, reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr)),
            5);
  close(fd);
  BuiltFrame built;
  CollectInto(source, built);
  const fb::AppSeries* u = Find(built.frame, "u");
  ASSERT_NE(u, nullptr);
  EXPECT_DOUBLE_EQ(u->value(), 2);
  EXPECT_EQ(u->pid(), 0u);
}

// A loopback UDP port free right now.
uint16_t FreeUdpPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// A UDP client socket bound to its own loopback port, sending to `port`.
struct UdpClient {
  explicit UdpClient(uint16_t port) {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    own_port = ntohs(addr.sin_port);
    addr.sin_port = htons(port);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~UdpClient() { close(fd); }
  bool Send(std::string_view text) {
    return send(fd, text.data(), text.size(), 0) ==
           static_cast<ssize_t>(text.size());
  }
  int fd = -1;
  uint16_t own_port = 0;
};

// Issue 15.7: UDP datagrams the kernel dropped (receive queue full) were
// shown nowhere. Loopback delivery happens inside sendto(), so every
// datagram sent is either queued or dropped by the time it returns.
TEST(AppMetricsSourceUdp, KernelDropsAreReported) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  const uint16_t port = FreeUdpPort();
  options.udp_address = "127.0.0.1:" + std::to_string(port);
  options.receive_buffer_bytes = 4096;  // a few datagrams fit
  options.budget_datagrams = 100000;
  options.budget_ns = uint64_t{10} * 1000000000;
  AppMetricsSource source(options);
  ASSERT_TRUE(source.Start().ok()) << source.status().reason;
  UdpClient client(port);
  constexpr int kSent = 500;
  for (int i = 0; i < kSent; ++i) ASSERT_TRUE(client.Send("d:1|c"));
  BuiltFrame built;
  CollectInto(source, built);
  const fb::AppMetricsStats* stats = built.frame->agent()->app_metrics();
  EXPECT_GT(stats->kernel_dropped_datagram_count(), 0u);
  EXPECT_GT(stats->datagram_count(), 0u);
  EXPECT_EQ(stats->datagram_count() + stats->kernel_dropped_datagram_count(),
            static_cast<uint64_t>(kSent));
  EXPECT_DOUBLE_EQ(Find(built.frame, "d")->value(),
                   static_cast<double>(stats->datagram_count()));
  // Per interval: the next frame reports only new drops.
  BuiltFrame next;
  CollectInto(source, next);
  EXPECT_EQ(next.frame->agent()->app_metrics()->kernel_dropped_datagram_count(),
            0u);
}

// Issue 15.3 over UDP: each client socket (source address) is a sender with
// its own share, and the frame names the worst one.
TEST(AppMetricsSourceUdp, SendersAreSourceAddressesWithFairShares) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  const uint16_t port = FreeUdpPort();
  options.udp_address = "127.0.0.1:" + std::to_string(port);
  options.limits.max_series = 40;
  options.limits.sender_share_percent = 25;  // 10 each
  AppMetricsSource source(options);
  ASSERT_TRUE(source.Start().ok()) << source.status().reason;
  UdpClient flood(port), fair(port);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(flood.Send("f" + std::to_string(i) + ":1|g"));
  }
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(fair.Send("ok" + std::to_string(i) + ":1|g"));
  }
  BuiltFrame built;
  CollectInto(source, built);
  const fb::AppMetricsStats* stats = built.frame->agent()->app_metrics();
  EXPECT_EQ(built.frame->app_metrics()->size(), 20u);
  EXPECT_EQ(stats->share_overflow_count(), 90u + 2u);
  EXPECT_EQ(stats->share_overflow_sender_count(), 2u);
  ASSERT_NE(stats->share_overflow_top_sender(), nullptr);
  EXPECT_EQ(stats->share_overflow_top_sender()->str(),
            "udp 127.0.0.1:" + std::to_string(flood.own_port));
  EXPECT_EQ(stats->share_overflow_top_pid(), 0u);
  EXPECT_EQ(stats->share_overflow_top_count(), 90u);
  EXPECT_EQ(stats->series_overflow_count(), 0u);
  EXPECT_NE(Find(built.frame, "ok9"), nullptr);
  EXPECT_EQ(Find(built.frame, "ok10"), nullptr);
}

// Issue 15.2 through the source: the overflowing line is counted with the
// malformed ones, with its sample, and the frame carries no inf.
TEST(AppMetricsSource, OverflowIsCountedAsMalformedWithSample) {
  AppMetricsSourceOptions options;
  options.unix_path.clear();
  options.limits.signed_gauge = SignedGauge::kDelta;
  AppMetricsSource source(options);
  source.IngestDatagram("g:1e308|g\ng:+1e308|g\nc:1e308|c\nc:1e308|c", 42);
  BuiltFrame built;
  CollectInto(source, built);
  const fb::AppMetricsStats* stats = built.frame->agent()->app_metrics();
  EXPECT_EQ(stats->malformed_line_count(), 2u);
  EXPECT_EQ(stats->line_count(), 2u);
  ASSERT_NE(stats->malformed_line_sample(), nullptr);
  EXPECT_EQ(stats->malformed_line_sample()->str(),
            "line 'g:+1e308|g': value overflows (the series would not be "
            "finite)");
  EXPECT_DOUBLE_EQ(Find(built.frame, "g")->value(), 1e308);
  EXPECT_DOUBLE_EQ(Find(built.frame, "c")->value(), 1e308);
}

}  // namespace
}  // namespace perfwire
