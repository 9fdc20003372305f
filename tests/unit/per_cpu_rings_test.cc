#include "agent/bpf/per_cpu_rings.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace perfwire {
namespace {

// Two CPUs, two kinds interleaved in the positions (as in exit_pos), rings
// of 4 slots of uint64_t records; the test plays the BPF producer.
class PerCpuRingsTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kCpus = 2;
  static constexpr uint32_t kSlots = 4;
  static constexpr uint32_t kKinds = 2;
  static constexpr uint32_t kKind = 1;

  PerCpuRings Rings() {
    PerCpuRings r;
    r.records = reinterpret_cast<const char*>(records_.data());
    r.record_size = sizeof(uint64_t);
    r.positions = positions_.data() + kKind;
    r.position_stride = kKinds;
    r.cpus = kCpus;
    r.slots_per_cpu = kSlots;
    return r;
  }
  pw_ring_pos& Pos(uint32_t cpu) { return positions_[cpu * kKinds + kKind]; }
  // What the BPF side does: the record in slot head % n, then head + 1.
  void Produce(uint32_t cpu, uint64_t value) {
    pw_ring_pos& p = Pos(cpu);
    records_[cpu * kSlots + p.head % kSlots] = value;
    p.head += 1;
  }
  std::vector<uint64_t> Drain(absl::Status* status = nullptr) {
    std::vector<uint64_t> got;
    absl::Status s = DrainPerCpuRings(Rings(), [&](const void* record) {
      got.push_back(*static_cast<const uint64_t*>(record));
    });
    if (status) *status = s;
    return got;
  }

  std::vector<uint64_t> records_ = std::vector<uint64_t>(kCpus * kSlots, 0);
  std::vector<pw_ring_pos> positions_ =
      std::vector<pw_ring_pos>(kCpus * kKinds, pw_ring_pos{});
};

TEST_F(PerCpuRingsTest, EmptyRingsDeliverNothing) {
  absl::Status s;
  EXPECT_TRUE(Drain(&s).empty());
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(PerCpuRingsTest, DeliversEachCpuInOrderAndFreesTheSlots) {
  Produce(0, 10);
  Produce(1, 20);
  Produce(0, 11);
  EXPECT_EQ(Drain(), (std::vector<uint64_t>{10, 11, 20}));
  EXPECT_EQ(Pos(0).tail, 2u);
  EXPECT_EQ(Pos(1).tail, 1u);
  EXPECT_TRUE(Drain().empty()) << "a record is delivered once";
}

TEST_F(PerCpuRingsTest, WrapsAroundTheSlots) {
  for (uint64_t v = 1; v <= 3; ++v) Produce(0, v);
  EXPECT_EQ(Drain().size(), 3u);
  // Head 3..7: slots 3, 0, 1, 2 -- a full ring across the wrap.
  for (uint64_t v = 4; v <= 7; ++v) Produce(0, v);
  EXPECT_EQ(Drain(), (std::vector<uint64_t>{4, 5, 6, 7}));
}

TEST_F(PerCpuRingsTest, LeavesTheOtherKindAlone) {
  positions_[0].head = 3;  // kind 0 of CPU 0: not ours
  Produce(0, 1);
  EXPECT_EQ(Drain(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(positions_[0].tail, 0u);
}

TEST_F(PerCpuRingsTest, ImpossiblePositionsAreAnErrorAndTheOtherCpusDrain) {
  Pos(0).head = kSlots + 1;  // more waiting than the ring holds
  Produce(1, 42);
  absl::Status s;
  EXPECT_EQ(Drain(&s), (std::vector<uint64_t>{42}));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("CPU 0"), std::string::npos) << s;
  EXPECT_EQ(Pos(0).tail, 0u) << "a broken ring is left as it is";
}

}  // namespace
}  // namespace perfwire
