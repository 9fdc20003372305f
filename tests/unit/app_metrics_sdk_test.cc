#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "clients/sdk/perfwire/app_metrics.h"
#include "gtest/gtest.h"

namespace perfwire::app {
namespace {

class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/perfwire_sdk_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/app.sock";
  }
  void TearDown() override {
    if (rx_ >= 0) close(rx_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Listen() {
    rx_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(rx_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  std::string Receive() {
    char buf[4096];
    const ssize_t n = recv(rx_, buf, sizeof(buf), MSG_DONTWAIT);
    return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
  }
  std::string dir_, path_;
  int rx_ = -1;
};

TEST_F(SdkTest, FormatsStatsdLines) {
  Listen();
  Sink sink(path_.c_str());
  Counter c("app.requests", {{"route", "/api"}, {"canary", ""}}, sink);
  c.Add();
  EXPECT_EQ(Receive(), "app.requests:1|c|#route:/api,canary");
  c.Add(-3);
  EXPECT_EQ(Receive(), "app.requests:-3|c|#route:/api,canary");
  Gauge g("app.queue", {}, sink);
  g.Set(12.5);
  EXPECT_EQ(Receive(), "app.queue:12.5|g");
  g.Set(-2);
  EXPECT_EQ(Receive(), "app.queue:0|g\napp.queue:-2|g");
  g.Add(3);  // -2 + 3: the absolute value, never "+3|g"
  EXPECT_EQ(Receive(), "app.queue:1|g");
  g.Add(-1.5);
  EXPECT_EQ(Receive(), "app.queue:0|g\napp.queue:-0.5|g");
  Histogram h("app.batch", {{"k", "v"}}, sink);
  h.Record(17);
  EXPECT_EQ(Receive(), "app.batch:17|h|#k:v");
  Histogram d("app.dist", {}, sink, "d");
  d.Record(0.25);
  EXPECT_EQ(Receive(), "app.dist:0.25|d");
  Timer t("app.op_ms", {}, sink);
  t.Record(std::chrono::microseconds(1234));
  EXPECT_EQ(Receive(), "app.op_ms:1.234|ms");
  t.Record(std::chrono::nanoseconds(999));  // below resolution: 0
  EXPECT_EQ(Receive(), "app.op_ms:0|ms");
  { ScopedTimer scoped(t); }
  EXPECT_TRUE(Receive().starts_with("app.op_ms:"));
  EXPECT_EQ(Receive(), "<none>");
}

// Under either --app_signed_gauge setting a gauge's line must not carry a
// sign the agent could read as a delta: Add sends the running value.
TEST_F(SdkTest, GaugeAddSendsTheRunningValueNotADelta) {
  Listen();
  Sink sink(path_.c_str());
  Gauge g("app.in_flight", {{"pool", "db"}}, sink);
  EXPECT_EQ(g.value(), 0.0);
  g.Add(3);
  EXPECT_EQ(Receive(), "app.in_flight:3|g|#pool:db");
  g.Add(4);
  EXPECT_EQ(Receive(), "app.in_flight:7|g|#pool:db");
  g.Add(-10);
  EXPECT_EQ(Receive(),
            "app.in_flight:0|g|#pool:db\napp.in_flight:-3|g|#pool:db");
  g.Set(100);
  EXPECT_EQ(Receive(), "app.in_flight:100|g|#pool:db");
  g.Add(-0.5);
  EXPECT_EQ(Receive(), "app.in_flight:99.5|g|#pool:db");
  g.Add(-99.5);  // exactly 0, not "-0" (a no-op delta under "delta")
  EXPECT_EQ(Receive(), "app.in_flight:0|g|#pool:db");
  g.Set(-0.0);
  EXPECT_EQ(Receive(),
            "app.in_flight:0|g|#pool:db\napp.in_flight:-0|g|#pool:db");
  EXPECT_EQ(g.value(), 0.0);
  EXPECT_EQ(Receive(), "<none>");
}

// Adds made while no agent listens are kept: the first line after the
// (re)connect carries the whole value.
TEST_F(SdkTest, GaugeKeepsItsValueWhileTheAgentIsAway) {
  Sink sink(path_.c_str());
  Gauge g("app.open_files", {}, sink);
  for (int i = 0; i < 10; ++i) g.Add(5);
  EXPECT_EQ(g.value(), 50.0);
  Listen();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::string got = "<none>";
  while (got == "<none>" && std::chrono::steady_clock::now() < deadline) {
    g.Add(1);
    got = Receive();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(got.starts_with("app.open_files:")) << got;
  EXPECT_EQ(got, "app.open_files:" + std::to_string(int(g.value())) + "|g");
  EXPECT_GT(g.value(), 50.0);
}

// Many threads adding to one gauge lose no increment.
TEST_F(SdkTest, ConcurrentGaugeAddsLoseNothing) {
  Listen();
  Sink sink(path_.c_str());
  Gauge g("app.concurrent", {}, sink);
  constexpr int kThreads = 4, kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&g, t] {
      for (int i = 0; i < kAdds; ++i) g.Add(t % 2 == 0 ? 3 : -1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(g.value(), double{kAdds} * (3 + 3 - 1 - 1));
}

TEST_F(SdkTest, TooLongNameIsANoOp) {
  Listen();
  Sink sink(path_.c_str());
  Counter c(std::string(kMaxNameAndTagsBytes + 1, 'x'), {}, sink);
  c.Add();
  EXPECT_EQ(Receive(), "<none>");
}

TEST_F(SdkTest, SilentWithoutAgentThenReconnectsWithinASecond) {
  Sink sink(path_.c_str());
  Counter c("late", {}, sink);
  for (int i = 0; i < 1000; ++i) c.Add();  // nobody listening: no-op
  EXPECT_FALSE(sink.connected());
  Listen();
  c.Add();  // the retry is rate-limited: still within the second
  EXPECT_EQ(Receive(), "<none>");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::string got = "<none>";
  while (got == "<none>" && std::chrono::steady_clock::now() < deadline) {
    c.Add();
    got = Receive();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(got, "late:1|c");
  EXPECT_TRUE(sink.connected());
}

TEST_F(SdkTest, AgentRestartIsSurvived) {
  Listen();
  Sink sink(path_.c_str());
  Counter c("r", {}, sink);
  c.Add();
  EXPECT_EQ(Receive(), "r:1|c");
  close(rx_);
  unlink(path_.c_str());
  c.Add();  // ECONNREFUSED: marks disconnected
  EXPECT_FALSE(sink.connected());
  Listen();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::string got = "<none>";
  while (got == "<none>" && std::chrono::steady_clock::now() < deadline) {
    c.Add();
    got = Receive();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(got, "r:1|c");
}

TEST_F(SdkTest, FullQueueDropsWithoutBlocking) {
  Listen();
  Sink sink(path_.c_str());
  Counter c("flood", {}, sink);
  for (int i = 0; i < 10000; ++i) c.Add();  // nobody reads: must not block
  EXPECT_GT(sink.dropped_count(), 0u);
}

TEST(SdkMacro, TimeBlockCompilesAndIsNoOpWithoutAgent) {
  setenv("PERFWIRE_APP_SOCKET", "/nonexistent/perfwire/app.sock", 1);
  for (int i = 0; i < 3; ++i) {
    PERFWIRE_TIME_BLOCK("unit.block_ms");
    PERFWIRE_TIME_BLOCK("unit.block2_ms");
  }
  SUCCEED();
}

}  // namespace
}  // namespace perfwire::app
