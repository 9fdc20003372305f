#include "clients/lib/frame_summary.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::TestThread;
using ::perfwire::testing::Thread;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(FrameSummary, HeaderAndTopThreadsByCpu) {
  TestFrame spec;
  spec.seq = 9;
  spec.interval_ns = 2'000'000'000;
  spec.with_sources = true;
  for (uint32_t i = 1; i <= 7; ++i) {
    TestThread t = Thread(i, 1, "t" + std::to_string(i), i * 100'000'000ull);
    t.voluntary_switch_count = 10;
    t.minor_fault_count = 4;
    t.read_bytes = 2048;
    t.exited = i == 2;
    spec.threads.push_back(t);
  }
  auto message = BuildFrame(spec);
  const std::string text =
      FormatFrameSummary(*fb::GetSizePrefixedFrame(message->data()), 5);
  EXPECT_THAT(text, HasSubstr("seq 9  interval 2.000s  threads 7 (1 exited)"));
  EXPECT_THAT(text, HasSubstr("threads tp_btf; io unavailable: no BTF"));
  // tid 7: 0.7 s of 2 s = 35%, 10 switches / 2 s, 4 faults / 2 s, 1 KiB/s.
  EXPECT_THAT(
      text, ::testing::ContainsRegex("\n +7 +1 t7 +35.0 +5.0 +2.0 +1.0K +0\n"));
  EXPECT_THAT(text, HasSubstr(" t3 "));
  EXPECT_THAT(text, Not(HasSubstr(" t2 ")));
  EXPECT_THAT(text, Not(HasSubstr(" t1 ")));
}

TEST(FrameSummary, ZeroIntervalShowsNoRates) {
  TestFrame spec;
  spec.interval_ns = 0;
  spec.threads.push_back(Thread(3, 0, "x", 5));
  auto message = BuildFrame(spec);
  const std::string text =
      FormatFrameSummary(*fb::GetSizePrefixedFrame(message->data()), 5);
  EXPECT_THAT(text, ::testing::ContainsRegex("\n +3 +0 x +- +- +- +- +-\n"));
}

}  // namespace
}  // namespace perfwire
