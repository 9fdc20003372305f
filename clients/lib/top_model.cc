#include "clients/lib/top_model.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/lib/contention_verdict.h"
#include "clients/lib/host_rates.h"

namespace perfwire {

std::vector<TopRow> BuildThreadRows(const fb::Frame& frame) {
  std::vector<TopRow> rows;
  if (frame.threads() == nullptr) return rows;
  const double seconds = frame.interval_ns() / 1e9;
  const double per_sec = seconds > 0 ? 1 / seconds : 0;
  std::map<uint32_t, const fb::ThreadContention*> contention;
  if (frame.thread_contention() != nullptr) {
    for (const fb::ThreadContention* c : *frame.thread_contention()) {
      contention[c->tid()] = c;
    }
  }
  for (const fb::Thread* t : *frame.threads()) {
    if (t->exited()) continue;
    TopRow row;
    row.tid = t->tid();
    row.pid = t->pid();
    row.comm = t->comm() != nullptr ? t->comm()->str() : "";
    row.cpu_percent =
        frame.interval_ns() > 0
            ? 100.0 * static_cast<double>(t->on_cpu_ns()) / frame.interval_ns()
            : 0;
    row.switch_per_sec = static_cast<double>(t->voluntary_switch_count() +
                                             t->involuntary_switch_count()) *
                         per_sec;
    row.fault_per_sec =
        static_cast<double>(t->minor_fault_count() + t->major_fault_count()) *
        per_sec;
    row.read_bytes_per_sec = static_cast<double>(t->read_bytes()) * per_sec;
    row.write_bytes_per_sec = static_cast<double>(t->write_bytes()) * per_sec;
    if (auto it = contention.find(t->tid());
        it != contention.end() && frame.interval_ns() > 0) {
      const fb::ThreadContention& c = *it->second;
      row.run_queue_wait_percent = 100.0 *
                                   static_cast<double>(c.run_queue_wait_ns()) /
                                   frame.interval_ns();
      WaitBreakdown b;
      b.window_ns = frame.interval_ns();
      b.on_cpu_ns = t->on_cpu_ns();
      b.run_queue_ns = c.run_queue_wait_ns();
      b.lock_ns = c.futex_sleep_ns() + c.lock_sleep_ns();
      b.io_ns = c.io_sleep_ns();
      b.sleep_ns = c.other_sleep_ns();
      row.verdict = std::string(VerdictName(Judge(b).verdict));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<TopRow> AggregateByProcess(
    const std::vector<TopRow>& rows,
    const std::map<uint32_t, ProcessInfo>& known) {
  std::map<uint32_t, TopRow> by_pid;
  std::map<uint32_t, uint32_t> lowest_tid;
  std::map<uint32_t, int> wait_rows;
  for (const TopRow& r : rows) {
    auto [it, inserted] = by_pid.try_emplace(r.pid);
    TopRow& p = it->second;
    if (inserted) {
      p.pid = r.pid;
      p.tid = 0;
      p.thread_count = 0;
      p.comm = r.comm;
      lowest_tid[r.pid] = r.tid;
    } else if (r.tid < lowest_tid[r.pid]) {
      lowest_tid[r.pid] = r.tid;
      p.comm = r.comm;
    }
    p.thread_count += r.thread_count;
    p.cpu_percent += r.cpu_percent;
    p.switch_per_sec += r.switch_per_sec;
    p.fault_per_sec += r.fault_per_sec;
    p.read_bytes_per_sec += r.read_bytes_per_sec;
    p.write_bytes_per_sec += r.write_bytes_per_sec;
    if (r.run_queue_wait_percent.has_value()) {
      p.run_queue_wait_percent =
          p.run_queue_wait_percent.value_or(0) + *r.run_queue_wait_percent;
      ++wait_rows[r.pid];
    }
  }
  std::vector<TopRow> out;
  for (auto& [pid, row] : by_pid) {
    if (row.run_queue_wait_percent.has_value()) {
      *row.run_queue_wait_percent /= wait_rows[pid];
    }
    if (auto it = known.find(pid); it != known.end()) {
      row.thread_count = std::max(row.thread_count, it->second.thread_count);
      if (!it->second.name.empty()) row.comm = it->second.name;
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<TopRow> FilterRows(std::vector<TopRow> rows,
                               absl::string_view filter) {
  filter = absl::StripAsciiWhitespace(filter);
  if (filter.empty()) return rows;
  const std::string needle = absl::AsciiStrToLower(filter);
  uint32_t id = 0;
  const bool numeric = absl::SimpleAtoi(filter, &id);
  std::vector<TopRow> out;
  for (TopRow& r : rows) {
    const bool keep =
        numeric ? (r.pid == id || (r.tid != 0 && r.tid == id))
                : absl::StrContains(absl::AsciiStrToLower(r.comm), needle);
    if (keep) out.push_back(std::move(r));
  }
  return out;
}

void SortRows(std::vector<TopRow>& rows, TopSort key) {
  auto value = [key](const TopRow& r) {
    switch (key) {
      case TopSort::kCpu:
        return r.cpu_percent;
      case TopSort::kSwitches:
        return r.switch_per_sec;
      case TopSort::kFaults:
        return r.fault_per_sec;
      case TopSort::kIo:
        return r.read_bytes_per_sec + r.write_bytes_per_sec;
    }
    return 0.0;
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const TopRow& a, const TopRow& b) {
                     const double va = value(a), vb = value(b);
                     if (va != vb) return va > vb;
                     if (a.pid != b.pid) return a.pid < b.pid;
                     return a.tid < b.tid;
                   });
}

HeaderRates DeriveHeaderRates(const fb::Frame* previous,
                              const fb::Frame& frame) {
  HeaderRates r;
  if (previous == nullptr) return r;
  const absl::StatusOr<HostRates> derived = DeriveHostRates(*previous, frame);
  if (!derived.ok()) return r;
  if (const std::optional<CpuRates>& cpu = derived->cpu; cpu.has_value()) {
    r.cpu_busy_percent = 100.0 * cpu->total.busy;
    for (const CpuShares& core : cpu->cores) {
      r.core_busy_percent.push_back(100.0 * core.busy);
    }
    r.context_switch_per_sec = cpu->context_switch_per_sec;
    r.fork_per_sec = cpu->fork_per_sec;
  }
  if (derived->disks.has_value()) {
    double rd = 0, wr = 0;
    for (const DiskRates& d : *derived->disks) {
      if (d.partition) continue;  // its bytes are in its disk's
      rd += d.read_bytes_per_sec;
      wr += d.write_bytes_per_sec;
    }
    r.disk_read_bytes_per_sec = rd;
    r.disk_write_bytes_per_sec = wr;
  }
  if (derived->interfaces.has_value()) {
    double rx = 0, tx = 0;
    for (const InterfaceRates& i : *derived->interfaces) {
      if (i.name == "lo") continue;
      rx += i.receive_bytes_per_sec;
      tx += i.transmit_bytes_per_sec;
    }
    r.net_receive_bytes_per_sec = rx;
    r.net_transmit_bytes_per_sec = tx;
  }
  if (const std::optional<MemoryRates>& m = derived->memory; m.has_value()) {
    auto percent = [](const std::optional<PressureRates>& p) {
      return p.has_value() ? std::optional<double>(100.0 * p->some_ratio)
                           : std::nullopt;
    };
    r.cpu_pressure_percent = percent(m->cpu_pressure);
    r.memory_pressure_percent = percent(m->memory_pressure);
    r.io_pressure_percent = percent(m->io_pressure);
  }
  return r;
}

std::vector<AppRate> BusiestAppSeries(const fb::Frame& frame, size_t max) {
  std::vector<AppRate> out;
  if (frame.app_metrics() == nullptr) return out;
  const double seconds = frame.interval_ns() / 1e9;
  for (const fb::AppSeries* s : *frame.app_metrics()) {
    AppRate a;
    a.name = s->name() != nullptr ? s->name()->str() : "";
    if (s->tags() != nullptr && s->tags()->size() > 0) {
      a.name += '{';
      bool first = true;
      for (const fb::AppTag* t : *s->tags()) {
        if (!first) a.name += ',';
        first = false;
        if (t->key() != nullptr) a.name += t->key()->str();
        if (t->value() != nullptr && t->value()->size() > 0) {
          absl::StrAppend(&a.name, ":", t->value()->str());
        }
      }
      a.name += '}';
    }
    a.sample_count = s->sample_count();
    switch (s->type()) {
      case fb::AppMetricType::Counter:
        a.type = "c";
        a.value = seconds > 0 ? s->value() / seconds : 0;
        a.unit = "/s";
        break;
      case fb::AppMetricType::Gauge:
        a.type = "g";
        a.value = s->value();
        break;
      case fb::AppMetricType::Timing:
      case fb::AppMetricType::Histogram:
      case fb::AppMetricType::Distribution:
        a.type = s->type() == fb::AppMetricType::Timing      ? "ms"
                 : s->type() == fb::AppMetricType::Histogram ? "h"
                                                             : "d";
        a.value = seconds > 0 ? s->count() / seconds : 0;
        a.unit = "/s";
        if (s->count() > 0) a.mean = s->sum() / s->count();
        break;
      case fb::AppMetricType::Set:
        a.type = "s";
        a.value = static_cast<double>(s->distinct_count());
        break;
    }
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const AppRate& a, const AppRate& b) {
                     if (a.sample_count != b.sample_count) {
                       return a.sample_count > b.sample_count;
                     }
                     return a.name < b.name;
                   });
  if (out.size() > max) out.resize(max);
  return out;
}

TopHeader BuildHeader(const fb::Frame* previous, const fb::Frame& frame) {
  TopHeader h;
  h.seq = frame.seq();
  if (frame.hostname() != nullptr) h.hostname = frame.hostname()->str();
  h.rates = DeriveHeaderRates(previous, frame);
  if (const fb::HostCpu* cpu = frame.cpu(); cpu != nullptr) {
    h.load_1m = cpu->load_1m_count();
    h.load_5m = cpu->load_5m_count();
    h.load_15m = cpu->load_15m_count();
    h.running_task_count = cpu->running_task_count();
    h.blocked_task_count = cpu->blocked_task_count();
  }
  if (const fb::HostMemory* m = frame.memory(); m != nullptr) {
    h.memory_used_bytes = m->used_bytes();
    h.memory_total_bytes = m->total_bytes();
    h.swap_used_bytes = m->swap_used_bytes();
    h.swap_total_bytes = m->swap_total_bytes();
  }
  if (const fb::HostProcesses* p = frame.processes(); p != nullptr) {
    h.process_count = p->process_count();
    h.thread_count = p->thread_count();
  }
  h.app = BusiestAppSeries(frame, 3);
  return h;
}

void SeriesHistory::Add(uint64_t monotonic_ns, double value) {
  if (!samples_.empty() && monotonic_ns < samples_.back().first) {
    samples_.clear();
  }
  samples_.emplace_back(monotonic_ns, value);
  while (!samples_.empty() &&
         static_cast<int64_t>(monotonic_ns - samples_.front().first) >=
             window_ns_) {
    samples_.pop_front();
  }
}

double SeriesHistory::Max() const {
  double m = 0;
  for (const auto& [t, v] : samples_) m = std::max(m, v);
  return m;
}

std::vector<std::optional<double>> SeriesHistory::Buckets(size_t width) const {
  std::vector<std::optional<double>> out(width);
  if (samples_.empty() || width == 0) return out;
  const uint64_t end = samples_.back().first;
  // Bucket i covers (end - window + i*step, end - window + (i+1)*step].
  for (const auto& [t, v] : samples_) {
    const int64_t age = static_cast<int64_t>(end - t);  // 0 .. window-1
    const int64_t from_end = age * static_cast<int64_t>(width) / window_ns_;
    const size_t i = width - 1 - static_cast<size_t>(from_end);
    out[i] = out[i].has_value() ? std::max(*out[i], v) : v;
  }
  return out;
}

std::string Sparkline(const std::vector<std::optional<double>>& buckets,
                      double max, bool unicode) {
  static constexpr absl::string_view kAscii = " .:-=+*#%@";
  static constexpr const char* kBlocks[] = {"\u2581", "\u2582", "\u2583",
                                            "\u2584", "\u2585", "\u2586",
                                            "\u2587", "\u2588"};
  std::string out;
  for (const std::optional<double>& b : buckets) {
    if (!b.has_value()) {
      out += ' ';
      continue;
    }
    const double v = std::clamp(max > 0 ? *b / max : 0.0, 0.0, 1.0);
    if (unicode) {
      out += kBlocks[static_cast<size_t>(v * 7 + 0.5)];
    } else {
      out += kAscii[static_cast<size_t>(v * (kAscii.size() - 1) + 0.5)];
    }
  }
  return out;
}

namespace {

// Decodes one UTF-8 code point at `text[*i]`, advancing *i; an invalid or
// truncated sequence yields U+FFFD and advances one byte.
char32_t DecodeUtf8(absl::string_view text, size_t* i) {
  const unsigned char c = static_cast<unsigned char>(text[*i]);
  size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    ++*i;
    return 0xFFFD;
  }
  if (*i + len > text.size()) {
    ++*i;
    return 0xFFFD;
  }
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(text[*i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return 0xFFFD;
  }
  *i += len;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The cleaned code points of `text` with their display widths.
std::vector<std::pair<char32_t, int>> Cells(absl::string_view text,
                                            int (*display_width)(char32_t),
                                            bool unicode = true) {
  std::vector<std::pair<char32_t, int>> out;
  for (size_t i = 0; i < text.size();) {
    char32_t cp = DecodeUtf8(text, &i);
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) cp = '?';
    if (!unicode && cp >= 0x80) cp = '?';
    int w = display_width != nullptr ? display_width(cp) : 1;
    if (w < 0) w = 1;  // unknown to the locale: one cell (ncurses agrees)
    out.emplace_back(cp, w);
  }
  return out;
}

}  // namespace

size_t DisplayColumns(absl::string_view text, int (*display_width)(char32_t)) {
  size_t n = 0;
  for (const auto& [cp, w] : Cells(text, display_width)) n += w;
  return n;
}

std::string FitToColumns(absl::string_view text, size_t columns,
                         int (*display_width)(char32_t), bool unicode) {
  const auto cells = Cells(text, display_width, unicode);
  size_t total = 0;
  for (const auto& [cp, w] : cells) total += w;
  std::string out;
  if (total <= columns) {
    for (const auto& [cp, w] : cells) AppendUtf8(cp, &out);
    return out;
  }
  if (columns == 0) return out;
  size_t used = 0;
  for (const auto& [cp, w] : cells) {
    if (used + w > columns - 1) break;  // keep one column for the ellipsis
    AppendUtf8(cp, &out);
    used += w;
  }
  out += unicode ? "\u2026" : "~";
  return out;
}

std::vector<TopColumn> LayoutColumns(size_t width, bool by_process,
                                     bool contention) {
  std::vector<TopColumn> cols = {
      {TopColumnId::kId, by_process ? "THREADS" : "TID", 8},
      {TopColumnId::kPid, "PID", 8},
      {TopColumnId::kComm, "COMM", 16, true},
      {TopColumnId::kCpu, "CPU%", 6},
      {TopColumnId::kSwitches, "SWITCH/s", 9},
      {TopColumnId::kFaults, "FAULT/s", 9},
      {TopColumnId::kRead, "READ/s", 9},
      {TopColumnId::kWrite, "WRITE/s", 9},
  };
  if (contention) {
    cols.push_back({TopColumnId::kRunQueue, "RQ%", 5});
    cols.push_back({TopColumnId::kVerdict, "VERDICT", 12, true});
  }
  auto total = [&cols] {
    size_t n = 0;
    for (const TopColumn& c : cols) n += c.width;
    return n + cols.size() - 1;
  };
  constexpr size_t kMinComm = 8;
  static constexpr TopColumnId kDropOrder[] = {
      TopColumnId::kVerdict, TopColumnId::kRunQueue, TopColumnId::kFaults,
      TopColumnId::kWrite,   TopColumnId::kRead,     TopColumnId::kSwitches};
  TopColumn& comm = cols[2];
  if (total() > width) {
    comm.width -= std::min(comm.width - kMinComm, total() - width);
  }
  for (TopColumnId drop : kDropOrder) {
    if (total() <= width) break;
    cols.erase(
        std::remove_if(cols.begin(), cols.end(),
                       [drop](const TopColumn& c) { return c.id == drop; }),
        cols.end());
  }
  // Dropping a column may leave room to give COMM back its width.
  if (total() < width) {
    for (TopColumn& c : cols) {
      if (c.id == TopColumnId::kComm) {
        c.width = std::min<size_t>(16, c.width + (width - total()));
      }
    }
  }
  return cols;
}

size_t ClampScroll(int64_t scroll, size_t rows, size_t page) {
  const int64_t last = rows > page ? static_cast<int64_t>(rows - page) : 0;
  return static_cast<size_t>(std::clamp<int64_t>(scroll, 0, last));
}

bool IsReplayStart(const fb::Frame& first, absl::Time now,
                   uint64_t now_monotonic_ns) {
  const int64_t limit_ns = std::max(
      absl::ToInt64Nanoseconds(kReplayDistance),
      static_cast<int64_t>(std::min<uint64_t>(first.interval_ns(), INT64_MAX)));
  auto far = [limit_ns](uint64_t a, uint64_t b) {
    return (a > b ? a - b : b - a) > static_cast<uint64_t>(limit_ns);
  };
  return far(first.monotonic_ns(), now_monotonic_ns) ||
         far(first.realtime_ns(),
             static_cast<uint64_t>(absl::ToUnixNanos(now)));
}

const fb::Frame* TopModel::frame() const {
  return frame_.empty() ? nullptr : fb::GetFrame(frame_.data());
}

void TopModel::Reset() {
  frame_.clear();
  previous_.clear();
  threads_.clear();
  processes_.clear();
  for (SeriesHistory& h : histories_) h.Clear();
  replay_ = false;
  first_time_ = last_time_ = absl::InfinitePast();
  frame_count_ = 0;
}

void TopModel::Add(absl::Span<const uint8_t> bytes, bool replayed) {
  const fb::Frame& next = *fb::GetFrame(bytes.data());
  if (const fb::Frame* last = frame(); last != nullptr) {
    const bool same_host =
        (last->hostname() == nullptr ? std::string()
                                     : last->hostname()->str()) ==
        (next.hostname() == nullptr ? std::string() : next.hostname()->str());
    if (next.seq() <= last->seq() ||
        next.monotonic_ns() < last->monotonic_ns() || !same_host) {
      Reset();
    }
  }
  previous_ = std::move(frame_);
  frame_.assign(bytes.begin(), bytes.end());
  const fb::Frame& f = *frame();
  ++frame_count_;

  const absl::Time recorded =
      absl::FromUnixNanos(static_cast<int64_t>(f.realtime_ns()));
  if (first_time_ == absl::InfinitePast()) first_time_ = recorded;
  last_time_ = recorded;
  replay_ = replayed;

  Remember(f);

  const TopHeader h = Header();
  const uint64_t t = f.monotonic_ns();
  if (h.rates.cpu_busy_percent.has_value()) {
    histories_[kCpuHistory].Add(t, *h.rates.cpu_busy_percent);
  } else if (f.cpu() == nullptr) {
    // No host CPU section: the threads' CPU in cores x 100.
    double cpu = 0;
    for (const TopRow& r : BuildThreadRows(f)) cpu += r.cpu_percent;
    histories_[kCpuHistory].Add(t, cpu);
  }  // else the first frame with one: no share until the next frame

  if (h.memory_used_bytes.has_value()) {
    histories_[kMemoryHistory].Add(t,
                                   static_cast<double>(*h.memory_used_bytes));
  }
  auto add = [&](History which, const std::optional<double>& v) {
    if (v.has_value()) histories_[which].Add(t, *v);
  };
  add(kDiskReadHistory, h.rates.disk_read_bytes_per_sec);
  add(kDiskWriteHistory, h.rates.disk_write_bytes_per_sec);
  add(kNetReceiveHistory, h.rates.net_receive_bytes_per_sec);
  add(kNetTransmitHistory, h.rates.net_transmit_bytes_per_sec);
}

void TopModel::Remember(const fb::Frame& f) {
  if (f.threads() == nullptr) return;
  std::vector<uint32_t> ended_processes;
  for (const fb::Thread* t : *f.threads()) {
    if (t->exited()) {
      threads_.erase(t->tid());
      if (t->tid() == t->pid()) ended_processes.push_back(t->pid());
      continue;
    }
    KnownThread& k = threads_[t->tid()];  // a reused tid is overwritten
    k.pid = t->pid();
    k.comm = t->comm() != nullptr ? t->comm()->str() : "";
  }
  // A leader's exit ends its process (exit_group): its threads whose exit
  // records were lost or not yet seen go with it.
  for (uint32_t pid : ended_processes) {
    for (auto it = threads_.begin(); it != threads_.end();) {
      it = it->second.pid == pid ? threads_.erase(it) : std::next(it);
    }
  }
  processes_.clear();
  std::map<uint32_t, uint32_t> lowest;
  for (const auto& [tid, k] : threads_) {
    ProcessInfo& p = processes_[k.pid];
    ++p.thread_count;
    if (tid == k.pid) {
      p.name = k.comm;
      lowest[k.pid] = tid;
    } else if (!lowest.contains(k.pid)) {
      lowest[k.pid] = tid;  // threads_ is in tid order: the lowest first
      p.name = k.comm;
    }
  }
}

std::vector<TopRow> TopModel::ThreadRows() const {
  const fb::Frame* f = frame();
  return f == nullptr ? std::vector<TopRow>() : BuildThreadRows(*f);
}

std::vector<TopRow> TopModel::ProcessRows() const {
  return AggregateByProcess(ThreadRows(), processes_);
}

TopHeader TopModel::Header() const {
  const fb::Frame* f = frame();
  if (f == nullptr) return TopHeader();
  return BuildHeader(
      previous_.empty() ? nullptr : fb::GetFrame(previous_.data()), *f);
}

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrFormat("%.0f", bytes);
  return absl::StrFormat("%.1f%s", bytes, kUnits[unit]);
}

}  // namespace perfwire
