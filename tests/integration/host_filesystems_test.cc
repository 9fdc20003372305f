// The filesystems source follows mounts as they come and go: it re-reads the
// mount table only when procfs flags a change, so a tmpfs the test mounts
// must appear in the next collection, with its size, and vanish after umount.

#include <sys/mount.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "agent/frame_builder.h"
#include "agent/host/filesystems.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

// One Collect(): the mount point's total bytes, or -1 when not reported.
int64_t CollectTotalBytes(FilesystemSource& source, const std::string& dir) {
  flatbuffers::FlatBufferBuilder fbb;
  FrameSections sections;
  source.Collect(fbb, sections);
  FinishFrame(fbb, FrameHeader{}, sections);
  const fb::Frame* frame = fb::GetSizePrefixedFrame(fbb.GetBufferPointer());
  if (!frame->filesystems()) return -1;
  for (const auto* fs : *frame->filesystems()) {
    if (fs->mount_point() && fs->mount_point()->str() == dir)
      return static_cast<int64_t>(fs->total_bytes());
  }
  return -1;
}

TEST(HostFilesystems, MountAndUnmountAreSeenNextCollection) {
  PERFWIRE_REQUIRE_BPF();  // root: mount(2)
  TempDir dir;
  FilesystemSource source{HostOptions{}};
  ASSERT_TRUE(source.Start().ok()) << source.status().reason;
  EXPECT_EQ(CollectTotalBytes(source, dir.path()), -1);
  EXPECT_EQ(CollectTotalBytes(source, dir.path()), -1);  // nothing changed

  ASSERT_EQ(mount("perfwire-test", dir.path().c_str(), "tmpfs", 0, "size=8m"),
            0)
      << std::strerror(errno);
  const int64_t total = CollectTotalBytes(source, dir.path());
  umount2(dir.path().c_str(), MNT_DETACH);
  EXPECT_EQ(total, 8 << 20);
  EXPECT_EQ(CollectTotalBytes(source, dir.path()), -1);
}

}  // namespace
}  // namespace perfwire::testing
