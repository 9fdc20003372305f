#include "agent/contention/contention_section.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "perfwire_generated.h"
#include "pw_constants.h"

namespace perfwire {
namespace {

template <typename Array>
flatbuffers::Offset<flatbuffers::Vector<uint64_t>> Histogram(
    flatbuffers::FlatBufferBuilder& fbb, const Array& slots) {
  size_t n = std::size(slots);
  while (n > 0 && slots[n - 1] == 0) --n;  // trailing zero slots omitted
  return fbb.CreateVector(reinterpret_cast<const uint64_t*>(&slots[0]), n);
}

void Add(pw_ct_counters& into, const pw_ct_counters& d) {
  auto* a = reinterpret_cast<uint64_t*>(&into);
  const auto* b = reinterpret_cast<const uint64_t*>(&d);
  for (size_t i = 0; i < PW_CT_COUNTER_WORDS; ++i) a[i] += b[i];
}

HistogramSlots Minus(const HistogramSlots& a, const HistogramSlots& b) {
  HistogramSlots out{};
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = a[i] >= b[i] ? a[i] - b[i] : 0;
  return out;
}

uint64_t Minus(uint64_t a, uint64_t b) { return a >= b ? a - b : 0; }

}  // namespace

std::vector<ThreadContentionDelta> MergeThreadRows(
    std::vector<ThreadContentionDelta> rows) {
  std::map<std::pair<uint32_t, uint64_t>, ThreadContentionDelta> merged;
  for (const ThreadContentionDelta& r : rows) {
    auto [it, inserted] = merged.try_emplace({r.tid, r.start_time_ns}, r);
    if (inserted) continue;
    Add(it->second.delta, r.delta);
    it->second.exited |= r.exited;
  }
  std::vector<ThreadContentionDelta> out;
  out.reserve(merged.size());
  for (auto& [key, row] : merged) out.push_back(row);
  return out;
}

std::vector<WakeEdgeCount> TopEdges(std::vector<WakeEdgeCount> edges,
                                    size_t n) {
  auto order = [](const WakeEdgeCount& a, const WakeEdgeCount& b) {
    return std::make_tuple(-static_cast<int64_t>(a.count), a.waker_tid,
                           a.wakee_tid) <
           std::make_tuple(-static_cast<int64_t>(b.count), b.waker_tid,
                           b.wakee_tid);
  };
  if (edges.size() > n) {
    std::partial_sort(edges.begin(), edges.begin() + static_cast<ptrdiff_t>(n),
                      edges.end(), order);
    edges.resize(n);
  } else {
    std::sort(edges.begin(), edges.end(), order);
  }
  return edges;
}

std::vector<DiskLatencyTotals> DiskDeltas(
    const std::vector<DiskLatencyTotals>& before,
    const std::vector<DiskLatencyTotals>& now) {
  std::map<uint32_t, const DiskLatencyTotals*> old;
  for (const auto& d : before) old[d.dev] = &d;
  std::vector<DiskLatencyTotals> out;
  for (const auto& d : now) {
    DiskLatencyTotals delta = d;
    if (auto it = old.find(d.dev); it != old.end()) {
      delta.request_count = Minus(d.request_count, it->second->request_count);
      delta.latency_total_ns =
          Minus(d.latency_total_ns, it->second->latency_total_ns);
      delta.hist = Minus(d.hist, it->second->hist);
    }
    if (delta.request_count != 0) out.push_back(std::move(delta));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.dev < b.dev; });
  return out;
}

std::vector<CpuRunQueueTotals> CpuDeltas(
    const std::vector<CpuRunQueueTotals>& before,
    const std::vector<CpuRunQueueTotals>& now) {
  std::map<uint32_t, const CpuRunQueueTotals*> old;
  for (const auto& c : before) old[c.cpu] = &c;
  std::vector<CpuRunQueueTotals> out;
  for (const auto& c : now) {
    CpuRunQueueTotals delta = c;
    if (auto it = old.find(c.cpu); it != old.end()) {
      delta.wait_count = Minus(c.wait_count, it->second->wait_count);
      delta.wait_total_ns = Minus(c.wait_total_ns, it->second->wait_total_ns);
      delta.hist = Minus(c.hist, it->second->hist);
    }
    if (delta.wait_count != 0) out.push_back(delta);
  }
  return out;
}

void BuildContentionSections(flatbuffers::FlatBufferBuilder& fbb,
                             ContentionInterval interval, size_t top_edges,
                             FrameSections& sections) {
  std::vector<flatbuffers::Offset<fb::ThreadContention>> threads;
  for (const ThreadContentionDelta& t :
       MergeThreadRows(std::move(interval.threads))) {
    const pw_ct_counters& d = t.delta;
    const auto hist = Histogram(fbb, d.run_queue_wait_hist);
    fb::ThreadContentionBuilder b(fbb);
    b.add_tid(t.tid);
    b.add_pid(t.pid);
    b.add_exited(t.exited);
    b.add_run_queue_wait_ns(d.run_queue_wait_ns);
    b.add_run_queue_wait_count(d.run_queue_wait_count);
    b.add_run_queue_wait_log2_ns_count(hist);
    b.add_futex_sleep_ns(d.futex_sleep_ns);
    b.add_futex_sleep_count(d.futex_sleep_count);
    b.add_lock_sleep_ns(d.lock_sleep_ns);
    b.add_lock_sleep_count(d.lock_sleep_count);
    b.add_io_sleep_ns(d.io_sleep_ns);
    b.add_io_sleep_count(d.io_sleep_count);
    b.add_other_sleep_ns(d.other_sleep_ns);
    b.add_other_sleep_count(d.other_sleep_count);
    b.add_futex_wait_count(d.futex_wait_count);
    b.add_futex_wait_ns(d.futex_wait_ns);
    b.add_lock_contention_count(d.lock_contention_count);
    b.add_lock_contention_ns(d.lock_contention_ns);
    threads.push_back(b.Finish());
  }
  sections.Set(fb::Frame::VT_THREAD_CONTENTION, fbb.CreateVector(threads));

  std::vector<flatbuffers::Offset<fb::DiskLatency>> disks;
  for (const DiskLatencyTotals& d : interval.disks) {
    const auto name = fbb.CreateString(d.name);
    const auto hist = Histogram(fbb, d.hist);
    fb::DiskLatencyBuilder b(fbb);
    b.add_dev_major(PW_DEV_MAJOR(d.dev));
    b.add_dev_minor(PW_DEV_MINOR(d.dev));
    b.add_name(name);
    b.add_request_count(d.request_count);
    b.add_latency_total_ns(d.latency_total_ns);
    b.add_latency_log2_ns_count(hist);
    disks.push_back(b.Finish());
  }
  sections.Set(fb::Frame::VT_DISK_LATENCY, fbb.CreateVector(disks));

  uint64_t wakeups = 0;
  for (const WakeEdgeCount& e : interval.edges) wakeups += e.count;
  const size_t pairs = interval.edges.size();
  const std::vector<WakeEdgeCount> top =
      TopEdges(std::move(interval.edges), top_edges);
  uint64_t kept_wakeups = 0;
  std::vector<flatbuffers::Offset<fb::WakeEdge>> edges;
  for (const WakeEdgeCount& e : top) {
    kept_wakeups += e.count;
    edges.push_back(fb::CreateWakeEdge(fbb, e.waker_tid, e.waker_pid,
                                       e.wakee_tid, e.wakee_pid, e.count));
  }
  sections.Set(fb::Frame::VT_WAKE_EDGES, fbb.CreateVector(edges));

  std::vector<flatbuffers::Offset<fb::CpuRunQueueLatency>> cpus;
  for (const CpuRunQueueTotals& c : interval.cpus) {
    const auto hist = Histogram(fbb, c.hist);
    cpus.push_back(fb::CreateCpuRunQueueLatency(fbb, c.cpu, c.wait_count,
                                                c.wait_total_ns, hist));
  }
  sections.Set(fb::Frame::VT_CPU_RUN_QUEUE, fbb.CreateVector(cpus));

  fb::ContentionStatsBuilder s(fbb);
  s.add_futex_syscalls_measured(interval.futex_syscalls_measured);
  s.add_wakeup_count(wakeups);
  s.add_wake_edge_count(pairs);
  s.add_dropped_wake_edge_count(pairs - top.size());
  s.add_dropped_wakeup_count(wakeups - kept_wakeups);
  s.add_lost_state_count(interval.lost.state);
  s.add_lost_exit_record_count(interval.lost.exit_records);
  s.add_lost_inflight_count(interval.lost.inflight);
  s.add_lost_wake_edge_count(interval.lost.wake_edges);
  s.add_lost_disk_count(interval.lost.disks);
  sections.Set(fb::Frame::VT_CONTENTION, s.Finish());
}

}  // namespace perfwire
