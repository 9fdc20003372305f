// The agent's lifecycle with fake sources: a source that fails to start, one
// that breaks mid-run, a slow one, wakeups, and the final frame at shutdown.

#include "agent/agent.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

// What the fakes and the test share; the agent owns the fakes themselves.
struct FakeLog {
  int collects = 0;
  int wakeups = 0;
  bool stopped = false;
  bool collected_after_stop = false;
};

// Emits a HostProcesses section whose process_count is `value`.
class FakeSource : public Source {
 public:
  FakeSource(std::string name, FakeLog* log, uint32_t value)
      : log_(log), value_(value) {
    status_.name = std::move(name);
  }
  absl::Status Start() override {
    if (!start_error_.ok()) {
      status_.reason = std::string(start_error_.message());
      return start_error_;
    }
    status_.available = true;
    status_.reason = "fake";
    return absl::OkStatus();
  }
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override {
    ++log_->collects;
    if (log_->stopped) log_->collected_after_stop = true;
    if (log_->collects == break_at_) {
      status_.available = false;
      status_.reason = "broke: device vanished";
      return;
    }
    if (log_->collects == slow_at_) absl::SleepFor(slow_for_);
    fb::HostProcessesBuilder b(fbb);
    b.add_process_count(value_);
    sections.Set(fb::Frame::VT_PROCESSES, b.Finish());
    sections.AddLoss(fb::AgentStats::VT_VANISHED_THREAD_COUNT, 2);
  }
  void Stop() override { log_->stopped = true; }
  SourceStatus status() const override { return status_; }
  int wakeup_fd() const override { return wakeup_.get(); }
  void OnWakeup() override {
    uint64_t n;
    if (::read(wakeup_.get(), &n, sizeof(n)) == sizeof(n)) ++log_->wakeups;
  }

  absl::Status start_error_;
  int break_at_ = -1;
  int slow_at_ = -1;
  absl::Duration slow_for_;
  UniqueFd wakeup_{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};

 private:
  FakeLog* log_;
  uint32_t value_;
  SourceStatus status_;
};

struct Published {
  std::vector<std::shared_ptr<const flatbuffers::DetachedBuffer>> frames;
  const fb::Frame* frame(size_t i) const {
    return fb::GetSizePrefixedFrame(frames.at(i)->data());
  }
  const fb::SourceStatus* status(size_t i, const std::string& name) const {
    for (const fb::SourceStatus* s : *frame(i)->sources()) {
      if (s->name()->str() == name) return s;
    }
    return nullptr;
  }
};

// Runs `agent` until `frames` frames were published (then signals stop).
Published RunFor(Agent& agent, size_t frames) {
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  Published out;
  agent.Run(stop.get(), [&](auto frame) {
    flatbuffers::Verifier v(frame->data(), frame->size());
    EXPECT_TRUE(fb::VerifySizePrefixedFrameBuffer(v));
    out.frames.push_back(frame);
    if (out.frames.size() == frames) {
      const uint64_t one = 1;
      EXPECT_EQ(::write(stop.get(), &one, sizeof(one)), 8);
    }
  });
  return out;
}

AgentOptions Fast() {
  AgentOptions o;
  o.interval = absl::Milliseconds(20);
  o.final_grace = absl::Milliseconds(1);
  return o;
}

TEST(Agent, SourceThatFailsToStartIsReportedAndTheOthersRun) {
  FakeLog bad_log, good_log;
  auto bad = std::make_unique<FakeSource>("bad", &bad_log, 1);
  bad->start_error_ = absl::NotFoundError("no such device");
  std::vector<RegisteredSource> sources;
  sources.push_back({std::move(bad), false});
  sources.push_back(
      {std::make_unique<FakeSource>("good", &good_log, 7), false});
  Agent agent(std::move(sources), Fast());
  ASSERT_TRUE(agent.Start().ok());
  const Published p = RunFor(agent, 3);
  ASSERT_EQ(p.frames.size(), 4u);  // 3 + the final frame
  EXPECT_EQ(bad_log.collects, 0) << "an unavailable source is never collected";
  for (size_t i = 0; i < p.frames.size(); ++i) {
    const fb::SourceStatus* s = p.status(i, "bad");
    ASSERT_NE(s, nullptr);
    EXPECT_FALSE(s->available());
    EXPECT_EQ(s->reason()->str(), "no such device");
    ASSERT_NE(p.frame(i)->processes(), nullptr);
    EXPECT_EQ(p.frame(i)->processes()->process_count(), 7u);
    EXPECT_EQ(p.frame(i)->seq(), i);
    EXPECT_EQ(p.frame(i)->agent()->vanished_thread_count(), 2u);
    EXPECT_EQ(p.frame(i)->agent()->lost_event_count(), 2u);
  }
}

TEST(Agent, RequiredSourceThatFailsStopsTheAgent) {
  FakeLog log;
  auto required = std::make_unique<FakeSource>("threads", &log, 1);
  required->start_error_ = absl::PermissionDeniedError("BPF refused");
  std::vector<RegisteredSource> sources;
  sources.push_back({std::move(required), true});
  Agent agent(std::move(sources), Fast());
  const absl::Status s = agent.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "threads unavailable: BPF refused");
}

TEST(Agent, SourceThatBreaksMidRunLeavesItsSectionOutAndTheAgentGoesOn) {
  FakeLog breaking_log, steady_log;
  auto breaking = std::make_unique<FakeSource>("breaking", &breaking_log, 1);
  breaking->break_at_ = 2;
  std::vector<RegisteredSource> sources;
  sources.push_back({std::move(breaking), false});
  sources.push_back(
      {std::make_unique<FakeSource>("steady", &steady_log, 9), false});
  Agent agent(std::move(sources), Fast());
  ASSERT_TRUE(agent.Start().ok());
  const Published p = RunFor(agent, 4);
  EXPECT_TRUE(p.status(0, "breaking")->available());
  for (size_t i = 1; i < p.frames.size(); ++i) {
    EXPECT_FALSE(p.status(i, "breaking")->available()) << i;
    EXPECT_EQ(p.status(i, "breaking")->reason()->str(),
              "broke: device vanished");
    EXPECT_TRUE(p.status(i, "steady")->available());
  }
  EXPECT_EQ(breaking_log.collects, 2) << "never collected after it broke";
  EXPECT_EQ(steady_log.collects, 5);
}

TEST(Agent, ALateIntervalIsNotMadeUpWithABurstOfFrames) {
  FakeLog log;
  auto slow = std::make_unique<FakeSource>("slow", &log, 1);
  slow->slow_at_ = 2;
  slow->slow_for_ = absl::Milliseconds(200);  // 10 intervals
  std::vector<RegisteredSource> sources;
  sources.push_back({std::move(slow), false});
  Agent agent(std::move(sources), Fast());
  ASSERT_TRUE(agent.Start().ok());
  const Published p = RunFor(agent, 5);
  // Catching up would publish the 9 missed intervals back to back, each a
  // fraction of an interval long; skipping keeps every interval near 20 ms.
  for (size_t i = 2; i + 1 < p.frames.size(); ++i) {
    EXPECT_GE(p.frame(i)->interval_ns(), 10'000'000u) << "frame " << i;
  }
  EXPECT_GE(p.frame(1)->interval_ns(), 200'000'000u);
}

TEST(Agent, WakeupsAreServedBetweenFrames) {
  FakeLog log;
  auto source = std::make_unique<FakeSource>("woken", &log, 1);
  const uint64_t one = 1;
  ASSERT_EQ(::write(source->wakeup_.get(), &one, sizeof(one)), 8);
  std::vector<RegisteredSource> sources;
  sources.push_back({std::move(source), false});
  Agent agent(std::move(sources), Fast());
  ASSERT_TRUE(agent.Start().ok());
  RunFor(agent, 2);
  EXPECT_EQ(log.wakeups, 1);
}

TEST(Agent, ShutdownStopsSourcesThenPublishesAFinalFrame) {
  FakeLog log;
  std::vector<RegisteredSource> sources;
  sources.push_back({std::make_unique<FakeSource>("s", &log, 1), false});
  Agent agent(std::move(sources), Fast());
  ASSERT_TRUE(agent.Start().ok());
  const Published p = RunFor(agent, 2);
  ASSERT_EQ(p.frames.size(), 3u);
  EXPECT_TRUE(log.stopped);
  EXPECT_TRUE(log.collected_after_stop)
      << "the final frame must be collected after Stop()";
  EXPECT_EQ(p.frame(2)->seq(), 2u);
  EXPECT_NE(p.frame(2)->processes(), nullptr);
}

}  // namespace
}  // namespace perfwire
