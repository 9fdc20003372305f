#ifndef PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_

#include <cstddef>
#include <optional>
#include <string>

#include "perfwire_generated.h"

namespace perfwire {

// Renders a verified frame as a few lines for people. A short header line:
//   seq 42  interval 1.000s  threads 318 (2 exited)  agent: cpu 1.2ms rss
//   14.3MB lost 0
// (one line; absent sections are left out or marked absent; with the wall
// clock, the frame's RFC 3339 UTC time follows the seq), then the sources:
//   sources: threads (tp_btf), cpu, memory
//     io unavailable: <reason, cut at 100 chars>
// then a column header and the `top_threads` threads with the most
// on_cpu_ns: tid, pid,
// comm, CPU% of one core over the interval, context switches/s, page
// faults/s, read and write bytes/s (K/M/G are powers of 1024).
// Rates show "-" when the interval is 0. Then the frame's application
// metrics, if any (FormatAppMetricsSummary). Every line ends with '\n'.
// Pure function; thread-safe.
// Always prints the sources line.
std::string FormatFrameSummary(const fb::Frame& frame, size_t top_threads = 5);

// The same summaries for a stream of frames (dump, replay): the sources line
// only for the first frame and when the sources change, so each frame's
// header stays one short line. Thread-compatible.
class FrameSummarizer {
 public:
  struct Options {
    size_t top_threads = 5;
    bool wall_clock = false;  // show each frame's realtime_ns (RFC 3339 UTC)
  };
  explicit FrameSummarizer(Options options) : options_(options) {}

  std::string Format(const fb::Frame& frame);

 private:
  Options options_;
  bool first_ = true;
  std::string last_sources_;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_
