// perfwired as a process: startup refusals, socket rules, clean shutdown.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

std::string RunShell(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

bool OurProgramsLoaded() {
  int status = 0;
  const std::string progs = RunShell("bpftool prog list 2>/dev/null", &status);
  return progs.find("task_free_") != std::string::npos ||
         progs.find("bio_queue_") != std::string::npos ||
         progs.find("snapshot_thread") != std::string::npos;
}

TEST(AgentLifecycle, SigtermDetachesEverything) {
  PERFWIRE_REQUIRE_BPF();
  std::string socket;
  {
    Agent agent("100ms");
    ASSERT_TRUE(agent.started()) << agent.error();
    socket = agent.socket();
    EXPECT_TRUE(OurProgramsLoaded());
    struct stat st;
    ASSERT_EQ(stat(socket.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(agent.Stop(), 0);
  }
  EXPECT_FALSE(OurProgramsLoaded()) << "programs left attached after SIGTERM";
  EXPECT_NE(access(socket.c_str(), F_OK), 0) << "socket file left behind";
}

TEST(AgentLifecycle, SecondAgentOnSameSocketIsRefused) {
  PERFWIRE_REQUIRE_BPF();
  Agent first("200ms");
  ASSERT_TRUE(first.started()) << first.error();
  int status = 0;
  const std::string out = RunShell(
      AgentPath() + " --socket=" + first.socket() + " --interval=200ms 2>&1",
      &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("already"), std::string::npos) << out;
  // The first agent still serves.
  FrameTotals totals(first.socket());
  totals.WaitFrames(2);
  EXPECT_GE(totals.frames(), 2u);
}

TEST(AgentLifecycle, StaleSocketFileIsReplaced) {
  PERFWIRE_REQUIRE_BPF();
  TempDir dir;
  const std::string path = dir.path() + "/stale.sock";
  // A socket file nobody listens on, as a crash leaves it.
  int status = 0;
  RunShell(
      "python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.bind('" +
          path + "')\"",
      &status);
  struct stat stale;
  ASSERT_EQ(stat(path.c_str(), &stale), 0);
  Child agent(AgentPath(), {"--socket=" + path, "--interval=100ms"});
  std::unique_ptr<FrameTotals> totals;
  for (int i = 0; i < 100 && !totals; ++i) {
    usleep(100 * 1000);
    // The agent's listening socket replaces the stale file (new inode).
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && st.st_ino != stale.st_ino &&
        agent.Running()) {
      totals = std::make_unique<FrameTotals>(path);
    }
  }
  ASSERT_NE(totals, nullptr);
  totals->WaitFrames(2);
  EXPECT_GE(totals->frames(), 2u) << totals->error();
}

TEST(AgentLifecycle, NonRootGetsOneClearLine) {
  PERFWIRE_REQUIRE_BPF();
  int status = 0;
  const std::string out = RunShell(
      "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
          AgentPath() + " --socket=/tmp/perfwire-nonroot.sock 2>&1",
      &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("needs root or CAP_BPF"), std::string::npos) << out;
}

TEST(AgentLifecycle, AgentDoesNotCountItself) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  FrameTotals totals(agent.socket());
  totals.WaitFrames(5);
  ASSERT_GE(totals.frames(), 5u);
  for (const auto& [tid, t] : totals.Snapshot()) {
    EXPECT_NE(t.comm, "perfwired") << "agent thread " << tid << " reported";
  }
}

}  // namespace
}  // namespace perfwire::testing
