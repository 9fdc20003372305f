// The task iterator on some kernels (this project's CI machine among them)
// skips pid 1 and its threads. When an iteration returns none of them, the
// thread source reads them from /proc instead, so init is not invisible.
// A thread whose on-CPU time has not moved has not run, so nothing else it
// counts can have moved either: it costs one small read (schedstat) instead
// of four.

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "agent/threads/proc_thread_reader.h"
#include "agent/threads/thread_source.h"

namespace perfwire {

void ThreadSource::ObserveInitProcessFromProc() {
  constexpr uint32_t kInitPid = 1;
  auto tids = ListProcThreads(options_.proc_root, kInitPid);
  if (!tids.ok()) return;
  absl::erase_if(init_threads_, [&](const auto& kv) {
    return !std::binary_search(tids->begin(), tids->end(), kv.first);
  });
  for (uint32_t tid : *tids) {
    InitThread& known = init_threads_[tid];
    if (known.schedstat) {
      auto on_cpu = ReadProcThreadOnCpuNs(known.schedstat);
      if (on_cpu.ok() && *on_cpu == known.sample.counters.on_cpu_ns) {
        table_->ObserveLive(known.sample);
        continue;
      }
      if (!on_cpu.ok()) known.schedstat.reset();  // tid reused: reopen
    }
    if (!known.schedstat) {
      auto fd = OpenProcThreadSchedstat(options_.proc_root, kInitPid, tid);
      if (fd.ok()) known.schedstat = std::move(*fd);
    }
    auto p = ReadProcThread(options_.proc_root, kInitPid, tid);
    if (!p.ok()) continue;  // gone between listing and reading
    ThreadSample s;
    s.tid = p->tid;
    s.pid = p->pid;
    // Started at boot, before any agent: key with start time 0 so the
    // thread table counts it from its first sighting.
    s.start_time_ns = 0;
    std::strncpy(s.comm.data(), p->comm.c_str(), s.comm.size() - 1);
    s.counters.on_cpu_ns = p->on_cpu_ns;
    s.counters.voluntary_switch_count = p->nvcsw;
    s.counters.involuntary_switch_count = p->nivcsw;
    s.counters.minor_fault_count = p->min_flt;
    s.counters.major_fault_count = p->maj_flt;
    s.counters.read_bytes =
        p->rchar;  // 0 when /proc denies io: unknown, not counted
    s.counters.write_bytes = p->wchar;
    table_->ObserveLive(s);
    known.sample = s;
  }
}

}  // namespace perfwire
