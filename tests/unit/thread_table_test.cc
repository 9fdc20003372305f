#include "agent/threads/thread_table.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

constexpr uint64_t kWatchStart = 1'000'000;

ThreadSample Sample(uint32_t tid, uint64_t start, uint64_t cpu,
                    uint64_t wchar = 0) {
  ThreadSample s;
  s.tid = tid;
  s.pid = 100;
  s.start_time_ns = start;
  std::strncpy(s.comm.data(), "worker", s.comm.size());
  s.counters.on_cpu_ns = cpu;
  s.counters.write_bytes = wchar;
  return s;
}

const ThreadDelta* Find(const std::vector<ThreadDelta>& v, uint32_t tid) {
  for (const auto& d : v) {
    if (d.tid == tid) return &d;
  }
  return nullptr;
}

TEST(ThreadTable, PreexistingThreadCountsFromFirstSighting) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(1, /*start=*/10, /*cpu=*/500));
  EXPECT_TRUE(table.EndInterval().empty());
  table.ObserveLive(Sample(1, 10, 800));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 300u);
  EXPECT_FALSE(deltas[0].exited);
  EXPECT_STREQ(deltas[0].comm.data(), "worker");
}

TEST(ThreadTable, ThreadBornAfterWatchStartCountsFromZero) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(2, kWatchStart + 5, 700));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 700u);
}

TEST(ThreadTable, IdleThreadIsOmitted) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(1, 10, 500));
  table.EndInterval();
  table.ObserveLive(Sample(1, 10, 500));
  EXPECT_TRUE(table.EndInterval().empty());
  EXPECT_EQ(table.tracked_count(), 1u);
}

TEST(ThreadTable, ExitCarriesFinalCountsOnceAndFreesEntry) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(3, kWatchStart + 1, 100, 10));
  table.EndInterval();
  table.ObserveExit(Sample(3, kWatchStart + 1, 160, 25));
  table.ObserveExit(Sample(3, kWatchStart + 1, 160, 25));  // duplicate ignored
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_TRUE(deltas[0].exited);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 60u);
  EXPECT_EQ(deltas[0].delta.write_bytes, 15u);
  EXPECT_EQ(table.tracked_count(), 0u);
}

TEST(ThreadTable, BornAndDeadWithinOneIntervalLosesNothing) {
  ThreadTable table(kWatchStart);
  table.ObserveExit(Sample(4, kWatchStart + 9, 42, 1234));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].delta.write_bytes, 1234u);
  EXPECT_TRUE(deltas[0].exited);
}

TEST(ThreadTable, LiveAndExitInSameIntervalMergeIntoOneRow) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(5, kWatchStart + 1, 100));
  table.ObserveExit(Sample(5, kWatchStart + 1, 130));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 130u);
  EXPECT_TRUE(deltas[0].exited);
}

TEST(ThreadTable, ExitedKeyNeverComesBack) {
  ThreadTable table(kWatchStart);
  table.ObserveExit(Sample(6, kWatchStart + 1, 100));
  table.EndInterval();
  table.ObserveLive(Sample(6, kWatchStart + 1, 100));  // stale live sample
  EXPECT_TRUE(table.EndInterval().empty());
  EXPECT_EQ(table.tracked_count(), 0u);
}

TEST(ThreadTable, ReusedTidWithNewStartTimeIsANewThread) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(7, kWatchStart + 1, 900));
  table.ObserveExit(Sample(7, kWatchStart + 1, 950));
  table.ObserveLive(Sample(7, kWatchStart + 2, 30));  // same tid, new thread
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 950u);
  EXPECT_TRUE(deltas[0].exited);
  EXPECT_EQ(deltas[1].delta.on_cpu_ns, 30u);
  EXPECT_FALSE(deltas[1].exited);
}

TEST(ThreadTable, PreexistingThreadExitingBeforeFirstSightingReportsNoDelta) {
  ThreadTable table(kWatchStart);
  table.ObserveExit(Sample(8, /*start=*/5, 99999));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_TRUE(deltas[0].delta.IsZero());
  EXPECT_TRUE(deltas[0].exited);
}

// Partial snapshots leave out threads that did not run: they are not gone.
TEST(ThreadTable, UnseenInPartialIntervalsIsKeptUntilAFullOne) {
  ThreadTable table(kWatchStart, /*vanish_after_intervals=*/2);
  table.ObserveLive(Sample(9, 10, 1));
  table.EndInterval();
  for (int i = 0; i < 5; ++i) table.EndInterval(/*saw_every_thread=*/false);
  EXPECT_EQ(table.tracked_count(), 1u);
  table.ObserveLive(Sample(9, 10, 4));  // it ran: the delta spans the gap
  auto deltas = table.EndInterval(/*saw_every_thread=*/false);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 3u);
  table.EndInterval(/*saw_every_thread=*/true);  // seen last interval: kept
  EXPECT_EQ(table.tracked_count(), 1u);
  table.EndInterval(/*saw_every_thread=*/true);  // a full one without it
  EXPECT_EQ(table.tracked_count(), 0u);
  EXPECT_EQ(table.TakeVanishedCount(), 1u);
}

TEST(ThreadTable, VanishedThreadIsForgottenAndCounted) {
  ThreadTable table(kWatchStart, /*vanish_after_intervals=*/2);
  table.ObserveLive(Sample(9, 10, 1));
  table.EndInterval();  // interval 0: seen
  table.EndInterval();  // interval 1: unseen once
  EXPECT_EQ(table.tracked_count(), 1u);
  table.EndInterval();  // interval 2: unseen twice -> gone
  EXPECT_EQ(table.tracked_count(), 0u);
  EXPECT_EQ(table.TakeVanishedCount(), 1u);
  EXPECT_EQ(table.TakeVanishedCount(), 0u);
}

// An exit announced (NoteExiting) but reported only later, after its final
// counts, must not be vanished meanwhile: that would report the thread's
// counts twice (once up to the vanish, once again from zero at the exit).
TEST(ThreadTable, ExitingThreadIsNotVanishedWhileItsExitIsPending) {
  ThreadTable table(kWatchStart, /*vanish_after_intervals=*/2);
  table.ObserveLive(Sample(7, kWatchStart + 1, 100));
  EXPECT_EQ(table.EndInterval().size(), 1u);
  table.NoteExiting(7, kWatchStart + 1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(table.EndInterval().empty());
  EXPECT_EQ(table.TakeVanishedCount(), 0u);
  table.ObserveExit(Sample(7, kWatchStart + 1, 160));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_TRUE(deltas[0].exited);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 60u);
  EXPECT_EQ(table.tracked_count(), 0u);
}

TEST(ThreadTable, NoteExitingOfUnknownThreadIsHarmless) {
  ThreadTable table(kWatchStart);
  table.NoteExiting(9, kWatchStart + 1);
  EXPECT_EQ(table.tracked_count(), 0u);
  table.ObserveExit(Sample(9, kWatchStart + 1, 40));
  auto deltas = table.EndInterval();
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].delta.on_cpu_ns, 40u);
}

TEST(ThreadTable, CounterGoingBackwardsGivesZeroNotWraparound) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(10, 10, 500));
  table.EndInterval();
  table.ObserveLive(Sample(10, 10, 400));
  EXPECT_TRUE(table.EndInterval().empty());
}

TEST(ThreadTable, ManyThreadsChurnWithoutGrowth) {
  ThreadTable table(kWatchStart);
  for (uint32_t round = 0; round < 50; ++round) {
    for (uint32_t i = 0; i < 200; ++i) {
      const uint32_t tid = round * 200 + i;
      table.ObserveExit(Sample(tid, kWatchStart + tid + 1, 10, 1000 + i));
    }
    auto deltas = table.EndInterval();
    ASSERT_EQ(deltas.size(), 200u);
    EXPECT_EQ(Find(deltas, round * 200 + 7)->delta.write_bytes, 1007u);
  }
  EXPECT_EQ(table.tracked_count(), 0u);
}

// The order hint from the last interval must never hand one thread's entry
// to another: an exited thread's slot reused by a newcomer, a tid reused with
// a new start time, and samples arriving in a different order.
TEST(ThreadTable, StaleOrderHintsNeverMixThreads) {
  ThreadTable table(kWatchStart);
  table.ObserveLive(Sample(10, kWatchStart + 1, 100));
  table.ObserveLive(Sample(20, kWatchStart + 2, 200));
  table.ObserveLive(Sample(30, kWatchStart + 3, 300));
  table.EndInterval();
  table.ObserveExit(Sample(10, kWatchStart + 1, 150));
  table.ObserveLive(Sample(15, kWatchStart + 4, 40));  // takes 10's slot
  table.ObserveLive(Sample(20, kWatchStart + 2, 250));
  table.ObserveLive(Sample(30, kWatchStart + 3, 300));
  auto d1 = table.EndInterval();
  ASSERT_EQ(d1.size(), 3u);
  EXPECT_TRUE(Find(d1, 10)->exited);
  EXPECT_EQ(Find(d1, 10)->delta.on_cpu_ns, 50u);
  EXPECT_EQ(Find(d1, 15)->delta.on_cpu_ns, 40u);
  EXPECT_EQ(Find(d1, 20)->delta.on_cpu_ns, 50u);
  // Reverse order, and tid 30 is now a different thread (new start time).
  table.ObserveLive(Sample(30, kWatchStart + 9, 7));
  table.ObserveLive(Sample(20, kWatchStart + 2, 260));
  table.ObserveLive(Sample(15, kWatchStart + 4, 45));
  auto d2 = table.EndInterval();
  ASSERT_EQ(d2.size(), 3u);
  EXPECT_EQ(Find(d2, 30)->delta.on_cpu_ns, 7u);
  EXPECT_EQ(Find(d2, 20)->delta.on_cpu_ns, 10u);
  EXPECT_EQ(Find(d2, 15)->delta.on_cpu_ns, 5u);
  // In order again: every hint is from the reversed interval.
  table.ObserveLive(Sample(15, kWatchStart + 4, 46));
  table.ObserveLive(Sample(20, kWatchStart + 2, 261));
  table.ObserveLive(Sample(30, kWatchStart + 9, 8));
  auto d3 = table.EndInterval();
  ASSERT_EQ(d3.size(), 3u);
  for (uint32_t tid : {15u, 20u, 30u})
    EXPECT_EQ(Find(d3, tid)->delta.on_cpu_ns, 1u);
  // The old tid-30 thread, unseen for 3 intervals, is forgotten as vanished.
  table.EndInterval();
  EXPECT_EQ(table.tracked_count(), 3u);
  EXPECT_EQ(table.TakeVanishedCount(), 1u);
}

}  // namespace
}  // namespace perfwire
