#include "agent/contention/contention_source.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/log.h"
#include "agent/threads/thread_source.h"  // ReadPidMax

namespace perfwire {

ContentionSource::ContentionSource(ContentionSourceOptions options)
    : options_(std::move(options)) {
  status_.name = "contention";
}

absl::Status ContentionSource::Start() {
  ContentionBpfOptions o;
  o.agent_tgid = static_cast<uint32_t>(getpid());
  o.max_threads = options_.max_threads ? options_.max_threads
                                       : ReadPidMax(options_.proc_root);
  o.futex_syscalls = options_.futex_syscalls;
  auto bpf = ContentionBpf::Open(o);
  if (!bpf.ok()) {
    status_.available = false;
    status_.reason = std::string(bpf.status().message());
    return bpf.status();
  }
  bpf_ = std::move(*bpf);
  status_.available = true;
  status_.hook = bpf_->hook();
  status_.reason = absl::StrCat(
      "sched_switch+sched_wakeup (", bpf_->hook(),
      bpf_->hook() == "tp_btf" ? ", task storage" : ", per-thread hash", ")",
      bpf_->lock_hooks() ? "; lock:contention_begin/end"
                         : "; no lock tracepoints",
      bpf_->futex_syscalls() ? "; futex syscalls via sys_enter/exit" : "",
      "; block_rq_issue/complete; top ", options_.top_wake_edges,
      " wake pairs");
  // Baselines, so the first frame holds one interval, not everything since
  // load.
  absl::Status s = bpf_->ReadDisks(&last_disks_);
  if (s.ok()) s = bpf_->ReadCpuRunQueue(&last_cpus_);
  if (!s.ok()) MarkBroken(status_, s);
  return s;
}

int ContentionSource::wakeup_fd() const {
  return bpf_ ? bpf_->exit_wakeup_fd() : -1;
}

void ContentionSource::OnWakeup() {
  if (!status_.available) return;
  absl::Status s = bpf_->DrainExits(
      [this](const ThreadContentionDelta& d) { early_exits_.push_back(d); });
  if (!s.ok()) MarkBroken(status_, s);
}

void ContentionSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                               FrameSections& sections) {
  ContentionInterval interval;
  interval.threads = std::move(early_exits_);
  early_exits_.clear();
  auto keep = [&](const ThreadContentionDelta& d) {
    interval.threads.push_back(d);
  };
  absl::Status s = bpf_->ForEachThreadDelta(keep);
  // Exits after the iteration: a thread read live and freed since reports
  // the rest in this frame.
  if (s.ok()) s = bpf_->DrainExits(keep);
  if (s.ok()) s = bpf_->TakeWakeEdges(&interval.edges);
  std::vector<DiskLatencyTotals> disks;
  std::vector<CpuRunQueueTotals> cpus;
  if (s.ok()) s = bpf_->ReadDisks(&disks);
  if (s.ok()) s = bpf_->ReadCpuRunQueue(&cpus);
  if (!s.ok()) return MarkBroken(status_, s);
  interval.disks = DiskDeltas(last_disks_, disks);
  interval.cpus = CpuDeltas(last_cpus_, cpus);
  last_disks_ = std::move(disks);
  last_cpus_ = std::move(cpus);
  if (auto lost = bpf_->ReadLost(); lost.ok()) {
    interval.lost.state = lost->state - last_lost_.state;
    interval.lost.exit_records = lost->exit_records - last_lost_.exit_records;
    interval.lost.inflight = lost->inflight - last_lost_.inflight;
    interval.lost.wake_edges = lost->wake_edges - last_lost_.wake_edges;
    interval.lost.disks = lost->disks - last_lost_.disks;
    last_lost_ = *lost;
  }
  interval.futex_syscalls_measured = bpf_->futex_syscalls();
  BuildContentionSections(fbb, std::move(interval), options_.top_wake_edges,
                          sections);
}

}  // namespace perfwire
