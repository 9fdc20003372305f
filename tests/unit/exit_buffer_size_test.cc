#include <bit>

#include "agent/contention/contention_bpf.h"
#include "agent/threads/thread_source.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

TEST(ExitBufferBytesFor, RoundsDownToAPowerOfTwo) {
  // 32768 threads x (128 + 56) bytes = 5.75 MiB -> 4 MiB.
  EXPECT_EQ(ExitBufferBytesFor(32768), 4u << 20);
  EXPECT_TRUE(std::has_single_bit(ExitBufferBytesFor(100000)));
}

TEST(ExitBufferBytesFor, StaysWithinItsBounds) {
  EXPECT_EQ(ExitBufferBytesFor(0), 256u << 10);
  EXPECT_EQ(ExitBufferBytesFor(10), 256u << 10);
  EXPECT_EQ(ExitBufferBytesFor(1u << 22), 16u << 20);
}

TEST(ExitSlotsPerCpu, SplitsTheBufferOverCpusInPowersOfTwo) {
  // 4 MiB / (2 x 184 bytes) = 11,397 -> 8,192 slots per CPU.
  EXPECT_EQ(ExitSlotsPerCpu(4u << 20, 2), 8192u);
  EXPECT_EQ(ExitSlotsPerCpu(4u << 20, 64), 256u);
  EXPECT_TRUE(std::has_single_bit(ExitSlotsPerCpu(123456789, 7)));
}

TEST(ExitSlotsPerCpu, NeverBelow64) {
  EXPECT_EQ(ExitSlotsPerCpu(0, 2), 64u);
  EXPECT_EQ(ExitSlotsPerCpu(4096, 512), 64u);
  EXPECT_EQ(ExitSlotsPerCpu(4096, 0), 64u);
}

TEST(ContentionExitSlotsPerCpu, SplitsTheBufferOverCpusAndBothKinds) {
  static_assert(sizeof(pw_ct_record) == 392);
  // 1 MiB / (2 CPUs x 2 kinds x 392 bytes) = 668 -> 512 slots per CPU.
  EXPECT_EQ(ContentionExitSlotsPerCpu(1u << 20, 2), 512u);
  EXPECT_EQ(ContentionExitSlotsPerCpu(16u << 10, 2), 8u);  // 10 -> 8
  EXPECT_EQ(ContentionExitSlotsPerCpu(4096, 0), 4u);       // as one CPU
  EXPECT_TRUE(std::has_single_bit(ContentionExitSlotsPerCpu(123456789, 7)));
}

TEST(ContentionExitSlotsPerCpu, NeverBelowTwo) {
  EXPECT_EQ(ContentionExitSlotsPerCpu(0, 2), 2u);
  EXPECT_EQ(ContentionExitSlotsPerCpu(4096, 512), 2u);
}

}  // namespace
}  // namespace perfwire
