// Sources that read a /proc file read it under --proc_root: pid_max (the
// threads and contention sources' map sizes) and the app-metrics source's
// net.unix.max_dgram_qlen, on a hand-made /proc tree in a temp dir.

#include <filesystem>
#include <fstream>
#include <string>

#include "agent/app_metrics/app_metrics_source.h"
#include "agent/threads/thread_source.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

// A /proc tree holding just `rel` with `content`.
class FakeProc {
 public:
  void Add(const std::string& rel, const std::string& content) {
    const std::string path = dir_.path() + rel;
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path());
    std::ofstream(path) << content;
  }
  const std::string& root() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
};

TEST(ProcRoot, PidMaxIsReadUnderTheRoot) {
  FakeProc proc;
  proc.Add("/sys/kernel/pid_max", "4242\n");
  EXPECT_EQ(ReadPidMax(proc.root()), 4242u);
  // Missing, truncated or garbage: the kernel's default.
  EXPECT_EQ(ReadPidMax(proc.root() + "/nonexistent"), 32768u);
  proc.Add("/sys/kernel/pid_max", "4242");
  EXPECT_EQ(ReadPidMax(proc.root()), 32768u);
  proc.Add("/sys/kernel/pid_max", "many\n");
  EXPECT_EQ(ReadPidMax(proc.root()), 32768u);
  proc.Add("/sys/kernel/pid_max", "99999999\n");  // capped at 2^22
  EXPECT_EQ(ReadPidMax(proc.root()), 1u << 22);
}

TEST(ProcRoot, AppMetricsReadsMaxDgramQlenUnderTheRoot) {
  FakeProc proc;
  proc.Add("/sys/net/unix/max_dgram_qlen", "777\n");
  testing::TempDir sockets;
  AppMetricsSourceOptions options;
  options.unix_path = sockets.path() + "/app.sock";
  options.proc_root = proc.root();
  AppMetricsSource source(options);
  ASSERT_TRUE(source.Start().ok()) << source.status().reason;
  EXPECT_NE(source.status().reason.find("net.unix.max_dgram_qlen=777"),
            std::string::npos)
      << source.status().reason;
  source.Stop();
}

}  // namespace
}  // namespace perfwire
