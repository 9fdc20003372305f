#ifndef PERFWIRE_CLIENTS_LIB_PROMETHEUS_EXPOSITION_H_
#define PERFWIRE_CLIENTS_LIB_PROMETHEUS_EXPOSITION_H_

// Turns a stream of perfwire frames into the Prometheus text exposition
// format (version 0.0.4). Pure: no I/O, no clock, no locking; the caller
// serialises Add() and Render() (see clients/perfwire/export_prometheus.cc).
//
// Counters are monotonic totals: the sum of the per-interval deltas of every
// frame added since this object was created. Host rates (bytes/s) are
// integrated over the frame's interval_ns into totals. Gauges carry the value
// of the latest frame. Metric names and units: docs/PROMETHEUS.md.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "perfwire_generated.h"

namespace perfwire {

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view value);

// Escapes HELP text: backslash and newline.
std::string EscapeHelp(absl::string_view text);

// Formats a sample value the way Prometheus parses it ("NaN", "+Inf",
// integers without exponent where exact, otherwise shortest round-trip).
std::string FormatSampleValue(double value);

class PrometheusExposition {
 public:
  struct Options {
    bool threads = false;      // per-thread series (opt-in)
    size_t max_series = 1000;  // cap on threads and, separately, processes
    // Frames an exited thread/process stays exported after its exit, so that
    // scrapes see its final totals; then its series is dropped.
    uint64_t exited_retention_frames = 60;
    // Frames a live thread/process may go without appearing in a frame
    // (frames list only threads with something new) before its series is
    // dropped, freeing its place under max_series. If it runs again, its
    // series restarts from 0: a counter reset, which rate() handles.
    uint64_t idle_retention_frames = 300;
  };

  explicit PrometheusExposition(Options options) : options_(options) {}

  // Accumulates one frame.
  void Add(const fb::Frame& frame);

  // Sets whether the reader is connected to perfwired (exported as a gauge).
  void SetConnected(bool connected) { connected_ = connected; }

  // The whole exposition, HELP and TYPE lines included, ending in "\n".
  std::string Render() const;

  // For tests and the index page.
  size_t thread_series() const { return threads_.size(); }
  size_t process_series() const { return processes_.size(); }
  uint64_t frames() const { return frames_; }

 private:
  struct Totals {
    uint32_t pid = 0;
    std::string comm;
    uint64_t on_cpu_ns = 0;
    uint64_t voluntary_switches = 0;
    uint64_t involuntary_switches = 0;
    uint64_t minor_faults = 0;
    uint64_t major_faults = 0;
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t block_read_bytes = 0;
    uint64_t block_write_bytes = 0;
    uint64_t exited_at_frame = 0;  // 0: alive
    uint64_t last_seen_frame = 0;
  };
  struct HostRates {
    double read_bytes = 0;  // integrated totals
    double write_bytes = 0;
  };

  static void AddThread(const fb::Thread& thread, Totals& totals);
  // Finds or inserts `key` in `map`, honouring the cap; nullptr when full.
  Totals* Slot(std::map<uint32_t, Totals>& map, uint32_t key,
               uint64_t& dropped);
  void Evict(std::map<uint32_t, Totals>& map);
  void RenderTotals(const std::map<uint32_t, Totals>& map,
                    absl::string_view prefix, bool thread_labels,
                    std::string& out) const;

  Options options_;
  bool connected_ = false;
  uint64_t frames_ = 0;
  uint64_t dropped_thread_updates_ = 0;
  uint64_t dropped_process_updates_ = 0;
  std::map<uint32_t, Totals> threads_;    // by tid
  std::map<uint32_t, Totals> processes_;  // by pid
  // Host and agent state.
  bool have_cpu_ = false;
  std::map<int32_t, std::map<std::string, double>> cpu_percent_;  // cpu->mode
  double load_[3] = {0, 0, 0};
  bool have_memory_ = false;
  std::map<std::string, double> memory_bytes_;   // state -> bytes
  std::map<std::string, HostRates> disks_;       // device -> totals
  std::map<std::string, HostRates> interfaces_;  // receive/transmit totals
  bool have_agent_ = false;
  uint64_t agent_cpu_ns_ = 0;
  uint64_t agent_rss_bytes_ = 0;
  uint64_t agent_lost_events_ = 0;
  uint64_t agent_thread_count_ = 0;
  uint64_t consumer_dropped_frames_ = 0;
  uint64_t last_seq_ = 0;
  double interval_seconds_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_PROMETHEUS_EXPOSITION_H_
