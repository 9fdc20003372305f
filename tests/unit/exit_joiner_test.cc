#include "agent/threads/exit_joiner.h"

#include "gtest/gtest.h"

namespace perfwire {
namespace {

constexpr uint64_t kWait = 1000;

ThreadSample Exit(uint32_t tid, uint64_t start, uint64_t cpu) {
  ThreadSample s;
  s.tid = tid;
  s.pid = 50;
  s.start_time_ns = start;
  s.counters.on_cpu_ns = cpu;
  s.counters.voluntary_switch_count = 3;
  s.counters.minor_fault_count = 10;
  s.counters.write_bytes = 4096;
  return s;
}

ThreadFinal Final(uint32_t tid, uint64_t start, uint64_t cpu) {
  ThreadFinal f;
  f.tid = tid;
  f.start_time_ns = start;
  f.on_cpu_ns = cpu;
  f.voluntary_switch_count = 4;  // the final switch
  f.involuntary_switch_count = 1;
  f.minor_fault_count = 11;
  f.major_fault_count = 0;
  return f;
}

TEST(ExitJoiner, ExitWaitsForItsFinal) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), /*now_ns=*/0);
  EXPECT_TRUE(j.TakeReady(10).empty());
  EXPECT_EQ(j.waiting(), 1u);
}

TEST(ExitJoiner, FinalCompletesTheExit) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), 0);
  j.AddFinal(Final(1, 5, 130), 0);
  auto ready = j.TakeReady(10);
  ASSERT_EQ(ready.size(), 1u);
  const ThreadCounters& c = ready[0].counters;
  EXPECT_EQ(c.on_cpu_ns, 130u);
  EXPECT_EQ(c.voluntary_switch_count, 4u);
  EXPECT_EQ(c.involuntary_switch_count, 1u);
  EXPECT_EQ(c.minor_fault_count, 11u);
  EXPECT_EQ(c.write_bytes, 4096u) << "fields the final lacks stay";
  EXPECT_EQ(ready[0].pid, 50u);
  EXPECT_EQ(j.waiting(), 0u);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 0u);
}

TEST(ExitJoiner, MissingFinalReleasesTheExitAfterTheWaitAndCountsIt) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), 0);
  EXPECT_TRUE(j.TakeReady(kWait - 1).empty());
  auto ready = j.TakeReady(kWait);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].counters.on_cpu_ns, 100u);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 1u);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 0u);
}

TEST(ExitJoiner, FinalOfAReleasedExitIsDropped) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), 0);
  ASSERT_EQ(j.TakeReady(kWait).size(), 1u);
  j.AddFinal(Final(1, 5, 130), kWait);
  EXPECT_TRUE(j.TakeReady(kWait + 1, /*flush=*/true).empty());
  EXPECT_EQ(j.early_finals(), 0u);
}

TEST(ExitJoiner, FinalWithoutExitIsDroppedAfterTheWait) {
  ExitJoiner j(kWait);
  j.AddFinal(Final(2, 5, 130), 0);
  EXPECT_EQ(j.waiting(), 0u);
  EXPECT_TRUE(j.TakeReady(kWait - 1).empty());
  EXPECT_EQ(j.early_finals(), 1u);
  EXPECT_TRUE(j.TakeReady(kWait).empty());
  EXPECT_EQ(j.early_finals(), 0u);
  // Its sample, should it come after all, waits for a final again.
  j.AddExit(Exit(2, 5, 100), kWait);
  EXPECT_TRUE(j.TakeReady(kWait + 1).empty());
}

TEST(ExitJoiner, FinalBeforeItsExitJoinsIt) {
  // The two records come through different CPUs' rings.
  ExitJoiner j(kWait);
  j.AddFinal(Final(1, 5, 130), 0);
  j.AddExit(Exit(1, 5, 100), 1);
  EXPECT_EQ(j.early_finals(), 0u);
  auto ready = j.TakeReady(2);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].counters.on_cpu_ns, 130u);
  EXPECT_EQ(ready[0].counters.voluntary_switch_count, 4u);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 0u);
}

TEST(ExitJoiner, WithoutFinalsExpectedExitsAreReadyAtOnceAndNotCounted) {
  ExitJoiner j(kWait, /*finals_expected=*/false);
  j.AddExit(Exit(1, 5, 100), 0);
  j.AddExit(Exit(2, 5, 200), 0);
  auto ready = j.TakeReady(0);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0].counters.on_cpu_ns, 100u);
  EXPECT_EQ(ready[1].counters.on_cpu_ns, 200u);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 0u);
  EXPECT_EQ(j.waiting(), 0u);
}

TEST(ExitJoiner, KeyIncludesStartTime) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), 0);
  j.AddFinal(Final(1, 6, 999), 0);  // the same tid, another thread
  EXPECT_TRUE(j.TakeReady(1).empty());
  j.AddFinal(Final(1, 5, 120), 0);
  auto ready = j.TakeReady(2);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].counters.on_cpu_ns, 120u);
}

TEST(ExitJoiner, FlushReleasesEverythingAndCountsTheUnjoined) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), 0);
  j.AddExit(Exit(2, 5, 200), 0);
  j.AddFinal(Final(2, 5, 210), 0);
  auto ready = j.TakeReady(1, /*flush=*/true);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 1u);
  EXPECT_EQ(j.waiting(), 0u);
}

TEST(ExitJoiner, ReleasesInArrivalOrderAndKeepsTheRestFindable) {
  ExitJoiner j(kWait);
  for (uint32_t tid = 1; tid <= 6; ++tid) j.AddExit(Exit(tid, 5, tid), tid);
  // Join the even ones: they leave, the odd ones move up in the queue.
  for (uint32_t tid = 2; tid <= 6; tid += 2)
    j.AddFinal(Final(tid, 5, 100 + tid), 0);
  auto first = j.TakeReady(10);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].tid, 2u);
  EXPECT_EQ(first[1].tid, 4u);
  EXPECT_EQ(first[2].tid, 6u);
  // The odd ones are still found by key after compaction.
  for (uint32_t tid = 1; tid <= 5; tid += 2)
    j.AddFinal(Final(tid, 5, 100 + tid), 0);
  auto second = j.TakeReady(11);
  ASSERT_EQ(second.size(), 3u);
  for (const ThreadSample& s : second)
    EXPECT_EQ(s.counters.on_cpu_ns, 100 + s.tid);
  EXPECT_EQ(j.TakeWithoutFinalCount(), 0u);
}

TEST(ExitJoiner, DuplicateExitKeepsTheFirst) {
  ExitJoiner j(kWait);
  j.AddExit(Exit(1, 5, 100), 0);
  j.AddExit(Exit(1, 5, 999), 0);
  EXPECT_EQ(j.waiting(), 1u);
  auto ready = j.TakeReady(kWait);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].counters.on_cpu_ns, 100u);
}

}  // namespace
}  // namespace perfwire
