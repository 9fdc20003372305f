#include "clients/lib/wire.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "schema_text.h"

namespace perfwire {
namespace {

std::vector<uint8_t> BuildFrame(uint32_t version) {
  flatbuffers::FlatBufferBuilder fbb;
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(version);
  frame.add_seq(7);
  fbb.Finish(frame.Finish(), fb::FrameIdentifier());
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

TEST(VerifyFrame, AcceptsWellFormedFrame) {
  auto buf = BuildFrame(kSchemaVersion);
  EXPECT_TRUE(VerifyFrame(buf.data(), buf.size()).ok());
}

// What the socket carries: the body of a FinishSizePrefixed message, whose
// 8-byte fields are aligned relative to the prefix, not to the body.
TEST(VerifyFrame, AcceptsBodyOfSizePrefixedMessage) {
  flatbuffers::FlatBufferBuilder fbb;
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_seq(7);
  frame.add_interval_ns(1000);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  const uint8_t* message = fbb.GetBufferPointer();
  EXPECT_TRUE(
      VerifyFrame(message + kWirePrefixBytes, fbb.GetSize() - kWirePrefixBytes)
          .ok());
}

TEST(VerifyFrame, RejectsForeignIdentifier) {
  auto buf = BuildFrame(kSchemaVersion);
  std::memcpy(buf.data() + 4, "XXXX", 4);
  EXPECT_EQ(VerifyFrame(buf.data(), buf.size()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(VerifyFrame, RejectsOtherSchemaVersion) {
  auto buf = BuildFrame(kSchemaVersion + 1);
  EXPECT_EQ(VerifyFrame(buf.data(), buf.size()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(VerifyFrame, RejectsTruncatedAndGarbage) {
  auto buf = BuildFrame(kSchemaVersion);
  EXPECT_FALSE(VerifyFrame(buf.data(), 6).ok());
  std::vector<uint8_t> garbage(buf.size(), 0xff);
  std::memcpy(garbage.data() + 4, "PWF1", 4);
  EXPECT_EQ(VerifyFrame(garbage.data(), garbage.size()).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace perfwire
