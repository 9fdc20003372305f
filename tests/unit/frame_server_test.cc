#include "agent/server/frame_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "clients/lib/frame_stream.h"
#include "clients/lib/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::ConnectUnix;
using ::perfwire::testing::Eventually;
using ::perfwire::testing::FrameWithSeq;
using ::perfwire::testing::TempDir;
using ::perfwire::testing::TestFrame;
using ::testing::HasSubstr;

class FrameServerTest : public ::testing::Test {
 protected:
  ServerOptions Options() const {
    ServerOptions options;
    options.socket_path = socket_path_;
    return options;
  }

  std::unique_ptr<FrameServer> StartServer(const ServerOptions& options) {
    absl::StatusOr<std::unique_ptr<FrameServer>> server =
        FrameServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  // A connected consumer, once the server has accepted it.
  FrameStream Consumer(const FrameServer& server, size_t expected_count) {
    UniqueFd fd = ConnectUnix(socket_path_);
    EXPECT_TRUE(fd.valid()) << strerror(errno);
    EXPECT_TRUE(
        Eventually([&] { return server.consumer_count() == expected_count; }));
    return FrameStream::FromFd(std::move(fd));
  }

  TempDir dir_;
  std::string socket_path_ = dir_.File("run/perfwire/perfwire.sock");
};

TEST_F(FrameServerTest, CreatesParentDirectoryAndSocketWithMode0660) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  struct stat st;
  ASSERT_EQ(stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_EQ(stat(dir_.File("run/perfwire").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(FrameServerTest, DeliversEveryFrameInOrderToAFastConsumer) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  FrameStream stream = Consumer(*server, 1);
  constexpr uint64_t kFrames = 200;
  for (uint64_t seq = 0; seq < kFrames; ++seq) {
    server->Publish(FrameWithSeq(seq));
    absl::StatusOr<const fb::Frame*> frame = stream.Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ((*frame)->seq(), seq);
    EXPECT_EQ((*frame)->consumer_dropped_frame_count(), 0u);
  }
}

TEST_F(FrameServerTest, ConsumerGetsFramesInOrderWhenPublishedAhead) {
  ServerOptions options = Options();
  options.queue_frames = 16;
  std::unique_ptr<FrameServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  FrameStream stream = Consumer(*server, 1);
  for (uint64_t seq = 0; seq < 16; ++seq) {
    server->Publish(FrameWithSeq(seq));
  }
  for (uint64_t seq = 0; seq < 16; ++seq) {
    absl::StatusOr<const fb::Frame*> frame = stream.Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ((*frame)->seq(), seq);
  }
}

// The collector must never wait for a consumer: with one consumer that never
// reads, Publish keeps returning, the other consumer still gets every frame,
// and the stuck one later sees how many it lost, then the newest frames.
TEST_F(FrameServerTest, StuckConsumerLosesOldestFramesAndIsTold) {
  ServerOptions options = Options();
  options.queue_frames = 4;
  std::unique_ptr<FrameServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  FrameStream stuck = Consumer(*server, 1);
  FrameStream fast = Consumer(*server, 2);

  // 64 KiB frames: a few fill the stuck consumer's socket buffer.
  const std::string padding(64 * 1024, 'p');
  constexpr uint64_t kFrames = 100;
  TestFrame spec;
  spec.hostname = padding;
  for (uint64_t seq = 0; seq < kFrames; ++seq) {
    spec.seq = seq;
    server->Publish(BuildFrame(spec));
    absl::StatusOr<const fb::Frame*> frame = fast.Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    ASSERT_EQ((*frame)->seq(), seq);
    EXPECT_EQ((*frame)->consumer_dropped_frame_count(), 0u);
    EXPECT_EQ((*frame)->hostname()->size(), padding.size());
  }

  uint64_t received = 0;
  uint64_t last_seq = 0;
  uint64_t last_dropped = 0;
  while (last_seq != kFrames - 1) {
    absl::StatusOr<const fb::Frame*> frame = stuck.Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    if (received > 0) {
      EXPECT_GT((*frame)->seq(), last_seq);
    }
    EXPECT_GE((*frame)->consumer_dropped_frame_count(), last_dropped);
    EXPECT_EQ((*frame)->hostname()->size(), padding.size());
    last_seq = (*frame)->seq();
    last_dropped = (*frame)->consumer_dropped_frame_count();
    ++received;
  }
  EXPECT_GT(last_dropped, 0u);
  // Every frame was either delivered or counted as dropped.
  EXPECT_EQ(received + last_dropped, kFrames);
  EXPECT_EQ(server->consumer_count(), 2u);
}

TEST_F(FrameServerTest, NewConsumerGetsOnlyLaterFrames) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  server->Publish(FrameWithSeq(1));
  FrameStream stream = Consumer(*server, 1);
  server->Publish(FrameWithSeq(2));
  absl::StatusOr<const fb::Frame*> frame = stream.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 2u);
}

TEST_F(FrameServerTest, DisconnectedConsumersAreRemoved) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  std::optional<FrameStream> first = Consumer(*server, 1);
  FrameStream second = Consumer(*server, 2);
  first.reset();  // closes its socket
  EXPECT_TRUE(Eventually([&] { return server->consumer_count() == 1; }));
  // The other one is unaffected.
  server->Publish(FrameWithSeq(5));
  absl::StatusOr<const fb::Frame*> frame = second.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 5u);
}

TEST_F(FrameServerTest, ConsumerThatHalfClosesStillReceives) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  UniqueFd fd = ConnectUnix(socket_path_);
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(Eventually([&] { return server->consumer_count() == 1; }));
  ASSERT_EQ(shutdown(fd.get(), SHUT_WR), 0);  // says nothing, reads on
  FrameStream stream = FrameStream::FromFd(std::move(fd));
  server->Publish(FrameWithSeq(9));
  absl::StatusOr<const fb::Frame*> frame = stream.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 9u);
  EXPECT_EQ(server->consumer_count(), 1u);
  EXPECT_EQ(server->TakeCounters().writing_consumer_count, 0u);
}

// Issue 15.4: bytes a client wrote were read and discarded 512 at a time,
// forever: a client writing in a loop cost the agent a full core. The
// protocol is read-only for clients: one that sends anything is
// disconnected and counted, and the others are unaffected.
TEST_F(FrameServerTest, ConsumerThatWritesIsDisconnectedAndCounted) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  FrameStream quiet = Consumer(*server, 1);
  UniqueFd talker = ConnectUnix(socket_path_);
  ASSERT_TRUE(talker.valid());
  ASSERT_TRUE(Eventually([&] { return server->consumer_count() == 2; }));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{0};
  std::thread writer([&] {
    const std::string junk(4096, 'x');
    while (!stop.load()) {
      const ssize_t n = send(talker.get(), junk.data(), junk.size(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<uint64_t>(n);
      if (n < 0 && errno != EAGAIN) break;  // the server hung up
    }
  });
  EXPECT_TRUE(Eventually([&] { return server->consumer_count() == 1; }));
  stop.store(true);
  writer.join();
  EXPECT_GT(written.load(), 0u);
  // The talker sees the end of the stream.
  FrameStream talker_stream = FrameStream::FromFd(std::move(talker));
  const absl::Status end = talker_stream.Next().status();
  EXPECT_TRUE(absl::IsOutOfRange(end) || absl::IsUnavailable(end) ||
              end.code() == absl::StatusCode::kUnknown)
      << end;
  const FrameServer::Counters counters = server->TakeCounters();
  EXPECT_EQ(counters.writing_consumer_count, 1u);
  EXPECT_EQ(server->TakeCounters().writing_consumer_count, 0u);  // per call
  server->Publish(FrameWithSeq(4));
  absl::StatusOr<const fb::Frame*> frame = quiet.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 4u);
}

// Issue 15.10: a consumer refused at --max_consumers used to see a plain
// close ("closed the stream after 0 frames"). It now gets one refusal
// frame, which FrameStream turns into ResourceExhausted with the reason;
// the frame is a valid Frame, so older clients still parse it.
TEST_F(FrameServerTest, ConnectionsBeyondMaxConsumersAreToldWhy) {
  ServerOptions options = Options();
  options.max_consumers = 1;
  std::unique_ptr<FrameServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  FrameStream first = Consumer(*server, 1);
  UniqueFd fd = ConnectUnix(socket_path_);
  ASSERT_TRUE(fd.valid());
  FrameStream refused = FrameStream::FromFd(std::move(fd));
  const absl::Status status = refused.Next().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(status.message(),
            "perfwired refused: 1 consumers already connected "
            "(--max_consumers)");
  EXPECT_EQ(refused.Next().status().code(),
            absl::StatusCode::kResourceExhausted);  // sticky
  EXPECT_EQ(server->consumer_count(), 1u);
  EXPECT_EQ(server->TakeCounters().refused_consumer_count, 1u);
  // What an older client sees: one well-formed frame, then the end.
  UniqueFd raw = ConnectUnix(socket_path_);
  ASSERT_TRUE(raw.valid());
  std::string bytes;
  char buf[4096];
  for (ssize_t n; (n = read(raw.get(), buf, sizeof(buf))) > 0;) {
    bytes.append(buf, static_cast<size_t>(n));
  }
  ASSERT_GE(bytes.size(), 4u);
  const uint32_t size = flatbuffers::ReadScalar<uint32_t>(bytes.data());
  ASSERT_EQ(bytes.size(), 4u + size);
  const uint8_t* body = reinterpret_cast<const uint8_t*>(bytes.data()) + 4;
  ASSERT_TRUE(VerifyFrame(body, size).ok());
  const fb::Frame* frame = fb::GetFrame(body);
  EXPECT_EQ(frame->agent(), nullptr);
  ASSERT_NE(frame->sources(), nullptr);
  ASSERT_EQ(frame->sources()->size(), 1u);
  EXPECT_EQ(frame->sources()->Get(0)->name()->str(), "perfwired");
  EXPECT_FALSE(frame->sources()->Get(0)->available());
  EXPECT_EQ(frame->sources()->Get(0)->reason()->str(),
            "1 consumers already connected (--max_consumers)");
}

TEST_F(FrameServerTest, DestructionClosesConsumersAndRemovesSocket) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  FrameStream stream = Consumer(*server, 1);
  server.reset();
  EXPECT_EQ(stream.Next().status().code(), absl::StatusCode::kOutOfRange);
  struct stat st;
  EXPECT_NE(lstat(socket_path_.c_str(), &st), 0);
}

TEST_F(FrameServerTest, DestructionLeavesAFileThatIsNotItsOwn) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(unlink(socket_path_.c_str()), 0);
  std::ofstream(socket_path_) << "someone else's";
  server.reset();
  struct stat st;
  ASSERT_EQ(lstat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(FrameServerTest, ReplacesStaleSocketFile) {
  std::string parent = dir_.File("run");
  ASSERT_EQ(mkdir(parent.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir_.File("run/perfwire").c_str(), 0755), 0);
  {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(),
                 sizeof(addr.sun_path) - 1);
    ASSERT_EQ(
        bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)),
        0);
  }  // closed, file left behind as after a crash
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  FrameStream stream = Consumer(*server, 1);
  server->Publish(FrameWithSeq(3));
  absl::StatusOr<const fb::Frame*> frame = stream.Next();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ((*frame)->seq(), 3u);
}

TEST_F(FrameServerTest, RefusesPathALiveServerServes) {
  std::unique_ptr<FrameServer> server = StartServer(Options());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<FrameServer>> second =
      FrameServer::Start(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(second.status().message(),
            "another perfwired is already serving " + socket_path_);
  // The first server still serves. Start's probe connection may count as a
  // consumer for a while, so publish until the new consumer gets a frame.
  UniqueFd fd = ConnectUnix(socket_path_);
  ASSERT_TRUE(fd.valid());
  FrameStream stream = FrameStream::FromFd(std::move(fd));
  std::atomic<bool> received{false};
  std::jthread publisher([&] {
    for (uint64_t seq = 0; !received.load(); ++seq) {
      server->Publish(FrameWithSeq(seq));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  EXPECT_TRUE(stream.Next().ok());
  received.store(true);
}

TEST_F(FrameServerTest, RefusesToReplaceANonSocket) {
  const std::string path = dir_.File("not-a-socket");
  std::ofstream(path) << "precious";
  ServerOptions options = Options();
  options.socket_path = path;
  absl::StatusOr<std::unique_ptr<FrameServer>> server =
      FrameServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr(path));
  std::ifstream in(path);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(FrameServerTest, UnknownGroupFailsAndLeavesNoSocket) {
  ServerOptions options = Options();
  options.group = "no-such-group-perfwire-test";
  absl::StatusOr<std::unique_ptr<FrameServer>> server =
      FrameServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(server.status().message(), HasSubstr(options.group));
  struct stat st;
  EXPECT_NE(lstat(socket_path_.c_str(), &st), 0);
}

TEST_F(FrameServerTest, ChownsSocketToGroup) {
  // Root may use any group; others their own primary group.
  const group* target = geteuid() == 0 ? getgrnam("daemon") : nullptr;
  if (target == nullptr) target = getgrgid(getegid());
  ASSERT_NE(target, nullptr);
  const gid_t gid = target->gr_gid;
  ServerOptions options = Options();
  options.group = target->gr_name;
  std::unique_ptr<FrameServer> server = StartServer(options);
  ASSERT_NE(server, nullptr);
  struct stat st;
  ASSERT_EQ(stat(socket_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, gid);
}

TEST_F(FrameServerTest, TooLongPathIsInvalidArgument) {
  ServerOptions options = Options();
  options.socket_path = dir_.File(std::string(120, 's'));
  EXPECT_EQ(FrameServer::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace perfwire
