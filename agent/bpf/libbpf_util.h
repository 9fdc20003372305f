#ifndef PERFWIRE_AGENT_BPF_LIBBPF_UTIL_H_
#define PERFWIRE_AGENT_BPF_LIBBPF_UTIL_H_

// Small glue between libbpf's C conventions and the agent's.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct bpf_link;

namespace perfwire {

// libbpf returns -errno (or sets errno); turns that into a Status naming
// `what`.
absl::Status LibbpfError(int err, absl::string_view what);

// Owns a libbpf skeleton: `Destroy` is the skeleton's __destroy function,
// which detaches every link and closes every map and program.
template <typename Skel, void (*Destroy)(Skel*)>
struct SkeletonDeleter {
  void operator()(Skel* s) const { Destroy(s); }
};
template <typename Skel, void (*Destroy)(Skel*)>
using SkeletonPtr = std::unique_ptr<Skel, SkeletonDeleter<Skel, Destroy>>;

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

// Runs a BPF iterator once (a fresh bpf_iter_create on `link`) and reads
// everything it writes into `buffer` (grown as needed, reused across calls).
// Returns the byte count; DataLoss when it is not a whole number of
// `record_size` records. `what` names the iterator in errors.
absl::StatusOr<size_t> RunIterator(struct bpf_link* link, size_t record_size,
                                   absl::string_view what,
                                   std::vector<char>& buffer);

// Sums one slot of a BPF_MAP_TYPE_PERCPU_ARRAY of u64 over all CPUs.
absl::StatusOr<uint64_t> SumPerCpuCounter(int map_fd, uint32_t index);

// Routes libbpf warnings to the agent log (outside captures). Call once.
void InstallLibbpfLogger();

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_BPF_LIBBPF_UTIL_H_
