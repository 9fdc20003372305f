// direct_writer: a worker creates a file in --dir with O_DIRECT, writes
// --bytes in --block sized, 4096-aligned chunks, and fsyncs it. Its truth line
// carries expected_write_bytes, expected_block_write_bytes (= --bytes) and
// expected_block_write_op_count (= number of write() calls; the block layer
// may split each one further). main unlinks the file at the end.
// Exit 3, naming O_DIRECT, when the filesystem refuses O_DIRECT (EINVAL).
// Exit 4 when --dir is on tmpfs/ramfs, which accept O_DIRECT but do no block
// IO, so the expected_block_* figures would be false.

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "truth.h"

namespace {

using perfwire::workload::Die;

constexpr uint64_t kAlign = 4096;

// What the worker ran into; reported by main after the join.
struct Outcome {
  const char* failed_call = nullptr;  // nullptr on success
  int error = 0;
};

Outcome WriteDirect(const std::string& path, const char* buf, uint64_t bytes,
                    uint64_t block) {
  const int fd = open(path.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) return {"open", errno};
  Outcome out;
  for (uint64_t off = 0; off < bytes && out.failed_call == nullptr;
       off += block) {
    const ssize_t n = write(fd, buf, block);
    if (n != static_cast<ssize_t>(block)) out = {"write", n < 0 ? errno : EIO};
  }
  if (out.failed_call == nullptr && fsync(fd) != 0) out = {"fsync", errno};
  close(fd);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("direct_writer");
  flags.Declare("bytes", std::to_string(16 << 20));
  flags.Declare("block", std::to_string(1 << 20));
  flags.Declare("dir", "/var/tmp");
  flags.Parse(argc, argv);
  const uint64_t bytes = flags.U64("bytes");
  const uint64_t block = flags.U64("block");
  if (block == 0 || block % kAlign != 0 || bytes % block != 0) {
    Die("--block must be a non-zero multiple of 4096 dividing --bytes");
  }
  struct statfs fs;
  if (statfs(flags.Str("dir").c_str(), &fs) != 0) Die("statfs --dir", true);
  if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC) {
    std::fprintf(stderr, "error: --dir=%s is not on a block device\n",
                 flags.Str("dir").c_str());
    return 4;
  }
  const std::string path =
      flags.Str("dir") + "/perfwire-direct-" + std::to_string(getpid());
  perfwire::workload::AnnounceReadyAndDelay(flags);

  void* buf = nullptr;
  if (posix_memalign(&buf, kAlign, block) != 0) Die("posix_memalign");
  std::memset(buf, 0x5a, block);
  Outcome outcome;
  perfwire::workload::TruthWorker writer("direct_writer", [&] {
    outcome = WriteDirect(path, static_cast<char*>(buf), bytes, block);
  });
  writer.Expect("write_bytes", bytes);
  writer.Expect("block_write_bytes", bytes);
  writer.Expect("block_write_op_count", bytes / block);
  writer.Start();
  const std::string line = writer.Finish();
  unlink(path.c_str());
  std::free(buf);

  if (outcome.failed_call != nullptr) {
    std::fprintf(stderr, "error: O_DIRECT %s of %s: %s\n", outcome.failed_call,
                 path.c_str(), std::strerror(outcome.error));
    return outcome.error == EINVAL ? 3 : 1;
  }
  perfwire::workload::PrintLines({line});
  return 0;
}
