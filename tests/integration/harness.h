#ifndef PERFWIRE_TESTS_INTEGRATION_HARNESS_H_
#define PERFWIRE_TESTS_INTEGRATION_HARNESS_H_

// Runs the real agent and real workloads for integration tests, and sums
// what the agent reports per thread.

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/threads/thread_counters.h"

namespace perfwire::testing {

// Skips the test when BPF cannot be used here (not root), but fails it
// under CI=true, where the BPF tests must run.
#define PERFWIRE_REQUIRE_BPF()                                          \
  do {                                                                  \
    if (std::string why = ::perfwire::testing::BpfUnavailableReason();  \
        !why.empty()) {                                                 \
      if (::perfwire::testing::InCi()) FAIL() << "CI=true but " << why; \
      GTEST_SKIP() << why;                                              \
    }                                                                   \
  } while (0)

// The same for a peer program the test runs (Prometheus, stress-ng, ...):
// `make deps` installs it, so under CI=true its absence is a failure.
#define PERFWIRE_REQUIRE_PROGRAM(path)                                   \
  do {                                                                   \
    if (::access(path, X_OK) != 0) {                                     \
      if (::perfwire::testing::InCi())                                   \
        FAIL() << "CI=true but " << (path) << " is missing (make deps)"; \
      GTEST_SKIP() << (path) << " missing (make deps installs it)";      \
    }                                                                    \
  } while (0)

bool InCi();
std::string BpfUnavailableReason();  // empty when usable

// A temp directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process with stdout (and optionally stderr) captured.
class Child {
 public:
  Child(const std::string& binary, const std::vector<std::string>& args);
  ~Child();  // SIGKILLs the child if still running
  pid_t pid() const { return pid_; }
  // Reads stdout until a line starting with `prefix`; empty on EOF.
  std::string ReadLineStartingWith(const std::string& prefix);
  // Reads the rest of stdout, waits, returns the exit status (-1 on signal).
  int Finish(std::string* rest_of_stdout);
  void Signal(int sig);
  bool Running();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

// perfwired on a private socket, with a short interval.
class Agent {
 public:
  explicit Agent(const std::string& interval = "200ms",
                 std::vector<std::string> extra = {});
  ~Agent();  // SIGTERM, then wait
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return child_->pid(); }
  bool started() const { return started_; }
  const std::string& error() const { return error_; }
  int Stop();  // SIGTERM and wait; returns exit status

 private:
  TempDir dir_;
  std::string socket_;
  std::unique_ptr<Child> child_;
  bool started_ = false;
  std::string error_;
};

struct ThreadTotals {
  uint32_t pid = 0;
  std::string comm;
  uint64_t rows = 0;
  uint64_t exited_rows = 0;
  ThreadCounters sum;
  std::vector<uint64_t> live_on_cpu_ns;  // each live (not exit) row's delta
};

// Connects to the agent and sums every frame's per-thread deltas by tid.
class FrameTotals {
 public:
  explicit FrameTotals(const std::string& socket);
  ~FrameTotals();
  // Waits until `n` more frames have arrived after this call.
  void WaitFrames(int n);
  std::map<uint32_t, ThreadTotals> Snapshot();
  uint64_t last_agent_thread_count();
  uint64_t lost_event_total();
  uint64_t exit_without_final_total();
  uint64_t frames();
  std::string error();

 private:
  void Run(std::string socket);
  absl::Mutex mu_;
  std::map<uint32_t, ThreadTotals> totals_ ABSL_GUARDED_BY(mu_);
  uint64_t frames_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t agent_thread_count_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t lost_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t exit_without_final_ ABSL_GUARDED_BY(mu_) = 0;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
  std::atomic<int> fd_{-1};
  std::thread reader_;
};

// key=value fields of a workload's `truth ...` / `short ...` line.
std::map<std::string, std::string> ParseFields(const std::string& line);
uint64_t Field(const std::map<std::string, std::string>& fields,
               const std::string& key);

std::string WorkloadPath(const std::string& name);
std::string AgentPath();

}  // namespace perfwire::testing

#endif  // PERFWIRE_TESTS_INTEGRATION_HARNESS_H_
