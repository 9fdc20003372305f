// reader_writer: a writer thread writes exactly --bytes to a temp file in
// --dir with a rotating mix of write, pwrite64, writev, pwritev and pwritev2;
// then a reader thread reads it all back with read, pread64, readv, preadv
// and preadv2 and checks the content. main creates, unlinks and closes the
// file, so each worker's rchar/wchar is exactly the data it moved. Truth lines
// carry expected_read_bytes and expected_write_bytes for both threads.

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "truth.h"

namespace {

using perfwire::workload::Die;

// Chunk sizes cycle through these (odd sizes on purpose).
constexpr uint64_t kChunks[] = {65536, 4097, 131072, 1, 30000, 7};
constexpr int kOps = 5;  // plain, p, v, pv, pv2

uint8_t PatternAt(uint64_t off) { return static_cast<uint8_t>(off * 131 + 7); }

// Transfers up to `len` bytes at file offset `off` with operation `op`
// (0..4), writing from or reading into `buf`. Returns the syscall's result.
// The plain and v forms use the file position, so it is set first (lseek
// does not count as IO).
ssize_t Transfer(bool write_side, int op, int fd, uint8_t* buf, uint64_t len,
                 uint64_t off) {
  const size_t half = len / 2;
  iovec iov[2] = {{buf, half}, {buf + half, len - half}};
  if ((op == 0 || op == 2) &&
      lseek(fd, static_cast<off_t>(off), SEEK_SET) < 0) {
    Die("lseek", true);
  }
  const off_t o = static_cast<off_t>(off);
  if (write_side) {
    switch (op) {
      case 0:
        return write(fd, buf, len);
      case 1:
        return pwrite64(fd, buf, len, o);
      case 2:
        return writev(fd, iov, 2);
      case 3:
        return pwritev(fd, iov, 2, o);
      default:
        return pwritev2(fd, iov, 2, o, 0);
    }
  }
  switch (op) {
    case 0:
      return read(fd, buf, len);
    case 1:
      return pread64(fd, buf, len, o);
    case 2:
      return readv(fd, iov, 2);
    case 3:
      return preadv(fd, iov, 2, o);
    default:
      return preadv2(fd, iov, 2, o, 0);
  }
}

// Moves exactly `total` bytes through `fd`, rotating chunk sizes and ops.
// The writer sends PatternAt(); the reader verifies it (sets *bad on a
// mismatch or early EOF).
void Pump(bool write_side, int fd, uint64_t total, bool* bad) {
  std::vector<uint8_t> buf(kChunks[2]);
  uint64_t off = 0;
  for (uint64_t i = 0; off < total; ++i) {
    const uint64_t len = std::min(kChunks[i % std::size(kChunks)], total - off);
    if (write_side) {
      for (uint64_t j = 0; j < len; ++j) buf[j] = PatternAt(off + j);
    }
    const ssize_t n = Transfer(write_side, i % kOps, fd, buf.data(), len, off);
    if (n < 0) Die(write_side ? "write" : "read", true);
    if (n == 0) {  // early EOF
      *bad = true;
      return;
    }
    for (ssize_t j = 0; !write_side && j < n; ++j) {
      if (buf[j] != PatternAt(off + j)) *bad = true;
    }
    off += static_cast<uint64_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("reader_writer");
  flags.Declare("bytes", std::to_string(8 << 20));
  flags.Declare("dir", "/tmp");
  flags.Parse(argc, argv);
  const uint64_t bytes = flags.U64("bytes");
  std::string path = flags.Str("dir") + "/perfwire-rw-XXXXXX";
  perfwire::workload::AnnounceReadyAndDelay(flags);

  const int fd = mkstemp(path.data());
  if (fd < 0) Die("mkstemp " + path, true);
  unlink(path.c_str());

  bool writer_bad = false, reader_bad = false;
  perfwire::workload::TruthWorker writer(
      "writer", [&] { Pump(true, fd, bytes, &writer_bad); });
  writer.Expect("read_bytes", 0);
  writer.Expect("write_bytes", bytes);
  writer.Start();
  std::vector<std::string> lines = {writer.Finish()};

  perfwire::workload::TruthWorker reader(
      "reader", [&] { Pump(false, fd, bytes, &reader_bad); });
  reader.Expect("read_bytes", bytes);
  reader.Expect("write_bytes", 0);
  reader.Start();
  lines.push_back(reader.Finish());
  close(fd);

  if (writer_bad || reader_bad) Die("read-back did not match what was written");
  perfwire::workload::PrintLines(lines);
  return 0;
}
