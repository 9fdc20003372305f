#ifndef PERFWIRE_CLIENTS_LIB_TOP_MODEL_H_
#define PERFWIRE_CLIENTS_LIB_TOP_MODEL_H_

// What `perfwire top` shows, computed from frames without any terminal code:
// table rows (per thread or per process), sorting, filtering, column layout,
// host header values, 60 s histories and whether the stream is a replay.
// The free functions are pure and thread-safe; TopModel is
// thread-compatible (one thread at a time).

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "perfwire_generated.h"

namespace perfwire {

struct TopRow {
  uint32_t tid = 0;  // 0 for a process row
  uint32_t pid = 0;
  std::string comm;  // process rows: the process's name (see ProcessInfo)
  // Process rows: live threads of the process (ProcessInfo), else 1.
  int thread_count = 1;
  double cpu_percent = 0;     // of one core over the interval
  double switch_per_sec = 0;  // voluntary + involuntary
  double fault_per_sec = 0;   // minor + major
  double read_bytes_per_sec = 0;
  double write_bytes_per_sec = 0;
  // Present when the frame has thread_contention for this thread.
  std::optional<double> run_queue_wait_percent;
  std::string verdict;  // contention verdict, empty without contention data
};

enum class TopSort { kCpu, kSwitches, kFaults, kIo };

// One row per live (not exited) thread of the frame, with rates over its
// interval (0 when the interval is 0), joined with thread_contention by tid.
std::vector<TopRow> BuildThreadRows(const fb::Frame& frame);

// What is known of a process beyond one frame (TopModel remembers it).
struct ProcessInfo {
  int thread_count = 0;  // live threads seen and not exited
  std::string name;      // the leader's comm (tid == pid) when seen
};

// Folds thread rows into one row per pid: sums of rates, run-queue wait
// averaged. The name and thread count come from `known` when it has the
// pid (a thread that did nothing this interval is not in `rows` but still
// counts); otherwise the comm of the lowest tid and the number of rows.
std::vector<TopRow> AggregateByProcess(
    const std::vector<TopRow>& rows,
    const std::map<uint32_t, ProcessInfo>& known = {});

// Keeps rows whose pid or tid equals `filter` when it is a number, else
// whose comm contains it (case-insensitive). An empty filter keeps all.
std::vector<TopRow> FilterRows(std::vector<TopRow> rows,
                               absl::string_view filter);

// Sorts descending by the key (IO: read + write), ties by tid/pid.
void SortRows(std::vector<TopRow>& rows, TopSort key);

// Rates and shares the header shows, all derived in DeriveHeaderRates from
// the kernel's cumulative counters of two frames (host_rates.h: the same
// derivation as CSV and the summaries). Each is absent when its section is
// absent from either frame, without a previous frame, and for frames of
// agents older than the cumulative counters.
struct HeaderRates {
  std::optional<double> cpu_busy_percent;  // of all CPUs, 100 - idle - iowait
  std::vector<double> core_busy_percent;   // per CPU in both frames, in order
  std::optional<double> disk_read_bytes_per_sec, disk_write_bytes_per_sec;
  std::optional<double> net_receive_bytes_per_sec, net_transmit_bytes_per_sec;
  // PSI "some": share of the time at least one task stalled on it.
  std::optional<double> cpu_pressure_percent, memory_pressure_percent,
      io_pressure_percent;
  std::optional<double> context_switch_per_sec, fork_per_sec;
};
// `previous` is the stream's frame before `frame`, or null (then nothing is
// derived). Frames that cannot be compared (another host, time going back)
// give nothing either.
HeaderRates DeriveHeaderRates(const fb::Frame* previous,
                              const fb::Frame& frame);

// One busy application metric and its rate, for the header.
struct AppRate {
  std::string name;  // series name with its tags, "name{k:v,...}"
  std::string type;  // c, g, ms, h, d, s
  double value = 0;  // c: per second; g: the gauge; ms/h/d: samples per
                     // second; s: distinct members this interval
  std::string unit;  // "/s" for rates, "" for gauges and sets
  std::optional<double> mean;  // ms/h/d: sum / count (sender's unit)
  uint64_t sample_count = 0;   // datagram lines this interval
};
// The `max` series with the most samples this interval (ties by name).
std::vector<AppRate> BusiestAppSeries(const fb::Frame& frame, size_t max);

// Host values for the header; each absent when its section is absent.
struct TopHeader {
  uint64_t seq = 0;
  std::string hostname;
  HeaderRates rates;
  std::optional<uint64_t> memory_used_bytes, memory_total_bytes;
  std::optional<uint64_t> swap_used_bytes, swap_total_bytes;
  std::optional<double> load_1m, load_5m, load_15m;
  std::optional<uint32_t> process_count, thread_count;  // HostProcesses
  std::optional<uint32_t> running_task_count, blocked_task_count;  // HostCpu
  std::vector<AppRate> app;  // busiest app series
};
TopHeader BuildHeader(const fb::Frame* previous, const fb::Frame& frame);

// Samples of one quantity over the last `window` of the stream's own
// monotonic time (so a replay's history is its recorded one).
class SeriesHistory {
 public:
  explicit SeriesHistory(absl::Duration window = absl::Seconds(60))
      : window_ns_(absl::ToInt64Nanoseconds(window)) {}
  // Appends a sample at `monotonic_ns`; drops samples older than the window
  // before it. A time before the last sample clears the history first.
  void Add(uint64_t monotonic_ns, double value);
  void Clear() { samples_.clear(); }
  size_t size() const { return samples_.size(); }
  double Max() const;  // 0 when empty
  // The window as `width` equal time buckets ending at the last sample,
  // oldest first: each the largest sample in it, or nullopt when empty.
  std::vector<std::optional<double>> Buckets(size_t width) const;

 private:
  int64_t window_ns_;
  std::deque<std::pair<uint64_t, double>> samples_;
};

// A sparkline of buckets scaled to [0, max]: Unicode block elements
// (U+2581..U+2588) when `unicode`, else the ASCII ramp " .:-=+*#%@"; an
// empty bucket is a space.
std::string Sparkline(const std::vector<std::optional<double>>& buckets,
                      double max, bool unicode);

// 1536 -> "1.5K", powers of 1024, as dump does.
std::string HumanBytes(double bytes);

// Text for a terminal cell: invalid UTF-8 bytes become U+FFFD and control
// characters '?'; cut to `columns` display columns, the last one an
// ellipsis (U+2026) when cut. `display_width` counts a code point's columns
// (wcwidth in the caller's locale); null counts 1 per code point. Without
// `unicode` (a terminal that is not UTF-8) every non-ASCII code point is
// '?' and the ellipsis '~'.
std::string FitToColumns(absl::string_view text, size_t columns,
                         int (*display_width)(char32_t) = nullptr,
                         bool unicode = true);
// Display columns of `text` after the cleaning above.
size_t DisplayColumns(absl::string_view text,
                      int (*display_width)(char32_t) = nullptr);

// A table column at a given terminal width.
enum class TopColumnId {
  kId,  // TID, or THREADS in the process view
  kPid,
  kComm,
  kCpu,
  kSwitches,
  kFaults,
  kRead,
  kWrite,
  kRunQueue,
  kVerdict,
};
struct TopColumn {
  TopColumnId id;
  const char* title;
  size_t width;
  bool left = false;  // left-aligned (text)
};
// The columns that fit in `width` terminal columns (one space between
// them): COMM shrinks from 16 to 8 columns first, then the least telling
// columns go (VERDICT, RQ%, FAULT/s, WRITE/s, READ/s, SWITCH/s); ID, PID,
// COMM and CPU% always stay. Contention columns only with `contention`.
std::vector<TopColumn> LayoutColumns(size_t width, bool by_process,
                                     bool contention);

// The first row to show so that `scroll` (a requested first row) keeps the
// last page full: clamped to [0, max(0, rows - page)].
size_t ClampScroll(int64_t scroll, size_t rows, size_t page);

// Whether a connection whose first frame is `first` serves a recording
// (`perfwire replay --serve`) rather than a live agent. `now` and
// `now_monotonic_ns` are this host's CLOCK_REALTIME and CLOCK_MONOTONIC when
// that frame arrived.
//
// The rule: a replay when the first frame's monotonic_ns or realtime_ns is
// further than kReplayDistance (or one of its intervals, when longer) from
// the local clock. A live agent shares this host's clocks (a Unix socket)
// and sends each frame the moment it is built, so a live connection's first
// frame is a moment old; a replay's first frame is as old as the recording
// (its monotonic time at least the recording's length behind, and from
// another boot or host unrelated). Deciding on the first frame keeps a
// client that was stopped for a while and reads a backlog from calling a
// live stream a replay. seq and hostname cannot tell: a replay keeps both.
// Blind spot: a recording served within 5 s of its first frame reads as
// live.
inline constexpr absl::Duration kReplayDistance = absl::Seconds(5);
bool IsReplayStart(const fb::Frame& first, absl::Time now,
                   uint64_t now_monotonic_ns);

// The stream as top sees it, frame after frame.
class TopModel {
 public:
  TopModel() = default;

  // Takes a verified frame (without the length prefix); `replayed`: its
  // connection serves a recording (IsReplayStart of its first frame). A
  // frame that does not follow the last one (seq not larger, monotonic
  // time back, another host) starts a new stream: remembered threads and
  // histories are cleared first.
  void Add(absl::Span<const uint8_t> frame, bool replayed);
  // Forgets everything (e.g. before reading a recording again).
  void Reset();

  // The last frame, or null before the first.
  const fb::Frame* frame() const;
  // Rows of the last frame (threads active in its interval).
  std::vector<TopRow> ThreadRows() const;
  // One row per process active in the last interval, named after its
  // leader and counting every live thread seen since the stream began.
  std::vector<TopRow> ProcessRows() const;
  TopHeader Header() const;

  // Remembered threads: seen in a frame and not yet exited. A thread is
  // forgotten at its exit record, with every thread of its process when
  // the leader exits, and when a new stream starts.
  size_t known_thread_count() const { return threads_.size(); }
  const std::map<uint32_t, ProcessInfo>& processes() const {
    return processes_;
  }

  enum History {
    kCpuHistory,
    kMemoryHistory,
    kDiskReadHistory,
    kDiskWriteHistory,
    kNetReceiveHistory,
    kNetTransmitHistory,
    kHistoryCount,
  };
  const SeriesHistory& history(History h) const { return histories_[h]; }

  bool replay() const { return replay_; }
  // Recorded wall-clock time of the first and last frame of this stream.
  absl::Time first_time() const { return first_time_; }
  absl::Time last_time() const { return last_time_; }
  uint64_t frame_count() const { return frame_count_; }

 private:
  struct KnownThread {
    uint32_t pid = 0;
    std::string comm;
  };
  void Remember(const fb::Frame& frame);

  std::vector<uint8_t> frame_;
  std::vector<uint8_t> previous_;
  std::map<uint32_t, KnownThread> threads_;    // by tid
  std::map<uint32_t, ProcessInfo> processes_;  // derived from threads_
  std::array<SeriesHistory, kHistoryCount> histories_;
  bool replay_ = false;
  absl::Time first_time_ = absl::InfinitePast();
  absl::Time last_time_ = absl::InfinitePast();
  uint64_t frame_count_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_TOP_MODEL_H_
