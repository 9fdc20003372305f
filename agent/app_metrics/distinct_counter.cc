#include "agent/app_metrics/distinct_counter.h"

#include <bit>
#include <cmath>

#include "absl/hash/hash.h"

namespace perfwire {
namespace {

// Spreads absl::Hash's bits (it is tuned for tables, not for HLL).
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

void DistinctCounter::Add(std::string_view member) {
  const uint64_t h = Mix(absl::Hash<std::string_view>{}(member));
  if (!registers_) {
    if (exact_.size() < kExactLimit || exact_.contains(h)) {
      exact_.insert(h);
      return;
    }
    registers_ = std::make_unique<uint8_t[]>(kHllRegisters);
    for (uint64_t e : exact_) AddHash(e);
    absl::flat_hash_set<uint64_t>().swap(exact_);
  }
  AddHash(h);
}

void DistinctCounter::AddHash(uint64_t h) {
  const size_t index = h >> (64 - kHllPrecision);
  const uint64_t rest =
      (h << kHllPrecision) | (uint64_t{1} << (kHllPrecision - 1));
  const uint8_t rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  if (rank > registers_[index]) registers_[index] = rank;
}

uint64_t DistinctCounter::Count() const {
  if (!registers_) return exact_.size();
  const double m = static_cast<double>(kHllRegisters);
  double sum = 0;
  size_t zeros = 0;
  for (size_t i = 0; i < kHllRegisters; ++i) {
    sum += std::ldexp(1.0, -registers_[i]);
    zeros += registers_[i] == 0;
  }
  double estimate = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
  if (estimate <= 2.5 * m && zeros > 0)
    estimate = m * std::log(m / static_cast<double>(zeros));
  return static_cast<uint64_t>(std::llround(estimate));
}

size_t DistinctCounter::MemoryBytes() const {
  return sizeof(*this) + (registers_ ? kHllRegisters : exact_.capacity() * 9);
}

}  // namespace perfwire
