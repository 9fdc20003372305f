#include "clients/lib/contention_verdict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace perfwire {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSec = 1000000000ull;

WaitBreakdown Make(double cpu, double rq, double lock, double io, double sleep,
                   uint64_t window = 10 * kSec) {
  WaitBreakdown b;
  b.window_ns = window;
  b.on_cpu_ns = static_cast<uint64_t>(cpu * window);
  b.run_queue_ns = static_cast<uint64_t>(rq * window);
  b.lock_ns = static_cast<uint64_t>(lock * window);
  b.io_ns = static_cast<uint64_t>(io * window);
  b.sleep_ns = static_cast<uint64_t>(sleep * window);
  return b;
}

TEST(JudgeTest, FourSpinnersOnOneCpuAreStarved) {
  Judgement j = Judge(Make(0.25, 0.75, 0, 0, 0));
  EXPECT_EQ(j.verdict, Verdict::kCpuStarved);
  EXPECT_THAT(j.reason, HasSubstr("run queue 75.0% of 10.00 s (7.50 s)"));
  EXPECT_THAT(j.reason, HasSubstr("on-CPU 25.0%"));
}

TEST(JudgeTest, MutexFightIsLockBound) {
  Judgement j = Judge(Make(0.15, 0.10, 0.74, 0, 0.01));
  EXPECT_EQ(j.verdict, Verdict::kLockBound);
  EXPECT_THAT(j.reason, HasSubstr("lock wait 74.0%"));
}

TEST(JudgeTest, DirectWriterIsIoBound) {
  EXPECT_EQ(Judge(Make(0.1, 0.02, 0, 0.85, 0.03)).verdict, Verdict::kIoBound);
}

TEST(JudgeTest, TimerSleeperIsIdle) {
  Judgement j = Judge(Make(0.001, 0.0005, 0, 0, 0.998));
  EXPECT_EQ(j.verdict, Verdict::kIdle);
  EXPECT_THAT(j.reason, HasSubstr("asleep"));
}

TEST(JudgeTest, LoneSpinnerIsCpuBound) {
  Judgement j = Judge(Make(0.99, 0.005, 0, 0, 0));
  EXPECT_EQ(j.verdict, Verdict::kCpuBound);
  EXPECT_THAT(j.reason, HasSubstr("on-CPU 99.0% of 10.00 s"));
}

TEST(JudgeTest, MixedIsBalanced) {
  EXPECT_EQ(Judge(Make(0.3, 0.1, 0.1, 0.1, 0.4)).verdict, Verdict::kBalanced);
}

TEST(JudgeTest, NothingObservedIsIdle) {
  EXPECT_EQ(Judge(WaitBreakdown{}).verdict, Verdict::kIdle);
}

TEST(JudgeTest, UnaccountedWindowCountsAsAsleep) {
  // Only 1 s of 10 accounted for (a thread blocked when the window ended):
  // the rest is asleep, so 0.4 s of IO wait is 4%, not 40%.
  WaitBreakdown b = Make(0.06, 0, 0, 0.04, 0);
  EXPECT_EQ(b.TotalNs(), 10 * kSec);
  EXPECT_EQ(Judge(b).verdict, Verdict::kBalanced);
}

TEST(JudgeTest, PartsBeyondWindowWidenTheDenominator) {
  WaitBreakdown b = Make(0, 0, 0, 0, 0, kSec);
  b.on_cpu_ns = 3 * kSec;  // a process: 3 threads x 1 s
  EXPECT_EQ(b.TotalNs(), 3 * kSec);
  EXPECT_EQ(Judge(b).verdict, Verdict::kCpuBound);
}

TEST(JudgeTest, ThresholdsAreBoundaries) {
  VerdictThresholds t;
  EXPECT_EQ(Judge(Make(0.1, 0.25, 0, 0, 0.65), t).verdict,
            Verdict::kCpuStarved);
  EXPECT_EQ(Judge(Make(0.5, 0.24, 0, 0, 0.26), t).verdict, Verdict::kCpuBound);
  EXPECT_EQ(Judge(Make(0.049, 0, 0, 0, 0.951), t).verdict, Verdict::kIdle);
}

TEST(JudgeTest, ProcessSumsThreads) {
  WaitBreakdown p = Make(0.25, 0.75, 0, 0, 0);
  p += Make(0.25, 0.75, 0, 0, 0);
  EXPECT_EQ(p.window_ns, 20 * kSec);
  EXPECT_EQ(Judge(p).verdict, Verdict::kCpuStarved);
}

TEST(VerdictNameTest, Names) {
  EXPECT_EQ(VerdictName(Verdict::kCpuStarved), "cpu-starved");
  EXPECT_EQ(VerdictName(Verdict::kLockBound), "lock-bound");
  EXPECT_EQ(VerdictName(Verdict::kIoBound), "io-bound");
  EXPECT_EQ(VerdictName(Verdict::kBalanced), "balanced");
  EXPECT_EQ(VerdictName(Verdict::kIdle), "idle");
  EXPECT_EQ(VerdictName(Verdict::kCpuBound), "cpu-bound");
}

TEST(HistogramPercentileTest, EmptyIsZero) {
  uint64_t s[32] = {};
  EXPECT_EQ(HistogramPercentileNs(s, 32, 0.5), 0);
}

TEST(HistogramPercentileTest, InterpolatesInsideTheSlot) {
  uint64_t s[32] = {};
  s[10] = 100;  // [1024, 2048) ns
  EXPECT_DOUBLE_EQ(HistogramPercentileNs(s, 32, 0.5), 1536);
  EXPECT_DOUBLE_EQ(HistogramPercentileNs(s, 32, 1.0), 2048);
}

TEST(HistogramPercentileTest, P99LandsInTheTail) {
  uint64_t s[32] = {};
  s[10] = 98;
  s[20] = 2;  // [1 Mi, 2 Mi) ns
  EXPECT_LT(HistogramPercentileNs(s, 32, 0.5), 2048);
  const double p99 = HistogramPercentileNs(s, 32, 0.99);
  EXPECT_GE(p99, 1 << 20);
  EXPECT_LE(p99, 2 << 20);
}

}  // namespace
}  // namespace perfwire
