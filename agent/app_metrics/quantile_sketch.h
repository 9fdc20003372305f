#ifndef PERFWIRE_AGENT_APP_METRICS_QUANTILE_SKETCH_H_
#define PERFWIRE_AGENT_APP_METRICS_QUANTILE_SKETCH_H_

// A relative-error quantile sketch (the DDSketch construction: logarithmic
// buckets, Masson et al., VLDB 2019). Standard library only.
//
// Guarantee: for 0 <= q <= 1, Quantile(q) is within kRelativeAccuracy (1%)
// of |x|, where x is the nearest-rank q-quantile of the n samples (the sample
// at 0-based position max(0, ceil(q * n) - 1) in sorted order), provided every
// |sample| is >= kMinMagnitude (smaller ones count as 0) and neither sign's
// samples span more than a factor of gamma^kMaxBinsPerSign ~= 8.0e8 (about 9
// decades). Beyond that span the smallest-magnitude buckets are merged
// ("collapsed"), which can only make the low quantiles of that sign less
// accurate; the high quantiles keep the bound. The result is also clamped to
// [min, max] of the samples, so one distinct value is reported exactly.
//
// Memory: at most kMaxBytes whatever is added. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace perfwire {

class QuantileSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;
  static constexpr int32_t kMaxBinsPerSign = 1024;
  static constexpr double kMinMagnitude = 1e-9;
  static constexpr size_t kMaxBytes =
      2 * kMaxBinsPerSign * sizeof(uint32_t) + 128;

  void Add(double value);
  // 0 when empty.
  double Quantile(double q) const;
  uint64_t count() const {
    return positive_.count + negative_.count + zero_count_;
  }
  // True once buckets were merged because the samples spanned too wide a range.
  bool collapsed() const { return positive_.collapsed || negative_.collapsed; }
  size_t MemoryBytes() const;

 private:
  // Counts per bucket key, dense over [offset, offset + bins.size()).
  struct Store {
    std::vector<uint32_t> bins;
    int32_t offset = 0;
    uint64_t count = 0;
    bool collapsed = false;
    void Add(int32_t key);
  };

  static int32_t KeyOf(double magnitude);
  static double ValueOf(int32_t key);

  Store positive_;
  Store negative_;  // keyed by |value|
  uint64_t zero_count_ = 0;
  double min_ = 0;
  double max_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_APP_METRICS_QUANTILE_SKETCH_H_
