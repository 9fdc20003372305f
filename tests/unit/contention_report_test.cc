#include "clients/lib/contention_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "tests/unit/python_parse.h"

namespace perfwire {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSec = 1000000000ull;

// One 1 s frame: tid 11 (pid 10, "spin") starved, tid 21 (pid 20, "db")
// lock-bound, and 21 woke 11 five times.
flatbuffers::DetachedBuffer MakeFrame(bool exit_db = false) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::Thread>> threads = {
      fb::CreateThreadDirect(fbb, 11, 10, "spin", 0, false, kSec / 4),
      fb::CreateThreadDirect(fbb, 21, 20, "db", 0, exit_db, kSec / 10)};
  std::vector<uint64_t> hist(20, 0);
  hist[19] = 10;
  std::vector<flatbuffers::Offset<fb::ThreadContention>> rows;
  {
    auto h = fbb.CreateVector(hist);
    fb::ThreadContentionBuilder b(fbb);
    b.add_tid(11);
    b.add_pid(10);
    b.add_run_queue_wait_ns(kSec * 3 / 4);
    b.add_run_queue_wait_count(10);
    b.add_run_queue_wait_log2_ns_count(h);
    rows.push_back(b.Finish());
  }
  {
    fb::ThreadContentionBuilder b(fbb);
    b.add_tid(21);
    b.add_pid(20);
    b.add_exited(exit_db);
    b.add_futex_sleep_ns(kSec * 8 / 10);
    b.add_futex_sleep_count(100);
    rows.push_back(b.Finish());
  }
  std::vector<flatbuffers::Offset<fb::WakeEdge>> edges = {
      fb::CreateWakeEdge(fbb, 21, 20, 11, 10, 5)};
  auto tv = fbb.CreateVector(threads);
  auto rv = fbb.CreateVector(rows);
  auto ev = fbb.CreateVector(edges);
  auto stats = fb::CreateContentionStats(fbb, true, 5, 1, 0, 0, 1);
  fb::FrameBuilder f(fbb);
  f.add_interval_ns(kSec);
  f.add_threads(tv);
  f.add_thread_contention(rv);
  f.add_wake_edges(ev);
  f.add_contention(stats);
  fbb.Finish(f.Finish());
  return fbb.Release();
}

TEST(ContentionReportTest, RanksJudgesAndRenders) {
  ContentionAggregator agg({});
  for (int i = 0; i < 2; ++i) {
    auto buf = MakeFrame();
    agg.Add(*fb::GetFrame(buf.data()));
  }
  ContentionReport r = agg.Finish();
  EXPECT_TRUE(r.source_seen);
  EXPECT_EQ(r.window_ns, 2 * kSec);
  ASSERT_EQ(r.threads.size(), 2u);
  EXPECT_EQ(r.threads[0].tid, 21u);  // 1.6 s lost waiting beats 1.5 s
  EXPECT_EQ(r.threads[0].judgement.verdict, Verdict::kLockBound);
  EXPECT_EQ(r.threads[1].judgement.verdict, Verdict::kCpuStarved);
  EXPECT_GE(r.threads[1].run_queue_p50_ns, 1 << 19);
  EXPECT_LE(r.threads[1].run_queue_p99_ns, 1 << 20);
  ASSERT_EQ(r.edges.size(), 1u);
  EXPECT_EQ(r.edges[0].waker_comm, "db");
  EXPECT_EQ(r.edges[0].wakee_comm, "spin");
  EXPECT_EQ(r.edges[0].wakeup_count, 10u);
  EXPECT_EQ(r.lost_event_count, 2u);
  ASSERT_EQ(r.processes.size(), 2u);
  EXPECT_EQ(r.processes[0].comm, "db");

  const std::string text = RenderContentionText(r, {});
  EXPECT_THAT(text, HasSubstr("lock-bound"));
  EXPECT_THAT(text, HasSubstr("db/21 -> spin/11: 10"));
  const std::string json = RenderContentionJson(r);
  EXPECT_THAT(json, HasSubstr("\"verdict\":\"cpu-starved\""));
  EXPECT_THAT(json, HasSubstr("\"run_queue_wait_ns\":1500000000"));
}

TEST(ContentionReportTest, FiltersByPidAndComm) {
  auto buf = MakeFrame();
  ContentionReportOptions by_pid;
  by_pid.pid = 10;
  ContentionAggregator a(by_pid);
  a.Add(*fb::GetFrame(buf.data()));
  ContentionReport r = a.Finish();
  ASSERT_EQ(r.threads.size(), 1u);
  EXPECT_EQ(r.threads[0].tid, 11u);
  EXPECT_EQ(r.edges.size(), 1u);  // an edge touching the process stays

  ContentionReportOptions by_comm;
  by_comm.comm = "db";
  ContentionAggregator b(by_comm);
  b.Add(*fb::GetFrame(buf.data()));
  ASSERT_EQ(b.Finish().threads.size(), 1u);
  EXPECT_EQ(b.Finish().threads[0].tid, 21u);
}

TEST(ContentionReportTest, ExitedThreadWindowEndsAtExit) {
  ContentionAggregator agg({});
  auto exit_frame = MakeFrame(/*exit_db=*/true);
  agg.Add(*fb::GetFrame(exit_frame.data()));
  // A later frame without rows: tid 11 (alive) still spans it, tid 21 not.
  flatbuffers::FlatBufferBuilder fbb;
  fb::FrameBuilder f(fbb);
  f.add_interval_ns(kSec);
  fbb.Finish(f.Finish());
  agg.Add(*fb::GetFrame(fbb.GetBufferPointer()));
  ContentionReport r = agg.Finish();
  for (const auto& t : r.threads) {
    if (t.tid == 21) {
      EXPECT_TRUE(t.exited);
      EXPECT_EQ(t.time.window_ns, kSec);
    }
    if (t.tid == 11) {
      EXPECT_EQ(t.time.window_ns, 2 * kSec);
    }
  }
}

TEST(ContentionReportTest, NoContentionSectionsSaysHowToEnable) {
  flatbuffers::FlatBufferBuilder fbb;
  fb::FrameBuilder f(fbb);
  f.add_interval_ns(kSec);
  fbb.Finish(f.Finish());
  ContentionAggregator agg({});
  agg.Add(*fb::GetFrame(fbb.GetBufferPointer()));
  ContentionReport r = agg.Finish();
  EXPECT_FALSE(r.source_seen);
  EXPECT_THAT(RenderContentionText(r, {}), HasSubstr("--contention"));
  EXPECT_THAT(RenderContentionJson(r),
              HasSubstr("\"contention_available\":false"));
}

// Thread names come from any local process: the report stays valid JSON.
TEST(ContentionReportTest, JsonWithHostileNamesParsesInPython) {
  ContentionReport r;
  r.source_seen = true;
  r.source_reason = "tp_btf";
  ThreadReport t;
  t.tid = 7;
  t.comm = "\xff\xfe=cmd|' /C calc'!A0\n\"";
  t.run_queue_p50_ns = 1.5e-13;
  t.run_queue_p99_ns = std::numeric_limits<double>::quiet_NaN();
  r.threads.push_back(t);
  EdgeReport e;
  e.waker_comm = "\x80";
  e.wakee_comm = "ok";
  r.edges.push_back(e);
  const std::string json = RenderContentionJson(r);
  const testing::PythonResult parsed =
      testing::RunPython(std::string(testing::kStrictJsonLines) + R"(
    report = json.loads(line)
    t = report['threads'][0]
    print(repr(t['comm']), t['run_queue_p50_ns'], t['run_queue_p99_ns'],
          repr(report['wake_edges'][0]['waker_comm']))
)",
                         json);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.out << "\n" << json;
  EXPECT_THAT(
      parsed.out,
      HasSubstr("'\ufffd\ufffd=cmd|\\' /C calc\\'!A0\\n\"' 1.5e-13 None "
                "'\ufffd'"))
      << parsed.out;
}

}  // namespace
}  // namespace perfwire
