// Disk bytes after a known O_DIRECT write to /var/tmp, on the device that
// holds it, against the kernel's /proc/diskstats read by the test inside the
// source's window (other writers on the device count in both).

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/host/disks.h"
#include "agent/kernelfs/kernel_fs.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/host_test_util.h"

namespace perfwire::testing {
namespace {

// Kernel name of the block device holding `path` ("vda", "nvme0n1p2"); empty
// when it is not on a block device (tmpfs, overlay).
std::string BlockDeviceOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || major(st.st_dev) == 0) return "";
  std::string buf;
  if (!KernelFs()
           .Read(absl::StrCat("/sys/dev/block/", major(st.st_dev), ":",
                              minor(st.st_dev), "/uevent"),
                 buf)
           .ok()) {
    return "";
  }
  for (absl::string_view line : absl::StrSplit(buf, '\n')) {
    if (absl::ConsumePrefix(&line, "DEVNAME=")) return std::string(line);
  }
  return "";
}

uint64_t WrittenSectors(const std::string& dev) {
  std::string buf;
  std::vector<DiskStat> stats;
  EXPECT_TRUE(KernelFs().Read("/proc/diskstats", buf).ok());
  EXPECT_TRUE(ParseDiskStats(buf, stats).ok());
  for (const DiskStat& d : stats) {
    if (d.name == dev) return d.write_sectors;
  }
  ADD_FAILURE() << dev << " not in /proc/diskstats";
  return 0;
}

TEST(HostDisk, DirectWriteShowsInWriteBytes) {
  PERFWIRE_REQUIRE_BPF();  // root: /var/tmp writable, real device
  const std::string dev = BlockDeviceOf("/var/tmp");
  if (dev.empty()) {
    if (InCi()) FAIL() << "/var/tmp is not on a block device";
    GTEST_SKIP() << "/var/tmp is not on a block device";
  }
  constexpr size_t kChunk = 1 << 20;
  constexpr int kChunks = 32;
  const uint64_t written = uint64_t{kChunk} * kChunks;
  std::string path = "/var/tmp/perfwire_disk_test_XXXXXX";
  const int tmp = mkstemp(path.data());
  ASSERT_GE(tmp, 0);
  close(tmp);
  void* mem = nullptr;
  ASSERT_EQ(posix_memalign(&mem, 4096, kChunk), 0);
  std::memset(mem, 0x5a, kChunk);

  DiskSource source{HostOptions{}};
  uint64_t before = 0, after = 0;
  SourceWindow w = RunWindow(source, [&] {
    before = WrittenSectors(dev);
    const int fd = open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    for (int i = 0; i < kChunks; ++i) {
      ASSERT_EQ(write(fd, mem, kChunk), static_cast<ssize_t>(kChunk));
    }
    fdatasync(fd);
    close(fd);
    after = WrittenSectors(dev);
  });
  free(mem);
  unlink(path.c_str());

  const uint64_t kernel_bytes = (after - before) * 512;
  EXPECT_GE(kernel_bytes, written)
      << "the kernel did not account the O_DIRECT write to " << dev;
  ASSERT_NE(w.frame->disks(), nullptr) << source.status().reason;
  const fb::HostDisk* disk = nullptr;
  for (const auto* d : *w.frame->disks()) {
    if (d->name()->str() == dev) disk = d;
  }
  ASSERT_NE(disk, nullptr) << dev;
  const double rate = disk->write_bytes_per_sec();
  std::printf(
      "%s: wrote %lu bytes O_DIRECT; diskstats in window %lu; source "
      "%.0f..%.0f\n",
      dev.c_str(), written, kernel_bytes, rate * w.inner_s(),
      rate * w.outer_s());
  // The source's window contains the test's: rate x its length covers what
  // the test saw (1% for the few ms around it, plus 1 MiB of other writers).
  EXPECT_GE(rate * w.outer_s(), kernel_bytes * 0.99);
  EXPECT_LE(rate * w.inner_s(), kernel_bytes * 1.01 + (1 << 20));
  EXPECT_GE(disk->write_op_per_sec() * w.outer_s(), 1.0);
  EXPECT_GT(disk->utilization_percent(), 0.0f);
}

}  // namespace
}  // namespace perfwire::testing
