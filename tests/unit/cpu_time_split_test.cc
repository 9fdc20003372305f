// base/cpu_time_split: CPU shares from elapsed time and idle, not from the
// busy ticks' own sum (PLATFORM.md, "Host CPU accounting trap").

#include "base/cpu_time_split.h"

#include "gtest/gtest.h"

namespace perfwire {
namespace {

TEST(SplitCpuTime, BusyIsOneMinusIdleOverElapsedNotTicksOverTheirSum) {
  // 1000 ticks elapsed; idle exact at 520; the busy modes were sampled as
  // 400 ticks (0.92 of the 1000 accounted for), user 300, system 100.
  CpuModeDeltas d;
  d.idle = 520;
  d.user = 300;
  d.system = 100;
  const CpuModeShares s = SplitCpuTime(d, 1000);
  EXPECT_DOUBLE_EQ(s.idle, 0.52);
  EXPECT_DOUBLE_EQ(s.busy, 0.48);  // busy over the ticks' sum would be 0.435
  EXPECT_DOUBLE_EQ(s.user, 0.36);
  EXPECT_DOUBLE_EQ(s.system, 0.12);
}

TEST(SplitCpuTime, GuestIsOutOfUserAndTheModesSumToOne) {
  CpuModeDeltas d;
  d.user = 60;  // includes 20 of guest
  d.guest = 20;
  d.nice = 10;  // includes 10 of guest_nice
  d.guest_nice = 10;
  d.idle = 10;
  const CpuModeShares s = SplitCpuTime(d, 80);
  EXPECT_DOUBLE_EQ(s.user + s.nice + s.guest + s.guest_nice + s.idle, 1.0);
  EXPECT_DOUBLE_EQ(s.user, s.guest * 2);
  EXPECT_DOUBLE_EQ(s.nice, 0);
}

TEST(SplitCpuTime, MoreTicksThanElapsedUseTheirSum) {
  CpuModeDeltas d;
  d.idle = 50;
  d.user = 100;
  const CpuModeShares s = SplitCpuTime(d, 100);  // 150 accounted
  EXPECT_DOUBLE_EQ(s.idle + s.user, 1.0);
}

TEST(SplitCpuTime, NoBusyTickMeansNoBusyTimeAndTheSharesSumToOne) {
  // 97 ms on 2 CPUs, idle rounded down to 180 ms by USER_HZ: no busy mode
  // sampled, so the 5% gap is rounding, not time without a mode.
  CpuModeDeltas d;
  d.idle = 180;
  d.iowait = 10;
  const CpuModeShares s = SplitCpuTime(d, 194);
  EXPECT_DOUBLE_EQ(s.idle + s.iowait, 1.0);
  EXPECT_EQ(s.busy, 0);
}

TEST(SplitCpuTime, NothingElapsedIsAllZero) {
  const CpuModeShares s = SplitCpuTime({}, 0);
  EXPECT_EQ(s.busy, 0);
  EXPECT_EQ(s.idle, 0);
}

}  // namespace
}  // namespace perfwire
