#include "agent/app_metrics/quantile_sketch.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace perfwire {
namespace {

// The documented bound: within kRelativeAccuracy of the nearest-rank sample
// (position max(0, ceil(q * n) - 1)); a hair of slack for floating-point
// log/pow.
void ExpectWithinBound(std::vector<double> samples, const char* what) {
  QuantileSketch sketch;
  for (double v : samples) sketch.Add(v);
  std::sort(samples.begin(), samples.end());
  ASSERT_EQ(sketch.count(), samples.size());
  ASSERT_FALSE(sketch.collapsed()) << what;
  for (double q :
       {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const double r = std::ceil(q * static_cast<double>(samples.size()));
    const double truth = samples[r < 1 ? 0 : static_cast<size_t>(r) - 1];
    const double got = sketch.Quantile(q);
    EXPECT_LE(std::abs(got - truth),
              QuantileSketch::kRelativeAccuracy * std::abs(truth) * (1 + 1e-9) +
                  1e-12)
        << what << " q=" << q << " truth=" << truth << " got=" << got;
  }
}

TEST(QuantileSketch, EmptyIsZero) {
  QuantileSketch s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.Quantile(0.5), 0);
}

TEST(QuantileSketch, SingleValueIsExact) {
  QuantileSketch s;
  s.Add(42.5);
  EXPECT_EQ(s.Quantile(0), 42.5);
  EXPECT_EQ(s.Quantile(0.5), 42.5);
  EXPECT_EQ(s.Quantile(1), 42.5);
}

TEST(QuantileSketch, UniformWithinBound) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> d(0.001, 1000);
  std::vector<double> v(100000);
  for (double& x : v) x = d(rng);
  ExpectWithinBound(v, "uniform");
}

TEST(QuantileSketch, ExponentialWithinBound) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> d(1.0 / 20);
  std::vector<double> v(100000);
  for (double& x : v) x = d(rng) + 1e-6;
  ExpectWithinBound(v, "exponential");
}

TEST(QuantileSketch, LognormalLatenciesWithinBound) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> d(1.0, 1.5);  // ms: long right tail
  std::vector<double> v(200000);
  for (double& x : v) x = d(rng);
  ExpectWithinBound(v, "lognormal");
}

TEST(QuantileSketch, NegativeZeroAndPositiveWithinBound) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> d(0, 100);
  std::vector<double> v(50000);
  for (double& x : v) x = d(rng);
  for (int i = 0; i < 1000; ++i) v.push_back(0);
  ExpectWithinBound(v, "normal around 0");
}

TEST(QuantileSketch, KnownQuantilesOfOneToThousand) {
  QuantileSketch s;
  for (int i = 1; i <= 1000; ++i) s.Add(i);
  // Nearest rank: p50 -> 500, p90 -> 900, p99 -> 990.
  EXPECT_NEAR(s.Quantile(0.5), 500, 5);
  EXPECT_NEAR(s.Quantile(0.9), 900, 9);
  EXPECT_NEAR(s.Quantile(0.99), 990, 9.9);
  EXPECT_EQ(s.Quantile(1), 1000);
  EXPECT_EQ(s.Quantile(0), 1);
}

TEST(QuantileSketch, MemoryStaysBoundedOnAdversarialRange) {
  QuantileSketch s;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> exponent(-9, 300);
  for (int i = 0; i < 200000; ++i) {
    const double x = std::pow(10.0, exponent(rng));
    s.Add(i % 2 ? x : -x);
  }
  EXPECT_TRUE(s.collapsed());
  EXPECT_LE(s.MemoryBytes(), QuantileSketch::kMaxBytes);
  // The high quantiles keep their bound even after collapsing.
  EXPECT_GT(s.Quantile(0.999), 0);
}

TEST(QuantileSketch, IgnoresNonFinite) {
  QuantileSketch s;
  s.Add(std::nan(""));
  s.Add(INFINITY);
  EXPECT_EQ(s.count(), 0u);
}

}  // namespace
}  // namespace perfwire
