#ifndef PERFWIRE_TESTS_UNIT_HEAP_BYTES_H_
#define PERFWIRE_TESTS_UNIT_HEAP_BYTES_H_

#include <malloc.h>

#include <cstddef>

namespace perfwire::testing {

// Bytes the process holds from malloc right now (small blocks plus mmap'ed
// large ones), for tests that a reader does not allocate what a peer merely
// announces.
inline size_t HeapBytesInUse() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

}  // namespace perfwire::testing

#endif  // PERFWIRE_TESTS_UNIT_HEAP_BYTES_H_
