#ifndef PERFWIRE_AGENT_CONTENTION_CONTENTION_SOURCE_H_
#define PERFWIRE_AGENT_CONTENTION_CONTENTION_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "agent/contention/contention_bpf.h"
#include "agent/contention/contention_section.h"
#include "agent/source.h"

namespace perfwire {

struct ContentionSourceOptions {
  uint32_t max_threads = 0;    // raw_tp per-thread hash capacity; 0: pid_max
  size_t top_wake_edges = 64;  // waker->wakee pairs per frame
  bool futex_syscalls =
      false;  // time FUTEX_WAIT* syscalls (hooks every syscall)
  std::string proc_root = "/proc";
};

// The "contention" source (opt-in): where threads wait. Each Collect() runs
// the contention task iterator (deltas computed in the kernel), drains exit
// records, takes the interval's waker->wakee pairs and diffs the per-disk
// and per-CPU histograms.
class ContentionSource : public Source {
 public:
  explicit ContentionSource(ContentionSourceOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }
  int wakeup_fd() const override;
  void OnWakeup() override;

 private:
  ContentionSourceOptions options_;
  SourceStatus status_;
  std::unique_ptr<ContentionBpf> bpf_;
  std::vector<ThreadContentionDelta> early_exits_;  // drained by OnWakeup
  std::vector<DiskLatencyTotals> last_disks_;
  std::vector<CpuRunQueueTotals> last_cpus_;
  ContentionLostCounts last_lost_;
};

// The contention source as perfwired's flags ask (--contention,
// --contention_futex_syscalls; agent/contention/contention_flags.cc): a
// DisabledSource saying how to turn it on when --contention is off.
std::unique_ptr<Source> ContentionSourceFromFlags(const std::string& proc_root);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_CONTENTION_CONTENTION_SOURCE_H_
