#include "agent/server/frame_queue.h"

#include <thread>

#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::FrameWithSeq;
using ::perfwire::testing::TestFrame;

FrameQueue::Frame Frame(uint64_t seq) { return FrameWithSeq(seq); }

uint64_t SeqOf(const FrameQueue::Frame& frame) {
  return fb::GetSizePrefixedFrame(frame->data())->seq();
}

TEST(FrameQueue, DeliversInOrder) {
  FrameQueue queue(4);
  for (uint64_t seq = 0; seq < 3; ++seq) queue.Push(Frame(seq));
  for (uint64_t seq = 0; seq < 3; ++seq) {
    std::optional<FrameQueue::Popped> popped = queue.Pop();
    ASSERT_TRUE(popped.has_value());
    EXPECT_EQ(SeqOf(popped->frame), seq);
    EXPECT_EQ(popped->dropped_count, 0u);
  }
}

TEST(FrameQueue, WhenFullDropsOldestAndCounts) {
  FrameQueue queue(2);
  for (uint64_t seq = 0; seq < 5; ++seq) queue.Push(Frame(seq));
  EXPECT_EQ(queue.dropped_count(), 3u);
  std::optional<FrameQueue::Popped> first = queue.Pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(SeqOf(first->frame), 3u);
  EXPECT_EQ(first->dropped_count, 3u);
  std::optional<FrameQueue::Popped> second = queue.Pop();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(SeqOf(second->frame), 4u);
}

TEST(FrameQueue, ZeroCapacityHoldsOne) {
  FrameQueue queue(0);
  queue.Push(Frame(0));
  queue.Push(Frame(1));
  EXPECT_EQ(queue.dropped_count(), 1u);
  EXPECT_EQ(SeqOf(queue.Pop()->frame), 1u);
}

TEST(FrameQueue, CloseWakesBlockedPopAndDiscards) {
  FrameQueue queue(2);
  std::optional<FrameQueue::Popped> result = FrameQueue::Popped{};
  std::thread consumer([&] { result = queue.Pop(); });
  queue.Close();
  consumer.join();
  EXPECT_FALSE(result.has_value());
  queue.Push(Frame(1));
  EXPECT_FALSE(queue.Pop().has_value());
}

}  // namespace
}  // namespace perfwire
