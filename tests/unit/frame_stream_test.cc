#include "clients/lib/frame_stream.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "clients/lib/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/heap_bytes.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::Bytes;
using ::perfwire::testing::FrameWithSeq;
using ::perfwire::testing::TempDir;
using ::perfwire::testing::TestFrame;
using ::testing::HasSubstr;

class FrameStreamTest : public ::testing::Test {
 protected:
  // A stream over a file holding exactly `bytes`.
  FrameStream StreamOf(const std::string& bytes) {
    const std::string path = dir_.File("stream.pwf");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return FrameStream::FromFd(
        UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC)));
  }

  static std::string Message(uint64_t seq) { return Bytes(*FrameWithSeq(seq)); }

  static std::string Prefix(uint32_t length) {
    std::string prefix(4, '\0');
    flatbuffers::WriteScalar(prefix.data(), length);
    return prefix;
  }

  TempDir dir_;
};

TEST_F(FrameStreamTest, ReadsFramesThenCleanEnd) {
  const std::string first = Message(1), second = Message(2);
  FrameStream stream = StreamOf(first + second);
  EXPECT_TRUE(stream.last_message().empty());

  absl::StatusOr<const fb::Frame*> frame = stream.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 1u);
  EXPECT_EQ(
      std::string(stream.last_message().begin(), stream.last_message().end()),
      first);

  frame = stream.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 2u);
  EXPECT_EQ(
      std::string(stream.last_message().begin(), stream.last_message().end()),
      second);

  EXPECT_EQ(stream.Next().status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(stream.Next().status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(FrameStreamTest, EmptyStreamIsCleanEnd) {
  EXPECT_EQ(StreamOf("").Next().status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(FrameStreamTest, TornFrameIsDataLoss) {
  const std::string second = Message(2);
  FrameStream stream =
      StreamOf(Message(1) + second.substr(0, second.size() / 2));
  ASSERT_TRUE(stream.Next().ok());
  absl::Status status = stream.Next().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("ends inside a frame"));
  EXPECT_TRUE(stream.last_message().empty());
  // Out of step for good.
  EXPECT_EQ(stream.Next().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(FrameStreamTest, TornLengthPrefixIsDataLoss) {
  EXPECT_EQ(StreamOf(Message(1).substr(0, 2)).Next().status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(FrameStreamTest, ZeroLengthIsDataLoss) {
  EXPECT_EQ(StreamOf(Prefix(0) + Message(1)).Next().status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(FrameStreamTest, OversizedLengthIsDataLoss) {
  absl::Status status =
      StreamOf(Prefix(kMaxFrameBytes + 1) + "abcd").Next().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("frame length"));
}

// A peer announcing 60 MiB and sending 1 KiB must not cost 60 MiB.
TEST_F(FrameStreamTest, AnnouncedLengthIsNotAllocatedBeforeTheBytesArrive) {
  constexpr uint32_t kAnnounced = 60u << 20;
  FrameStream stream = StreamOf(Prefix(kAnnounced) + std::string(1024, 'x'));
  const size_t before = testing::HeapBytesInUse();
  absl::Status status = stream.Next().status();
  const size_t after = testing::HeapBytesInUse();  // stream still alive
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("1024 of its 62914560 bytes"));
  EXPECT_LT(after, before + 2 * kReadChunkBytes);
}

TEST_F(FrameStreamTest, FrameAboveTheMaximumSaysSo) {
  absl::Status status =
      StreamOf(Prefix(kMaxFrameBytes + 1) + "abcd").Next().status();
  EXPECT_THAT(status.message(), HasSubstr("64 MiB maximum"));
}

// A peer that accepts and never sends (a stopped agent): Next returns at the
// deadline instead of blocking forever.
TEST_F(FrameStreamTest, DeadlinePassesWhenNothingArrives) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd peer(fds[1]);
  FrameStream stream = FrameStream::FromFd(UniqueFd(fds[0]));
  absl::Status status =
      stream.Next(absl::Now() + absl::Milliseconds(100)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

// Half a frame, then silence: the deadline holds inside a frame too.
TEST_F(FrameStreamTest, DeadlineHoldsInsideAFrame) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd peer(fds[1]);
  const std::string message = Message(1);
  ASSERT_EQ(::write(peer.get(), message.data(), message.size() / 2),
            static_cast<ssize_t>(message.size() / 2));
  FrameStream stream = FrameStream::FromFd(UniqueFd(fds[0]));
  absl::Status status =
      stream.Next(absl::Now() + absl::Milliseconds(100)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

TEST_F(FrameStreamTest, FramesArriveBeforeTheDeadline) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd peer(fds[1]);
  const std::string message = Message(9);
  ASSERT_EQ(::write(peer.get(), message.data(), message.size()),
            static_cast<ssize_t>(message.size()));
  FrameStream stream = FrameStream::FromFd(UniqueFd(fds[0]));
  absl::StatusOr<const fb::Frame*> frame =
      stream.Next(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 9u);
}

TEST_F(FrameStreamTest, GarbageIsAnError) {
  // Text: its first four bytes make an absurd length.
  EXPECT_EQ(
      StreamOf("GET / HTTP/1.1\r\nHost: x\r\n\r\n").Next().status().code(),
      absl::StatusCode::kDataLoss);
  // A plausible length followed by noise.
  EXPECT_FALSE(StreamOf(Prefix(32) + std::string(32, '\xab')).Next().ok());
  // The right identifier around noise fails verification.
  std::string noise(64, '\xff');
  std::memcpy(noise.data() + 4, "PWF1", 4);
  EXPECT_EQ(StreamOf(Prefix(noise.size()) + noise).Next().status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(FrameStreamTest, ForeignIdentifierIsFailedPrecondition) {
  std::string message = Message(1);
  std::memcpy(message.data() + kWirePrefixBytes + 4, "XXXX", 4);
  EXPECT_EQ(StreamOf(message).Next().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(FrameStreamTest, OtherSchemaVersionIsFailedPrecondition) {
  TestFrame spec;
  spec.schema_version = kSchemaVersion + 1;
  const std::string message = Bytes(*BuildFrame(spec));
  absl::Status status = StreamOf(message).Next().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("schema version"));
}

TEST_F(FrameStreamTest, ConnectToMissingPathSaysNobodyListens) {
  const std::string path = dir_.File("missing.sock");
  absl::StatusOr<FrameStream> stream = FrameStream::Connect(path);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(stream.status().message(),
            "no perfwired is listening on " + path +
                " (start it with `make run` or `perfwired`)");
}

TEST_F(FrameStreamTest, ConnectToStaleSocketSaysNobodyListens) {
  const std::string path = dir_.File("stale.sock");
  {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(
        bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)),
        0);
  }  // closed without unlink, as after a crash
  absl::StatusOr<FrameStream> stream = FrameStream::Connect(path);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(stream.status().message(),
              HasSubstr("no perfwired is listening on " + path));
}

TEST_F(FrameStreamTest, ConnectWithTooLongPathIsInvalidArgument) {
  EXPECT_EQ(FrameStream::Connect(std::string(200, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace perfwire
