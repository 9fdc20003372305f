// W2: touches fresh anonymous pages, one minor fault per page.
//
// Maps --chunk_mb of anonymous memory (THP off), writes one byte per page,
// unmaps it, and repeats until --faults pages have been touched.
// Prints: ns_per_fault=<float> faults=<n> seconds=<float>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>

#include "tests/bench/bench_common.h"

int main(int argc, char** argv) {
  perfwire::bench::Flags flags(argc, argv);
  flags.CheckKnown({"faults", "chunk_mb", "cpu"});
  const int64_t faults = flags.Int("faults", 1500000);
  const int64_t chunk_mb = flags.Int("chunk_mb", 64);
  perfwire::bench::PinTo(static_cast<int>(flags.Int("cpu", -1)));

  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t chunk = static_cast<size_t>(chunk_mb) << 20;
  const size_t pages_per_chunk = chunk / page;

  int64_t touched = 0;
  const uint64_t t0 = perfwire::bench::MonotonicNs();
  while (touched < faults) {
    void* m = mmap(nullptr, chunk, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("mmap");
      return 1;
    }
    madvise(m, chunk, MADV_NOHUGEPAGE);
    volatile char* p = static_cast<volatile char*>(m);
    size_t n = pages_per_chunk;
    if (static_cast<int64_t>(n) > faults - touched)
      n = static_cast<size_t>(faults - touched);
    for (size_t i = 0; i < n; ++i) p[i * page] = 1;
    touched += static_cast<int64_t>(n);
    munmap(m, chunk);
  }
  const uint64_t t1 = perfwire::bench::MonotonicNs();
  std::printf("ns_per_fault=%.2f faults=%lld seconds=%.3f\n",
              static_cast<double>(t1 - t0) / static_cast<double>(touched),
              static_cast<long long>(touched),
              static_cast<double>(t1 - t0) / 1e9);
  return 0;
}
