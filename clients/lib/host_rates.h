#ifndef PERFWIRE_CLIENTS_LIB_HOST_RATES_H_
#define PERFWIRE_CLIENTS_LIB_HOST_RATES_H_

// Host rates and shares derived from two frames' cumulative kernel counters
// (the `*_total_*` fields of the host sections, schema/perfwire.fbs). This is
// the one derivation every consumer uses (CSV, top, summaries, replays): the
// agent ships what the kernel counts, consumers derive the rest, the same way
// live and from a recording.
//
// Contract:
//   * Input: two frames of the same agent run, `before` older than `after`
//     (any distance apart: consecutive frames give per-interval rates, frames
//     further apart give averages over the span, so missed frames do not
//     matter). Pure: no I/O, no clock; the frames are only read.
//   * Output: rates per second over the time between the two reads of each
//     kernel file, and shares as ratios 0..1 (multiply by 100 for percent).
//   * A section present in only one of the frames, or without cumulative
//     counters (frames of agents older than these fields), is absent from the
//     result (std::nullopt or no row), never zeros. A disk or interface present
//     in only one frame has no row. A counter that went backwards (device
//     re-created, wrap) gives a rate of 0 for that field.
//   * Host CPU: busy = 1 - (idle + iowait) / elapsed per CPU, where elapsed is
//     the wall time between the two /proc/stat reads (times the CPU count for
//     the total). idle and iowait are exact under NO_HZ; the other modes are
//     tick samples that can sum to far less than the busy time under
//     switch-heavy partial load, so they are reported as shares of the busy
//     time in proportion to their ticks (user + nice + system + irq + softirq
//     + steal + guest + guest_nice = busy). Never busy ticks over their sum.
//     /proc/stat rounds every mode to a tick (10 ms), so when the modes sum
//     to more than the elapsed time (short spans), that sum is used instead.
// Errors: InvalidArgument when `after` is not later than `before` (the host
// CPU time base, else monotonic_ns), FailedPrecondition when the frames come
// from different hosts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "perfwire_generated.h"

namespace perfwire {

// Shares of one CPU's (or all CPUs') elapsed time, 0..1.
struct CpuShares {
  int32_t cpu = -1;  // -1: all CPUs
  double busy = 0;   // 1 - idle - iowait
  double idle = 0, iowait = 0;
  // user and nice exclude guest and guest_nice, as mpstat shows them.
  double user = 0, nice = 0, system = 0, irq = 0, softirq = 0, steal = 0,
         guest = 0, guest_nice = 0;
};

struct CpuRates {
  double elapsed_seconds = 0;  // between the two /proc/stat reads
  CpuShares total;
  std::vector<CpuShares> cores;  // CPUs present in both frames
  double context_switch_per_sec = 0;
  double interrupt_per_sec = 0;
  double fork_per_sec = 0;
};

struct PressureRates {
  double some_ratio = 0;             // share of time some task stalled
  std::optional<double> full_ratio;  // all non-idle tasks; absent without
};

struct MemoryRates {
  double elapsed_seconds = 0;
  double page_in_bytes_per_sec = 0, page_out_bytes_per_sec = 0;
  double swap_in_page_per_sec = 0, swap_out_page_per_sec = 0;
  double page_fault_per_sec = 0, major_page_fault_per_sec = 0;
  std::optional<PressureRates> cpu_pressure, memory_pressure, io_pressure;
};

struct DiskRates {
  std::string name;
  bool partition = false;
  double read_bytes_per_sec = 0, write_bytes_per_sec = 0;
  double read_op_per_sec = 0, write_op_per_sec = 0;
  // Mean time per completed request over the span (iostat r_await/w_await),
  // absent when no request completed.
  std::optional<double> read_await_seconds, write_await_seconds;
  double utilization = 0;    // share of time with IO in flight, 0..1
  double average_queue = 0;  // weighted io time / elapsed (iostat aqu-sz)
};

struct InterfaceRates {
  std::string name;
  double receive_bytes_per_sec = 0, transmit_bytes_per_sec = 0;
  double receive_packet_per_sec = 0, transmit_packet_per_sec = 0;
  double receive_error_per_sec = 0, transmit_error_per_sec = 0;
  double receive_drop_per_sec = 0, transmit_drop_per_sec = 0;
};

struct HostRates {
  double elapsed_seconds = 0;  // after.monotonic_ns - before.monotonic_ns
  std::optional<CpuRates> cpu;
  std::optional<MemoryRates> memory;
  // In `after`'s order; absent (not empty) when either frame lacks the
  // section or its cumulative counters, so a sum over them is "unknown"
  // rather than 0.
  std::optional<std::vector<DiskRates>> disks;
  std::optional<std::vector<InterfaceRates>> interfaces;
};

absl::StatusOr<HostRates> DeriveHostRates(const fb::Frame& before,
                                          const fb::Frame& after);

// The CPU part alone, for consumers that keep only HostCpu sections.
// nullopt when either lacks cumulative counters or no time elapsed.
std::optional<CpuRates> DeriveCpuRates(const fb::HostCpu& before,
                                       const fb::HostCpu& after);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_HOST_RATES_H_
