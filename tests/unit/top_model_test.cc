#include "clients/lib/top_model.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::Thread;

std::vector<TopRow> Rows() {
  TestFrame spec;
  spec.interval_ns = 2'000'000'000;
  auto a = Thread(100, 100, "server", 1'000'000'000);
  a.voluntary_switch_count = 10;
  auto b = Thread(101, 100, "worker", 500'000'000);
  b.minor_fault_count = 400;
  b.read_bytes = 4096;
  auto c = Thread(200, 200, "spinner", 1'800'000'000);
  auto gone = Thread(300, 300, "gone", 1);
  gone.exited = true;
  spec.threads = {a, b, c, gone};
  const auto buffer = BuildFrame(spec);
  return BuildThreadRows(*fb::GetSizePrefixedFrame(buffer->data()));
}

TEST(TopModelTest, RatesPerSecondAndExitedLeftOut) {
  const std::vector<TopRow> rows = Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_DOUBLE_EQ(rows[0].cpu_percent, 50.0);
  EXPECT_DOUBLE_EQ(rows[0].switch_per_sec, 5.0);
  EXPECT_DOUBLE_EQ(rows[1].fault_per_sec, 200.0);
  EXPECT_DOUBLE_EQ(rows[1].read_bytes_per_sec, 2048.0);
  EXPECT_FALSE(rows[0].run_queue_wait_percent.has_value());
}

TEST(TopModelTest, SortAndFilter) {
  std::vector<TopRow> rows = Rows();
  SortRows(rows, TopSort::kCpu);
  EXPECT_EQ(rows[0].comm, "spinner");
  SortRows(rows, TopSort::kFaults);
  EXPECT_EQ(rows[0].comm, "worker");
  SortRows(rows, TopSort::kSwitches);
  EXPECT_EQ(rows[0].comm, "server");
  SortRows(rows, TopSort::kIo);
  EXPECT_EQ(rows[0].comm, "worker");
  EXPECT_EQ(FilterRows(rows, "SPIN").size(), 1u);
  EXPECT_EQ(FilterRows(rows, "100").size(), 2u);  // pid
  EXPECT_EQ(FilterRows(rows, "101").size(), 1u);  // tid
  EXPECT_EQ(FilterRows(rows, "").size(), 3u);
  EXPECT_TRUE(FilterRows(rows, "nomatch").empty());
}

TEST(TopModelTest, AggregateByProcess) {
  std::vector<TopRow> procs = AggregateByProcess(Rows());
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0].pid, 100u);
  EXPECT_EQ(procs[0].comm, "server");
  EXPECT_EQ(procs[0].thread_count, 2);
  EXPECT_DOUBLE_EQ(procs[0].cpu_percent, 75.0);
  EXPECT_EQ(procs[0].tid, 0u);
}

TEST(TopModelTest, SparklineAndBytes) {
  EXPECT_EQ(Sparkline({0, 50, 100}, 100, 5), "   +@");
  EXPECT_EQ(Sparkline({0, 100, 100, 100}, 100, 2), "@@");
  EXPECT_EQ(HumanBytes(512), "512");
  EXPECT_EQ(HumanBytes(1536), "1.5K");
}

TEST(TopModelTest, HeaderWithoutHostSections) {
  TestFrame spec;
  spec.seq = 9;
  const auto buffer = BuildFrame(spec);
  const TopHeader h = BuildHeader(*fb::GetSizePrefixedFrame(buffer->data()));
  EXPECT_EQ(h.seq, 9u);
  EXPECT_EQ(h.hostname, "testhost");
  EXPECT_FALSE(h.cpu_busy_percent.has_value());
  EXPECT_FALSE(h.net_receive_bytes_per_sec.has_value());
}

}  // namespace
}  // namespace perfwire
