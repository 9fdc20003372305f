#include "clients/lib/frame_summary.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "clients/lib/app_metrics_summary.h"
#include "clients/lib/csv_writer.h"
#include "clients/lib/host_rates.h"

namespace perfwire {
namespace {

constexpr double kNsPerSecond = 1e9;

// Thread names come from the threads themselves: keep them printable.
std::string Printable(const flatbuffers::String* s) {
  if (s == nullptr) return "?";
  std::string out(s->string_view());
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

// 1536 -> "1.5K"; units of 1024.
std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrFormat("%.0f", bytes);
  return absl::StrFormat("%.1f%s", bytes, kUnits[unit]);
}

// The sources block: one line of the available sources (with their hook),
// then one indented line per unavailable source with its reason (cut at
// 100 characters; whole in `perfwire dump --json`). Ends with '\n'.
std::string Sources(const fb::Frame& frame) {
  if (frame.sources() == nullptr || frame.sources()->size() == 0) {
    return "none\n";
  }
  std::vector<std::string> available;
  std::string unavailable;
  for (const fb::SourceStatus* source : *frame.sources()) {
    std::string name = Printable(source->name());
    if (!source->available()) {
      constexpr size_t kMaxReason = 100;
      std::string reason = Printable(source->reason());
      if (reason.size() > kMaxReason) {
        reason = reason.substr(0, kMaxReason) + "...";
      }
      absl::StrAppend(&unavailable, "  ", name, " unavailable: ", reason, "\n");
    } else if (source->hook() != nullptr && source->hook()->size() > 0) {
      available.push_back(
          absl::StrCat(name, " (", Printable(source->hook()), ")"));
    } else {
      available.push_back(std::move(name));
    }
  }
  return absl::StrCat(
      available.empty() ? "none available" : absl::StrJoin(available, ", "),
      "\n", unavailable);
}

std::string Header(const fb::Frame& frame, bool wall_clock,
                   std::optional<double> host_cpu_busy) {
  std::string line = absl::StrFormat("seq %d", frame.seq());
  if (wall_clock) absl::StrAppend(&line, "  ", Rfc3339Utc(frame.realtime_ns()));
  absl::StrAppendFormat(&line, "  interval %.3fs",
                        frame.interval_ns() / kNsPerSecond);
  if (host_cpu_busy.has_value()) {
    absl::StrAppendFormat(&line, "  host cpu %.1f%%", 100.0 * *host_cpu_busy);
  }
  if (frame.threads() == nullptr) {
    absl::StrAppend(&line, "  threads absent");
  } else {
    const size_t exited =
        std::count_if(frame.threads()->begin(), frame.threads()->end(),
                      [](const fb::Thread* t) { return t->exited(); });
    absl::StrAppendFormat(&line, "  threads %d (%d exited)",
                          frame.threads()->size(), exited);
  }
  if (const fb::AgentStats* agent = frame.agent(); agent != nullptr) {
    absl::StrAppendFormat(
        &line, "  agent: cpu %.1fms rss %.1fMB lost %d", agent->cpu_ns() / 1e6,
        agent->rss_bytes() / (1024.0 * 1024.0), agent->lost_event_count());
  }
  return line + "\n";
}

// The header, then `sources_line` (may be empty), then the top threads.
std::string Summary(const fb::Frame& frame, size_t top_threads, bool wall_clock,
                    std::optional<double> host_cpu_busy,
                    const std::string& sources_line) {
  std::string out = Header(frame, wall_clock, host_cpu_busy) + sources_line;
  if (frame.threads() == nullptr || top_threads == 0) {
    return out + FormatAppMetricsSummary(frame);
  }

  std::vector<const fb::Thread*> threads(frame.threads()->begin(),
                                         frame.threads()->end());
  const size_t shown = std::min(top_threads, threads.size());
  std::partial_sort(threads.begin(), threads.begin() + shown, threads.end(),
                    [](const fb::Thread* a, const fb::Thread* b) {
                      if (a->on_cpu_ns() != b->on_cpu_ns()) {
                        return a->on_cpu_ns() > b->on_cpu_ns();
                      }
                      return a->tid() < b->tid();
                    });
  absl::StrAppendFormat(&out, "%8s %8s %-16s %6s %10s %10s %9s %9s\n", "TID",
                        "PID", "COMM", "CPU%", "SWITCH/s", "FAULT/s", "READ/s",
                        "WRITE/s");
  const uint64_t interval_ns = frame.interval_ns();
  const double seconds = interval_ns / kNsPerSecond;
  for (size_t i = 0; i < shown; ++i) {
    const fb::Thread& t = *threads[i];
    std::string cpu = "-", switches = "-", faults = "-", reads = "-",
                writes = "-";
    if (interval_ns != 0) {
      cpu = absl::StrFormat("%.1f", 100.0 * t.on_cpu_ns() / interval_ns);
      switches = absl::StrFormat(
          "%.1f", (t.voluntary_switch_count() + t.involuntary_switch_count()) /
                      seconds);
      faults = absl::StrFormat(
          "%.1f", (t.minor_fault_count() + t.major_fault_count()) / seconds);
      reads = HumanBytes(t.read_bytes() / seconds);
      writes = HumanBytes(t.write_bytes() / seconds);
    }
    absl::StrAppendFormat(&out, "%8d %8d %-16s %6s %10s %10s %9s %9s\n",
                          t.tid(), t.pid(), Printable(t.comm()), cpu, switches,
                          faults, reads, writes);
  }
  return out + FormatAppMetricsSummary(frame);
}

}  // namespace

std::string FormatFrameSummary(const fb::Frame& frame, size_t top_threads) {
  return Summary(frame, top_threads, /*wall_clock=*/false,
                 /*host_cpu_busy=*/std::nullopt,
                 absl::StrCat("sources: ", Sources(frame)));
}

std::string FrameSummarizer::Format(absl::Span<const uint8_t> message) {
  const fb::Frame& frame = *fb::GetSizePrefixedFrame(message.data());
  std::optional<double> host_cpu_busy;
  if (!previous_.empty()) {
    const absl::StatusOr<HostRates> rates =
        DeriveHostRates(*fb::GetSizePrefixedFrame(previous_.data()), frame);
    if (rates.ok() && rates->cpu.has_value()) {
      host_cpu_busy = rates->cpu->total.busy;
    }
  }
  previous_.assign(message.begin(), message.end());
  std::string sources = Sources(frame);
  std::string line;
  if (first_ || sources != last_sources_) {
    line = absl::StrCat(first_ ? "sources: " : "sources changed: ", sources);
    last_sources_ = std::move(sources);
    first_ = false;
  }
  return Summary(frame, options_.top_threads, options_.wall_clock,
                 host_cpu_busy, line);
}

}  // namespace perfwire
