#ifndef PERFWIRE_AGENT_BPF_LIBBPF_UTIL_H_
#define PERFWIRE_AGENT_BPF_LIBBPF_UTIL_H_

// Small glue between libbpf's C conventions and the agent's.

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "agent/bpf/mmap_region.h"

struct bpf_link;
struct bpf_map;
struct bpf_program;
struct ring_buffer;

namespace perfwire {

// libbpf returns -errno (or sets errno); turns that into a Status naming
// `what`.
absl::Status LibbpfError(int err, absl::string_view what);

// Owns a libbpf skeleton (bpftool gen skeleton): destroying it detaches
// every link and closes every map and program. The skeleton's header is
// included only by its loader, so each loader's header declares, and its .cc
// defines, the specialization that calls <name>__destroy:
//   template <> void SkeletonDeleter<threads_bpf>::operator()(
//       threads_bpf*) const;
template <typename Skel>
struct SkeletonDeleter {
  void operator()(Skel* skel) const;
};
template <typename Skel>
using SkeletonPtr = std::unique_ptr<Skel, SkeletonDeleter<Skel>>;

// Owns a libbpf ring_buffer reader.
struct RingBufferDeleter {
  void operator()(ring_buffer* ring) const;
};
using RingBufferPtr = std::unique_ptr<ring_buffer, RingBufferDeleter>;

// A hook written twice, as tp_btf and raw_tp, both calling one handler.
// `wanted` false: neither loads (an opt-in hook that is off).
struct HookPair {
  bpf_program* btf;
  bpf_program* raw;
  bool wanted;
};
// Between open and load: marks the `use_btf` flavour of every wanted pair to
// load, and switches off everything else in `hooks`.
void SelectHookFlavour(absl::Span<const HookPair> hooks, bool use_btf);

// What bpftool generates for skeleton type Skel.
template <typename Skel>
struct SkeletonOps {
  const char* name;  // for errors, e.g. "threads"
  Skel* (*open)();
  int (*load)(Skel*);
  int (*attach)(Skel*);
};

// One load attempt, the one way perfwire loads BPF: opens the skeleton,
// lets `configure` set rodata, map sizes and which programs load
// (SelectHookFlavour), then loads and attaches everything. A failure
// destroys what was made and leaves libbpf's last lines (the verifier's or
// the kernel's reason) in `*why`, for the caller to quote when no fallback
// is left.
template <typename Skel>
absl::StatusOr<SkeletonPtr<Skel>> LoadSkeleton(
    const SkeletonOps<Skel>& ops,
    absl::FunctionRef<absl::Status(Skel&)> configure, std::string* why);

// While alive, collects libbpf's warnings instead of printing them, so a
// failed attempt that has a fallback stays quiet and a final failure can
// quote the kernel's reason. Not reentrant: one capture at a time.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  // The last few captured lines, most useful last.
  std::string Tail(size_t max_lines = 4) const;
};

template <typename Skel>
absl::StatusOr<SkeletonPtr<Skel>> LoadSkeleton(
    const SkeletonOps<Skel>& ops,
    absl::FunctionRef<absl::Status(Skel&)> configure, std::string* why) {
  LibbpfLogCapture capture;
  SkeletonPtr<Skel> skel(ops.open());
  if (!skel)
    return LibbpfError(errno, absl::StrCat("open BPF object ", ops.name));
  if (absl::Status s = configure(*skel); !s.ok()) return s;
  if (int err = ops.load(skel.get()); err != 0) {
    *why = capture.Tail();
    return LibbpfError(err, "load BPF programs");
  }
  if (int err = ops.attach(skel.get()); err != 0) {
    *why = capture.Tail();
    return LibbpfError(err, "attach BPF programs");
  }
  return skel;
}

// Runs a BPF iterator once (a fresh bpf_iter_create on `link`) and reads
// everything it writes into `buffer` (grown as needed, reused across calls).
// Returns the byte count; DataLoss when it is not a whole number of
// `record_size` records. `what` names the iterator in errors.
absl::StatusOr<size_t> RunIterator(struct bpf_link* link, size_t record_size,
                                   absl::string_view what,
                                   std::vector<char>& buffer);

// Maps the first `count` entries of `size` bytes of a BPF_F_MMAPABLE array
// map (rounded up to whole pages), read-only or, for memory both sides write
// (ring positions), writable. Errors name the map.
absl::StatusOr<MmapRegion> MapBpfArray(bpf_map* map, size_t count, size_t size,
                                       bool writable);

// A reader of a BPF ring buffer whose records only wake the agent (the exit
// rings' wakeups, bpf/include/pw_exit_ring.h): their content is ignored, and
// consuming them re-arms the wakeup. Poll ring_buffer__epoll_fd().
absl::StatusOr<RingBufferPtr> OpenWakeupRing(bpf_map* map);

// Sums one slot of a BPF_MAP_TYPE_PERCPU_ARRAY of u64 over all CPUs.
absl::StatusOr<uint64_t> SumPerCpuCounter(int map_fd, uint32_t index);

// Routes libbpf warnings to the agent log (outside captures). Call once.
void InstallLibbpfLogger();

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_BPF_LIBBPF_UTIL_H_
