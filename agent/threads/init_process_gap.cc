// The task iterator on some kernels (this project's CI machine among them)
// skips pid 1 and its threads. When an iteration returns none of them, the
// thread source reads them from /proc instead, so init is not invisible:
// with the /proc thread backend restricted to pid 1, the same reader the
// /proc fallback uses. A thread whose on-CPU time has not moved costs one
// kept-open schedstat read instead of four file reads.

#include "agent/threads/thread_source.h"

namespace perfwire {

void ThreadSource::ObserveInitProcessFromProc() {
  absl::Status s = init_gap_->ForEachLiveThread(
      [this](const ThreadSample& t) { table_->ObserveLive(t); });
  if (!s.ok()) return;  // pid 1 unreadable here: it stays unseen
  s = init_gap_->DrainExits(
      [this](const ThreadSample& t) { table_->ObserveExit(t); },
      [](const ThreadFinal&) {});
  s.IgnoreError();  // cannot fail: exits are already in memory
}

}  // namespace perfwire
