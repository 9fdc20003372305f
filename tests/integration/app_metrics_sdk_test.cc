// The C++ SDK (clients/sdk/perfwire/app_metrics.h) against a live perfwired:
// Gauge::Add gives the running sum in the frames under both
// --app_signed_gauge settings (the SDK sends absolute values, never deltas),
// and a second process using the same gauge name gets its own series.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/lib/frame_stream.h"
#include "clients/sdk/perfwire/app_metrics.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace perfwire::testing {
namespace {

constexpr int kIntervalMs = 200;
constexpr int kMaxFrames = 25;  // 5 s at 200 ms

const fb::AppSeries* FindGauge(const fb::Frame* f, std::string_view name,
                               uint32_t pid) {
  if (f->app_metrics() == nullptr) return nullptr;
  for (const fb::AppSeries* s : *f->app_metrics()) {
    if (s->name()->string_view() == name && s->pid() == pid &&
        s->type() == fb::AppMetricType::Gauge) {
      return s;
    }
  }
  return nullptr;
}

// The agent started with `--app_signed_gauge=<GetParam()>` ("" = default).
class SdkGaugeAgentTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    PERFWIRE_REQUIRE_BPF();
    app_socket_ = app_dir_.path() + "/app.sock";
    std::vector<std::string> extra = {"--app_socket=" + app_socket_};
    if (!GetParam().empty()) {
      extra.push_back("--app_signed_gauge=" + GetParam());
    }
    agent_ = std::make_unique<Agent>(absl::StrCat(kIntervalMs, "ms"), extra);
    ASSERT_TRUE(agent_->started()) << agent_->error();
    auto stream = FrameStream::Connect(agent_->socket());
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::make_unique<FrameStream>(std::move(*stream));
  }

  // Reads frames until gauge `name` of `pid` has the value `want`; returns
  // the last value seen (NaN when the series never appeared).
  double WaitForGauge(std::string_view name, uint32_t pid, double want) {
    double last = std::nan("");
    for (int i = 0; i < kMaxFrames; ++i) {
      auto frame = stream_->Next();
      if (!frame.ok()) {
        ADD_FAILURE() << frame.status();
        return last;
      }
      if (const fb::AppSeries* s = FindGauge(*frame, name, pid)) {
        last = s->value();
        if (last == want) return last;
      }
    }
    return last;
  }

  TempDir app_dir_;
  std::string app_socket_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<FrameStream> stream_;
};

TEST_P(SdkGaugeAgentTest, AddThenAddGivesTheSumInTheFrame) {
  app::Sink sink(app_socket_.c_str());
  app::Gauge in_flight("sdk.in_flight", {{"pool", "db"}}, sink);
  const uint32_t pid = static_cast<uint32_t>(getpid());
  in_flight.Add(3);
  in_flight.Add(4);
  // Before the fix, "+3|g" then "+4|g" read as "set" showed 4.
  EXPECT_EQ(WaitForGauge("sdk.in_flight", pid, 7.0), 7.0);
  in_flight.Add(-10);  // below zero: "0|g" then "-3|g", not a -10 delta
  EXPECT_EQ(WaitForGauge("sdk.in_flight", pid, -3.0), -3.0);
  in_flight.Set(20);
  in_flight.Add(-0.5);
  EXPECT_EQ(WaitForGauge("sdk.in_flight", pid, 19.5), 19.5);
  EXPECT_EQ(sink.dropped_count(), 0u);
}

// Two processes, one gauge name: each process's value is its own series (the
// agent keys series by pid), so neither overwrites nor adds to the other.
TEST_P(SdkGaugeAgentTest, EachProcessHasItsOwnSeries) {
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe work here: the SDK allocates nothing.
    close(go[1]);
    app::Sink sink(app_socket_.c_str());
    app::Gauge workers("sdk.workers", {}, sink);
    workers.Add(10);
    workers.Add(5);
    char byte;
    while (read(go[0], &byte, 1) < 0) {
    }  // stays alive (its gauge with it) until the parent closes the pipe
    _exit(0);
  }
  close(go[0]);
  app::Sink sink(app_socket_.c_str());
  app::Gauge workers("sdk.workers", {}, sink);
  workers.Add(2);
  workers.Add(1);
  EXPECT_EQ(WaitForGauge("sdk.workers", static_cast<uint32_t>(getpid()), 3.0),
            3.0);
  EXPECT_EQ(WaitForGauge("sdk.workers", static_cast<uint32_t>(child), 15.0),
            15.0);
  close(go[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

INSTANTIATE_TEST_SUITE_P(SignedGauge, SdkGaugeAgentTest,
                         ::testing::Values("", "delta"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param.empty() ? std::string("Default")
                                                  : p.param;
                         });

}  // namespace
}  // namespace perfwire::testing
