#ifndef PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_

#include <cstddef>
#include <string>

#include "perfwire_generated.h"

namespace perfwire {

// Renders a verified frame as a few lines for people. A header line:
//   seq 42  interval 1.000s  threads 318 (2 exited)  sources: threads tp_btf;
//   io unavailable: <reason>  agent: cpu 1.2ms rss 14.3MB lost 0
// (one line; absent sections are left out or marked absent), then a column
// header and the `top_threads` threads with the most on_cpu_ns: tid, pid,
// comm, CPU% of one core over the interval, context switches/s, page
// faults/s, read and write bytes/s (K/M/G are powers of 1024).
// Rates show "-" when the interval is 0. Every line ends with '\n'.
// Pure function; thread-safe.
std::string FormatFrameSummary(const fb::Frame& frame, size_t top_threads = 5);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_SUMMARY_H_
