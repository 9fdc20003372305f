#include "clients/lib/contention_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/lib/json_text.h"

namespace perfwire {
namespace {

void AddHist(Log2Histogram& into, const flatbuffers::Vector<uint64_t>* v) {
  if (!v) return;
  for (size_t i = 0; i < v->size() && i < into.size(); ++i)
    into[i] += v->Get(i);
}

double P(const Log2Histogram& h, double q) {
  return HistogramPercentileNs(h.data(), h.size(), q);
}

std::string Ms(double ns) { return absl::StrFormat("%.1f", ns / 1e6); }
std::string Us(double ns) { return absl::StrFormat("%.0f", ns / 1e3); }
std::string Pct(uint64_t part, uint64_t total) {
  return total ? absl::StrFormat("%.1f", 100.0 * part / total) : "0.0";
}

Json JsonTime(const WaitBreakdown& b) {
  return Json{{"window_ns", b.TotalNs()},
              {"on_cpu_ns", b.on_cpu_ns},
              {"run_queue_wait_ns", b.run_queue_ns},
              {"lock_wait_ns", b.lock_ns},
              {"io_wait_ns", b.io_ns},
              {"sleep_ns", b.sleep_ns},
              {"waiting_ns", b.WaitingNs()}};
}

}  // namespace

ContentionAggregator::ContentionAggregator(ContentionReportOptions options)
    : options_(std::move(options)) {}

ContentionAggregator::ThreadAcc& ContentionAggregator::Thread(uint32_t tid,
                                                              uint32_t pid) {
  auto [it, inserted] = threads_.try_emplace(tid);
  if (inserted) it->second.first_frame = frames_;
  it->second.pid = pid;
  return it->second;
}

void ContentionAggregator::Add(const fb::Frame& f) {
  interval_ns_.push_back(f.interval_ns());
  if (f.sources()) {
    for (const fb::SourceStatus* s : *f.sources()) {
      if (s->name() && s->name()->str() == "contention" && s->reason()) {
        source_reason_ = s->reason()->str();
      }
    }
  }
  if (f.threads()) {
    for (const fb::Thread* t : *f.threads()) {
      ThreadAcc& a = Thread(t->tid(), t->pid());
      if (t->comm()) a.comm = t->comm()->str();
      a.time.on_cpu_ns += t->on_cpu_ns();
      if (t->exited()) {
        a.exited = true;
        a.last_frame = frames_;
      }
    }
  }
  if (f.thread_contention()) {
    source_seen_ = true;
    for (const fb::ThreadContention* t : *f.thread_contention()) {
      ThreadAcc& a = Thread(t->tid(), t->pid());
      a.time.run_queue_ns += t->run_queue_wait_ns();
      a.time.lock_ns += t->futex_sleep_ns() + t->lock_sleep_ns();
      a.time.io_ns += t->io_sleep_ns();
      a.time.sleep_ns += t->other_sleep_ns();
      AddHist(a.hist, t->run_queue_wait_log2_ns_count());
      a.futex_wait_count += t->futex_wait_count() ? t->futex_wait_count()
                                                  : t->futex_sleep_count();
      a.lock_contention_count += t->lock_contention_count();
      a.io_sleep_count += t->io_sleep_count();
      if (t->exited()) {
        a.exited = true;
        a.last_frame = frames_;
      }
    }
  }
  if (f.wake_edges()) {
    for (const fb::WakeEdge* e : *f.wake_edges()) {
      EdgeReport& r = edges_[{e->waker_tid(), e->wakee_tid()}];
      r.waker_tid = e->waker_tid();
      r.waker_pid = e->waker_pid();
      r.wakee_tid = e->wakee_tid();
      r.wakee_pid = e->wakee_pid();
      r.wakeup_count += e->wakeup_count();
    }
  }
  if (f.cpu_run_queue()) {
    for (const fb::CpuRunQueueLatency* c : *f.cpu_run_queue()) {
      auto& [count, hist] = cpus_[c->cpu()];
      count += c->wait_count();
      AddHist(hist, c->wait_log2_ns_count());
    }
  }
  if (f.disk_latency()) {
    for (const fb::DiskLatency* d : *f.disk_latency()) {
      auto& [count, total, hist] = disks_[d->name() ? d->name()->str() : "?"];
      count += d->request_count();
      total += d->latency_total_ns();
      AddHist(hist, d->latency_log2_ns_count());
    }
  }
  if (const fb::ContentionStats* s = f.contention()) {
    lost_ += s->lost_state_count() + s->lost_exit_record_count() +
             s->lost_inflight_count() + s->lost_wake_edge_count() +
             s->lost_disk_count();
    dropped_wakeups_ += s->dropped_wakeup_count();
  }
  ++frames_;
}

ContentionReport ContentionAggregator::Finish() const {
  ContentionReport r;
  r.frames = frames_;
  for (uint64_t ns : interval_ns_) r.window_ns += ns;
  r.source_seen = source_seen_;
  r.source_reason = source_reason_;
  r.lost_event_count = lost_;
  r.dropped_wakeup_count = dropped_wakeups_;

  auto comm_of = [&](uint32_t tid) -> std::string {
    auto it = threads_.find(tid);
    return it == threads_.end() ? "" : it->second.comm;
  };
  auto process_comm = [&](uint32_t pid) {
    std::string c = comm_of(pid);
    return c;
  };
  auto wanted = [&](uint32_t pid, const std::string& comm) {
    if (options_.pid && *options_.pid != pid) return false;
    return options_.comm.empty() || comm == options_.comm ||
           process_comm(pid) == options_.comm;
  };

  std::map<uint32_t, ProcessReport> processes;
  for (const auto& [tid, a] : threads_) {
    if (!wanted(a.pid, a.comm)) continue;
    const bool waited =
        a.time.run_queue_ns + a.time.lock_ns + a.time.io_ns + a.time.sleep_ns;
    if (!waited && a.time.on_cpu_ns == 0) continue;
    ThreadReport t;
    t.tid = tid;
    t.pid = a.pid;
    t.comm = a.comm;
    t.exited = a.exited;
    t.time = a.time;
    const uint64_t end = a.exited ? a.last_frame + 1 : interval_ns_.size();
    for (uint64_t i = a.first_frame; i < end && i < interval_ns_.size(); ++i) {
      t.time.window_ns += interval_ns_[i];
    }
    t.run_queue_hist = a.hist;
    t.run_queue_p50_ns = P(a.hist, 0.5);
    t.run_queue_p99_ns = P(a.hist, 0.99);
    t.futex_wait_count = a.futex_wait_count;
    t.lock_contention_count = a.lock_contention_count;
    t.io_sleep_count = a.io_sleep_count;
    t.judgement = Judge(t.time);
    ProcessReport& p = processes[a.pid];
    p.pid = a.pid;
    if (p.comm.empty())
      p.comm = process_comm(a.pid).empty() ? a.comm : process_comm(a.pid);
    ++p.thread_count;
    p.time += t.time;
    for (size_t i = 0; i < p.run_queue_hist.size(); ++i)
      p.run_queue_hist[i] += a.hist[i];
    r.threads.push_back(std::move(t));
  }
  auto by_waiting = [](const auto& a, const auto& b) {
    if (a.time.WaitingNs() != b.time.WaitingNs())
      return a.time.WaitingNs() > b.time.WaitingNs();
    return a.time.on_cpu_ns > b.time.on_cpu_ns;
  };
  std::sort(r.threads.begin(), r.threads.end(), by_waiting);
  for (auto& [pid, p] : processes) {
    p.run_queue_p50_ns = P(p.run_queue_hist, 0.5);
    p.run_queue_p99_ns = P(p.run_queue_hist, 0.99);
    p.judgement = Judge(p.time);
    r.processes.push_back(std::move(p));
  }
  std::sort(r.processes.begin(), r.processes.end(), by_waiting);

  for (const auto& [key, e] : edges_) {
    if (!wanted(e.waker_pid, comm_of(e.waker_tid)) &&
        !wanted(e.wakee_pid, comm_of(e.wakee_tid))) {
      continue;
    }
    EdgeReport out = e;
    out.waker_comm = comm_of(e.waker_tid);
    out.wakee_comm = comm_of(e.wakee_tid);
    r.edges.push_back(std::move(out));
  }
  std::sort(r.edges.begin(), r.edges.end(),
            [](const EdgeReport& a, const EdgeReport& b) {
              return a.wakeup_count > b.wakeup_count;
            });
  for (const auto& [cpu, v] : cpus_) {
    r.cpus.push_back({cpu, v.first, P(v.second, 0.5), P(v.second, 0.99)});
  }
  for (const auto& [name, v] : disks_) {
    const auto& [count, total, hist] = v;
    r.disks.push_back({name, count,
                       count ? static_cast<double>(total) / count : 0,
                       P(hist, 0.5), P(hist, 0.99)});
  }
  return r;
}

std::string RenderContentionText(const ContentionReport& r,
                                 const ContentionReportOptions& o) {
  std::string out;
  if (!r.source_seen) {
    absl::StrAppend(
        &out, "no contention data in ", r.frames,
        " frames: start perfwired with --contention",
        r.source_reason.empty() ? "" : absl::StrCat(" (", r.source_reason, ")"),
        "\n");
    return out;
  }
  absl::StrAppend(&out,
                  absl::StrFormat("contention over %.1f s (%d frames)\n\n",
                                  r.window_ns / 1e9, r.frames));
  const std::string header = absl::StrFormat(
      "%-8s %-8s %-16s %7s %6s %6s %6s %6s %6s %8s %8s  %-12s %s\n", "TID",
      "PID", "COMM", "WAIT_MS", "CPU%", "RUNQ%", "LOCK%", "IO%", "SLEEP%",
      "RQ_P50us", "RQ_P99us", "VERDICT", "REASON");
  absl::StrAppend(
      &out, "Threads, by time lost waiting (run queue + lock + IO):\n", header);
  size_t n = 0;
  for (const ThreadReport& t : r.threads) {
    if (n++ == o.max_threads) break;
    const uint64_t T = t.time.TotalNs();
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-8d %-8d %-16s %7s %6s %6s %6s %6s %6s %8s %8s  %-12s %s\n",
                  t.tid, t.pid, t.comm + (t.exited ? "*" : ""),
                  Ms(t.time.WaitingNs()), Pct(t.time.on_cpu_ns, T),
                  Pct(t.time.run_queue_ns, T), Pct(t.time.lock_ns, T),
                  Pct(t.time.io_ns, T), Pct(t.time.sleep_ns, T),
                  Us(t.run_queue_p50_ns), Us(t.run_queue_p99_ns),
                  VerdictName(t.judgement.verdict), t.judgement.reason));
  }
  absl::StrAppend(
      &out, "\nProcesses:\n",
      absl::StrFormat(
          "%-8s %-8s %-16s %7s %6s %6s %6s %6s %6s %8s %8s  %-12s %s\n", "PID",
          "THREADS", "COMM", "WAIT_MS", "CPU%", "RUNQ%", "LOCK%", "IO%",
          "SLEEP%", "RQ_P50us", "RQ_P99us", "VERDICT", "REASON"));
  n = 0;
  for (const ProcessReport& p : r.processes) {
    if (n++ == o.max_threads) break;
    const uint64_t T = p.time.TotalNs();
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-8d %-8d %-16s %7s %6s %6s %6s %6s %6s %8s %8s  %-12s %s\n",
                  p.pid, p.thread_count, p.comm, Ms(p.time.WaitingNs()),
                  Pct(p.time.on_cpu_ns, T), Pct(p.time.run_queue_ns, T),
                  Pct(p.time.lock_ns, T), Pct(p.time.io_ns, T),
                  Pct(p.time.sleep_ns, T), Us(p.run_queue_p50_ns),
                  Us(p.run_queue_p99_ns), VerdictName(p.judgement.verdict),
                  p.judgement.reason));
  }
  absl::StrAppend(&out, "\nTop wakers (waker -> wakee: wakeups):\n");
  n = 0;
  for (const EdgeReport& e : r.edges) {
    if (n++ == o.max_edges) break;
    absl::StrAppend(
        &out,
        absl::StrFormat("  %s/%d -> %s/%d: %d\n", e.waker_comm, e.waker_tid,
                        e.wakee_comm, e.wakee_tid, e.wakeup_count));
  }
  absl::StrAppend(&out, "\nRun-queue latency per CPU:");
  for (const CpuReport& c : r.cpus) {
    absl::StrAppend(
        &out, absl::StrFormat("  cpu%d p50 %sus p99 %sus (%d waits)", c.cpu,
                              Us(c.p50_ns), Us(c.p99_ns), c.wait_count));
  }
  absl::StrAppend(&out, "\nBlock latency per disk:");
  for (const DiskReport& d : r.disks) {
    absl::StrAppend(
        &out, absl::StrFormat("  %s mean %sus p50 %sus p99 %sus (%d requests)",
                              d.name, Us(d.mean_ns), Us(d.p50_ns), Us(d.p99_ns),
                              d.request_count));
  }
  absl::StrAppend(&out, "\n");
  if (r.lost_event_count || r.dropped_wakeup_count) {
    absl::StrAppend(&out, "lost events: ", r.lost_event_count,
                    "; wakeups outside the per-frame top pairs: ",
                    r.dropped_wakeup_count, "\n");
  }
  absl::StrAppend(
      &out, "(* exited; WAIT = run queue + futex/kernel-lock + IO wait)\n");
  return out;
}

std::string RenderContentionJson(const ContentionReport& r) {
  Json threads = Json::array();
  for (const ThreadReport& t : r.threads) {
    threads.push_back({
        {"tid", t.tid},
        {"pid", t.pid},
        {"comm", t.comm},
        {"exited", t.exited},
        {"time", JsonTime(t.time)},
        {"run_queue_p50_ns", t.run_queue_p50_ns},
        {"run_queue_p99_ns", t.run_queue_p99_ns},
        {"futex_wait_count", t.futex_wait_count},
        {"lock_contention_count", t.lock_contention_count},
        {"io_wait_count", t.io_sleep_count},
        {"verdict", std::string(VerdictName(t.judgement.verdict))},
        {"reason", t.judgement.reason},
    });
  }
  Json processes = Json::array();
  for (const ProcessReport& p : r.processes) {
    processes.push_back({
        {"pid", p.pid},
        {"comm", p.comm},
        {"thread_count", p.thread_count},
        {"time", JsonTime(p.time)},
        {"run_queue_p50_ns", p.run_queue_p50_ns},
        {"run_queue_p99_ns", p.run_queue_p99_ns},
        {"verdict", std::string(VerdictName(p.judgement.verdict))},
        {"reason", p.judgement.reason},
    });
  }
  Json edges = Json::array();
  for (const EdgeReport& e : r.edges) {
    edges.push_back({
        {"waker_tid", e.waker_tid},
        {"waker_pid", e.waker_pid},
        {"waker_comm", e.waker_comm},
        {"wakee_tid", e.wakee_tid},
        {"wakee_pid", e.wakee_pid},
        {"wakee_comm", e.wakee_comm},
        {"wakeup_count", e.wakeup_count},
    });
  }
  Json cpus = Json::array();
  for (const CpuReport& c : r.cpus) {
    cpus.push_back({{"cpu", c.cpu},
                    {"wait_count", c.wait_count},
                    {"run_queue_p50_ns", c.p50_ns},
                    {"run_queue_p99_ns", c.p99_ns}});
  }
  Json disks = Json::array();
  for (const DiskReport& d : r.disks) {
    disks.push_back({{"name", d.name},
                     {"request_count", d.request_count},
                     {"latency_mean_ns", d.mean_ns},
                     {"latency_p50_ns", d.p50_ns},
                     {"latency_p99_ns", d.p99_ns}});
  }
  const Json report = {
      {"frames", r.frames},
      {"window_ns", r.window_ns},
      {"contention_available", r.source_seen},
      {"source_reason", r.source_reason},
      {"threads", std::move(threads)},
      {"processes", std::move(processes)},
      {"wake_edges", std::move(edges)},
      {"cpus", std::move(cpus)},
      {"disks", std::move(disks)},
      {"lost_event_count", r.lost_event_count},
      {"dropped_wakeup_count", r.dropped_wakeup_count},
  };
  return JsonText(report) + "\n";
}

}  // namespace perfwire
