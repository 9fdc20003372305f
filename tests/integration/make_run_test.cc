// `make run` passes perfwired flags through ARGS (make run
// ARGS="--contention").

#include <string>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/host_test_util.h"

namespace perfwire::testing {
namespace {

// Runs clients/run_live.sh (what `make run` runs) piped, for a few frames.
std::string RunLive(const TempDir& dir, const std::string& args) {
  const std::string build = std::string(PERFWIRE_BIN_DIR) + "/..";
  return Shell("cd " PERFWIRE_SOURCE_DIR " && BUILD_DIR=" + build +
               " INTERVAL=200ms SOCKET=" + dir.path() + "/live.sock ARGS='" +
               args + "' timeout -s INT 3 sh clients/run_live.sh 2>&1");
}

TEST(MakeRun, ArgsReachTheAgent) {
  PERFWIRE_REQUIRE_BPF();
  TempDir dir;
  // Private sockets, so a real agent on this host is never touched.
  const std::string app = " --app_socket=" + dir.path() + "/app.sock";
  const std::string plain = RunLive(dir, app);
  EXPECT_NE(plain.find("contention unavailable"), std::string::npos) << plain;
  const std::string with = RunLive(dir, "--contention" + app);
  EXPECT_EQ(with.find("contention unavailable"), std::string::npos) << with;
  EXPECT_NE(with.find("contention"), std::string::npos) << with;
  // The Makefile hands ARGS to the script.
  const std::string dry =
      Shell("make -n -C " PERFWIRE_SOURCE_DIR " run ARGS=--contention 2>&1");
  EXPECT_NE(dry.find("ARGS=\"--contention\""), std::string::npos) << dry;
}

}  // namespace
}  // namespace perfwire::testing
