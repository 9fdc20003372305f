// base/unix_socket: the stale-socket and live-peer rules every binder shares.

#include "base/unix_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class UnixSocketTest : public ::testing::TestWithParam<int> {
 protected:
  UnixSocketOptions Options() const {
    UnixSocketOptions options;
    options.type = GetParam();
    options.mode = 0640;
    return options;
  }
  testing::TempDir dir_;
  std::string path_ = dir_.File("sub/dir/s.sock");
};

TEST_P(UnixSocketTest, BindsWithModeAndCreatesParents) {
  absl::StatusOr<BoundUnixSocket> sock = BindUnixSocket(path_, Options());
  ASSERT_TRUE(sock.ok()) << sock.status();
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_TRUE(ConnectUnixSocket(path_, GetParam()).ok());
}

TEST_P(UnixSocketTest, RefusesALiveSocketAndLeavesIt) {
  absl::StatusOr<BoundUnixSocket> first = BindUnixSocket(path_, Options());
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<BoundUnixSocket> second = BindUnixSocket(path_, Options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(ConnectUnixSocket(path_, GetParam()).ok())
      << "the refused bind must not have touched the live socket";
}

TEST_P(UnixSocketTest, ReplacesAStaleSocket) {
  {
    // What a crash leaves: the file of a socket nobody holds.
    absl::StatusOr<BoundUnixSocket> crashed = BindUnixSocket(path_, Options());
    ASSERT_TRUE(crashed.ok());
    ASSERT_EQ(::link(path_.c_str(), (path_ + ".keep").c_str()), 0);
  }
  ASSERT_EQ(::rename((path_ + ".keep").c_str(), path_.c_str()), 0);
  ASSERT_TRUE(Exists(path_));
  absl::StatusOr<BoundUnixSocket> sock = BindUnixSocket(path_, Options());
  EXPECT_TRUE(sock.ok()) << sock.status();
}

TEST_P(UnixSocketTest, RefusesARegularFile) {
  ASSERT_TRUE(BindUnixSocket(path_, Options()).ok());  // creates parents
  FILE* f = std::fopen(path_.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_EQ(BindUnixSocket(path_, Options()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Exists(path_));
}

TEST_P(UnixSocketTest, CloseRemovesOnlyItsOwnFile) {
  absl::StatusOr<BoundUnixSocket> first = BindUnixSocket(path_, Options());
  ASSERT_TRUE(first.ok());
  // Someone replaced our file (e.g. an operator moved it aside).
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  absl::StatusOr<BoundUnixSocket> successor = BindUnixSocket(path_, Options());
  ASSERT_TRUE(successor.ok());
  first->Close();
  EXPECT_TRUE(Exists(path_)) << "a successor's socket must survive";
  successor->Close();
  EXPECT_FALSE(Exists(path_));
}

TEST_P(UnixSocketTest, MovedSocketClosesOnce) {
  absl::StatusOr<BoundUnixSocket> first = BindUnixSocket(path_, Options());
  ASSERT_TRUE(first.ok());
  BoundUnixSocket moved = *std::move(first);
  first->Close();  // moved-from: must not unlink
  EXPECT_TRUE(Exists(path_));
  moved.Close();
  EXPECT_FALSE(Exists(path_));
}

INSTANTIATE_TEST_SUITE_P(StreamAndDatagram, UnixSocketTest,
                         ::testing::Values(SOCK_STREAM, SOCK_DGRAM));

TEST(ConnectUnixSocket, SaysWhyItFailed) {
  testing::TempDir dir;
  EXPECT_EQ(ConnectUnixSocket(dir.File("none.sock")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ConnectUnixSocket(std::string(200, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectUnixSocket("").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string stale = dir.File("stale.sock");
  {
    absl::StatusOr<BoundUnixSocket> s = BindUnixSocket(stale, {});
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(::link(stale.c_str(), (stale + ".keep").c_str()), 0);
  }
  ASSERT_EQ(::rename((stale + ".keep").c_str(), stale.c_str()), 0);
  EXPECT_EQ(ConnectUnixSocket(stale).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace perfwire
