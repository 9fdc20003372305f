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

}  // namespace
}  // namespace perfwire
