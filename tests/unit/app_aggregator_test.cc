#include "agent/app_metrics/app_aggregator.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/app_metrics/distinct_counter.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

constexpr uint64_t kSec = 1000000000;

class AppAggregatorTest : public ::testing::Test {
 protected:
  AppAggregator::AddResult Add(std::string_view text, uint32_t pid = 7,
                               uint64_t now = 0) {
    StatsdLine line;
    const char* why = ParseStatsdLine(text, &line);
    EXPECT_EQ(why, nullptr) << text;
    return agg_.Add(line, pid, now);
  }
  // The interval's series, copied out.
  struct Seen {
    std::string name;
    AppMetricKind kind;
    std::vector<std::pair<std::string, std::string>> tags;
    uint32_t pid;
    uint64_t sample_count;
    double value, count, sum, min, max, p50, p99;
    bool gauge_updated;
    uint64_t distinct;
  };
  std::vector<Seen> End(uint64_t now = 0) {
    std::vector<Seen> out;
    agg_.EndInterval(now, [&](const AppSeries& s) {
      out.push_back({s.name, s.kind, s.tags, s.pid, s.sample_count, s.value,
                     s.weighted_count, s.sum, s.min, s.max,
                     s.sketch ? s.sketch->Quantile(0.5) : 0,
                     s.sketch ? s.sketch->Quantile(0.99) : 0, s.gauge_updated,
                     s.distinct ? s.distinct->Count() : 0});
    });
    return out;
  }
  AppAggregatorLimits limits_;
  AppAggregator agg_{limits_};
};

TEST_F(AppAggregatorTest, CountersSumScaledBySampleRate) {
  Add("hits:1|c");
  Add("hits:2|c");
  Add("hits:1|c|@0.1");  // stands for 10
  Add("hits:3|c|@0.5");  // stands for 6
  auto s = End();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_DOUBLE_EQ(s[0].value, 1 + 2 + 10 + 6);
  EXPECT_EQ(s[0].sample_count, 4u);
  // Counters restart each interval and vanish when nothing is sent.
  EXPECT_TRUE(End().empty());
  Add("hits:5|c");
  EXPECT_DOUBLE_EQ(End()[0].value, 5);
}

TEST_F(AppAggregatorTest, GaugesSetMoveAndPersist) {
  limits_.signed_gauge = SignedGauge::kDelta;
  agg_ = AppAggregator(limits_);
  Add("q:10|g");
  Add("q:+5|g");
  Add("q:-3|g");
  auto s = End(1 * kSec);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_DOUBLE_EQ(s[0].value, 12);
  EXPECT_TRUE(s[0].gauge_updated);
  // Next interval: nothing sent, the gauge keeps its value.
  s = End(2 * kSec);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_DOUBLE_EQ(s[0].value, 12);
  EXPECT_FALSE(s[0].gauge_updated);
  EXPECT_EQ(s[0].sample_count, 0u);
  // A delta moves the carried value; an absolute value replaces it.
  Add("q:+1|g", 7, 3 * kSec);
  EXPECT_DOUBLE_EQ(End(3 * kSec)[0].value, 13);
  Add("q:4|g", 7, 4 * kSec);
  EXPECT_DOUBLE_EQ(End(4 * kSec)[0].value, 4);
  // A delta on a new gauge starts from 0.
  Add("fresh:-2|g", 7, 4 * kSec);
  s = End(4 * kSec);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "fresh");
  EXPECT_DOUBLE_EQ(s[0].value, -2);
}

// Issue 15.6: DogStatsD (and hot-shots, aiodogstatsd, go-statsd-client,
// which send a negative gauge as "-7|g") mean "set"; that is the default.
TEST_F(AppAggregatorTest, SignedGaugesSetByDefault) {
  EXPECT_EQ(AppAggregatorLimits().signed_gauge, SignedGauge::kSet);
  Add("q:10|g");
  Add("q:-7|g");
  Add("up:+3|g");
  auto s = End();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "q");
  EXPECT_DOUBLE_EQ(s[0].value, -7);
  EXPECT_DOUBLE_EQ(s[1].value, 3);
  Add("q:+2|g");
  EXPECT_DOUBLE_EQ(End()[0].value, 2);
}

// Issue 15.2: a sum that overflows is rejected whole (never inf or nan in a
// frame), the series keeps its previous value, and a new series is not
// created by a line that overflows on its own.
TEST_F(AppAggregatorTest, OverflowingValuesAreRejectedNotEmitted) {
  limits_.signed_gauge = SignedGauge::kDelta;
  agg_ = AppAggregator(limits_);
  using R = AppAggregator::AddResult;
  EXPECT_EQ(Add("g:1e308|g"), R::kOk);
  EXPECT_EQ(Add("g:+1e308|g"), R::kNotFinite);
  EXPECT_EQ(Add("g:-1e308|g"), R::kOk);
  EXPECT_EQ(Add("c:1.5e308|c"), R::kOk);
  EXPECT_EQ(Add("c:1e308|c"), R::kNotFinite);
  EXPECT_EQ(Add("c:1:1e308:1e308|c"), R::kNotFinite);  // whole line rejected
  EXPECT_EQ(Add("c:2|c"), R::kOk);
  EXPECT_EQ(Add("r:1e308|c|@0.1"), R::kNotFinite);  // scaled by 1/rate
  EXPECT_EQ(Add("t:1e308:1e308|ms"), R::kNotFinite);
  EXPECT_EQ(Add("t:5|ms"), R::kOk);
  EXPECT_EQ(Add("w:0|d|@1e-320"), R::kNotFinite);  // 1/rate is inf
  EXPECT_EQ(Add("fresh:+1e308:+1e308|g"), R::kNotFinite);
  const auto s = End();
  ASSERT_EQ(s.size(), 3u);  // r, w and fresh were never created
  EXPECT_EQ(s[0].name, "c");
  EXPECT_DOUBLE_EQ(s[0].value, 1.5e308 + 2);
  EXPECT_EQ(s[0].sample_count, 2u);
  EXPECT_EQ(s[1].name, "g");
  EXPECT_DOUBLE_EQ(s[1].value, 0);
  EXPECT_EQ(s[2].name, "t");
  EXPECT_EQ(s[2].sample_count, 1u);
  EXPECT_DOUBLE_EQ(s[2].sum, 5);
  EXPECT_DOUBLE_EQ(s[2].max, 5);
  for (const Seen& x : s) {
    EXPECT_TRUE(std::isfinite(x.value) && std::isfinite(x.sum) &&
                std::isfinite(x.count))
        << x.name;
  }
  EXPECT_EQ(agg_.series_count(), 1u);  // only the gauge carries over
}

TEST_F(AppAggregatorTest, IdleGaugesExpire) {
  limits_.gauge_ttl_ns = 10 * kSec;
  agg_ = AppAggregator(limits_);
  Add("q:1|g", 7, 0);
  EXPECT_EQ(End(5 * kSec).size(), 1u);
  EXPECT_EQ(End(9 * kSec).size(), 1u);
  EXPECT_EQ(End(10 * kSec).size(), 1u);  // reported, then dropped
  EXPECT_TRUE(End(11 * kSec).empty());
  EXPECT_EQ(agg_.series_count(), 0u);
  EXPECT_EQ(agg_.reserved_bytes(), 0u);
}

TEST_F(AppAggregatorTest, GaugesOfExitedSendersAreForgotten) {
  Add("q:1|g", 100);
  Add("q:2|g", 200);
  Add("q:3|g", 0);  // unknown sender (UDP): kept until the TTL
  EXPECT_EQ(End().size(), 3u);
  agg_.ForgetExitedSenders([](uint32_t pid) { return pid != 100; });
  auto s = End();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].pid, 0u);
  EXPECT_EQ(s[1].pid, 200u);
}

TEST_F(AppAggregatorTest, TimingsSummarized) {
  for (int i = 1; i <= 100; ++i) Add(absl::StrCat("lat:", i, "|ms"));
  Add("lat:1000|ms|@0.5");  // stands for two samples of 1000
  auto s = End();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, AppMetricKind::kTiming);
  EXPECT_EQ(s[0].sample_count, 101u);
  EXPECT_DOUBLE_EQ(s[0].count, 102);
  EXPECT_DOUBLE_EQ(s[0].sum, 5050 + 2000);
  EXPECT_EQ(s[0].min, 1);
  EXPECT_EQ(s[0].max, 1000);
  EXPECT_NEAR(s[0].p50, 51, 0.51);  // nearest rank of 101 samples: 51st
  EXPECT_NEAR(s[0].p99, 100, 1.0);  // 100th of 101
}

TEST_F(AppAggregatorTest, MultiValuePacketsAndKindsAreSeparateSeries) {
  Add("x:1:2:3|h");
  Add("x:4|d");
  Add("x:4|c");
  auto s = End();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].kind, AppMetricKind::kCounter);
  EXPECT_EQ(s[1].kind, AppMetricKind::kHistogram);
  EXPECT_EQ(s[1].sample_count, 3u);
  EXPECT_DOUBLE_EQ(s[1].sum, 6);
  EXPECT_EQ(s[2].kind, AppMetricKind::kDistribution);
}

TEST_F(AppAggregatorTest, SetsCountDistinctMembers) {
  Add("u:alice|s");
  Add("u:bob|s");
  Add("u:alice|s");
  auto s = End();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].distinct, 2u);
  EXPECT_EQ(s[0].sample_count, 3u);
}

TEST_F(AppAggregatorTest, SeriesKeyedByTagsInAnyOrderAndPid) {
  Add("r:1|c|#b:2,a:1");
  Add("r:1|c|#a:1,b:2,a:1");  // same set of tags
  Add("r:1|c|#a:1");
  Add("r:1|c|#b:2,a:1", 8);  // another process
  auto s = End();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].pid, 7u);
  EXPECT_EQ(s[0].tags,
            (std::vector<std::pair<std::string, std::string>>{{"a", "1"}}));
  EXPECT_DOUBLE_EQ(s[0].value, 1);
  EXPECT_EQ(s[1].tags, (std::vector<std::pair<std::string, std::string>>{
                           {"a", "1"}, {"b", "2"}}));
  EXPECT_DOUBLE_EQ(s[1].value, 2);
  EXPECT_EQ(s[1].pid, 7u);
  EXPECT_EQ(s[2].pid, 8u);
}

TEST_F(AppAggregatorTest, CardinalityCapCountsOverflow) {
  limits_.max_series = 3;
  limits_.sender_share_percent = 100;
  agg_ = AppAggregator(limits_);
  for (int i = 0; i < 10; ++i) Add(absl::StrCat("m", i, ":1|c"));
  EXPECT_EQ(Add("m0:1|c"),
            AppAggregator::AddResult::kOk);  // existing series still accepted
  EXPECT_EQ(Add("m9:1|c"), AppAggregator::AddResult::kSeriesCap);
  EXPECT_EQ(agg_.TakeSeriesOverflowCount(), 8u);
  EXPECT_EQ(agg_.TakeSeriesOverflowCount(), 0u);
  EXPECT_EQ(End().size(), 3u);
  // The cap is on live series: the next interval has room again.
  EXPECT_EQ(Add("m9:1|c"), AppAggregator::AddResult::kOk);
}

// Issue 15.3: one sender that sends 10,000 gauges once used to fill the whole
// cap for as long as it lived. Each sender now holds at most its share.
TEST_F(AppAggregatorTest, OneSenderCannotLockOthersOut) {
  limits_.max_series = 100;
  limits_.sender_share_percent = 25;
  agg_ = AppAggregator(limits_);
  using R = AppAggregator::AddResult;
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    accepted += Add(absl::StrCat("flood", i, ":1|g"), 666) == R::kOk;
  }
  EXPECT_EQ(accepted, 25);
  EXPECT_EQ(Add("flood0:2|g", 666), R::kOk);  // its own series still update
  EXPECT_EQ(Add("flood25:1|g", 666), R::kSenderShare);
  // Another process, and a UDP sender (key by source address), still fit.
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(Add(absl::StrCat("app", i, ":1|g"), 100), R::kOk) << i;
  }
  EXPECT_EQ(Add("app25:1|c", 100), R::kSenderShare);
  StatsdLine line;
  ASSERT_EQ(ParseStatsdLine("udp.hits:1|c", &line), nullptr);
  const uint64_t udp_sender = AppSenderKeyForUdp(0x7f000001, 40000);
  EXPECT_EQ(agg_.Add(line, 0, 0, udp_sender), R::kOk);
  const AppAggregator::ShareOverflow o = agg_.TakeShareOverflow();
  EXPECT_EQ(o.line_count, 10000u - 25 + 1 + 1);
  EXPECT_EQ(o.sender_count, 2u);
  EXPECT_EQ(o.top_sender, 666u);
  EXPECT_EQ(o.top_line_count, 10000u - 25 + 1);
  EXPECT_EQ(agg_.TakeShareOverflow().line_count, 0u);
  EXPECT_EQ(agg_.TakeSeriesOverflowCount(), 0u);
  EXPECT_EQ(End().size(), 51u);
  // When the flooding process exits its share is free for the next one.
  agg_.ForgetExitedSenders([](uint32_t pid) { return pid != 666; });
  EXPECT_EQ(End().size(), 25u);
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(Add(absl::StrCat("next", i, ":1|g"), 667), R::kOk) << i;
  }
  // The global cap still holds: four full shares fill it.
  limits_.max_series = 10;
  limits_.sender_share_percent = 50;
  agg_ = AppAggregator(limits_);
  for (int i = 0; i < 5; ++i) Add(absl::StrCat("a", i, ":1|c"), 1);
  for (int i = 0; i < 5; ++i) Add(absl::StrCat("b", i, ":1|c"), 2);
  EXPECT_EQ(Add("c0:1|c", 3), R::kSeriesCap);
  EXPECT_EQ(AppSenderDescription(AppSenderKeyForUdp(0x7f000001, 40000)),
            "udp 127.0.0.1:40000");
  EXPECT_EQ(AppSenderDescription(1234), "pid 1234");
}

TEST_F(AppAggregatorTest, SenderShareAlsoBoundsMemory) {
  limits_.max_memory_bytes = 40 * QuantileSketch::kMaxBytes;
  limits_.sender_share_percent = 25;
  agg_ = AppAggregator(limits_);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) {
    accepted +=
        Add(absl::StrCat("t", i, ":1|ms"), 5) == AppAggregator::AddResult::kOk;
  }
  EXPECT_LT(accepted, 10);
  EXPECT_GE(accepted, 8);
  EXPECT_EQ(agg_.TakeShareOverflow().line_count,
            static_cast<uint64_t>(100 - accepted));
  EXPECT_EQ(agg_.TakeMemoryOverflowCount(), 0u);
}

TEST_F(AppAggregatorTest, MemoryBudgetBoundsSketches) {
  limits_.max_memory_bytes = 5 * QuantileSketch::kMaxBytes;
  limits_.sender_share_percent = 100;
  agg_ = AppAggregator(limits_);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) {
    accepted +=
        Add(absl::StrCat("t", i, ":1|ms")) == AppAggregator::AddResult::kOk;
  }
  EXPECT_LT(accepted, 5);
  EXPECT_GE(accepted, 3);
  EXPECT_LE(agg_.reserved_bytes(), limits_.max_memory_bytes);
  EXPECT_EQ(agg_.TakeMemoryOverflowCount(),
            static_cast<uint64_t>(100 - accepted));
}

TEST(DistinctCounter, ExactThenEstimated) {
  DistinctCounter d;
  for (int i = 0; i < 512; ++i) d.Add(absl::StrCat("member-", i));
  for (int i = 0; i < 512; ++i) d.Add(absl::StrCat("member-", i));
  EXPECT_EQ(d.Count(), 512u);
  EXPECT_FALSE(d.estimated());
  for (int i = 512; i < 100000; ++i) d.Add(absl::StrCat("member-", i));
  EXPECT_TRUE(d.estimated());
  // 1.6% standard error; allow 4 sigma.
  EXPECT_NEAR(static_cast<double>(d.Count()), 100000, 100000 * 0.065);
  EXPECT_LE(d.MemoryBytes(), DistinctCounter::kMaxBytes);
}

TEST(DistinctCounter, SmallCountsAfterSwitchAreClose) {
  DistinctCounter d;
  for (int i = 0; i < 600; ++i) d.Add(absl::StrCat("u", i));
  EXPECT_TRUE(d.estimated());
  EXPECT_NEAR(static_cast<double>(d.Count()), 600, 600 * 0.065);
}

}  // namespace
}  // namespace perfwire
