#include "agent/threads/exit_joiner.h"

#include <utility>

namespace perfwire {

void ExitJoiner::AddExit(const ThreadSample& sample, uint64_t now_ns) {
  const Key key{sample.tid, sample.start_time_ns};
  // A duplicate key cannot come from the kernel (a task exits once); keep
  // the first rather than trust either.
  if (!index_.try_emplace(key, waiting_.size()).second) return;
  waiting_.push_back(Waiting{sample, now_ns, !finals_expected_});
  auto early = early_finals_.find(key);
  if (early == early_finals_.end()) return;
  Apply(early->second.final, waiting_.back());
  early_finals_.erase(early);
}

void ExitJoiner::AddFinal(const ThreadFinal& final, uint64_t now_ns) {
  const Key key{final.tid, final.start_time_ns};
  auto it = index_.find(key);
  if (it == index_.end()) {
    early_finals_.try_emplace(key, EarlyFinal{final, now_ns});
    return;
  }
  Apply(final, waiting_[it->second]);
}

void ExitJoiner::Apply(const ThreadFinal& final, Waiting& w) {
  ThreadCounters& c = w.sample.counters;
  c.on_cpu_ns = final.on_cpu_ns;
  c.voluntary_switch_count = final.voluntary_switch_count;
  c.involuntary_switch_count = final.involuntary_switch_count;
  c.minor_fault_count = final.minor_fault_count;
  c.major_fault_count = final.major_fault_count;
  w.joined = true;
}

std::vector<ThreadSample> ExitJoiner::TakeReady(uint64_t now_ns, bool flush) {
  std::vector<ThreadSample> ready;
  size_t kept = 0;
  for (size_t i = 0; i < waiting_.size(); ++i) {
    Waiting& w = waiting_[i];
    const bool timed_out = now_ns - w.added_ns >= final_wait_ns_;
    if (w.joined || timed_out || flush) {
      if (!w.joined) ++without_final_;
      index_.erase(Key{w.sample.tid, w.sample.start_time_ns});
      ready.push_back(w.sample);
      continue;
    }
    if (kept != i) {
      index_[Key{w.sample.tid, w.sample.start_time_ns}] = kept;
      waiting_[kept] = std::move(w);
    }
    ++kept;
  }
  waiting_.resize(kept);
  absl::erase_if(early_finals_, [&](const auto& entry) {
    return flush || now_ns - entry.second.added_ns >= final_wait_ns_;
  });
  return ready;
}

uint64_t ExitJoiner::TakeWithoutFinalCount() {
  return std::exchange(without_final_, 0);
}

}  // namespace perfwire
