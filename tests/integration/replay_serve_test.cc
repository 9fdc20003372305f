// `perfwire replay --serve` binds its socket with the agent's rules: a live
// socket (a running perfwired) is refused and left working, never taken over.

#include <signal.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "base/unix_socket.h"
#include "clients/lib/recording.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"
#include "schema_text.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

std::string WriteRecording(const TempDir& dir) {
  const std::string path = dir.path() + "/three.pwrec";
  absl::StatusOr<RecordingWriter> writer =
      RecordingWriter::Create(path, kSchemaVersion, "replayhost");
  EXPECT_TRUE(writer.ok()) << writer.status();
  for (uint64_t seq = 0; seq < 3; ++seq) {
    flatbuffers::FlatBufferBuilder fbb;
    const auto hostname = fbb.CreateString("replayhost");
    fb::FrameBuilder frame(fbb);
    frame.add_schema_version(kSchemaVersion);
    frame.add_seq(seq);
    frame.add_hostname(hostname);
    fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
    EXPECT_TRUE(writer->Append({fbb.GetBufferPointer(), fbb.GetSize()}).ok());
  }
  return path;
}

bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    usleep(10 * 1000);
  }
  return false;
}

TEST(ReplayServe, RefusesASocketSomeoneServes) {
  TempDir dir;
  const std::string recording = WriteRecording(dir);
  const std::string socket = dir.path() + "/live.sock";
  absl::StatusOr<BoundUnixSocket> live = BindUnixSocket(socket, {});
  ASSERT_TRUE(live.ok()) << live.status();

  Child replay(std::string(PERFWIRE_BIN_DIR) + "/perfwire",
               {"replay", recording, "--serve", socket});
  std::string out;
  EXPECT_EQ(replay.Finish(&out), 1);
  // The live server still owns its socket: a client reaches it.
  absl::StatusOr<UniqueFd> client = ConnectUnixSocket(socket);
  EXPECT_TRUE(client.ok()) << client.status();
}

TEST(ReplayServe, ReplacesAStaleSocketAndServes) {
  TempDir dir;
  const std::string recording = WriteRecording(dir);
  const std::string socket = dir.path() + "/stale.sock";
  {
    absl::StatusOr<BoundUnixSocket> crashed = BindUnixSocket(socket, {});
    ASSERT_TRUE(crashed.ok());
    ASSERT_EQ(::link(socket.c_str(), (socket + ".keep").c_str()), 0);
  }
  ASSERT_EQ(::rename((socket + ".keep").c_str(), socket.c_str()), 0);

  Child replay(std::string(PERFWIRE_BIN_DIR) + "/perfwire",
               {"replay", recording, "--serve", socket});
  ASSERT_TRUE(Eventually([&] { return ConnectUnixSocket(socket).ok(); }));
  Child dump(std::string(PERFWIRE_BIN_DIR) + "/perfwire",
             {"dump", "--socket", socket, "--count", "3", "--json"});
  std::string frames;
  EXPECT_EQ(dump.Finish(&frames), 0);
  EXPECT_NE(frames.find("\"seq\":2,"), std::string::npos) << frames;
  replay.Signal(SIGTERM);
  replay.Finish(nullptr);
}

}  // namespace
}  // namespace perfwire::testing
