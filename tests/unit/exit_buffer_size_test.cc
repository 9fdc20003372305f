#include <bit>

#include "agent/threads/thread_source.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

TEST(ExitBufferBytesFor, RoundsDownToAPowerOfTwo) {
  // 32768 threads x (128 + 56 + 16) bytes = 6.25 MiB -> 4 MiB.
  EXPECT_EQ(ExitBufferBytesFor(32768), 4u << 20);
  EXPECT_TRUE(std::has_single_bit(ExitBufferBytesFor(100000)));
}

TEST(ExitBufferBytesFor, StaysWithinItsBounds) {
  EXPECT_EQ(ExitBufferBytesFor(0), 256u << 10);
  EXPECT_EQ(ExitBufferBytesFor(10), 256u << 10);
  EXPECT_EQ(ExitBufferBytesFor(1u << 22), 16u << 20);
}

}  // namespace
}  // namespace perfwire
