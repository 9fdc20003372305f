#ifndef PERFWIRE_AGENT_APP_METRICS_DISTINCT_COUNTER_H_
#define PERFWIRE_AGENT_APP_METRICS_DISTINCT_COUNTER_H_

// Distinct count of a StatsD set's members over one interval, in bounded
// memory: exact up to kExactLimit distinct members (by 64-bit hash), then a
// HyperLogLog with 2^12 registers (standard error 1.04/64 ~= 1.6%).
// At most kMaxBytes whatever is added. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/container/flat_hash_set.h"

namespace perfwire {

class DistinctCounter {
 public:
  static constexpr size_t kExactLimit = 512;
  static constexpr int kHllPrecision = 12;
  static constexpr size_t kHllRegisters = size_t{1} << kHllPrecision;
  // flat_hash_set of 512 uint64 (capacity 1023, 9 bytes a slot) or the
  // registers.
  static constexpr size_t kMaxBytes = 1024 * 9 + 256;

  void Add(std::string_view member);
  uint64_t Count() const;
  bool estimated() const { return registers_ != nullptr; }
  size_t MemoryBytes() const;

 private:
  void AddHash(uint64_t h);

  absl::flat_hash_set<uint64_t> exact_;
  std::unique_ptr<uint8_t[]> registers_;  // set once exact_ overflows
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_APP_METRICS_DISTINCT_COUNTER_H_
