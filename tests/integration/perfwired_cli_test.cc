// perfwired's command line: --version, --help, and usage errors exit 2 with
// one clear line; a file mode flag means what chmod means.

#include <sys/stat.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/host_test_util.h"

namespace perfwire::testing {
namespace {

std::string Perfwired() { return std::string(PERFWIRE_BIN_DIR) + "/perfwired"; }

int ExitStatus(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

TEST(PerfwiredCli, VersionAndHelpExitZero) {
  int status = 0;
  const std::string version = Shell(Perfwired() + " --version", &status);
  EXPECT_EQ(ExitStatus(status), 0);
  EXPECT_EQ(version.rfind("perfwired 0.", 0), 0u) << version;
  EXPECT_NE(version.find("(git "), std::string::npos) << version;

  const std::string help = Shell(Perfwired() + " --help", &status);
  EXPECT_EQ(ExitStatus(status), 0);
  EXPECT_NE(help.find("--interval"), std::string::npos);
  EXPECT_NE(help.find("--require_bpf"), std::string::npos);
  // The mode the way chmod writes it, and no build paths.
  EXPECT_NE(help.find("default: 0666"), std::string::npos) << help;
  EXPECT_EQ(help.find(".cc"), std::string::npos) << help;
  EXPECT_EQ(help.find("absl"), std::string::npos) << "only perfwired's flags";
  Shell(Perfwired() + " --helpfull", &status);
  EXPECT_EQ(ExitStatus(status), 0);
}

TEST(PerfwiredCli, UsageErrorsExitTwoAndSuggest) {
  int status = 0;
  std::string out = Shell(Perfwired() + " --intervl=1s", &status);
  EXPECT_EQ(ExitStatus(status), 2);
  EXPECT_NE(out.find("did you mean --interval?"), std::string::npos) << out;
  out = Shell(Perfwired() + " --interval=abc", &status);
  EXPECT_EQ(ExitStatus(status), 2) << out;
  out = Shell(Perfwired() + " --app_socket_mode=0999", &status);
  EXPECT_EQ(ExitStatus(status), 2) << out;
  out = Shell(Perfwired() + " --thread_snapshot=fast", &status);
  EXPECT_EQ(ExitStatus(status), 2) << out;
  out = Shell(Perfwired() + " stray", &status);
  EXPECT_EQ(ExitStatus(status), 2) << out;
}

TEST(PerfwiredCli, AppSocketModeIsOctal) {
  // Abseil would read "0660" as decimal 660 (01224: sticky, -w--w-r--).
  PERFWIRE_REQUIRE_BPF();  // root: the agent's sockets under /tmp
  Agent agent("200ms", {"--app_socket_mode=0660"});
  ASSERT_TRUE(agent.started()) << agent.error();
  struct stat st;
  const std::string app =
      agent.socket().substr(0, agent.socket().rfind('/')) + "/app.sock";
  ASSERT_EQ(::stat(app.c_str(), &st), 0) << app;
  EXPECT_EQ(st.st_mode & 07777, 0660u);
}

}  // namespace
}  // namespace perfwire::testing
