#include "agent/host/cpu.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/host/text_util.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "base/clock.h"
#include "base/cpu_time_split.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "cpu";

bool ParseCpuLine(absl::string_view line, CpuTicks& t) {
  FieldSplitter f(line);
  absl::string_view name;
  if (!f.Next(name) || !absl::StartsWith(name, "cpu")) return false;
  name.remove_prefix(3);
  if (name.empty()) {
    t.cpu = -1;
  } else {
    uint64_t n;
    if (!ParseU64(name, n) || n > 1u << 20) return false;
    t.cpu = static_cast<int>(n);
  }
  uint64_t* cols[] = {&t.user, &t.nice,    &t.system, &t.idle,  &t.iowait,
                      &t.irq,  &t.softirq, &t.steal,  &t.guest, &t.guest_nice};
  int count = 0;
  absl::string_view field;
  while (count < 10 && f.Next(field)) {
    if (!ParseU64(field, *cols[count])) return false;
    ++count;
  }
  return count >= 4;
}

flatbuffers::Offset<fb::HostCpuTimes> BuildTimes(
    flatbuffers::FlatBufferBuilder& fbb, const CpuTicks& t, const CpuPercent& p,
    float mhz) {
  fb::HostCpuTimesBuilder b(fbb);
  b.add_cpu(t.cpu);
  b.add_user_percent(p.user);
  b.add_nice_percent(p.nice);
  b.add_system_percent(p.system);
  b.add_idle_percent(p.idle);
  b.add_iowait_percent(p.iowait);
  b.add_irq_percent(p.irq);
  b.add_softirq_percent(p.softirq);
  b.add_steal_percent(p.steal);
  b.add_guest_percent(p.guest);
  b.add_guest_nice_percent(p.guest_nice);
  if (mhz > 0) b.add_frequency_mhz(mhz);
  b.add_user_total_ns(TicksToNs(t.user));
  b.add_nice_total_ns(TicksToNs(t.nice));
  b.add_system_total_ns(TicksToNs(t.system));
  b.add_idle_total_ns(TicksToNs(t.idle));
  b.add_iowait_total_ns(TicksToNs(t.iowait));
  b.add_irq_total_ns(TicksToNs(t.irq));
  b.add_softirq_total_ns(TicksToNs(t.softirq));
  b.add_steal_total_ns(TicksToNs(t.steal));
  b.add_guest_total_ns(TicksToNs(t.guest));
  b.add_guest_nice_total_ns(TicksToNs(t.guest_nice));
  return b.Finish();
}

bool ReadTrimmed(const KernelFs& fs, const std::string& path, std::string& buf,
                 absl::string_view& out) {
  if (!fs.Read(path, buf).ok()) return false;
  out = absl::StripAsciiWhitespace(absl::string_view(buf));
  return true;
}

// Calls `fn` with each entry of `dir`; a directory that is missing has none.
template <typename Fn>
void ForEachDirEntry(const KernelFs& fs, const std::string& dir, Fn fn) {
  fs.ForEachEntry(dir, fn).IgnoreError();
}

}  // namespace

absl::Status ParseProcStat(absl::string_view text, ProcStat& out) {
  if (absl::Status s = CheckNotTruncated("/proc/stat", text); !s.ok()) return s;
  out.cores.clear();
  out.interrupts = out.context_switches = out.forks = 0;
  out.procs_running = out.procs_blocked = 0;
  bool have_total = false;
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    if (absl::StartsWith(line, "cpu")) {
      CpuTicks t;
      if (!ParseCpuLine(line, t)) {
        return MalformedFile(
            "/proc/stat", lines.line_number(),
            absl::StrCat("malformed cpu line: ", Excerpt(line)));
      }
      if (t.cpu < 0) {
        out.total = t;
        have_total = true;
      } else {
        out.cores.push_back(t);
      }
      continue;
    }
    FieldSplitter f(line);
    absl::string_view key, value;
    if (!f.Next(key) || !f.Next(value)) continue;
    uint64_t v;
    if (!ParseU64(value, v)) continue;
    if (key == "intr") {
      out.interrupts = v;
    } else if (key == "ctxt") {
      out.context_switches = v;
    } else if (key == "processes") {
      out.forks = v;
    } else if (key == "procs_running") {
      out.procs_running = static_cast<uint32_t>(v);
    } else if (key == "procs_blocked") {
      out.procs_blocked = static_cast<uint32_t>(v);
    }
  }
  if (!have_total)
    return MalformedFile("/proc/stat", 0, "no aggregate cpu line");
  return absl::OkStatus();
}

uint64_t UserHz() {
  static const uint64_t hz = [] {
    const long v = sysconf(_SC_CLK_TCK);
    return v > 0 ? static_cast<uint64_t>(v) : uint64_t{100};
  }();
  return hz;
}

uint64_t TicksToNs(uint64_t ticks) {
  const uint64_t hz = UserHz();
  return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz;
}

CpuPercent CpuSplit(const CpuTicks& a, const CpuTicks& b,
                    double elapsed_ticks) {
  CpuModeDeltas d;
  d.user = CounterDelta(a.user, b.user);
  d.nice = CounterDelta(a.nice, b.nice);
  d.system = CounterDelta(a.system, b.system);
  d.idle = CounterDelta(a.idle, b.idle);
  d.iowait = CounterDelta(a.iowait, b.iowait);  // may go backwards: clamp
  d.irq = CounterDelta(a.irq, b.irq);
  d.softirq = CounterDelta(a.softirq, b.softirq);
  d.steal = CounterDelta(a.steal, b.steal);
  d.guest = CounterDelta(a.guest, b.guest);
  d.guest_nice = CounterDelta(a.guest_nice, b.guest_nice);
  const CpuModeShares s = SplitCpuTime(d, elapsed_ticks);
  auto percent = [](double share) { return static_cast<float>(100 * share); };
  CpuPercent p;
  p.idle = percent(s.idle);
  p.iowait = percent(s.iowait);
  p.user = percent(s.user);
  p.nice = percent(s.nice);
  p.system = percent(s.system);
  p.irq = percent(s.irq);
  p.softirq = percent(s.softirq);
  p.steal = percent(s.steal);
  p.guest = percent(s.guest);
  p.guest_nice = percent(s.guest_nice);
  return p;
}

absl::Status ParseLoadAvg(absl::string_view text, LoadAvg& out) {
  if (absl::Status s = CheckNotTruncated("/proc/loadavg", text); !s.ok())
    return s;
  FieldSplitter f(text);
  absl::string_view a, b, c, tasks;
  if (!f.Next(a) || !f.Next(b) || !f.Next(c) || !f.Next(tasks) ||
      !ParseDouble(a, out.load1) || !ParseDouble(b, out.load5) ||
      !ParseDouble(c, out.load15)) {
    return MalformedFile("/proc/loadavg", 1, Excerpt(text));
  }
  const size_t slash = tasks.find('/');
  uint64_t run = 0, all = 0;
  if (slash == absl::string_view::npos ||
      !ParseU64(tasks.substr(0, slash), run) ||
      !ParseU64(tasks.substr(slash + 1), all)) {
    return MalformedFile("/proc/loadavg", 1,
                         absl::StrCat("task counts: ", Excerpt(tasks)));
  }
  out.runnable = static_cast<uint32_t>(run);
  out.threads = static_cast<uint32_t>(all);
  return absl::OkStatus();
}

std::vector<float> ParseCpuInfoMhz(absl::string_view text) {
  std::vector<float> mhz;
  int64_t processor = -1;
  LineSplitter lines(text);
  absl::string_view line;
  while (lines.Next(line)) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key =
        absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (key == "processor") {
      uint64_t n;
      processor =
          ParseU64(value, n) && n < (1u << 16) ? static_cast<int64_t>(n) : -1;
    } else if (key == "cpu MHz" && processor >= 0) {
      double v;
      if (!ParseDouble(value, v)) continue;
      if (mhz.size() <= static_cast<size_t>(processor))
        mhz.resize(processor + 1, 0.0f);
      mhz[processor] = static_cast<float>(v);
    }
  }
  return mhz;
}

CpuSource::CpuSource(HostOptions options)
    : options_(std::move(options)), fs_(options_.proc_root, options_.sys_root) {
  status_.name = kSourceName;
}

void CpuSource::Fail(const absl::Status& s) { MarkBroken(status_, s); }

void CpuSource::DiscoverSensors() {
  sensors_.clear();
  std::string buf;
  absl::string_view v;
  const std::string thermal = fs_.Sys("/class/thermal");
  ForEachDirEntry(fs_, thermal, [&](absl::string_view name) {
    if (!absl::StartsWith(name, "thermal_zone")) return;
    const std::string dir = absl::StrCat(thermal, "/", name);
    std::string label(name);
    if (ReadTrimmed(fs_, dir + "/type", buf, v))
      absl::StrAppend(&label, ":", v);
    sensors_.push_back({label, dir + "/temp"});
  });
  const std::string hwmon = fs_.Sys("/class/hwmon");
  ForEachDirEntry(fs_, hwmon, [&](absl::string_view name) {
    const std::string dir = absl::StrCat(hwmon, "/", name);
    std::string chip(name);
    if (ReadTrimmed(fs_, dir + "/name", buf, v)) chip = std::string(v);
    ForEachDirEntry(fs_, dir, [&](absl::string_view file) {
      if (!absl::StartsWith(file, "temp") || !absl::EndsWith(file, "_input"))
        return;
      const absl::string_view stem =
          file.substr(0, file.size() - 6);  // "tempN"
      std::string label = absl::StrCat(chip, ":", stem);
      if (ReadTrimmed(fs_, absl::StrCat(dir, "/", stem, "_label"), buf, v)) {
        label = absl::StrCat(chip, ":", v);
      }
      sensors_.push_back({label, absl::StrCat(dir, "/", file)});
    });
  });
  std::sort(sensors_.begin(), sensors_.end(),
            [](const Sensor& a, const Sensor& b) { return a.label < b.label; });
}

void CpuSource::ReadFrequencies(std::vector<float>& mhz_by_cpu) {
  mhz_by_cpu.clear();
  if (cpufreq_) {
    for (const CpuTicks& c : cur_.cores) {
      if (mhz_by_cpu.size() <= static_cast<size_t>(c.cpu))
        mhz_by_cpu.resize(c.cpu + 1, 0.0f);
      absl::string_view v;
      uint64_t khz;
      if (ReadTrimmed(fs_,
                      absl::StrCat(fs_.sys_root(), "/devices/system/cpu/cpu",
                                   c.cpu, "/cpufreq/scaling_cur_freq"),
                      buf_, v) &&
          ParseU64(v, khz)) {
        mhz_by_cpu[c.cpu] = static_cast<float>(khz) / 1000.0f;
      }
    }
    return;
  }
  if (fs_.ReadProc("/cpuinfo", buf_).ok()) {
    mhz_by_cpu = ParseCpuInfoMhz(buf_);
  }
}

absl::Status CpuSource::Start() {
  status_.available = false;
  absl::Status s = fs_.ReadProc("/stat", buf_);
  if (s.ok()) s = ParseProcStat(buf_, prev_);
  if (s.ok()) {
    LoadAvg la;
    s = fs_.ReadProc("/loadavg", buf_);
    if (s.ok()) s = ParseLoadAvg(buf_, la);
  }
  if (!s.ok()) {
    status_.reason = std::string(s.message());
    return s;
  }
  prev_ns_ = MonotonicNs();
  cpufreq_ =
      fs_.CanRead(fs_.Sys("/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"));
  DiscoverSensors();
  status_.available = true;
  status_.reason = absl::StrCat(
      "/proc/stat; frequency from ", cpufreq_ ? "cpufreq" : "/proc/cpuinfo",
      "; ",
      sensors_.empty()
          ? std::string("no thermal zone or hwmon temperature sensor")
          : absl::StrCat(sensors_.size(), " temperature sensors"));
  return absl::OkStatus();
}

void CpuSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                        FrameSections& sections) {
  absl::Status s = fs_.ReadProc("/stat", buf_);
  const uint64_t now_ns = MonotonicNs();  // the time base of the counters
  if (s.ok()) s = ParseProcStat(buf_, cur_);
  LoadAvg la;
  if (s.ok()) s = fs_.ReadProc("/loadavg", buf_);
  if (s.ok()) s = ParseLoadAvg(buf_, la);
  if (!s.ok()) return Fail(s);
  const uint64_t dt_ns = now_ns - prev_ns_;
  // One CPU's elapsed time in USER_HZ ticks; the aggregate line covers the
  // CPUs online at both reads.
  const double elapsed_ticks =
      static_cast<double>(dt_ns) * static_cast<double>(UserHz()) / 1e9;

  std::vector<float> mhz;
  ReadFrequencies(mhz);
  auto mhz_of = [&](int cpu) {
    return cpu >= 0 && static_cast<size_t>(cpu) < mhz.size() ? mhz[cpu] : 0.0f;
  };

  std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores;
  cores.reserve(cur_.cores.size());
  for (const CpuTicks& c : cur_.cores) {
    const CpuTicks* before = nullptr;
    for (const CpuTicks& p : prev_.cores) {
      if (p.cpu == c.cpu) {
        before = &p;
        break;
      }
    }
    if (!before) continue;  // came online during the interval
    cores.push_back(
        BuildTimes(fbb, c, CpuSplit(*before, c, elapsed_ticks), mhz_of(c.cpu)));
  }
  const auto cores_vec = fbb.CreateVector(cores);

  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<fb::HostTemperature>>>
      temps_vec;
  if (!sensors_.empty()) {
    std::vector<flatbuffers::Offset<fb::HostTemperature>> temps;
    for (const Sensor& sensor : sensors_) {
      absl::string_view v;
      double milli;
      if (!ReadTrimmed(fs_, sensor.path, buf_, v) || !ParseDouble(v, milli))
        continue;
      temps.push_back(fb::CreateHostTemperatureDirect(
          fbb, sensor.label.c_str(), static_cast<float>(milli / 1000.0)));
    }
    if (!temps.empty()) temps_vec = fbb.CreateVector(temps);
  }

  float avg_mhz = 0;
  int mhz_n = 0;
  for (float m : mhz) {
    if (m > 0) {
      avg_mhz += m;
      ++mhz_n;
    }
  }
  const auto total =
      BuildTimes(fbb, cur_.total,
                 CpuSplit(prev_.total, cur_.total,
                          elapsed_ticks * static_cast<double>(cores.size())),
                 mhz_n ? avg_mhz / static_cast<float>(mhz_n) : 0.0f);

  fb::HostCpuBuilder b(fbb);
  b.add_total(total);
  b.add_cores(cores_vec);
  if (!temps_vec.IsNull()) b.add_temperatures(temps_vec);
  b.add_load_1m_count(static_cast<float>(la.load1));
  b.add_load_5m_count(static_cast<float>(la.load5));
  b.add_load_15m_count(static_cast<float>(la.load15));
  b.add_interrupt_per_sec(RatePerSec(prev_.interrupts, cur_.interrupts, dt_ns));
  b.add_context_switch_per_sec(
      RatePerSec(prev_.context_switches, cur_.context_switches, dt_ns));
  b.add_fork_per_sec(RatePerSec(prev_.forks, cur_.forks, dt_ns));
  b.add_running_task_count(cur_.procs_running);
  b.add_blocked_task_count(cur_.procs_blocked);
  b.add_interrupt_total_count(cur_.interrupts);
  b.add_context_switch_total_count(cur_.context_switches);
  b.add_fork_total_count(cur_.forks);
  b.add_read_monotonic_ns(now_ns);
  sections.Set(fb::Frame::VT_CPU, b.Finish());
  std::swap(prev_, cur_);
  prev_ns_ = now_ns;
}

}  // namespace perfwire
