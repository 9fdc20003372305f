#include "agent/bpf/libbpf_util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agent/log.h"
#include "base/unique_fd.h"

namespace perfwire {
namespace {

std::mutex mu;
bool capturing = false;                 // guarded by mu
std::vector<std::string>& Captured() {  // guarded by mu
  static std::vector<std::string> lines;
  return lines;
}

int PrintFn(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  std::vsnprintf(line, sizeof(line), format, args);
  std::string text(absl::StripTrailingAsciiWhitespace(line));
  std::lock_guard<std::mutex> lock(mu);
  if (capturing) {
    Captured().push_back(std::move(text));
  } else if (level == LIBBPF_WARN) {
    LogWarning(absl::StrCat("libbpf: ", text));
  }
  return 0;
}

}  // namespace

absl::Status LibbpfError(int err, absl::string_view what) {
  if (err < 0) err = -err;
  if (err == 0) err = errno ? errno : EINVAL;
  return absl::ErrnoToStatus(err, what);
}

absl::StatusOr<size_t> RunIterator(struct bpf_link* link, size_t record_size,
                                   absl::string_view what,
                                   std::vector<char>& buffer) {
  UniqueFd iter(bpf_iter_create(bpf_link__fd(link)));
  if (!iter) return LibbpfError(errno, absl::StrCat("create ", what));
  buffer.resize(std::max<size_t>(buffer.size(), 1 << 16));
  size_t used = 0;
  for (;;) {
    if (buffer.size() - used < 4096) buffer.resize(buffer.size() * 2);
    const ssize_t n =
        ::read(iter.get(), buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LibbpfError(errno, absl::StrCat("read ", what));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used % record_size != 0) {
    return absl::DataLossError(absl::StrCat(what, " returned ", used,
                                            " bytes, not a whole number of ",
                                            record_size, "-byte records"));
  }
  return used;
}

absl::StatusOr<uint64_t> SumPerCpuCounter(int map_fd, uint32_t index) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return LibbpfError(cpus, "count possible CPUs");
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  if (bpf_map_lookup_elem(map_fd, &index, values.data()) != 0) {
    return LibbpfError(errno, "read per-CPU counters");
  }
  uint64_t total = 0;
  for (uint64_t v : values) total += v;
  return total;
}

void InstallLibbpfLogger() { libbpf_set_print(PrintFn); }

LibbpfLogCapture::LibbpfLogCapture() {
  std::lock_guard<std::mutex> lock(mu);
  Captured().clear();
  capturing = true;
}

LibbpfLogCapture::~LibbpfLogCapture() {
  std::lock_guard<std::mutex> lock(mu);
  capturing = false;
  Captured().clear();
}

std::string LibbpfLogCapture::Tail(size_t max_lines) const {
  std::lock_guard<std::mutex> lock(mu);
  const auto& lines = Captured();
  const size_t n = std::min(max_lines, lines.size());
  return absl::StrJoin(lines.end() - n, lines.end(), " | ");
}

absl::StatusOr<MmapRegion> MapBpfArray(bpf_map* map, size_t count, size_t size,
                                       bool writable) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = (count * size + page - 1) / page * page;
  auto region = writable ? MmapRegion::MapReadWrite(bpf_map__fd(map), bytes)
                         : MmapRegion::MapReadOnly(bpf_map__fd(map), bytes);
  if (!region.ok()) {
    return absl::Status(region.status().code(),
                        absl::StrCat("map BPF array ", bpf_map__name(map), ": ",
                                     region.status().message()));
  }
  return region;
}

namespace {
int IgnoreWakeup(void*, void*, size_t) { return 0; }
}  // namespace

absl::StatusOr<RingBufferPtr> OpenWakeupRing(bpf_map* map) {
  ring_buffer* rb =
      ring_buffer__new(bpf_map__fd(map), &IgnoreWakeup, nullptr, nullptr);
  if (!rb) {
    return LibbpfError(errno, absl::StrCat("create a reader of ring buffer ",
                                           bpf_map__name(map)));
  }
  return RingBufferPtr(rb);
}

void RingBufferDeleter::operator()(ring_buffer* ring) const {
  ring_buffer__free(ring);
}

void SelectHookFlavour(absl::Span<const HookPair> hooks, bool use_btf) {
  for (const HookPair& h : hooks) {
    bpf_program__set_autoload(h.btf, h.wanted && use_btf);
    bpf_program__set_autoload(h.raw, h.wanted && !use_btf);
  }
}

}  // namespace perfwire
