#include "agent/perf/perf_counters.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/host/text_util.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr uint64_t Cache(uint64_t cache, uint64_t op, uint64_t result) {
  return cache | (op << 8) | (result << 16);
}

const char* Meaning(int err, bool pmu_present) {
  switch (err) {
    case ENOENT:
      return pmu_present ? "event not supported by this CPU's PMU"
                         : "no hardware PMU (virtualized?)";
    case EOPNOTSUPP:
      return "event or attribute not supported by this PMU";
    case EACCES:
    case EPERM:
      return "not permitted: needs CAP_PERFMON (or CAP_SYS_ADMIN) or "
             "kernel.perf_event_paranoid "
             "<= 0 for system-wide counting";
    case ENODEV:
      return "no such PMU on this CPU, or the CPU is offline";
    case EINVAL:
      return "event not valid for this kernel or PMU";
    case EMFILE:
    case ENFILE:
      return "out of file descriptors (raise RLIMIT_NOFILE)";
    case EBUSY:
      return "PMU in exclusive use by another user";
    case ENOSPC:
      return "no free counter slot";
    case ENOSYS:
      return "kernel built without perf events";
    default:
      return "perf_event_open failed";
  }
}

}  // namespace

const std::vector<PerfEventSpec>& PerfEvents(PerfEventKind kind) {
  static const std::vector<PerfEventSpec> kHardware = {
      {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
      {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
      {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
      {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
      {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
      {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
      {"L1-dcache-loads", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
      {"L1-dcache-load-misses", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_MISS)},
      {"LLC-loads", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
      {"LLC-load-misses", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_MISS)},
      {"L1-icache-load-misses", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_L1I, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_MISS)},
      {"dTLB-loads", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
      {"dTLB-load-misses", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_MISS)},
      {"iTLB-load-misses", PERF_TYPE_HW_CACHE,
       Cache(PERF_COUNT_HW_CACHE_ITLB, PERF_COUNT_HW_CACHE_OP_READ,
             PERF_COUNT_HW_CACHE_RESULT_MISS)},
      {"stalled-cycles-frontend", PERF_TYPE_HARDWARE,
       PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
      {"stalled-cycles-backend", PERF_TYPE_HARDWARE,
       PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
  };
  static const std::vector<PerfEventSpec> kSoftware = {
      {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
      {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
      {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
      {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
      {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
  };
  return kind == PerfEventKind::kHardware ? kHardware : kSoftware;
}

uint64_t ScaledDelta(const PerfReading& a, const PerfReading& b) {
  const uint64_t value = CounterDelta(a.value, b.value);
  const uint64_t enabled = CounterDelta(a.enabled_ns, b.enabled_ns);
  const uint64_t running = CounterDelta(a.running_ns, b.running_ns);
  if (running == 0) return 0;
  if (running >= enabled) return value;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(value) * enabled /
                               running);
}

std::string PerfOpenErrorText(int err, bool pmu_present) {
  return absl::StrCat(ErrnoSymbol(err), ": ", Meaning(err, pmu_present));
}

absl::Status ParseCpuList(absl::string_view text, std::vector<uint32_t>& cpus) {
  cpus.clear();
  constexpr absl::string_view kFile = "cpu list";
  if (absl::Status s = CheckNotTruncated(kFile, text); !s.ok()) return s;
  const absl::string_view whole = text;
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return MalformedFile(kFile, 0, "empty");
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const size_t dash = part.find('-');
    uint64_t lo, hi;
    if (dash == absl::string_view::npos) {
      if (!ParseU64(part, lo)) return MalformedFile(kFile, 1, Excerpt(whole));
      hi = lo;
    } else if (!ParseU64(part.substr(0, dash), lo) ||
               !ParseU64(part.substr(dash + 1), hi)) {
      return MalformedFile(kFile, 1, Excerpt(whole));
    }
    if (hi < lo || hi >= 65536) return MalformedFile(kFile, 1, Excerpt(whole));
    for (uint64_t c = lo; c <= hi; ++c)
      cpus.push_back(static_cast<uint32_t>(c));
  }
  return absl::OkStatus();
}

PerfSyscalls RealPerfSyscalls() {
  PerfSyscalls s;
  s.open = [](perf_event_attr& attr, int cpu) {
    const long fd =
        syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : static_cast<int>(fd);
  };
  s.read = [](int fd, PerfReading& out) {
    uint64_t v[3];
    if (::read(fd, v, sizeof(v)) != static_cast<ssize_t>(sizeof(v)))
      return false;
    out = {v[0], v[1], v[2]};
    return true;
  };
  s.close = [](int fd) { ::close(fd); };
  return s;
}

PerfCounterSource::PerfCounterSource(PerfEventKind kind, HostOptions options,
                                     PerfSyscalls syscalls)
    : kind_(kind),
      options_(std::move(options)),
      fs_(options_.proc_root, options_.sys_root),
      sys_(std::move(syscalls)) {
  status_.name =
      kind == PerfEventKind::kHardware ? "perf.hardware" : "perf.software";
  status_.hook = "perf_event_open";
}

PerfCounterSource::~PerfCounterSource() { CloseAll(); }

void PerfCounterSource::CloseAll() {
  for (Counter& c : counters_) {
    for (int fd : c.fds) {
      if (fd >= 0) sys_.close(fd);
    }
  }
  counters_.clear();
}

absl::Status PerfCounterSource::Start() {
  status_.available = false;
  CloseAll();
  refused_.clear();
  std::string buf;
  if (!fs_.ReadSys("/devices/system/cpu/online", buf).ok() ||
      !ParseCpuList(buf, cpus_).ok()) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpus_.clear();
    for (long c = 0; c < n; ++c) cpus_.push_back(static_cast<uint32_t>(c));
  }
  const bool hardware = kind_ == PerfEventKind::kHardware;
  bool pmu_present = !hardware;
  std::vector<std::pair<const PerfEventSpec*, int>> first_errors;
  for (const PerfEventSpec& spec : PerfEvents(kind_)) {
    Counter c{&spec, std::vector<int>(cpus_.size(), -1),
              std::vector<PerfReading>(cpus_.size())};
    int first_error = 0, opened = 0;
    for (size_t i = 0; i < cpus_.size(); ++i) {
      perf_event_attr attr;
      std::memset(&attr, 0, sizeof(attr));
      attr.size = sizeof(attr);
      attr.type = spec.type;
      attr.config = spec.config;
      attr.read_format =
          PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
      const int fd = sys_.open(attr, static_cast<int>(cpus_[i]));
      if (fd < 0) {
        if (!first_error) first_error = -fd;
        continue;
      }
      c.fds[i] = fd;
      ++opened;
      sys_.read(fd, c.last[i]);
    }
    if (hardware && &spec == &PerfEvents(kind_)[0]) pmu_present = opened > 0;
    if (opened == 0) {
      first_errors.emplace_back(&spec, first_error);
      continue;
    }
    counters_.push_back(std::move(c));
  }
  // Group refused events by error, so "all refused with ENOENT" reads as one
  // line.
  std::map<std::string, std::vector<std::string>> by_error;
  for (const auto& [spec, err] : first_errors) {
    std::string text = PerfOpenErrorText(err, pmu_present);
    refused_.push_back({spec->name, text});
    by_error[text].push_back(spec->name);
  }
  std::string refused_text;
  for (const auto& [error, names] : by_error) {
    absl::StrAppend(&refused_text, refused_text.empty() ? "" : "; ", error,
                    " (", absl::StrJoin(names, ", "), ")");
  }
  std::string ipc_note;
  if (hardware && options_.perf_per_thread_ipc) {
    ipc_note =
        pmu_present
            ? "; --perf_per_thread_ipc: per-thread attribution is not "
              "implemented in this build"
            : absl::StrCat(
                  "; --perf_per_thread_ipc unavailable: cycles refused (",
                  refused_.empty() ? "" : refused_[0].error, ")");
  }
  if (counters_.empty()) {
    status_.reason = absl::StrCat(
        hardware ? "hardware" : "software",
        " counters unavailable: every event refused: ", refused_text, ipc_note);
    return absl::UnavailableError(status_.reason);
  }
  status_.available = true;
  status_.reason = absl::StrCat(
      counters_.size(), " events on ", cpus_.size(), " CPUs",
      refused_text.empty() ? "" : absl::StrCat("; refused: ", refused_text),
      ipc_note);
  return absl::OkStatus();
}

void PerfCounterSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                                FrameSections& sections) {
  std::vector<flatbuffers::Offset<fb::PerfEvent>> events;
  std::vector<uint64_t> per_cpu(cpus_.size());
  uint64_t cycles = 0, instructions = 0, cache_refs = 0, cache_misses = 0;
  bool have_cycles = false, have_instructions = false, have_refs = false,
       have_misses = false;
  for (Counter& c : counters_) {
    uint64_t total = 0, enabled = 0, running = 0;
    for (size_t i = 0; i < cpus_.size(); ++i) {
      per_cpu[i] = 0;
      if (c.fds[i] < 0) continue;
      PerfReading now;
      if (!sys_.read(c.fds[i], now)) continue;
      per_cpu[i] = ScaledDelta(c.last[i], now);
      total += per_cpu[i];
      enabled += CounterDelta(c.last[i].enabled_ns, now.enabled_ns);
      running += CounterDelta(c.last[i].running_ns, now.running_ns);
      c.last[i] = now;
    }
    const absl::string_view name = c.spec->name;
    if (name == "cycles") cycles = total, have_cycles = running > 0;
    if (name == "instructions")
      instructions = total, have_instructions = running > 0;
    if (name == "cache-references") cache_refs = total, have_refs = running > 0;
    if (name == "cache-misses") cache_misses = total, have_misses = running > 0;
    const auto name_off = fbb.CreateString(c.spec->name);
    const auto per_cpu_off = fbb.CreateVector(per_cpu);
    fb::PerfEventBuilder b(fbb);
    b.add_name(name_off);
    b.add_scaled_count(total);
    b.add_per_cpu_scaled_count(per_cpu_off);
    b.add_enabled_ns(enabled);
    b.add_running_ns(running);
    b.add_running_percent(
        enabled ? static_cast<float>(100.0 * running / enabled) : 0.0f);
    events.push_back(b.Finish());
  }
  const auto events_vec = fbb.CreateVector(events);
  std::vector<flatbuffers::Offset<fb::PerfRefusedEvent>> refused;
  for (const Refused& r : refused_) {
    refused.push_back(
        fb::CreatePerfRefusedEventDirect(fbb, r.name.c_str(), r.error.c_str()));
  }
  const auto refused_vec = fbb.CreateVector(refused);
  const auto cpus_vec = fbb.CreateVector(cpus_);
  fb::PerfCountersBuilder b(fbb);
  b.add_cpus(cpus_vec);
  b.add_events(events_vec);
  b.add_refused(refused_vec);
  if (have_cycles && have_instructions && cycles > 0) {
    b.add_instructions_per_cycle(
        static_cast<float>(static_cast<double>(instructions) / cycles));
  }
  if (have_refs && have_misses && cache_refs > 0) {
    b.add_cache_miss_percent(
        static_cast<float>(100.0 * cache_misses / cache_refs));
  }
  if (kind_ == PerfEventKind::kHardware) {
    sections.Set(fb::Frame::VT_PERF_HARDWARE, b.Finish());
  } else {
    sections.Set(fb::Frame::VT_PERF_SOFTWARE, b.Finish());
  }
}

}  // namespace perfwire
