// perfwired as an unprivileged user (uid/gid 65534 via setpriv): BPF is
// refused, so the threads source falls back to polling /proc (hook
// "procfs"), and a known workload's per-thread CPU and switches must match
// what the kernel shows in /proc for those threads, within 2%. (With
// --require_bpf the same user is refused: agent_lifecycle_test.cc.)

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "clients/lib/frame_stream.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

constexpr char kSetpriv[] = "/usr/bin/setpriv";
constexpr char kNobody[] = "65534";

// Skips unless we can start a process as another user.
#define REQUIRE_SETPRIV()                                                  \
  do {                                                                     \
    if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to uid 65534"; \
    if (access(kSetpriv, X_OK) != 0) GTEST_SKIP() << "no " << kSetpriv;    \
  } while (0)

std::vector<std::string> AsNobody(std::vector<std::string> agent_args) {
  std::vector<std::string> args = {std::string("--reuid=") + kNobody,
                                   std::string("--regid=") + kNobody,
                                   "--clear-groups", AgentPath()};
  args.insert(args.end(), agent_args.begin(), agent_args.end());
  return args;
}

// perfwired as uid 65534 on a socket in a directory that user may write.
class UnprivilegedAgent {
 public:
  explicit UnprivilegedAgent(std::vector<std::string> extra = {}) {
    chmod(dir_.path().c_str(), 0777);
    socket_ = dir_.path() + "/perfwire.sock";
    std::vector<std::string> args = {
        "--socket=" + socket_, "--app_socket=" + dir_.path() + "/app.sock",
        "--interval=200ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(kSetpriv, AsNobody(args));
    for (int i = 0; i < 200 && !Exited(); ++i) {
      if (access(socket_.c_str(), F_OK) == 0) {
        started_ = true;
        return;
      }
      usleep(50 * 1000);
    }
  }
  ~UnprivilegedAgent() { Stop(); }
  // SIGTERM if still running; the exit status.
  int Stop() {
    if (!stopped_) {
      if (!Exited()) child_->Signal(SIGTERM);
      status_ = child_->Finish(nullptr);
      stopped_ = true;
    }
    return status_;
  }
  bool started() const { return started_; }
  const std::string& socket() const { return socket_; }
  Child& child() { return *child_; }
  // Whether the agent exited, without reaping it (Finish() wants its status).
  bool Exited() {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(child_->pid()), &info,
                  WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid != 0;
  }

 private:
  TempDir dir_;
  std::string socket_;
  std::unique_ptr<Child> child_;
  bool started_ = false;
  bool stopped_ = false;
  int status_ = -1;
};

// The effective uid of process `pid` (field 2 of its status "Uid:" line).
std::string EffectiveUid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key, real, effective;
    if (fields >> key >> real >> effective && key == "Uid:") return effective;
  }
  return "";
}

TEST(ProcfsFallback, UnprivilegedAgentMatchesProcForPingpong) {
  REQUIRE_SETPRIV();
  UnprivilegedAgent agent;
  ASSERT_TRUE(agent.started()) << "perfwired as uid 65534 did not start";
  const pid_t agent_pid = agent.child().pid();
  EXPECT_EQ(EffectiveUid(agent_pid), kNobody);
  // It stays up: the fallback is a way to run, not a way to fail later.
  ASSERT_FALSE(agent.Exited());

  // The frame says how per-thread data is collected.
  {
    auto stream = FrameStream::Connect(agent.socket());
    ASSERT_TRUE(stream.ok()) << stream.status();
    auto frame = stream->Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    std::map<std::string, const fb::SourceStatus*> by_name;
    for (const auto* st : *(*frame)->sources()) by_name[st->name()->str()] = st;
    ASSERT_TRUE(by_name.count("threads"));
    const fb::SourceStatus* threads = by_name["threads"];
    EXPECT_TRUE(threads->available());
    EXPECT_EQ(threads->hook()->str(), "procfs");
    const std::string reason = threads->reason()->str();
    for (const char* blind_spot :
         {"BPF refused", "shorter than an interval",
          "no run-queue or lock waits", "no block IO per thread",
          "docs/BENCHMARKS.md"}) {
      EXPECT_NE(reason.find(blind_spot), std::string::npos)
          << blind_spot << " missing from: " << reason;
    }
    // Host sources keep working without privileges.
    for (const char* host : {"cpu", "memory", "network", "processes"}) {
      ASSERT_TRUE(by_name.count(host)) << host;
      EXPECT_TRUE(by_name[host]->available()) << host;
    }
    EXPECT_NE((*frame)->threads(), nullptr);
    EXPECT_NE((*frame)->cpu(), nullptr);
  }

  FrameTotals totals(agent.socket());
  totals.WaitFrames(1);
  ASSERT_EQ(totals.error(), "");
  // Each thread stays parked (counters final) for 1 s, 5 intervals, after
  // its truth was read, so the poller's last read of it is that truth.
  Child child(WorkloadPath("pingpong"),
              {"--round-trips=20000", "--park-ms=1000"});
  std::string out;
  ASSERT_EQ(child.Finish(&out), 0) << out;
  totals.WaitFrames(3);  // the exits (gone since the last poll)
  ASSERT_EQ(totals.error(), "");
  EXPECT_EQ(agent.Stop(), 0);
  const auto snapshot = totals.Snapshot();

  for (const auto& [tid, t] : snapshot) {
    EXPECT_NE(t.pid, static_cast<uint32_t>(agent_pid))
        << "agent thread " << tid << " (" << t.comm << ") reported";
  }
  int checked = 0;
  for (size_t at = out.find("truth "); at != std::string::npos;
       at = out.find("truth ", at + 1)) {
    const auto truth = ParseFields(out.substr(at, out.find('\n', at) - at));
    const uint32_t tid = static_cast<uint32_t>(Field(truth, "tid"));
    auto it = snapshot.find(tid);
    ASSERT_NE(it, snapshot.end()) << "no rows for tid " << tid;
    const ThreadTotals& got = it->second;
    EXPECT_EQ(got.exited_rows, 1u) << tid;
    auto within_2_percent = [&](uint64_t agent_value, const char* field) {
      const double want = static_cast<double>(Field(truth, field));
      const double diff = static_cast<double>(agent_value) - want;
      std::printf("  %-26s agent %12llu  /proc %12.0f  error %.4f%%\n", field,
                  static_cast<unsigned long long>(agent_value), want,
                  want ? 100.0 * diff / want : 0.0);
      EXPECT_LE(std::abs(diff), 0.02 * want) << field << " of tid " << tid;
    };
    within_2_percent(got.sum.on_cpu_ns, "on_cpu_ns");
    within_2_percent(got.sum.voluntary_switch_count, "voluntary_switch_count");
    // Involuntary switches are few here: compare the total.
    const uint64_t switches = Field(truth, "voluntary_switch_count") +
                              Field(truth, "involuntary_switch_count");
    const uint64_t got_switches =
        got.sum.voluntary_switch_count + got.sum.involuntary_switch_count;
    EXPECT_LE(std::abs(static_cast<double>(got_switches) -
                       static_cast<double>(switches)),
              0.02 * static_cast<double>(switches));
    // The workload ran as root: its io is not ours to read, so no bytes.
    EXPECT_EQ(got.sum.read_bytes, 0u);
    EXPECT_GE(switches, 19000u);  // it really switched
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

}  // namespace
}  // namespace perfwire::testing
