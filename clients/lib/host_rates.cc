#include "clients/lib/host_rates.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/cpu_time_split.h"

namespace perfwire {
namespace {

constexpr double kNsPerSecond = 1e9;

uint64_t Delta(uint64_t before, uint64_t after) {
  return after >= before ? after - before : 0;
}

double PerSec(uint64_t before, uint64_t after, double seconds) {
  return seconds > 0 ? static_cast<double>(Delta(before, after)) / seconds
                     : 0.0;
}

std::string Str(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

// Shares of `elapsed_ns` of one CPU (or the sum over CPUs for the total).
CpuShares Shares(const fb::HostCpuTimes& a, const fb::HostCpuTimes& b,
                 double elapsed_ns) {
  CpuModeDeltas d;
  d.user = Delta(a.user_total_ns(), b.user_total_ns());
  d.nice = Delta(a.nice_total_ns(), b.nice_total_ns());
  d.system = Delta(a.system_total_ns(), b.system_total_ns());
  d.idle = Delta(a.idle_total_ns(), b.idle_total_ns());
  d.iowait = Delta(a.iowait_total_ns(), b.iowait_total_ns());
  d.irq = Delta(a.irq_total_ns(), b.irq_total_ns());
  d.softirq = Delta(a.softirq_total_ns(), b.softirq_total_ns());
  d.steal = Delta(a.steal_total_ns(), b.steal_total_ns());
  d.guest = Delta(a.guest_total_ns(), b.guest_total_ns());
  d.guest_nice = Delta(a.guest_nice_total_ns(), b.guest_nice_total_ns());
  const CpuModeShares m = SplitCpuTime(d, elapsed_ns);
  CpuShares s;
  s.cpu = b.cpu();
  s.busy = m.busy;
  s.idle = m.idle;
  s.iowait = m.iowait;
  s.user = m.user;
  s.nice = m.nice;
  s.system = m.system;
  s.irq = m.irq;
  s.softirq = m.softirq;
  s.steal = m.steal;
  s.guest = m.guest;
  s.guest_nice = m.guest_nice;
  return s;
}

std::optional<PressureRates> Pressure(const fb::HostPressure* a,
                                      const fb::HostPressure* b,
                                      double elapsed_ns) {
  if (a == nullptr || b == nullptr || !(elapsed_ns > 0)) return std::nullopt;
  PressureRates r;
  r.some_ratio = std::min(
      1.0, static_cast<double>(Delta(a->some_total_ns(), b->some_total_ns())) /
               elapsed_ns);
  if (a->full_total_ns().has_value() && b->full_total_ns().has_value()) {
    r.full_ratio = std::min(
        1.0,
        static_cast<double>(Delta(*a->full_total_ns(), *b->full_total_ns())) /
            elapsed_ns);
  }
  return r;
}

std::optional<MemoryRates> DeriveMemoryRates(const fb::HostMemory& a,
                                             const fb::HostMemory& b) {
  if (a.read_monotonic_ns() == 0 ||
      b.read_monotonic_ns() <= a.read_monotonic_ns())
    return std::nullopt;
  const double ns =
      static_cast<double>(b.read_monotonic_ns() - a.read_monotonic_ns());
  const double s = ns / kNsPerSecond;
  MemoryRates r;
  r.elapsed_seconds = s;
  r.page_in_bytes_per_sec =
      PerSec(a.page_in_total_bytes(), b.page_in_total_bytes(), s);
  r.page_out_bytes_per_sec =
      PerSec(a.page_out_total_bytes(), b.page_out_total_bytes(), s);
  r.swap_in_page_per_sec =
      PerSec(a.swap_in_total_page_count(), b.swap_in_total_page_count(), s);
  r.swap_out_page_per_sec =
      PerSec(a.swap_out_total_page_count(), b.swap_out_total_page_count(), s);
  r.page_fault_per_sec =
      PerSec(a.page_fault_total_count(), b.page_fault_total_count(), s);
  r.major_page_fault_per_sec = PerSec(a.major_page_fault_total_count(),
                                      b.major_page_fault_total_count(), s);
  r.cpu_pressure = Pressure(a.cpu_pressure(), b.cpu_pressure(), ns);
  r.memory_pressure = Pressure(a.memory_pressure(), b.memory_pressure(), ns);
  r.io_pressure = Pressure(a.io_pressure(), b.io_pressure(), ns);
  return r;
}

template <typename T>
const T* FindByName(const flatbuffers::Vector<flatbuffers::Offset<T>>* rows,
                    const flatbuffers::String* name, size_t hint) {
  if (rows == nullptr || name == nullptr) return nullptr;
  if (hint < rows->size() && rows->Get(hint)->name() != nullptr &&
      rows->Get(hint)->name()->string_view() == name->string_view()) {
    return rows->Get(hint);
  }
  for (const T* row : *rows) {
    if (row->name() != nullptr &&
        row->name()->string_view() == name->string_view()) {
      return row;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<CpuRates> DeriveCpuRates(const fb::HostCpu& a,
                                       const fb::HostCpu& b) {
  if (a.read_monotonic_ns() == 0 ||
      b.read_monotonic_ns() <= a.read_monotonic_ns() || a.total() == nullptr ||
      b.total() == nullptr) {
    return std::nullopt;
  }
  const double ns =
      static_cast<double>(b.read_monotonic_ns() - a.read_monotonic_ns());
  CpuRates r;
  r.elapsed_seconds = ns / kNsPerSecond;
  size_t cpus = 0;
  if (a.cores() != nullptr && b.cores() != nullptr) {
    for (size_t i = 0; i < b.cores()->size(); ++i) {
      const fb::HostCpuTimes* after = b.cores()->Get(i);
      const fb::HostCpuTimes* before = nullptr;
      if (i < a.cores()->size() && a.cores()->Get(i)->cpu() == after->cpu()) {
        before = a.cores()->Get(i);
      } else {
        for (const fb::HostCpuTimes* c : *a.cores()) {
          if (c->cpu() == after->cpu()) before = c;
        }
      }
      if (before == nullptr) continue;
      r.cores.push_back(Shares(*before, *after, ns));
      ++cpus;
    }
  }
  r.total = Shares(*a.total(), *b.total(),
                   ns * static_cast<double>(std::max<size_t>(cpus, 1)));
  r.context_switch_per_sec =
      PerSec(a.context_switch_total_count(), b.context_switch_total_count(),
             r.elapsed_seconds);
  r.interrupt_per_sec = PerSec(a.interrupt_total_count(),
                               b.interrupt_total_count(), r.elapsed_seconds);
  r.fork_per_sec =
      PerSec(a.fork_total_count(), b.fork_total_count(), r.elapsed_seconds);
  return r;
}

absl::StatusOr<HostRates> DeriveHostRates(const fb::Frame& before,
                                          const fb::Frame& after) {
  if (Str(before.hostname()) != Str(after.hostname())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "frames come from different hosts: ", Str(before.hostname()), " and ",
        Str(after.hostname())));
  }
  if (after.monotonic_ns() <= before.monotonic_ns()) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame seq ", after.seq(), " is not later than seq ",
                     before.seq(), " (monotonic_ns ", after.monotonic_ns(),
                     " <= ", before.monotonic_ns(), ")"));
  }
  HostRates r;
  const double s =
      static_cast<double>(after.monotonic_ns() - before.monotonic_ns()) /
      kNsPerSecond;
  r.elapsed_seconds = s;
  if (before.cpu() != nullptr && after.cpu() != nullptr) {
    r.cpu = DeriveCpuRates(*before.cpu(), *after.cpu());
  }
  if (before.memory() != nullptr && after.memory() != nullptr) {
    r.memory = DeriveMemoryRates(*before.memory(), *after.memory());
  }
  // Disks and interfaces have no read time of their own: the frames' clock
  // (their sources read within the same collection, microseconds apart).
  // Frames without cumulative counters (older agents) carry no cpu time base;
  // their disk and interface rows would read 0, so none are derived.
  const bool cumulative = after.cpu() == nullptr || r.cpu.has_value();
  if (cumulative && before.disks() != nullptr && after.disks() != nullptr) {
    r.disks.emplace();
    for (size_t i = 0; i < after.disks()->size(); ++i) {
      const fb::HostDisk* b = after.disks()->Get(i);
      const fb::HostDisk* a = FindByName(before.disks(), b->name(), i);
      if (a == nullptr) continue;
      DiskRates d;
      d.name = Str(b->name());
      d.partition = b->partition();
      d.read_bytes_per_sec =
          PerSec(a->read_total_bytes(), b->read_total_bytes(), s);
      d.write_bytes_per_sec =
          PerSec(a->write_total_bytes(), b->write_total_bytes(), s);
      d.read_op_per_sec =
          PerSec(a->read_op_total_count(), b->read_op_total_count(), s);
      d.write_op_per_sec =
          PerSec(a->write_op_total_count(), b->write_op_total_count(), s);
      const uint64_t reads =
          Delta(a->read_op_total_count(), b->read_op_total_count());
      const uint64_t writes =
          Delta(a->write_op_total_count(), b->write_op_total_count());
      if (reads > 0) {
        d.read_await_seconds =
            static_cast<double>(
                Delta(a->read_time_total_ns(), b->read_time_total_ns())) /
            kNsPerSecond / static_cast<double>(reads);
      }
      if (writes > 0) {
        d.write_await_seconds =
            static_cast<double>(
                Delta(a->write_time_total_ns(), b->write_time_total_ns())) /
            kNsPerSecond / static_cast<double>(writes);
      }
      d.utilization =
          std::min(1.0, static_cast<double>(Delta(a->io_time_total_ns(),
                                                  b->io_time_total_ns())) /
                            kNsPerSecond / s);
      d.average_queue =
          static_cast<double>(Delta(a->io_weighted_time_total_ns(),
                                    b->io_weighted_time_total_ns())) /
          kNsPerSecond / s;
      r.disks->push_back(std::move(d));
    }
  }
  const fb::HostNetwork* na = before.network();
  const fb::HostNetwork* nb = after.network();
  if (cumulative && na != nullptr && nb != nullptr &&
      na->interfaces() != nullptr && nb->interfaces() != nullptr) {
    r.interfaces.emplace();
    for (size_t i = 0; i < nb->interfaces()->size(); ++i) {
      const fb::HostInterface* b = nb->interfaces()->Get(i);
      const fb::HostInterface* a = FindByName(na->interfaces(), b->name(), i);
      if (a == nullptr) continue;
      InterfaceRates n;
      n.name = Str(b->name());
      n.receive_bytes_per_sec =
          PerSec(a->receive_total_bytes(), b->receive_total_bytes(), s);
      n.transmit_bytes_per_sec =
          PerSec(a->transmit_total_bytes(), b->transmit_total_bytes(), s);
      n.receive_packet_per_sec = PerSec(a->receive_packet_total_count(),
                                        b->receive_packet_total_count(), s);
      n.transmit_packet_per_sec = PerSec(a->transmit_packet_total_count(),
                                         b->transmit_packet_total_count(), s);
      n.receive_error_per_sec = PerSec(a->receive_error_total_count(),
                                       b->receive_error_total_count(), s);
      n.transmit_error_per_sec = PerSec(a->transmit_error_total_count(),
                                        b->transmit_error_total_count(), s);
      n.receive_drop_per_sec = PerSec(a->receive_drop_total_count(),
                                      b->receive_drop_total_count(), s);
      n.transmit_drop_per_sec = PerSec(a->transmit_drop_total_count(),
                                       b->transmit_drop_total_count(), s);
      r.interfaces->push_back(std::move(n));
    }
  }
  return r;
}

}  // namespace perfwire
