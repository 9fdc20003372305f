#ifndef PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
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

// The same summaries for a stream of frames (dump, replay, top's pipe
// mode): the sources line only for the first frame and when the sources
// change, so each frame's header stays one short line. From the second frame
// of a stream on, the header also shows the host's CPU busy share over the
// time since the frame before ("host cpu 70.0%": of all CPUs, 100 - idle -
// iowait, from the cumulative counters as host_rates.h derives it); left
// out for the first frame, across a restart and without the counters.
// Thread-compatible.
class FrameSummarizer {
 public:
  struct Options {
    size_t top_threads = 5;
    bool wall_clock = false;  // show each frame's realtime_ns (RFC 3339 UTC)
  };
  explicit FrameSummarizer(Options options) : options_(options) {}

  // `message`: one wire message whose frame is verified, the 4-byte length
  // prefix then the frame (FrameStream/RecordingReader::last_message()).
  std::string Format(absl::Span<const uint8_t> message);

 private:
  Options options_;
  bool first_ = true;
  std::string last_sources_;
  std::vector<uint8_t> previous_;  // the last message, for the host rates
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_
