#ifndef PERFWIRE_AGENT_THREADS_THREAD_BACKEND_H_
#define PERFWIRE_AGENT_THREADS_THREAD_BACKEND_H_

// Where the threads source gets per-thread kernel counters from. Two
// implementations: ThreadBpf (a BPF task walk each interval plus exit
// records, exact) and ProcfsThreadBackend (/proc polling, for hosts where
// BPF is refused). ThreadSource (thread_source.h) owns one and turns its
// cumulative samples into per-interval deltas; a backend keeps no deltas.
//
// All calls come from the collector thread, in this order per interval:
// ForEachLiveThread, DrainExits, TakeBlockIoOfExited, ReadLost. DrainExits
// may also be called between intervals when exit_wakeup_fd() is readable.
// Errors mean the backend is broken: the source stops.

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/threads/exit_joiner.h"
#include "agent/threads/thread_counters.h"

namespace perfwire {

struct ThreadLostCounts {
  uint64_t exit_records = 0;  // exit samples dropped: exit ring full
  uint64_t block_io = 0;      // bios not attributed: block IO map full
};

class ThreadBackend {
 public:
  virtual ~ThreadBackend() = default;

  // The mechanism, reported as the source's hook: "tp_btf", "raw_tp",
  // "procfs".
  virtual const std::string& hook() const = 0;

  // Calls `fn` once for each live thread, except the agent's own, with its
  // cumulative counters. A partial snapshot (last_snapshot_full() false)
  // may leave out threads whose counters have not moved since the last one.
  virtual absl::Status ForEachLiveThread(
      absl::FunctionRef<void(const ThreadSample&)> fn) = 0;
  virtual bool last_snapshot_full() const = 0;

  // Hands over the threads that exited since the last call: `on_exit` with
  // each one's last counts, then `on_final` with counts taken after its last
  // slice where the backend has them (see ExitJoiner).
  virtual absl::Status DrainExits(
      absl::FunctionRef<void(const ThreadSample&)> on_exit,
      absl::FunctionRef<void(const ThreadFinal&)> on_final) = 0;

  // Fills in the block IO of exited threads where the backend counts it.
  virtual absl::Status TakeBlockIoOfExited(
      std::vector<ThreadSample>& exited) = 0;

  // Readable when DrainExits should run before the interval ends; -1: never.
  virtual int exit_wakeup_fd() const = 0;

  // Cumulative loss counters.
  virtual absl::StatusOr<ThreadLostCounts> ReadLost() const = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_BACKEND_H_
