#include "agent/host/memory.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/host/text_util.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "base/clock.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "memory";
constexpr const char* kPsiResources[3] = {"cpu", "memory", "io"};

// "avg10=0.96 avg60=3.43 avg300=2.71 total=18757368" after "some"/"full".
bool ParsePsiLine(FieldSplitter& f, double& avg10, double& avg60,
                  double& avg300, uint64_t& total) {
  int seen = 0;
  absl::string_view kv;
  while (f.Next(kv)) {
    const size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) return false;
    const absl::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
    bool ok = true;
    if (k == "avg10") {
      ok = ParseDouble(v, avg10), seen |= 1;
    } else if (k == "avg60") {
      ok = ParseDouble(v, avg60), seen |= 2;
    } else if (k == "avg300") {
      ok = ParseDouble(v, avg300), seen |= 4;
    } else if (k == "total") {
      ok = ParseU64(v, total), seen |= 8;
    }
    if (!ok) return false;
  }
  return seen == 15;
}

flatbuffers::Offset<fb::HostPressure> BuildPressure(
    flatbuffers::FlatBufferBuilder& fbb, const std::optional<Pressure>& before,
    const std::optional<Pressure>& after) {
  if (!after) return 0;
  fb::HostPressureBuilder b(fbb);
  b.add_some_avg10_percent(static_cast<float>(after->some_avg10));
  b.add_some_avg60_percent(static_cast<float>(after->some_avg60));
  b.add_some_avg300_percent(static_cast<float>(after->some_avg300));
  b.add_some_stall_ns(
      before ? CounterDelta(before->some_total_us, after->some_total_us) * 1000
             : 0);
  b.add_some_total_ns(after->some_total_us * 1000);
  if (after->has_full) {
    b.add_full_avg10_percent(static_cast<float>(after->full_avg10));
    b.add_full_stall_ns(
        before && before->has_full
            ? CounterDelta(before->full_total_us, after->full_total_us) * 1000
            : 0);
    b.add_full_total_ns(after->full_total_us * 1000);
  }
  return b.Finish();
}

}  // namespace

absl::Status ParseMemInfo(absl::string_view text, MemInfo& out) {
  if (absl::Status s = CheckNotTruncated("/proc/meminfo", text); !s.ok())
    return s;
  out = MemInfo{};
  bool have_total = false, have_free = false;
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key = line.substr(0, colon);
    FieldSplitter f(line.substr(colon + 1));
    absl::string_view num, unit;
    uint64_t v;
    if (!f.Next(num) || !ParseU64(num, v)) continue;
    if (f.Next(unit) && unit == "kB") v *= 1024;
    if (key == "MemTotal") {
      out.total = v, have_total = true;
    } else if (key == "MemFree") {
      out.free = v, have_free = true;
    } else if (key == "MemAvailable") {
      out.available = v, out.has_available = true;
    } else if (key == "Buffers") {
      out.buffers = v;
    } else if (key == "Cached") {
      out.cached = v;
    } else if (key == "Shmem") {
      out.shared = v;
    } else if (key == "Slab") {
      out.slab = v;
    } else if (key == "SReclaimable") {
      out.slab_reclaimable = v;
    } else if (key == "SwapTotal") {
      out.swap_total = v;
    } else if (key == "SwapFree") {
      out.swap_free = v;
    } else if (key == "HugePages_Total") {
      out.hugepages_total = v;
    } else if (key == "HugePages_Free") {
      out.hugepages_free = v;
    } else if (key == "HugePages_Rsvd") {
      out.hugepages_reserved = v;
    } else if (key == "Hugepagesize") {
      out.hugepage_size = v;
    }
  }
  if (!have_total || !have_free) {
    return MalformedFile("/proc/meminfo", 0, "MemTotal or MemFree missing");
  }
  if (!out.has_available) out.available = out.free + out.buffers + out.cached;
  return absl::OkStatus();
}

absl::Status ParseVmStat(absl::string_view text, VmStat& out) {
  if (absl::Status s = CheckNotTruncated("/proc/vmstat", text); !s.ok())
    return s;
  out = VmStat{};
  bool have_fault = false;
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    if (line.size() < 5 || line[0] != 'p')
      continue;  // every key we want starts with 'p'
    FieldSplitter f(line);
    absl::string_view key, value;
    uint64_t v;
    if (!f.Next(key) || !f.Next(value) || !ParseU64(value, v)) continue;
    if (key == "pgpgin") {
      out.pgpgin = v;
    } else if (key == "pgpgout") {
      out.pgpgout = v;
    } else if (key == "pswpin") {
      out.pswpin = v;
    } else if (key == "pswpout") {
      out.pswpout = v;
    } else if (key == "pgfault") {
      out.pgfault = v, have_fault = true;
    } else if (key == "pgmajfault") {
      out.pgmajfault = v;
    }
  }
  if (!have_fault) return MalformedFile("/proc/vmstat", 0, "pgfault missing");
  return absl::OkStatus();
}

absl::Status ParsePressure(absl::string_view text, Pressure& out) {
  if (absl::Status s = CheckNotTruncated("pressure", text); !s.ok()) return s;
  out = Pressure{};
  bool have_some = false;
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    FieldSplitter f(line);
    absl::string_view kind;
    if (!f.Next(kind)) continue;
    if (kind == "some") {
      if (!ParsePsiLine(f, out.some_avg10, out.some_avg60, out.some_avg300,
                        out.some_total_us)) {
        return MalformedFile("pressure", lines.line_number(),
                             absl::StrCat("malformed: ", Excerpt(line)));
      }
      have_some = true;
    } else if (kind == "full") {
      double avg60, avg300;
      if (!ParsePsiLine(f, out.full_avg10, avg60, avg300, out.full_total_us)) {
        return MalformedFile("pressure", lines.line_number(),
                             absl::StrCat("malformed: ", Excerpt(line)));
      }
      out.has_full = true;
    }
  }
  if (!have_some) return MalformedFile("pressure", 0, "no some line");
  return absl::OkStatus();
}

MemorySource::MemorySource(HostOptions options)
    : options_(std::move(options)), fs_(options_.proc_root, options_.sys_root) {
  status_.name = kSourceName;
}

absl::Status MemorySource::ReadAll(MemInfo& mem, VmStat& vm,
                                   std::optional<Pressure> (&psi)[3]) {
  absl::Status s = fs_.ReadProc("/meminfo", buf_);
  if (s.ok()) s = ParseMemInfo(buf_, mem);
  if (s.ok()) s = fs_.ReadProc("/vmstat", buf_);
  if (s.ok()) s = ParseVmStat(buf_, vm);
  if (!s.ok()) return s;
  // PSI is optional (CONFIG_PSI off, or psi=0 on the command line: EOPNOTSUPP).
  for (int i = 0; i < 3; ++i) {
    Pressure p;
    if (fs_.ReadProc(absl::StrCat("/pressure/", kPsiResources[i]), buf_).ok() &&
        ParsePressure(buf_, p).ok()) {
      psi[i] = p;
    } else {
      psi[i].reset();
    }
  }
  return absl::OkStatus();
}

absl::Status MemorySource::Start() {
  status_.available = false;
  MemInfo mem;
  absl::Status s = ReadAll(mem, prev_vm_, prev_psi_);
  if (!s.ok()) {
    status_.reason = std::string(s.message());
    return s;
  }
  prev_ns_ = MonotonicNs();
  std::string psi;
  for (int i = 0; i < 3; ++i) {
    if (!prev_psi_[i])
      absl::StrAppend(&psi, psi.empty() ? "" : ", ", kPsiResources[i]);
  }
  status_.available = true;
  status_.reason = absl::StrCat(
      "/proc/meminfo, /proc/vmstat",
      psi.empty() ? ", /proc/pressure" : absl::StrCat("; no PSI for ", psi));
  return absl::OkStatus();
}

void MemorySource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                           FrameSections& sections) {
  MemInfo m;
  VmStat vm;
  std::optional<Pressure> psi[3];
  absl::Status s = ReadAll(m, vm, psi);
  const uint64_t now_ns = MonotonicNs();
  if (!s.ok()) {
    MarkBroken(status_, s);
    return;
  }
  const uint64_t dt = now_ns - prev_ns_;
  const auto cpu_p = BuildPressure(fbb, prev_psi_[0], psi[0]);
  const auto mem_p = BuildPressure(fbb, prev_psi_[1], psi[1]);
  const auto io_p = BuildPressure(fbb, prev_psi_[2], psi[2]);
  fb::HostMemoryBuilder b(fbb);
  b.add_total_bytes(m.total);
  b.add_used_bytes(m.total > m.available ? m.total - m.available : 0);
  b.add_available_bytes(m.available);
  b.add_free_bytes(m.free);
  b.add_cached_bytes(m.cached);
  b.add_buffers_bytes(m.buffers);
  b.add_shared_bytes(m.shared);
  b.add_slab_bytes(m.slab);
  b.add_slab_reclaimable_bytes(m.slab_reclaimable);
  b.add_swap_total_bytes(m.swap_total);
  b.add_swap_used_bytes(m.swap_total > m.swap_free ? m.swap_total - m.swap_free
                                                   : 0);
  b.add_swap_free_bytes(m.swap_free);
  b.add_hugepage_total_count(m.hugepages_total);
  b.add_hugepage_free_count(m.hugepages_free);
  b.add_hugepage_reserved_count(m.hugepages_reserved);
  b.add_hugepage_size_bytes(m.hugepage_size);
  b.add_page_in_bytes_per_sec(RatePerSec(prev_vm_.pgpgin, vm.pgpgin, dt) *
                              1024);
  b.add_page_out_bytes_per_sec(RatePerSec(prev_vm_.pgpgout, vm.pgpgout, dt) *
                               1024);
  b.add_swap_in_page_per_sec(RatePerSec(prev_vm_.pswpin, vm.pswpin, dt));
  b.add_swap_out_page_per_sec(RatePerSec(prev_vm_.pswpout, vm.pswpout, dt));
  b.add_page_fault_per_sec(RatePerSec(prev_vm_.pgfault, vm.pgfault, dt));
  b.add_major_page_fault_per_sec(
      RatePerSec(prev_vm_.pgmajfault, vm.pgmajfault, dt));
  if (!cpu_p.IsNull()) b.add_cpu_pressure(cpu_p);
  if (!mem_p.IsNull()) b.add_memory_pressure(mem_p);
  if (!io_p.IsNull()) b.add_io_pressure(io_p);
  b.add_page_in_total_bytes(vm.pgpgin * 1024);
  b.add_page_out_total_bytes(vm.pgpgout * 1024);
  b.add_swap_in_total_page_count(vm.pswpin);
  b.add_swap_out_total_page_count(vm.pswpout);
  b.add_page_fault_total_count(vm.pgfault);
  b.add_major_page_fault_total_count(vm.pgmajfault);
  b.add_read_monotonic_ns(now_ns);
  sections.Set(fb::Frame::VT_MEMORY, b.Finish());
  prev_vm_ = vm;
  for (int i = 0; i < 3; ++i) prev_psi_[i] = psi[i];
  prev_ns_ = now_ns;
}

}  // namespace perfwire
