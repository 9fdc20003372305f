// The frame server's edges against a real perfwired and the real `perfwire`
// command (issue 15.4, 15.10): a consumer refused at --max_consumers is told
// why, a client that writes to the frame socket is disconnected and counted,
// and a second perfwired refused on a live socket leaves no file behind.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "base/unique_fd.h"
#include "clients/lib/frame_stream.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

// Runs `cmd` under /bin/sh; returns its stdout, `*status` its exit status.
std::string Shell(const std::string& cmd, int* status) {
  Child child("/bin/sh", {"-c", cmd});
  std::string out;
  *status = child.Finish(&out);
  return out;
}

std::string ClientPath() { return std::string(PERFWIRE_BIN_DIR) + "/perfwire"; }

UniqueFd ConnectStream(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return UniqueFd();
  return fd;
}

// Sums AgentStats fields over frames until `done` or 30 frames.
struct ServerTotals {
  uint64_t refused = 0;
  uint64_t writing = 0;
};

TEST(FrameServerEdges, RefusedConsumerIsToldWhyAndCounted) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("200ms", {"--max_consumers=1"});
  ASSERT_TRUE(agent.started()) << agent.error();
  auto first = FrameStream::Connect(agent.socket());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->Next().ok());  // accepted and served
  int status = 0;
  const std::string out = Shell(
      ClientPath() + " dump --socket=" + agent.socket() + " 2>&1", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("perfwired refused: 1 consumers already connected "
                     "(--max_consumers)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("after 0 frames"), std::string::npos) << out;
  ServerTotals totals;
  for (int i = 0; i < 30 && totals.refused == 0; ++i) {
    auto frame = first->Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    totals.refused += (*frame)->agent()->refused_consumer_count();
  }
  EXPECT_EQ(totals.refused, 1u);
}

TEST(FrameServerEdges, ClientThatWritesIsDisconnectedAndCounted) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("200ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  auto watcher = FrameStream::Connect(agent.socket());
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  UniqueFd talker = ConnectStream(agent.socket());
  ASSERT_TRUE(talker.valid());
  // Writes until the agent hangs up (EPIPE / ECONNRESET).
  const std::string junk(4096, 'x');
  bool hung_up = false;
  for (int i = 0; i < 100000 && !hung_up; ++i) {
    const ssize_t n = send(talker.get(), junk.data(), junk.size(),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) hung_up = true;
    if (n < 0 && errno == EAGAIN) usleep(1000);
  }
  EXPECT_TRUE(hung_up) << "the agent kept reading a client that writes";
  ServerTotals totals;
  for (int i = 0; i < 30 && totals.writing == 0; ++i) {
    auto frame = watcher->Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    totals.writing += (*frame)->agent()->writing_consumer_count();
  }
  EXPECT_EQ(totals.writing, 1u);
}

// A second perfwired started its sources (binding its own app socket) and
// then found the frame socket served by a live agent: it used to exit and
// leave that app socket file behind.
TEST(FrameServerEdges, SecondAgentRefusedOnLiveSocketLeavesNothingBehind) {
  PERFWIRE_REQUIRE_BPF();
  Agent first("200ms");
  ASSERT_TRUE(first.started()) << first.error();
  TempDir second_dir;
  const std::string app_socket = second_dir.path() + "/app.sock";
  int status = 0;
  const std::string out =
      Shell(AgentPath() + " --socket=" + first.socket() +
                " --app_socket=" + app_socket + " --interval=200ms 2>&1",
            &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(access(app_socket.c_str(), F_OK), 0)
      << app_socket << " was left behind; output: " << out;
  EXPECT_EQ(access(first.socket().c_str(), F_OK), 0);  // not the first's
}

}  // namespace
}  // namespace perfwire::testing
