#include "clients/lib/contention_verdict.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace perfwire {
namespace {

std::string Seconds(uint64_t ns) { return absl::StrFormat("%.2f s", ns / 1e9); }
std::string Pct(double share) {
  return absl::StrFormat("%.1f%%", share * 100.0);
}

}  // namespace

WaitBreakdown& WaitBreakdown::operator+=(const WaitBreakdown& o) {
  window_ns += o.window_ns;
  on_cpu_ns += o.on_cpu_ns;
  run_queue_ns += o.run_queue_ns;
  lock_ns += o.lock_ns;
  io_ns += o.io_ns;
  sleep_ns += o.sleep_ns;
  return *this;
}

uint64_t WaitBreakdown::TotalNs() const {
  return std::max(window_ns,
                  on_cpu_ns + run_queue_ns + lock_ns + io_ns + sleep_ns);
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kIdle:
      return "idle";
    case Verdict::kCpuBound:
      return "cpu-bound";
    case Verdict::kCpuStarved:
      return "cpu-starved";
    case Verdict::kLockBound:
      return "lock-bound";
    case Verdict::kIoBound:
      return "io-bound";
    case Verdict::kBalanced:
      return "balanced";
  }
  return "?";
}

Judgement Judge(const WaitBreakdown& b, const VerdictThresholds& t) {
  const uint64_t total = b.TotalNs();
  if (total == 0) return {Verdict::kIdle, "nothing observed"};
  const double T = static_cast<double>(total);
  const double cpu = b.on_cpu_ns / T, rq = b.run_queue_ns / T,
               lock = b.lock_ns / T, io = b.io_ns / T;
  const double asleep = 1.0 - cpu - rq - lock - io;
  const std::string of = absl::StrCat(" of ", Seconds(total));

  if (cpu + rq + lock + io < t.idle_below) {
    return {Verdict::kIdle,
            absl::StrCat("on-CPU ", Pct(cpu), ", waiting ", Pct(rq + lock + io),
                         ", asleep ", Pct(asleep), of)};
  }
  struct Wait {
    double share;
    uint64_t ns;
    Verdict verdict;
    const char* what;
  };
  const Wait waits[] = {{rq, b.run_queue_ns, Verdict::kCpuStarved, "run queue"},
                        {lock, b.lock_ns, Verdict::kLockBound, "lock wait"},
                        {io, b.io_ns, Verdict::kIoBound, "IO wait"}};
  const Wait& top = *std::max_element(
      std::begin(waits), std::end(waits),
      [](const Wait& a, const Wait& c) { return a.share < c.share; });
  if (top.share >= t.wait_at_least) {
    std::string others;
    for (const Wait& w : waits) {
      if (&w != &top) absl::StrAppend(&others, ", ", w.what, " ", Pct(w.share));
    }
    return {top.verdict,
            absl::StrCat(top.what, " ", Pct(top.share), of, " (",
                         Seconds(top.ns), "); on-CPU ", Pct(cpu), others)};
  }
  const std::string parts =
      absl::StrCat("run queue ", Pct(rq), ", lock wait ", Pct(lock),
                   ", IO wait ", Pct(io), ", asleep ", Pct(asleep));
  if (cpu >= t.cpu_at_least) {
    return {Verdict::kCpuBound,
            absl::StrCat("on-CPU ", Pct(cpu), of, "; ", parts)};
  }
  return {Verdict::kBalanced, absl::StrCat("no dominant cause: on-CPU ",
                                           Pct(cpu), ", ", parts, of)};
}

double HistogramPercentileNs(const uint64_t* slots, size_t n, double q) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) total += slots[i];
  if (total == 0) return 0;
  const double target = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  double seen = 0;
  for (size_t i = 0; i < n; ++i) {
    if (slots[i] == 0) continue;
    if (seen + static_cast<double>(slots[i]) >= target) {
      const double lo = i == 0 ? 0.0 : std::ldexp(1.0, static_cast<int>(i));
      const double hi = std::ldexp(1.0, static_cast<int>(i) + 1);
      const double frac = (target - seen) / static_cast<double>(slots[i]);
      return lo + (hi - lo) * frac;
    }
    seen += static_cast<double>(slots[i]);
  }
  return std::ldexp(1.0, static_cast<int>(n));
}

}  // namespace perfwire
