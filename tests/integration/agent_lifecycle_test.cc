// perfwired as a process: startup refusals, socket rules, clean shutdown.

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "base/unique_fd.h"
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

// BPF program ids the process holds open (through program and link fds).
std::set<uint32_t> ProgIdsHeldBy(pid_t pid) {
  std::set<uint32_t> ids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("prog_id:", 0) == 0)
        ids.insert(std::stoul(line.substr(8)));
    }
  }
  return ids;
}

bool ProgramLoaded(uint32_t id) {
  int status = 0;
  RunShell("bpftool prog show id " + std::to_string(id) + " >/dev/null 2>&1",
           &status);
  return status == 0;
}

TEST(AgentLifecycle, SigtermDetachesEverything) {
  PERFWIRE_REQUIRE_BPF();
  std::string socket;
  std::set<uint32_t> held;
  {
    Agent agent("100ms");
    ASSERT_TRUE(agent.started()) << agent.error();
    socket = agent.socket();
    held = ProgIdsHeldBy(agent.pid());
    // iterator, exit hook and block IO hook
    EXPECT_GE(held.size(), 3u);
    for (uint32_t id : held) EXPECT_TRUE(ProgramLoaded(id)) << id;
    struct stat st;
    ASSERT_EQ(stat(socket.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(agent.Stop(), 0);
  }
  // The kernel frees released programs after an RCU grace period.
  for (uint32_t id : held) {
    bool loaded = true;
    for (int i = 0; i < 50 && loaded; ++i) {
      loaded = ProgramLoaded(id);
      if (loaded) usleep(100 * 1000);
    }
    EXPECT_FALSE(loaded) << "program " << id
                         << " still loaded 5 s after SIGTERM";
  }
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
  {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
              0);
    chmod(path.c_str(), 0755);
  }
  struct stat stale;
  ASSERT_EQ(stat(path.c_str(), &stale), 0);
  ASSERT_NE(stale.st_mode & 0777, 0660u);
  Child agent(AgentPath(), {"--socket=" + path, "--interval=100ms"});
  std::unique_ptr<FrameTotals> totals;
  for (int i = 0; i < 100 && !totals; ++i) {
    usleep(100 * 1000);
    // The agent's listening socket (mode 0660) replaces the stale file
    // (0755; its inode number may be reused, so the mode tells them apart).
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & 0777) == 0660 &&
        agent.Running()) {
      totals = std::make_unique<FrameTotals>(path);
    }
  }
  ASSERT_NE(totals, nullptr);
  totals->WaitFrames(2);
  EXPECT_GE(totals->frames(), 2u) << totals->error();
}

// Without --require_bpf a non-root agent runs on /proc instead
// (procfs_fallback_test.cc).
TEST(AgentLifecycle, NonRootWithRequireBpfGetsOneClearLine) {
  PERFWIRE_REQUIRE_BPF();
  int status = 0;
  const std::string out = RunShell(
      "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
          AgentPath() +
          " --require_bpf --socket=/tmp/perfwire-nonroot.sock 2>&1",
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
    EXPECT_NE(t.pid, static_cast<uint32_t>(agent.pid()))
        << "agent thread " << tid << " (" << t.comm << ") reported";
  }
}

}  // namespace
}  // namespace perfwire::testing

namespace perfwire::testing {
namespace {

// Threads that exit just before SIGTERM still reach consumers: the agent
// drains exit records into a last frame and flushes it before closing.
TEST(AgentLifecycle, LastFrameAtShutdownCarriesFinalExits) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("60s");  // no regular frame during the test
  ASSERT_TRUE(agent.started()) << agent.error();
  FrameTotals totals(agent.socket());
  usleep(200 * 1000);  // let the consumer connect
  Child child(WorkloadPath("spinner"), {"--threads=1", "--ms=200"});
  std::string out;
  ASSERT_EQ(child.Finish(&out), 0);
  const auto truth = ParseFields(out.substr(out.find("truth ")));
  EXPECT_EQ(agent.Stop(), 0);
  for (int i = 0; i < 50 && totals.frames() == 0; ++i) usleep(100 * 1000);
  ASSERT_EQ(totals.frames(), 1u) << totals.error();
  const auto threads = totals.Snapshot();
  auto it = threads.find(static_cast<uint32_t>(Field(truth, "tid")));
  ASSERT_NE(it, threads.end()) << "spinner's exit missing from the last frame";
  EXPECT_EQ(it->second.exited_rows, 1u);
  EXPECT_GE(it->second.sum.on_cpu_ns, Field(truth, "on_cpu_ns"));
}

}  // namespace
}  // namespace perfwire::testing
