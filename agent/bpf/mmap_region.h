#ifndef PERFWIRE_AGENT_BPF_MMAP_REGION_H_
#define PERFWIRE_AGENT_BPF_MMAP_REGION_H_

#include <cstddef>

#include "absl/status/statusor.h"

namespace perfwire {

// A shared mapping of an fd (e.g. a BPF_F_MMAPABLE array map), unmapped on
// destruction. Move-only.
class MmapRegion {
 public:
  // Maps the first `length` bytes of `fd`. Errors say what was mapped.
  static absl::StatusOr<MmapRegion> MapReadOnly(int fd, size_t length);
  // The same, writable: for memory both sides write (ring positions).
  static absl::StatusOr<MmapRegion> MapReadWrite(int fd, size_t length);

  MmapRegion() = default;
  MmapRegion(MmapRegion&& other) noexcept;
  MmapRegion& operator=(MmapRegion&& other) noexcept;
  MmapRegion(const MmapRegion&) = delete;
  MmapRegion& operator=(const MmapRegion&) = delete;
  ~MmapRegion();

  const void* data() const { return data_; }
  void* mutable_data() { return data_; }  // only from MapReadWrite
  size_t length() const { return length_; }

 private:
  MmapRegion(void* data, size_t length) : data_(data), length_(length) {}
  static absl::StatusOr<MmapRegion> Map(int fd, size_t length, int prot);
  void Reset();

  void* data_ = nullptr;
  size_t length_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_BPF_MMAP_REGION_H_
