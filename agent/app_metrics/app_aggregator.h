#ifndef PERFWIRE_AGENT_APP_METRICS_APP_AGGREGATOR_H_
#define PERFWIRE_AGENT_APP_METRICS_APP_AGGREGATOR_H_

// Folds parsed StatsD lines into per-interval series. Pure: no sockets, no
// clocks (the caller passes the time). Not thread-safe.
//
// A series is (name, kind, sorted de-duplicated tags, sender pid). Per
// interval:
//   counter   value = sum of value / sample_rate
//   gauge     value = last value set, moved by +/- deltas; gauges keep their
//             value across intervals (StatsD semantics) and are reported every
//             interval, `gauge_updated` saying whether it changed; one not
//             updated for `gauge_ttl_ns`, or whose sender exited (see
//             ForgetExitedSenders), is dropped
//   ms/h/d    count = sum of 1 / sample_rate, sum = sum of value / sample_rate,
//             min, max, and p50/p90/p99 from a QuantileSketch of the received
//             values (1% relative error)
//   set       distinct members (exact up to 512, then HyperLogLog ~1.6%)
// Every series but a gauge is forgotten at the end of the interval.
//
// A signed gauge value ("+3|g", "-7|g") sets the gauge (DogStatsD, and what
// hot-shots, aiodogstatsd and go-statsd-client mean) or moves it (etsy
// StatsD), as `signed_gauge` says.
//
// Values stay finite: a line whose value, scaled by 1/sample_rate, would make
// a counter, gauge, sum or count infinite or NaN is rejected whole (kNotFinite)
// and changes nothing, so no frame ever carries inf or nan.
//
// Bounds: at most `max_series` live series, and each series reserves its
// worst-case size (key, tags, and the fixed maximum of its sketch or set)
// against `max_memory_bytes` when created, so the aggregator's memory never
// exceeds that budget. Lines for new series beyond either limit are dropped
// and counted. On top of that each sender (a process, by pid; a UDP socket,
// by source address) may hold at most `sender_share_percent` of both limits,
// so one sender cannot lock the others out; lines beyond a sender's share are
// dropped and counted per sender (TakeShareOverflow).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "agent/app_metrics/distinct_counter.h"
#include "agent/app_metrics/quantile_sketch.h"
#include "agent/app_metrics/statsd_parser.h"

namespace perfwire {

enum class SignedGauge : uint8_t {
  kSet,    // "-7|g" sets the gauge to -7 (DogStatsD)
  kDelta,  // "-7|g" moves it down by 7 (etsy StatsD)
};

struct AppAggregatorLimits {
  size_t max_series = 10000;
  size_t max_memory_bytes = size_t{64} << 20;
  uint64_t gauge_ttl_ns = uint64_t{600} * 1000000000;
  // Of max_series and of max_memory_bytes, per sender; 100: no per-sender
  // limit.
  uint32_t sender_share_percent = 25;
  SignedGauge signed_gauge = SignedGauge::kSet;
};

// Who sent a line, for the per-sender share: a process's pid (Unix socket,
// SO_PASSCRED; 0 when unknown), or a UDP socket's source address.
uint64_t AppSenderKeyForUdp(uint32_t ipv4_host_order, uint16_t port);
// "pid 1234" or "udp 127.0.0.1:40000".
std::string AppSenderDescription(uint64_t sender);
// The pid of a sender key, 0 for a UDP sender.
uint32_t AppSenderPid(uint64_t sender);

struct AppSeries {
  std::string name;
  AppMetricKind kind = AppMetricKind::kCounter;
  std::vector<std::pair<std::string, std::string>> tags;  // sorted
  uint32_t pid = 0;     // sender's process id; 0 when unknown
  uint64_t sender = 0;  // AppSenderKeyForUdp, or the pid

  uint64_t sample_count = 0;  // values received this interval (unweighted)
  double value = 0;           // counter: scaled sum; gauge: current value
  bool gauge_updated = false;
  uint64_t last_update_ns = 0;
  double weighted_count = 0;  // ms/h/d
  double sum = 0;
  double min = 0;
  double max = 0;
  std::unique_ptr<QuantileSketch> sketch;     // ms/h/d
  std::unique_ptr<DistinctCounter> distinct;  // s
  size_t reserved_bytes = 0;
};

class AppAggregator {
 public:
  explicit AppAggregator(AppAggregatorLimits limits);

  enum class AddResult {
    kOk,
    kSeriesCap,    // a new series beyond max_series
    kMemoryCap,    // a new series beyond max_memory_bytes
    kSenderShare,  // a new series beyond the sender's share of either
    kNotFinite,    // the line would make a value infinite or NaN
  };
  // `sender` identifies the sender for its share (see AppSenderKeyForUdp);
  // the 3-argument form uses the pid.
  AddResult Add(const StatsdLine& line, uint32_t pid, uint64_t now_ns,
                uint64_t sender);
  AddResult Add(const StatsdLine& line, uint32_t pid, uint64_t now_ns) {
    return Add(line, pid, now_ns, pid);
  }

  // Calls fn(const AppSeries&) for every series to report this interval
  // (sorted by name, kind, pid, tags), then starts the next interval.
  template <typename Fn>
  void EndInterval(uint64_t now_ns, Fn&& fn) {
    for (const AppSeries* s : Reportable()) fn(*s);
    Reset(now_ns);
  }

  // Drops carried-over gauges whose sender (pid != 0) `alive(pid)` says has
  // exited, so a finished process's gauges do not linger for the TTL.
  template <typename Alive>
  void ForgetExitedSenders(Alive&& alive) {
    for (auto it = series_.begin(); it != series_.end();) {
      const AppSeries& s = *it->second;
      if (s.kind == AppMetricKind::kGauge && s.pid != 0 &&
          s.sample_count == 0 && !alive(s.pid)) {
        Release(s);
        series_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  size_t series_count() const { return series_.size(); }
  size_t reserved_bytes() const { return reserved_bytes_; }
  // Lines dropped because of the series cap / memory budget since the last
  // call.
  uint64_t TakeSeriesOverflowCount() {
    return std::exchange(series_overflow_count_, 0);
  }
  uint64_t TakeMemoryOverflowCount() {
    return std::exchange(memory_overflow_count_, 0);
  }
  // Lines dropped because their sender held its share, since the last call.
  struct ShareOverflow {
    uint64_t line_count = 0;    // all senders
    uint64_t sender_count = 0;  // senders with at least one such line
    uint64_t top_sender = 0;    // the one with most (sender key)
    uint64_t top_line_count = 0;
  };
  ShareOverflow TakeShareOverflow();

 private:
  std::vector<const AppSeries*> Reportable() const;
  void Reset(uint64_t now_ns);
  struct Sender {
    size_t series = 0;
    size_t reserved_bytes = 0;
    uint64_t share_overflow_count = 0;  // this interval
  };
  AppSeries* FindOrCreate(const StatsdLine& line, uint32_t pid, uint64_t sender,
                          AddResult* result, bool* created);
  // Gives back what `s` reserved (call before erasing it).
  void Release(const AppSeries& s);

  AppAggregatorLimits limits_;
  absl::flat_hash_map<std::string, std::unique_ptr<AppSeries>> series_;
  absl::flat_hash_map<uint64_t, Sender> senders_;
  size_t sender_max_series_;
  size_t sender_max_bytes_;
  size_t reserved_bytes_ = 0;
  uint64_t series_overflow_count_ = 0;
  uint64_t memory_overflow_count_ = 0;
  // Scratch, reused so steady-state Add() does not allocate.
  std::string key_;
  std::vector<StatsdTag> sorted_tags_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_APP_METRICS_APP_AGGREGATOR_H_
