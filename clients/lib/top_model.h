#ifndef PERFWIRE_CLIENTS_LIB_TOP_MODEL_H_
#define PERFWIRE_CLIENTS_LIB_TOP_MODEL_H_

// What `perfwire top` shows, computed from frames without any terminal code:
// table rows (per thread or per process), sorting, filtering, host header
// values and sparklines. Pure functions; thread-safe.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "perfwire_generated.h"

namespace perfwire {

struct TopRow {
  uint32_t tid = 0;  // 0 for a process row
  uint32_t pid = 0;
  std::string comm;
  int thread_count = 1;       // threads folded into this row
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

// Folds thread rows into one row per pid (comm of the lowest tid, which is
// the main thread when present; sums of rates; run-queue wait averaged).
std::vector<TopRow> AggregateByProcess(const std::vector<TopRow>& rows);

// Keeps rows whose pid or tid equals `filter` when it is a number, else
// whose comm contains it (case-insensitive). An empty filter keeps all.
std::vector<TopRow> FilterRows(std::vector<TopRow> rows,
                               absl::string_view filter);

// Sorts descending by the key (IO: read + write), ties by tid/pid.
void SortRows(std::vector<TopRow>& rows, TopSort key);

// Host values for the header; each absent when the section is absent.
struct TopHeader {
  uint64_t seq = 0;
  std::string hostname;
  std::optional<double> cpu_busy_percent;  // 100 - idle of the total
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<double> load_1m, load_5m, load_15m;
  std::optional<double> disk_read_bytes_per_sec, disk_write_bytes_per_sec;
  std::optional<double> net_receive_bytes_per_sec, net_transmit_bytes_per_sec;
};
TopHeader BuildHeader(const fb::Frame& frame);

// An ASCII sparkline of the last `width` samples (oldest left), each scaled
// to [0, max] over the characters " .:-=+*#%@"; padded on the left with
// spaces when there are fewer samples.
std::string Sparkline(const std::deque<double>& samples, double max,
                      size_t width);

// 1536 -> "1.5K", powers of 1024, as dump does.
std::string HumanBytes(double bytes);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_TOP_MODEL_H_
