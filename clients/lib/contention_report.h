#ifndef PERFWIRE_CLIENTS_LIB_CONTENTION_REPORT_H_
#define PERFWIRE_CLIENTS_LIB_CONTENTION_REPORT_H_

// Sums frames' contention sections (plus the threads section's on-CPU time
// and names) over a window, and renders the `perfwire contention` report as
// a text table or JSON. Pure: frames in, text out.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clients/lib/contention_verdict.h"
#include "perfwire_generated.h"

namespace perfwire {

struct ContentionReportOptions {
  std::optional<uint32_t> pid;  // only this process
  std::string comm;             // only threads (or processes) with this name
  size_t max_threads = 20;      // rows in the text table (JSON: all)
  size_t max_edges = 10;
};

using Log2Histogram = std::array<uint64_t, 32>;

struct ThreadReport {
  uint32_t tid = 0;
  uint32_t pid = 0;
  std::string comm;
  bool exited = false;
  WaitBreakdown time;
  Log2Histogram run_queue_hist{};
  double run_queue_p50_ns = 0;
  double run_queue_p99_ns = 0;
  uint64_t futex_wait_count = 0;
  uint64_t lock_contention_count = 0;
  uint64_t io_sleep_count = 0;
  Judgement judgement;
};

struct ProcessReport {
  uint32_t pid = 0;
  std::string comm;
  size_t thread_count = 0;
  WaitBreakdown time;  // sums over its threads
  Log2Histogram run_queue_hist{};
  double run_queue_p50_ns = 0;
  double run_queue_p99_ns = 0;
  Judgement judgement;
};

struct EdgeReport {
  uint32_t waker_tid = 0, waker_pid = 0, wakee_tid = 0, wakee_pid = 0;
  std::string waker_comm, wakee_comm;
  uint64_t wakeup_count = 0;
};

struct CpuReport {
  uint32_t cpu = 0;
  uint64_t wait_count = 0;
  double p50_ns = 0, p99_ns = 0;
};

struct DiskReport {
  std::string name;
  uint64_t request_count = 0;
  double mean_ns = 0, p50_ns = 0, p99_ns = 0;
};

struct ContentionReport {
  uint64_t frames = 0;
  uint64_t window_ns = 0;
  bool source_seen = false;  // some frame carried the contention sections
  std::string
      source_reason;  // the source's status reason (why absent, or how it runs)
  std::vector<ThreadReport> threads;     // most time lost waiting first
  std::vector<ProcessReport> processes;  // most time lost waiting first
  std::vector<EdgeReport> edges;         // most wakeups first
  std::vector<CpuReport> cpus;
  std::vector<DiskReport> disks;
  uint64_t lost_event_count = 0;  // sum of ContentionStats lost_* counts
  uint64_t dropped_wakeup_count =
      0;  // wakeups in pairs beyond each frame's top N
};

class ContentionAggregator {
 public:
  explicit ContentionAggregator(ContentionReportOptions options);
  void Add(const fb::Frame& frame);
  ContentionReport Finish() const;

 private:
  struct ThreadAcc {
    uint32_t pid = 0;
    std::string comm;
    bool exited = false;
    uint64_t first_frame = 0;  // index of the first frame it appeared in
    uint64_t last_frame = 0;   // index of the frame it exited in (if exited)
    WaitBreakdown time;
    Log2Histogram hist{};
    uint64_t futex_wait_count = 0, lock_contention_count = 0,
             io_sleep_count = 0;
  };
  ThreadAcc& Thread(uint32_t tid, uint32_t pid);

  ContentionReportOptions options_;
  uint64_t frames_ = 0;
  std::vector<uint64_t> interval_ns_;  // per frame
  bool source_seen_ = false;
  std::string source_reason_;
  std::map<uint32_t, ThreadAcc> threads_;
  std::map<std::pair<uint32_t, uint32_t>, EdgeReport> edges_;
  std::map<uint32_t, std::pair<uint64_t, Log2Histogram>> cpus_;
  std::map<std::string, std::tuple<uint64_t, uint64_t, Log2Histogram>> disks_;
  uint64_t lost_ = 0, dropped_wakeups_ = 0;
};

std::string RenderContentionText(const ContentionReport& r,
                                 const ContentionReportOptions& o);
std::string RenderContentionJson(const ContentionReport& r);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_CONTENTION_REPORT_H_
