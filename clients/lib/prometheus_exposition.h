#ifndef PERFWIRE_CLIENTS_LIB_PROMETHEUS_EXPOSITION_H_
#define PERFWIRE_CLIENTS_LIB_PROMETHEUS_EXPOSITION_H_

// Turns a stream of perfwire frames into the Prometheus text exposition
// format (version 0.0.4), named after the Prometheus naming guide: base units
// (seconds, bytes), ratios 0..1, counters ending in `_total`, no aggregate
// series beside their parts. Pure: no I/O, no clock, no locking; the caller
// serialises Add() and Render() (see clients/perfwire/export_prometheus.cc).
//
// * Host counters are the kernel's cumulative values from the latest frame
//   (`*_total_*` fields of schema/perfwire.fbs), integers as the kernel counts
//   them: right even when the exporter misses frames.
// * Per-thread counters (deltas in frames) are summed since this object was
//   created, per process group: by default the process name (the leader's
//   comm, fixed when the exporter first sees the process), as process-exporter
//   groups; per pid with Options::per_pid; per thread with Options::threads.
// * Label values are valid UTF-8 whatever the kernel hands over: bytes that
//   are not are replaced by U+FFFD.
// Metric names, units and sources: docs/PROMETHEUS.md.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "perfwire_generated.h"

namespace perfwire {

// `value` with every byte sequence that is not UTF-8 replaced by U+FFFD.
std::string ToValidUtf8(absl::string_view value);

// Escapes a label value (backslash, double quote, newline) after ToValidUtf8.
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
    bool per_pid = false;      // process series per pid instead of per name
    size_t max_series = 1000;  // cap on threads and, separately, processes
    // Frames an exited thread/process stays exported after its exit, so that
    // scrapes see its final totals; then its series is dropped. (Per-name
    // groups keep their totals: other processes of that name may follow.)
    uint64_t exited_retention_frames = 60;
    // Frames a live thread/process/group may go without appearing in a frame
    // (frames list only threads with something new) before its series is
    // dropped, freeing its place under max_series. If it runs again, its
    // series restarts from 0: a counter reset, which rate() handles.
    uint64_t idle_retention_frames = 300;
    // The name of the process of `row` (its leader's comm), when the
    // leader's own row has not been seen yet; e.g. /proc/<pid>/comm on the
    // agent's host, after checking that /proc/<pid>/task/<tid> is the row's
    // thread (a replay or another pid namespace must not borrow a stranger's
    // name). Empty function or nullopt: the row's thread name stands in.
    std::function<std::optional<std::string>(const fb::Thread& row)>
        process_name = nullptr;
  };

  explicit PrometheusExposition(Options options)
      : options_(std::move(options)) {}

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
    std::string pid;     // "" for a per-name group
    std::string name;    // process name (the leader's comm)
    std::string thread;  // thread name, for thread series
    uint64_t on_cpu_ns = 0;
    uint64_t voluntary_switches = 0;
    uint64_t involuntary_switches = 0;
    uint64_t minor_faults = 0;
    uint64_t major_faults = 0;
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t block_read_bytes = 0;
    uint64_t block_write_bytes = 0;
    // Contention (opt-in source): waits in ns.
    bool contention = false;
    uint64_t run_queue_wait_ns = 0;
    uint64_t futex_sleep_ns = 0;
    uint64_t lock_sleep_ns = 0;
    uint64_t io_sleep_ns = 0;
    uint64_t other_sleep_ns = 0;
    uint64_t exited_at_frame = 0;  // 0: alive
    uint64_t last_seen_frame = 0;
  };
  // What the exporter knows of one live process.
  struct ProcessInfo {
    std::string name;
    uint64_t exited_at_frame = 0;
    uint64_t last_seen_frame = 0;
  };
  // A log2 histogram accumulated over frames (contention sections).
  struct Histogram {
    std::vector<uint64_t> buckets;  // element i: [2^i, 2^(i+1)) ns
    uint64_t count = 0;
    uint64_t sum_ns = 0;
  };
  struct AppSeries {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // sanitised
    fb::AppMetricType type = fb::AppMetricType::Counter;
    double value = 0;                  // counter: sum; gauge: latest
    double count = 0, sum = 0;         // timings
    double p50 = 0, p90 = 0, p99 = 0;  // latest interval's quantiles
    uint64_t distinct = 0;             // set: latest interval
    uint64_t last_seen_frame = 0;
  };

  static void AddThread(const fb::Thread& thread, Totals& totals);
  const ProcessInfo& Process(uint32_t pid, const fb::Thread* row);
  std::string GroupKey(uint32_t pid, const std::string& name) const;
  // Finds or inserts `key` in `map`, honouring the cap; nullptr when full.
  template <typename K>
  Totals* Slot(std::map<K, Totals>& map, const K& key, uint64_t& dropped);
  template <typename K>
  void Evict(std::map<K, Totals>& map);
  void AddContention(const fb::Frame& frame);
  void AddAppMetrics(const fb::Frame& frame);
  void RenderHost(const fb::Frame& frame);
  template <typename K>
  void RenderTotals(const std::map<K, Totals>& map, absl::string_view prefix,
                    bool thread_labels, std::string& out) const;

  Options options_;
  bool connected_ = false;
  uint64_t frames_ = 0;
  uint64_t dropped_thread_updates_ = 0;
  uint64_t dropped_process_updates_ = 0;
  std::map<uint32_t, Totals> threads_;       // by tid
  std::map<std::string, Totals> processes_;  // by name, or by pid (per_pid)
  std::map<uint32_t, ProcessInfo> pids_;     // live processes seen
  std::map<std::string, Histogram> disk_latency_;  // by disk name
  std::map<uint32_t, Histogram> cpu_run_queue_;    // by CPU
  std::map<std::string, uint64_t> perf_counts_;    // "kind\tevent" -> sum
  std::map<std::string, AppSeries> app_series_;    // by name+type+tags
  uint64_t dropped_app_updates_ = 0;
  // The latest frame's host sections, rendered when the frame was added
  // (kernel cumulative values and gauges need no state across frames).
  std::string host_text_;
  uint64_t agent_cpu_ns_ = 0;
  // Health counters summed over frames: family -> formatted labels -> sum.
  std::map<std::string, std::map<std::string, uint64_t>> health_;
  uint64_t consumer_dropped_frames_ = 0;
  double interval_seconds_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_PROMETHEUS_EXPOSITION_H_
