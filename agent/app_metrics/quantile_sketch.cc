#include "agent/app_metrics/quantile_sketch.h"

#include <algorithm>
#include <cmath>

namespace perfwire {
namespace {

constexpr double kGamma = (1 + QuantileSketch::kRelativeAccuracy) /
                          (1 - QuantileSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);
// Extra buckets allocated when a store grows, so a slowly widening range does
// not reallocate on every sample.
constexpr int32_t kGrowthSlack = 32;

}  // namespace

int32_t QuantileSketch::KeyOf(double magnitude) {
  // Bucket k holds (gamma^(k-1), gamma^k]. magnitude >= 1e-9 and finite, so
  // the key fits comfortably in int32 (|k| < 36000 for doubles).
  return static_cast<int32_t>(std::ceil(std::log(magnitude) / kLogGamma));
}

double QuantileSketch::ValueOf(int32_t key) {
  // The point of the bucket within relative distance alpha of both ends.
  return 2 * std::pow(kGamma, key) / (kGamma + 1);
}

void QuantileSketch::Store::Add(int32_t key) {
  ++count;
  if (bins.empty()) {
    offset = key;
    bins.assign(1, 1);
    return;
  }
  const int32_t hi = offset + static_cast<int32_t>(bins.size()) - 1;
  if (key >= offset && key <= hi) {
    ++bins[key - offset];
    return;
  }
  if (key < offset && collapsed) {
    ++bins[0];  // below the kept range: merged into the lowest bucket
    return;
  }
  // Grow towards the key, with slack, keeping at most kMaxBinsPerSign buckets
  // and merging the lowest ones if the span demands it.
  int64_t new_lo = std::min<int64_t>(offset, key);
  int64_t new_hi = std::max<int64_t>(hi, key);
  if (key < offset) new_lo -= kGrowthSlack;
  if (key > hi) new_hi += kGrowthSlack;
  if (new_hi - new_lo + 1 > kMaxBinsPerSign) {
    // Prefer dropping slack before collapsing real buckets.
    const int64_t need_lo = std::min<int64_t>(offset, key);
    const int64_t need_hi = std::max<int64_t>(hi, key);
    new_hi = std::max(need_hi, std::min(new_hi, need_lo + kMaxBinsPerSign - 1));
    new_lo = new_hi - kMaxBinsPerSign + 1;
    if (new_lo > need_lo) collapsed = true;
  }
  std::vector<uint32_t> grown(static_cast<size_t>(new_hi - new_lo + 1), 0);
  for (size_t i = 0; i < bins.size(); ++i) {
    const int64_t k =
        std::max<int64_t>(offset + static_cast<int64_t>(i), new_lo);
    grown[static_cast<size_t>(k - new_lo)] += bins[i];
  }
  grown[static_cast<size_t>(std::max<int64_t>(key, new_lo) - new_lo)] += 1;
  bins = std::move(grown);
  offset = static_cast<int32_t>(new_lo);
}

void QuantileSketch::Add(double value) {
  if (!std::isfinite(value)) return;
  if (count() == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  if (value >= kMinMagnitude) {
    positive_.Add(KeyOf(value));
  } else if (value <= -kMinMagnitude) {
    negative_.Add(KeyOf(-value));
  } else {
    ++zero_count_;
  }
}

double QuantileSketch::Quantile(double q) const {
  const uint64_t n = count();
  if (n == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest sample with at least q * n samples <= it.
  const double ceil_rank = std::ceil(q * static_cast<double>(n));
  const uint64_t rank =
      ceil_rank < 1 ? 0 : static_cast<uint64_t>(ceil_rank) - 1;
  uint64_t seen = 0;
  double result = max_;
  bool found = false;
  // Ascending values: most negative first (largest |value| key), then zeros,
  // then positives by increasing key.
  for (size_t i = negative_.bins.size(); i-- > 0 && !found;) {
    seen += negative_.bins[i];
    if (seen > rank) {
      result = -ValueOf(negative_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  if (!found) {
    seen += zero_count_;
    if (seen > rank) {
      result = 0;
      found = true;
    }
  }
  for (size_t i = 0; i < positive_.bins.size() && !found; ++i) {
    seen += positive_.bins[i];
    if (seen > rank) {
      result = ValueOf(positive_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  return std::clamp(result, min_, max_);
}

size_t QuantileSketch::MemoryBytes() const {
  return sizeof(*this) +
         (positive_.bins.capacity() + negative_.bins.capacity()) *
             sizeof(uint32_t);
}

}  // namespace perfwire
