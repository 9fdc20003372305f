#include "agent/contention/contention_section.h"

#include <gtest/gtest.h>

#include "agent/frame_builder.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

ThreadContentionDelta Row(uint32_t tid, uint64_t rq_ns, bool exited = false) {
  ThreadContentionDelta d;
  d.tid = tid;
  d.pid = 100;
  d.start_time_ns = 7;
  d.exited = exited;
  d.delta.run_queue_wait_ns = rq_ns;
  d.delta.run_queue_wait_count = 1;
  d.delta.run_queue_wait_hist[3] = 1;
  return d;
}

TEST(MergeThreadRowsTest, LiveAndExitRowsOfOneThreadBecomeOne) {
  auto out =
      MergeThreadRows({Row(5, 10), Row(4, 1), Row(5, 20, /*exited=*/true)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tid, 4u);
  EXPECT_EQ(out[1].tid, 5u);
  EXPECT_EQ(out[1].delta.run_queue_wait_ns, 30u);
  EXPECT_EQ(out[1].delta.run_queue_wait_hist[3], 2u);
  EXPECT_TRUE(out[1].exited);
}

TEST(MergeThreadRowsTest, ReusedTidWithNewStartTimeStaysSeparate) {
  ThreadContentionDelta b = Row(5, 20);
  b.start_time_ns = 99;
  EXPECT_EQ(MergeThreadRows({Row(5, 10, true), b}).size(), 2u);
}

TEST(TopEdgesTest, KeepsTheBusiestDeterministically) {
  std::vector<WakeEdgeCount> e = {
      {1, 1, 2, 2, 5}, {3, 3, 4, 4, 50}, {1, 1, 9, 9, 5}, {7, 7, 8, 8, 1}};
  auto top = TopEdges(e, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].count, 50u);
  EXPECT_EQ(top[1].wakee_tid, 2u);  // tie on 5: lower wakee first
  EXPECT_EQ(top[2].wakee_tid, 9u);
}

TEST(DeltasTest, DisksAndCpusDiffAndDropIdleRows) {
  DiskLatencyTotals a{.dev = (253u << 20) | 0,
                      .name = "vda",
                      .request_count = 10,
                      .latency_total_ns = 1000,
                      .hist = {}};
  a.hist[9] = 10;
  DiskLatencyTotals b = a;
  b.request_count = 15;
  b.latency_total_ns = 1600;
  b.hist[9] = 15;
  DiskLatencyTotals fresh{.dev = 7,
                          .name = "loop0",
                          .request_count = 1,
                          .latency_total_ns = 5,
                          .hist = {}};
  auto d = DiskDeltas({a}, {b, fresh});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "loop0");  // sorted by dev
  EXPECT_EQ(d[1].request_count, 5u);
  EXPECT_EQ(d[1].latency_total_ns, 600u);
  EXPECT_EQ(d[1].hist[9], 5u);
  EXPECT_TRUE(DiskDeltas({b}, {b}).empty());

  CpuRunQueueTotals c0{
      .cpu = 0, .wait_count = 3, .wait_total_ns = 30, .hist = {}};
  CpuRunQueueTotals c1 = c0;
  c1.wait_count = 5;
  c1.wait_total_ns = 70;
  auto c = CpuDeltas({c0}, {c1});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].wait_count, 2u);
  EXPECT_EQ(c[0].wait_total_ns, 40u);
}

TEST(BuildContentionSectionsTest, FrameCarriesEverythingAndCountsDroppedPairs) {
  flatbuffers::FlatBufferBuilder fbb;
  ContentionInterval in;
  in.threads = {Row(5, 10)};
  in.edges = {{1, 1, 2, 2, 5}, {3, 3, 4, 4, 50}, {7, 7, 8, 8, 1}};
  in.lost.wake_edges = 2;
  in.futex_syscalls_measured = true;
  FrameSections s;
  BuildContentionSections(fbb, in, 2, s);
  FinishFrame(fbb, FrameHeader{}, s);
  const fb::Frame* frame = fb::GetSizePrefixedFrame(fbb.GetBufferPointer());
  ASSERT_EQ(frame->thread_contention()->size(), 1u);
  const fb::ThreadContention* t = frame->thread_contention()->Get(0);
  EXPECT_EQ(t->run_queue_wait_ns(), 10u);
  ASSERT_EQ(t->run_queue_wait_log2_ns_count()->size(),
            4u);  // trailing zeros trimmed
  EXPECT_EQ(t->run_queue_wait_log2_ns_count()->Get(3), 1u);
  ASSERT_EQ(frame->wake_edges()->size(), 2u);
  EXPECT_EQ(frame->wake_edges()->Get(0)->wakeup_count(), 50u);
  EXPECT_EQ(frame->contention()->wakeup_count(), 56u);
  EXPECT_EQ(frame->contention()->wake_edge_count(), 3u);
  EXPECT_EQ(frame->contention()->dropped_wake_edge_count(), 1u);
  EXPECT_EQ(frame->contention()->dropped_wakeup_count(), 1u);
  EXPECT_EQ(frame->contention()->lost_wake_edge_count(), 2u);
  EXPECT_TRUE(frame->contention()->futex_syscalls_measured());
  EXPECT_EQ(frame->disk_latency()->size(),
            0u);  // present, empty: source ran, no IO
}

}  // namespace
}  // namespace perfwire
