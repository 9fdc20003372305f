#include "agent/threads/procfs_thread_backend.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace perfwire {
namespace {

uint32_t DefaultMaxKeptFiles() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) {
    return 1024;
  }
  return static_cast<uint32_t>(std::min<rlim_t>(r.rlim_cur / 4, 1u << 20));
}

uint64_t NsPerTick() {
  const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? 1000000000ull / static_cast<uint64_t>(hz) : 10000000ull;
}

}  // namespace

ProcfsThreadBackend::ProcfsThreadBackend(ProcfsThreadBackendOptions options)
    : options_(std::move(options)),
      reader_(KernelFs(options_.proc_root)),
      ns_per_tick_(NsPerTick()),
      max_kept_files_(options_.max_kept_files ? options_.max_kept_files
                                              : DefaultMaxKeptFiles()) {}

bool ProcfsThreadBackend::Observe(
    uint32_t pid, uint32_t tid,
    absl::FunctionRef<void(const ThreadSample&)> fn) {
  auto it = threads_.find(tid);
  if (it != threads_.end()) {
    Known& known = it->second;
    if (known.sample.pid == pid && known.schedstat.is_open()) {
      absl::StatusOr<uint64_t> on_cpu = reader_.ReadOnCpuNs(known.schedstat);
      if (on_cpu.ok() && *on_cpu == known.sample.counters.on_cpu_ns) {
        known.snapshot = snapshot_;
        ++unchanged_;
        fn(known.sample);
        return true;
      }
      // Moved, or the tid was reused by a new thread: read it all again.
      if (!on_cpu.ok()) {
        known.schedstat.Close();
        --kept_files_;
      }
    }
  }
  absl::StatusOr<ProcThreadSample> p = reader_.Read(pid, tid);
  if (!p.ok()) return false;  // gone between listing and reading
  ++full_reads_;
  ThreadSample s;
  s.tid = p->tid;
  s.pid = p->pid;
  s.start_time_ns = p->start_time_ticks * ns_per_tick_;
  std::strncpy(s.comm.data(), p->comm.c_str(), s.comm.size() - 1);
  s.counters.on_cpu_ns = p->on_cpu_ns;
  s.counters.voluntary_switch_count = p->nvcsw;
  s.counters.involuntary_switch_count = p->nivcsw;
  s.counters.minor_fault_count = p->min_flt;
  s.counters.major_fault_count = p->maj_flt;
  s.counters.read_bytes = p->rchar;  // 0 when io is denied: unknown
  s.counters.write_bytes = p->wchar;

  if (it == threads_.end()) {
    it = threads_.try_emplace(tid).first;
  } else if (it->second.sample.start_time_ns != s.start_time_ns ||
             it->second.sample.pid != pid) {
    // The tid now names another thread: the old one exited unseen.
    exited_.push_back(it->second.sample);
    if (it->second.schedstat.is_open()) {
      it->second.schedstat.Close();
      --kept_files_;
    }
  }
  Known& known = it->second;
  known.sample = s;
  known.snapshot = snapshot_;
  if (!known.schedstat.is_open() && kept_files_ < max_kept_files_) {
    absl::StatusOr<KeptFile> f = reader_.OpenSchedstat(pid, tid);
    if (f.ok()) {
      known.schedstat = std::move(*f);
      ++kept_files_;
    }
  }
  fn(s);
  return true;
}

absl::Status ProcfsThreadBackend::ForEachLiveThread(
    absl::FunctionRef<void(const ThreadSample&)> fn) {
  ++snapshot_;
  full_reads_ = unchanged_ = 0;
  std::vector<uint32_t> pids;
  if (options_.only_pid != 0) {
    pids.push_back(options_.only_pid);
  } else {
    absl::StatusOr<std::vector<uint32_t>> listed = reader_.ListProcesses();
    // /proc itself unreadable: the backend cannot work at all.
    if (!listed.ok()) return listed.status();
    pids = std::move(*listed);
  }
  for (uint32_t pid : pids) {
    if (pid == options_.skip_pid) continue;
    absl::StatusOr<std::vector<uint32_t>> tids = reader_.ListThreads(pid);
    if (!tids.ok()) continue;  // exited since the listing
    for (uint32_t tid : *tids) Observe(pid, tid, fn);
  }
  // Known threads not seen in this snapshot are gone.
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.snapshot == snapshot_) {
      ++it;
      continue;
    }
    exited_.push_back(it->second.sample);
    if (it->second.schedstat.is_open()) --kept_files_;
    threads_.erase(it++);
  }
  return absl::OkStatus();
}

absl::Status ProcfsThreadBackend::DrainExits(
    absl::FunctionRef<void(const ThreadSample&)> on_exit,
    absl::FunctionRef<void(const ThreadFinal&)>) {
  for (const ThreadSample& s : exited_) on_exit(s);
  exited_.clear();
  return absl::OkStatus();
}

}  // namespace perfwire
