#include "clients/lib/top_model.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "clients/lib/contention_verdict.h"

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

std::vector<TopRow> AggregateByProcess(const std::vector<TopRow>& rows) {
  std::map<uint32_t, TopRow> by_pid;
  std::map<uint32_t, uint32_t> lowest_tid;
  std::map<uint32_t, int> wait_rows;
  for (const TopRow& r : rows) {
    auto [it, inserted] = by_pid.try_emplace(r.pid);
    TopRow& p = it->second;
    if (inserted) {
      p = r;
      p.tid = 0;
      p.thread_count = 0;
      p.cpu_percent = p.switch_per_sec = p.fault_per_sec = 0;
      p.read_bytes_per_sec = p.write_bytes_per_sec = 0;
      p.run_queue_wait_percent.reset();
      p.verdict.clear();
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

TopHeader BuildHeader(const fb::Frame& frame) {
  TopHeader h;
  h.seq = frame.seq();
  if (frame.hostname() != nullptr) h.hostname = frame.hostname()->str();
  if (const fb::HostCpu* cpu = frame.cpu(); cpu != nullptr) {
    if (cpu->total() != nullptr) {
      h.cpu_busy_percent = 100.0 - cpu->total()->idle_percent();
    }
    h.load_1m = cpu->load_1m_count();
    h.load_5m = cpu->load_5m_count();
    h.load_15m = cpu->load_15m_count();
  }
  if (const fb::HostMemory* m = frame.memory(); m != nullptr) {
    h.memory_used_bytes = m->used_bytes();
    h.memory_total_bytes = m->total_bytes();
  }
  if (frame.disks() != nullptr) {
    double r = 0, w = 0;
    for (const fb::HostDisk* d : *frame.disks()) {
      if (d->partition()) continue;
      r += d->read_bytes_per_sec();
      w += d->write_bytes_per_sec();
    }
    h.disk_read_bytes_per_sec = r;
    h.disk_write_bytes_per_sec = w;
  }
  if (frame.network() != nullptr && frame.network()->interfaces() != nullptr) {
    double rx = 0, tx = 0;
    for (const fb::HostInterface* i : *frame.network()->interfaces()) {
      if (i->name() != nullptr && i->name()->str() == "lo") continue;
      rx += i->receive_bytes_per_sec();
      tx += i->transmit_bytes_per_sec();
    }
    h.net_receive_bytes_per_sec = rx;
    h.net_transmit_bytes_per_sec = tx;
  }
  return h;
}

std::string Sparkline(const std::deque<double>& samples, double max,
                      size_t width) {
  static constexpr absl::string_view kLevels = " .:-=+*#%@";
  std::string out;
  const size_t n = std::min(samples.size(), width);
  out.append(width - n, ' ');
  for (size_t i = samples.size() - n; i < samples.size(); ++i) {
    double v = max > 0 ? samples[i] / max : 0;
    v = std::clamp(v, 0.0, 1.0);
    const size_t level = static_cast<size_t>(v * (kLevels.size() - 1) + 0.5);
    out += kLevels[level];
  }
  return out;
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
