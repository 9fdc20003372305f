#include "clients/lib/csv_writer.h"

#include <cmath>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "clients/lib/host_rates.h"
#include "clients/lib/json_text.h"

namespace perfwire {
namespace {

using Value = std::optional<std::string>;

// OWASP's CSV injection rule: a spreadsheet runs a cell that starts with
// = + - @ (or tab/CR, which it skips) as a formula. A number such as "-7"
// stays a number; any other such cell, and any cell holding a control
// character, gets a leading single quote.
bool NeedsNeutralising(absl::string_view cell) {
  if (cell.empty()) return false;
  for (unsigned char c : cell) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  if (std::string_view("=+-@").find(cell[0]) == std::string_view::npos) {
    return false;
  }
  double number;
  return !absl::SimpleAtod(cell, &number) || !std::isfinite(number) ||
         cell.find_first_not_of("+-0123456789.eE") != absl::string_view::npos;
}

// Integers as they are; floating point with 3 decimals.
template <typename T>
std::string Num(T v) {
  if constexpr (std::is_integral_v<T>) {
    return absl::StrCat(v);
  } else {
    return absl::StrFormat("%.3f", static_cast<double>(v));
  }
}

// What a column reads: the frame, and the host rates derived from it and
// the stream's frame before it (null for the first frame of a stream, or
// when the two cannot be compared: a restart, another host).
struct Row {
  const fb::Frame& f;
  const HostRates* rates;
};

struct Column {
  const char* name;
  std::function<Value(const Row&)> value;
};

// A column of the frame alone.
template <typename F>
Column Plain(const char* name, F get) {
  return {name, [get](const Row& r) -> Value { return get(r.f); }};
}

// A column derived from two frames' cumulative counters: empty without a
// previous frame or when `get` has nothing (section absent in either).
template <typename F>
Column Derived(const char* name, F get) {
  return {name, [get](const Row& r) -> Value {
            if (r.rates == nullptr) return std::nullopt;
            const std::optional<double> v = get(*r.rates);
            if (!v.has_value()) return std::nullopt;
            return Num(*v);
          }};
}

// A share of all CPUs' time, as % of all CPUs.
Column CpuShare(const char* name, double CpuShares::*share) {
  return Derived(name, [share](const HostRates& h) -> std::optional<double> {
    if (!h.cpu.has_value()) return std::nullopt;
    return 100.0 * (h.cpu->total.*share);
  });
}

Column CpuRate(const char* name, double CpuRates::*rate) {
  return Derived(name, [rate](const HostRates& h) -> std::optional<double> {
    if (!h.cpu.has_value()) return std::nullopt;
    return (*h.cpu).*rate;
  });
}

Column MemoryRate(const char* name, double MemoryRates::*rate) {
  return Derived(name, [rate](const HostRates& h) -> std::optional<double> {
    if (!h.memory.has_value()) return std::nullopt;
    return (*h.memory).*rate;
  });
}

// PSI as % of the time between the two reads; `full`: the "full" line.
Column Pressure(const char* name,
                std::optional<PressureRates> MemoryRates::*resource,
                bool full) {
  return Derived(
      name, [resource, full](const HostRates& h) -> std::optional<double> {
        if (!h.memory.has_value()) return std::nullopt;
        const std::optional<PressureRates>& p = (*h.memory).*resource;
        if (!p.has_value()) return std::nullopt;
        if (!full) return 100.0 * p->some_ratio;
        if (!p->full_ratio.has_value()) return std::nullopt;
        return 100.0 * *p->full_ratio;
      });
}

template <typename F>
Column Memory(const char* name, F get) {
  return Plain(name, [get](const fb::Frame& f) -> Value {
    if (f.memory() == nullptr) return std::nullopt;
    return Num(get(*f.memory()));
  });
}

template <typename F>
Column Cpu(const char* name, F get) {
  return Plain(name, [get](const fb::Frame& f) -> Value {
    if (f.cpu() == nullptr) return std::nullopt;
    return Num(get(*f.cpu()));
  });
}

// Sum over whole disks (partitions are left out: their IO is counted in
// their disk already).
Column DiskSum(const char* name, double DiskRates::*rate) {
  return Derived(name, [rate](const HostRates& h) -> std::optional<double> {
    if (!h.disks.has_value()) return std::nullopt;
    double sum = 0;
    for (const DiskRates& d : *h.disks) {
      if (!d.partition) sum += d.*rate;
    }
    return sum;
  });
}

// Sum over interfaces other than loopback "lo".
Column NetSum(const char* name, double InterfaceRates::*rate) {
  return Derived(name, [rate](const HostRates& h) -> std::optional<double> {
    if (!h.interfaces.has_value()) return std::nullopt;
    double sum = 0;
    for (const InterfaceRates& i : *h.interfaces) {
      if (i.name != "lo") sum += i.*rate;
    }
    return sum;
  });
}

// Sum over the frame's thread_contention rows (perfwired --contention).
template <typename F>
Column ContentionSum(const char* name, F get) {
  return Plain(name, [get](const fb::Frame& f) -> Value {
    if (f.thread_contention() == nullptr) return std::nullopt;
    uint64_t sum = 0;
    for (const fb::ThreadContention* t : *f.thread_contention()) {
      sum += get(*t);
    }
    return Num(sum);
  });
}

std::string Hostname(const fb::Frame& f) {
  return f.hostname() != nullptr ? f.hostname()->str() : "";
}

template <typename F>
Column Agent(const char* name, F get) {
  return Plain(name, [get](const fb::Frame& f) -> Value {
    if (f.agent() == nullptr) return std::nullopt;
    return Num(static_cast<uint64_t>(get(*f.agent())));
  });
}

const std::vector<Column>& HostColumns() {
  using M = fb::HostMemory;
  using A = fb::AgentStats;
  using T = fb::ThreadContention;
  using S = CpuShares;
  static const auto* const columns = new std::vector<Column>{
      Plain("timestamp",
            [](const fb::Frame& f) -> Value {
              return Rfc3339Utc(f.realtime_ns());
            }),
      Plain("seq", [](const fb::Frame& f) -> Value { return Num(f.seq()); }),
      Plain("interval_s",
            [](const fb::Frame& f) -> Value {
              return absl::StrFormat("%.6f", f.interval_ns() / 1e9);
            }),
      Plain("hostname",
            [](const fb::Frame& f) -> Value { return Hostname(f); }),
      CpuShare("cpu_user_percent", &S::user),
      CpuShare("cpu_nice_percent", &S::nice),
      CpuShare("cpu_system_percent", &S::system),
      CpuShare("cpu_idle_percent", &S::idle),
      CpuShare("cpu_iowait_percent", &S::iowait),
      CpuShare("cpu_irq_percent", &S::irq),
      CpuShare("cpu_softirq_percent", &S::softirq),
      CpuShare("cpu_steal_percent", &S::steal),
      CpuShare("cpu_guest_percent", &S::guest),
      CpuShare("cpu_guest_nice_percent", &S::guest_nice),
      Cpu("load_1m", [](const fb::HostCpu& c) { return c.load_1m_count(); }),
      Cpu("load_5m", [](const fb::HostCpu& c) { return c.load_5m_count(); }),
      Cpu("load_15m", [](const fb::HostCpu& c) { return c.load_15m_count(); }),
      CpuRate("context_switch_per_sec", &CpuRates::context_switch_per_sec),
      CpuRate("interrupt_per_sec", &CpuRates::interrupt_per_sec),
      CpuRate("fork_per_sec", &CpuRates::fork_per_sec),
      Cpu("running_task_count",
          [](const fb::HostCpu& c) { return c.running_task_count(); }),
      Cpu("blocked_task_count",
          [](const fb::HostCpu& c) { return c.blocked_task_count(); }),
      Memory("memory_total_bytes", [](const M& m) { return m.total_bytes(); }),
      Memory("memory_used_bytes", [](const M& m) { return m.used_bytes(); }),
      Memory("memory_available_bytes",
             [](const M& m) { return m.available_bytes(); }),
      Memory("memory_free_bytes", [](const M& m) { return m.free_bytes(); }),
      Memory("memory_cached_bytes",
             [](const M& m) { return m.cached_bytes(); }),
      Memory("memory_buffers_bytes",
             [](const M& m) { return m.buffers_bytes(); }),
      Memory("swap_used_bytes", [](const M& m) { return m.swap_used_bytes(); }),
      MemoryRate("page_fault_per_sec", &MemoryRates::page_fault_per_sec),
      MemoryRate("major_page_fault_per_sec",
                 &MemoryRates::major_page_fault_per_sec),
      MemoryRate("page_in_bytes_per_sec", &MemoryRates::page_in_bytes_per_sec),
      MemoryRate("page_out_bytes_per_sec",
                 &MemoryRates::page_out_bytes_per_sec),
      MemoryRate("swap_in_page_per_sec", &MemoryRates::swap_in_page_per_sec),
      MemoryRate("swap_out_page_per_sec", &MemoryRates::swap_out_page_per_sec),
      Pressure("psi_cpu_some_percent", &MemoryRates::cpu_pressure, false),
      Pressure("psi_cpu_full_percent", &MemoryRates::cpu_pressure, true),
      Pressure("psi_memory_some_percent", &MemoryRates::memory_pressure, false),
      Pressure("psi_memory_full_percent", &MemoryRates::memory_pressure, true),
      Pressure("psi_io_some_percent", &MemoryRates::io_pressure, false),
      Pressure("psi_io_full_percent", &MemoryRates::io_pressure, true),
      DiskSum("disk_read_bytes_per_sec", &DiskRates::read_bytes_per_sec),
      DiskSum("disk_write_bytes_per_sec", &DiskRates::write_bytes_per_sec),
      DiskSum("disk_read_op_per_sec", &DiskRates::read_op_per_sec),
      DiskSum("disk_write_op_per_sec", &DiskRates::write_op_per_sec),
      NetSum("network_receive_bytes_per_sec",
             &InterfaceRates::receive_bytes_per_sec),
      NetSum("network_transmit_bytes_per_sec",
             &InterfaceRates::transmit_bytes_per_sec),
      NetSum("network_receive_packet_per_sec",
             &InterfaceRates::receive_packet_per_sec),
      NetSum("network_transmit_packet_per_sec",
             &InterfaceRates::transmit_packet_per_sec),
      Plain("tcp_established_count",
            [](const fb::Frame& f) -> Value {
              if (f.network() == nullptr) return std::nullopt;
              return Num(uint64_t{f.network()->tcp_established_count()});
            }),
      Plain("thread_row_count",
            [](const fb::Frame& f) -> Value {
              return Num(
                  uint64_t{f.threads() != nullptr ? f.threads()->size() : 0});
            }),
      Plain("threads_cpu_percent",
            [](const fb::Frame& f) -> Value {
              // Of all CPUs, like cpu_*_percent: 100 = every CPU busy.
              if (f.interval_ns() == 0 || f.threads() == nullptr ||
                  f.cpu() == nullptr || f.cpu()->cores() == nullptr ||
                  f.cpu()->cores()->size() == 0) {
                return std::nullopt;
              }
              uint64_t sum = 0;
              for (const fb::Thread* t : *f.threads()) sum += t->on_cpu_ns();
              return Num(100.0 * static_cast<double>(sum) /
                         static_cast<double>(f.interval_ns()) /
                         static_cast<double>(f.cpu()->cores()->size()));
            }),
      ContentionSum("threads_run_queue_wait_ns",
                    [](const T& t) { return t.run_queue_wait_ns(); }),
      ContentionSum("threads_futex_sleep_ns",
                    [](const T& t) { return t.futex_sleep_ns(); }),
      ContentionSum("threads_lock_sleep_ns",
                    [](const T& t) { return t.lock_sleep_ns(); }),
      ContentionSum("threads_io_sleep_ns",
                    [](const T& t) { return t.io_sleep_ns(); }),
      ContentionSum("threads_other_sleep_ns",
                    [](const T& t) { return t.other_sleep_ns(); }),
      Agent("agent_cpu_ns", [](const A& a) { return a.cpu_ns(); }),
      Agent("agent_rss_bytes", [](const A& a) { return a.rss_bytes(); }),
      Agent("agent_thread_count", [](const A& a) { return a.thread_count(); }),
      Agent("agent_lost_event_count",
            [](const A& a) { return a.lost_event_count(); }),
      Agent("agent_collect_ns", [](const A& a) { return a.collect_ns(); }),
      Plain("consumer_dropped_frame_count",
            [](const fb::Frame& f) -> Value {
              return Num(f.consumer_dropped_frame_count());
            }),
  };
  return *columns;
}

}  // namespace

std::string CsvEscape(absl::string_view field) {
  std::string cell = ValidUtf8(field);
  if (NeedsNeutralising(cell)) cell = absl::StrCat("'", cell);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string CsvRow(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvEscape(fields[i]);
  }
  out += '\n';
  return out;
}

std::string Rfc3339Utc(uint64_t realtime_ns) {
  const absl::Time t =
      absl::UnixEpoch() + absl::Nanoseconds(static_cast<int64_t>(realtime_ns));
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::vector<std::string> HostCsvHeader() {
  std::vector<std::string> names;
  for (const Column& c : HostColumns()) names.push_back(c.name);
  return names;
}

std::vector<std::string> HostCsvRow(const fb::Frame* previous,
                                    const fb::Frame& frame) {
  std::optional<HostRates> rates;
  if (previous != nullptr) {
    absl::StatusOr<HostRates> derived = DeriveHostRates(*previous, frame);
    if (derived.ok()) rates = *std::move(derived);
  }
  const Row r{frame, rates.has_value() ? &*rates : nullptr};
  std::vector<std::string> row;
  for (const Column& c : HostColumns()) row.push_back(c.value(r).value_or(""));
  return row;
}

std::vector<std::string> ThreadCsvHeader() {
  return {"timestamp",
          "seq",
          "hostname",
          "tid",
          "pid",
          "comm",
          "cgroup_id",
          "exited",
          "on_cpu_ns",
          "cpu_core_percent",
          "voluntary_switch_count",
          "involuntary_switch_count",
          "minor_fault_count",
          "major_fault_count",
          "read_bytes",
          "write_bytes",
          "block_read_bytes",
          "block_write_bytes",
          "block_read_op_count",
          "block_write_op_count",
          "run_queue_wait_ns",
          "futex_sleep_ns",
          "lock_sleep_ns",
          "io_sleep_ns",
          "other_sleep_ns"};
}

std::vector<std::vector<std::string>> ThreadCsvRows(const fb::Frame& frame) {
  std::vector<std::vector<std::string>> rows;
  if (frame.threads() == nullptr) return rows;
  const std::string timestamp = Rfc3339Utc(frame.realtime_ns());
  const std::string seq = Num(frame.seq());
  const std::string hostname = Hostname(frame);
  // Contention rows by tid; their columns are empty without the section.
  absl::flat_hash_map<uint32_t, const fb::ThreadContention*> contention;
  if (frame.thread_contention() != nullptr) {
    for (const fb::ThreadContention* c : *frame.thread_contention()) {
      contention[c->tid()] = c;
    }
  }
  for (const fb::Thread* t : *frame.threads()) {
    const fb::ThreadContention* c = nullptr;
    if (auto it = contention.find(t->tid()); it != contention.end()) {
      c = it->second;
    }
    auto wait = [&](uint64_t (fb::ThreadContention::*get)() const) {
      if (frame.thread_contention() == nullptr) return std::string();
      return Num(c != nullptr ? (c->*get)() : uint64_t{0});
    };
    rows.push_back({
        timestamp,
        seq,
        hostname,
        Num(uint64_t{t->tid()}),
        Num(uint64_t{t->pid()}),
        t->comm() != nullptr ? t->comm()->str() : "",
        Num(t->cgroup_id()),
        t->exited() ? "1" : "0",
        Num(t->on_cpu_ns()),
        frame.interval_ns() > 0
            ? Num(100.0 * static_cast<double>(t->on_cpu_ns()) /
                  static_cast<double>(frame.interval_ns()))
            : "",
        Num(t->voluntary_switch_count()),
        Num(t->involuntary_switch_count()),
        Num(t->minor_fault_count()),
        Num(t->major_fault_count()),
        Num(t->read_bytes()),
        Num(t->write_bytes()),
        Num(t->block_read_bytes()),
        Num(t->block_write_bytes()),
        Num(t->block_read_op_count()),
        Num(t->block_write_op_count()),
        wait(&fb::ThreadContention::run_queue_wait_ns),
        wait(&fb::ThreadContention::futex_sleep_ns),
        wait(&fb::ThreadContention::lock_sleep_ns),
        wait(&fb::ThreadContention::io_sleep_ns),
        wait(&fb::ThreadContention::other_sleep_ns),
    });
  }
  return rows;
}

}  // namespace perfwire
