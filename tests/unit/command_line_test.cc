// base/command_line: the usage checks both binaries share.

#include "base/command_line.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int32_t, cl_test_count, 1, "a test flag");
ABSL_FLAG(bool, cl_test_verbose, false, "a test flag");
ABSL_FLAG(perfwire::FileMode, cl_test_mode, perfwire::FileMode{0640},
          "a test flag");

namespace perfwire {
namespace {

const std::vector<absl::string_view> kKnown = {
    "cl_test_count", "cl_test_verbose", "cl_test_mode"};

FlagCheck Check(std::vector<std::string> words) {
  static std::vector<std::string> kept;  // args point into these
  kept = std::move(words);
  std::vector<char*> args;
  for (std::string& w : kept) args.push_back(w.data());
  std::vector<std::string> storage;
  storage.reserve(args.size());
  return CheckFlags(
      args, 1, kKnown, [](absl::string_view) { return std::string(" (hint)"); },
      storage);
}

TEST(CheckFlags, UnknownFlagIsAnErrorWithTheHint) {
  const FlagCheck c = Check({"prog", "--cl_test_cuont=3"});
  EXPECT_EQ(c.error, "unknown flag --cl_test_cuont (hint)");
}

TEST(CheckFlags, BadValueIsAnError) {
  EXPECT_NE(Check({"prog", "--cl_test_count=x"}).error.find("bad value"),
            std::string::npos);
  EXPECT_EQ(Check({"prog", "--cl_test_count"}).error,
            "flag --cl_test_count needs a value");
}

TEST(CheckFlags, HelpVersionAndGoodFlags) {
  const FlagCheck c =
      Check({"prog", "--cl_test_count", "7", "--nocl_test_verbose", "-h",
             "--version", "--", "--whatever"});
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_TRUE(c.help);
  EXPECT_TRUE(c.version);
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_test_count), 7);
}

TEST(NearestName, SuggestsOnlyCloseNames) {
  EXPECT_EQ(NearestName("intervl", {"interval", "socket"}), "interval");
  EXPECT_EQ(NearestName("zzzzzz", {"interval", "socket"}), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(FileMode, ParsesAndPrintsOctal) {
  std::string error;
  FileMode m;
  ASSERT_TRUE(AbslParseFlag("0660", &m, &error));
  EXPECT_EQ(m.bits, 0660u);
  ASSERT_TRUE(AbslParseFlag("600", &m, &error));
  EXPECT_EQ(m.bits, 0600u);
  ASSERT_TRUE(AbslParseFlag("0o4755", &m, &error));
  EXPECT_EQ(m.bits, 04755u);
  EXPECT_EQ(AbslUnparseFlag(FileMode{0666}), "0666");
  for (const char* bad : {"", "0999", "rw", "010000", "0x1ff", "-1"}) {
    EXPECT_FALSE(AbslParseFlag(bad, &m, &error)) << bad;
  }
}

}  // namespace
}  // namespace perfwire
