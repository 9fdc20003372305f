// FrameFeed against a real Unix socket server run by the test: a thread that
// accepts, writes frames built with FlatBufferBuilder, garbage, frames of
// another schema, or nothing, and closes.

#include "clients/lib/frame_feed.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::Bytes;
using ::perfwire::testing::FrameWithSeq;
using ::perfwire::testing::TempDir;
using ::perfwire::testing::TestFrame;

// Listens on `path`; for each accepted connection, in order, runs the next
// script on the client fd, then closes it. After the last script it closes
// the listener and unlinks the path (so a connect then fails ENOENT).
class ScriptedServer {
 public:
  using Script = std::function<void(int fd)>;
  ScriptedServer(const std::string& path, std::vector<Script> scripts)
      : path_(path) {
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ok_ = listener_ &&
          ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr),
                 sizeof(addr)) == 0 &&
          ::listen(listener_.get(), 4) == 0;
    thread_ = std::thread([this, scripts = std::move(scripts)] {
      for (const Script& script : scripts) {
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, 0));
        if (!client) return;
        script(client.get());
      }
      ::unlink(path_.c_str());
      listener_.reset();
    });
  }
  ~ScriptedServer() {
    if (listener_) ::shutdown(listener_.get(), SHUT_RDWR);  // ends accept
    thread_.join();
    ::unlink(path_.c_str());
  }
  bool ok() const { return ok_; }

 private:
  std::string path_;
  UniqueFd listener_;
  bool ok_ = false;
  std::thread thread_;
};

void Write(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Blocks until the peer closes (the feed cancelled or timed out).
void WaitForPeerClose(int fd) {
  char byte;
  while (::read(fd, &byte, 1) > 0) {
  }
}

struct Event {
  bool lost = false;
  uint64_t seq = 0;   // frames
  LossReport report;  // losses
};

// Records everything; stops the feed after `max_losses` losses.
class RecordingSink : public FrameSink {
 public:
  explicit RecordingSink(int max_losses) : max_losses_(max_losses) {}
  void OnConnected() override { ++connections; }
  void OnFrame(const fb::Frame& frame,
               absl::Span<const uint8_t> message) override {
    Event e;
    e.seq = frame.seq();
    events.push_back(e);
    last_message_size = message.size();
  }
  bool OnLost(const LossReport& report) override {
    Event e;
    e.lost = true;
    e.report = report;
    events.push_back(e);
    return --max_losses_ > 0;
  }
  std::vector<Event> events;
  std::atomic<int> connections{0};
  size_t last_message_size = 0;

 private:
  int max_losses_;
};

FrameFeed::Options FastOptions(const std::string& path) {
  FrameFeed::Options options;
  options.socket_path = path;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(4);
  return options;
}

TEST(FrameFeedTest, SaysWhyEachStreamWasLostAndReconnects) {
  TempDir dir;
  const std::string path = dir.File("agent.sock");
  TestFrame other_schema;
  other_schema.seq = 7;
  other_schema.schema_version = kSchemaVersion + 1;
  const std::string good = Bytes(*FrameWithSeq(1)) + Bytes(*FrameWithSeq(2));
  ScriptedServer server(
      path, {
                // Two frames, then a clean close at a frame boundary.
                [&](int fd) { Write(fd, good); },
                // One frame, then garbage: a length prefix and bytes that are
                // no FlatBuffer.
                [&](int fd) {
                  Write(fd, Bytes(*FrameWithSeq(3)) +
                                std::string("\x10\x00\x00\x00", 4) +
                                std::string(16, '\xab'));
                },
                // One frame, then EOF inside the next one.
                [&](int fd) {
                  const std::string next = Bytes(*FrameWithSeq(5));
                  Write(fd, Bytes(*FrameWithSeq(4)) + next.substr(0, 10));
                },
                // A frame of a schema version this client does not read.
                [&](int fd) { Write(fd, Bytes(*BuildFrame(other_schema))); },
                // Closed before any frame: refused.
                [](int) {},
            });
  ASSERT_TRUE(server.ok());
  RecordingSink sink(/*max_losses=*/6);
  FrameFeed feed(FastOptions(path));
  EXPECT_TRUE(feed.Run(sink).ok());

  std::vector<uint64_t> seqs;
  std::vector<StreamLoss> reasons;
  std::vector<uint64_t> frames_before;
  for (const Event& e : sink.events) {
    if (e.lost) {
      reasons.push_back(e.report.reason);
      frames_before.push_back(e.report.frames);
    } else {
      seqs.push_back(e.seq);
    }
  }
  EXPECT_THAT(seqs, ::testing::ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(reasons,
              ::testing::ElementsAre(
                  StreamLoss::kAgentGone, StreamLoss::kCorruptFrame,
                  StreamLoss::kCorruptFrame, StreamLoss::kIncompatibleSchema,
                  StreamLoss::kRefused,
                  // The listener is gone: the connect fails with ENOENT.
                  StreamLoss::kAgentGone));
  EXPECT_THAT(frames_before, ::testing::ElementsAre(2, 1, 1, 0, 0, 0));
  EXPECT_EQ(sink.connections, 5);
  const LossReport& last = sink.events.back().report;
  EXPECT_FALSE(last.connected);
  EXPECT_THAT(last.status.message(), ::testing::HasSubstr(path));
  // The schema loss's message names both versions, for the user.
  for (const Event& e : sink.events) {
    if (e.lost && e.report.reason == StreamLoss::kIncompatibleSchema) {
      EXPECT_THAT(e.report.status.message(),
                  ::testing::HasSubstr("schema version"));
    }
  }
}

TEST(FrameFeedTest, BackoffDoublesUpToTheMaximumAndResetsAfterAFrame) {
  TempDir dir;
  const std::string path = dir.File("none.sock");  // nobody listens
  RecordingSink sink(/*max_losses=*/5);
  FrameFeed feed(FastOptions(path));
  EXPECT_TRUE(feed.Run(sink).ok());
  std::vector<absl::Duration> waits;
  for (const Event& e : sink.events) waits.push_back(e.report.retry_in);
  EXPECT_THAT(waits, ::testing::ElementsAre(
                         absl::Milliseconds(1), absl::Milliseconds(2),
                         absl::Milliseconds(4), absl::Milliseconds(4),
                         absl::Milliseconds(4)));

  // After failures, a connection that delivers a frame starts over.
  const std::string frame = Bytes(*FrameWithSeq(1));
  RecordingSink sink2(/*max_losses=*/2);
  {
    ScriptedServer server(path, {[&](int fd) { Write(fd, frame); }});
    ASSERT_TRUE(server.ok());
    FrameFeed feed2(FastOptions(path));
    EXPECT_TRUE(feed2.Run(sink2).ok());
  }
  ASSERT_EQ(sink2.events.size(), 3u);
  EXPECT_EQ(sink2.last_message_size, frame.size());
  EXPECT_EQ(sink2.events[1].report.retry_in, absl::Milliseconds(1));
  EXPECT_EQ(sink2.events[2].report.retry_in, absl::Milliseconds(2));
}

TEST(FrameFeedTest, CancelEndsABlockedRead) {
  TempDir dir;
  const std::string path = dir.File("silent.sock");
  ScriptedServer server(path, {[](int fd) { WaitForPeerClose(fd); }});
  ASSERT_TRUE(server.ok());
  RecordingSink sink(/*max_losses=*/100);
  FrameFeed feed(FastOptions(path));
  std::thread canceller([&] {
    ASSERT_TRUE(perfwire::testing::Eventually(
        [&] { return sink.connections.load() > 0; }));
    feed.Cancel();
  });
  const absl::Status status = feed.Run(sink);
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_TRUE(sink.events.empty());  // our own cancel is no loss
}

TEST(FrameFeedTest, DeadlineEndsABlockedReadAndTheBackoff) {
  TempDir dir;
  const std::string path = dir.File("silent.sock");
  ScriptedServer server(path, {[](int fd) { WaitForPeerClose(fd); }});
  ASSERT_TRUE(server.ok());
  RecordingSink sink(/*max_losses=*/100);
  FrameFeed::Options options = FastOptions(path);
  options.deadline = absl::Now() + absl::Milliseconds(200);
  FrameFeed feed(options);
  const absl::Status status = feed.Run(sink);
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(sink.connections, 1);

  // Nobody listening and a long backoff: the deadline still ends it.
  RecordingSink sink2(/*max_losses=*/100);
  options.socket_path = dir.File("none.sock");
  options.initial_backoff = absl::Hours(1);
  options.deadline = absl::Now() + absl::Milliseconds(100);
  FrameFeed feed2(options);
  EXPECT_TRUE(absl::IsDeadlineExceeded(feed2.Run(sink2)));
  ASSERT_EQ(sink2.events.size(), 1u);
  EXPECT_EQ(sink2.events[0].report.reason, StreamLoss::kAgentGone);
}

TEST(FrameFeedTest, ClassifiesEveryStatus) {
  EXPECT_EQ(ClassifyLoss(absl::NotFoundError("x"), false, 0),
            StreamLoss::kAgentGone);
  EXPECT_EQ(ClassifyLoss(absl::UnavailableError("x"), false, 0),
            StreamLoss::kAgentGone);
  EXPECT_EQ(ClassifyLoss(absl::OutOfRangeError("eof"), true, 3),
            StreamLoss::kAgentGone);
  EXPECT_EQ(ClassifyLoss(absl::OutOfRangeError("eof"), true, 0),
            StreamLoss::kRefused);
  EXPECT_EQ(ClassifyLoss(absl::PermissionDeniedError("x"), false, 0),
            StreamLoss::kRefused);
  EXPECT_EQ(ClassifyLoss(absl::ResourceExhaustedError("too many"), true, 0),
            StreamLoss::kRefused);
  EXPECT_EQ(ClassifyLoss(absl::DataLossError("x"), true, 9),
            StreamLoss::kCorruptFrame);
  EXPECT_EQ(ClassifyLoss(absl::FailedPreconditionError("x"), true, 0),
            StreamLoss::kIncompatibleSchema);
  // Mid-stream, "not a perfwire frame" is damage: the schema cannot change
  // within one connection.
  EXPECT_EQ(ClassifyLoss(absl::FailedPreconditionError("x"), true, 2),
            StreamLoss::kCorruptFrame);
  EXPECT_EQ(ClassifyLoss(absl::InternalError("EIO"), true, 1),
            StreamLoss::kOther);
  EXPECT_EQ(StreamLossName(StreamLoss::kAgentGone), "agent gone");
  EXPECT_EQ(StreamLossName(StreamLoss::kIncompatibleSchema),
            "incompatible schema");
}

}  // namespace
}  // namespace perfwire
