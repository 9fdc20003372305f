// The Python example (clients/python/examples/frames_to_pandas.py) against a
// live agent, with Debian's /usr/bin/python3: it reads frames into a pandas
// DataFrame, saves them raw, plots a PNG; then it reads the saved file back.

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

std::string Example() {
  return std::string(PERFWIRE_SOURCE_DIR) +
         "/clients/python/examples/frames_to_pandas.py";
}

// The N of the `rows=N png=...` line; -1 when absent.
int64_t Rows(const std::string& out) {
  const size_t at = out.find("rows=");
  if (at == std::string::npos) return -1;
  int64_t rows = -1;
  const size_t end = out.find(' ', at);
  if (!absl::SimpleAtoi(out.substr(at + 5, end - at - 5), &rows)) return -1;
  return rows;
}

bool IsNonEmptyPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof(magic));
  struct stat st {};
  return in.gcount() == 8 && std::string(magic, 4) == "\x89PNG" &&
         stat(path.c_str(), &st) == 0 && st.st_size > 1000;
}

TEST(PythonReader, ExampleMakesDataFrameAndPlotFromLiveAgentAndFile) {
  PERFWIRE_REQUIRE_BPF();
  if (system("/usr/bin/python3 -c 'import flatbuffers, pandas, matplotlib' "
             ">/dev/null 2>&1") != 0) {
    if (InCi()) FAIL() << "CI=true but python3-{flatbuffers,pandas,matplotlib}";
    GTEST_SKIP() << "Debian python3-flatbuffers/pandas/matplotlib missing";
  }
  Agent agent;
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string png = dir.path() + "/live.png";
  const std::string raw = dir.path() + "/frames.pwf";
  Child live(kPython,
             {Example(), "--socket", agent.socket(), "--count", "5", "--save",
              raw, "--png", png, "--generated", PERFWIRE_PYTHON_GEN_DIR});
  std::string out;
  ASSERT_EQ(live.Finish(&out), 0) << out;
  EXPECT_GT(Rows(out), 0) << out;
  EXPECT_TRUE(IsNonEmptyPng(png)) << png;

  const std::string png2 = dir.path() + "/file.png";
  Child file(kPython, {Example(), "--file", raw, "--png", png2, "--generated",
                       PERFWIRE_PYTHON_GEN_DIR});
  std::string out2;
  ASSERT_EQ(file.Finish(&out2), 0) << out2;
  EXPECT_EQ(Rows(out2), Rows(out)) << out2;
  EXPECT_TRUE(IsNonEmptyPng(png2));
}

}  // namespace
}  // namespace perfwire::testing
