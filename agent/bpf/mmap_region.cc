#include "agent/bpf/mmap_region.h"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace perfwire {

absl::StatusOr<MmapRegion> MmapRegion::MapReadOnly(int fd, size_t length) {
  return Map(fd, length, PROT_READ);
}

absl::StatusOr<MmapRegion> MmapRegion::MapReadWrite(int fd, size_t length) {
  return Map(fd, length, PROT_READ | PROT_WRITE);
}

absl::StatusOr<MmapRegion> MmapRegion::Map(int fd, size_t length, int prot) {
  void* p = mmap(nullptr, length, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("mmap ", length, " bytes of fd ", fd));
  }
  return MmapRegion(p, length);
}

MmapRegion::MmapRegion(MmapRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      length_(std::exchange(other.length_, 0)) {}

MmapRegion& MmapRegion::operator=(MmapRegion&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

MmapRegion::~MmapRegion() { Reset(); }

void MmapRegion::Reset() {
  if (data_) munmap(data_, length_);
  data_ = nullptr;
  length_ = 0;
}

}  // namespace perfwire
