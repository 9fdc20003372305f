// page_toucher: one worker maps --mb MiB of fresh anonymous private memory,
// writes one byte per 4 KiB page, and unmaps it: about --mb * 256 minor
// faults. Huge pages are refused (MADV_NOHUGEPAGE) so each page faults once.
// Output: see truth.h.

#include <sys/mman.h>

#include <cstdint>

#include "truth.h"

namespace {

constexpr uint64_t kPageBytes = 4096;

void TouchPages(uint64_t bytes) {
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) perfwire::workload::Die("mmap", true);
  madvise(mem, bytes, MADV_NOHUGEPAGE);  // best effort
  volatile char* p = static_cast<char*>(mem);
  for (uint64_t off = 0; off < bytes; off += kPageBytes) p[off] = 1;
  munmap(mem, bytes);
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("page_toucher");
  flags.Declare("mb", "256");
  flags.Parse(argc, argv);
  const uint64_t bytes = flags.U64("mb") << 20;
  if (bytes == 0) perfwire::workload::Die("--mb must be > 0");
  perfwire::workload::AnnounceReadyAndDelay(flags);

  perfwire::workload::TruthWorker toucher("toucher",
                                          [bytes] { TouchPages(bytes); });
  toucher.Start();
  perfwire::workload::PrintLines({toucher.Finish()});
  return 0;
}
