#include "clients/lib/prometheus_exposition.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "flatbuffers/util.h"

namespace perfwire {
namespace {

constexpr double kNsPerSecond = 1e9;

double Seconds(uint64_t ns) { return static_cast<double>(ns) / kNsPerSecond; }
double D(uint64_t v) { return static_cast<double>(v); }

// Writes "# HELP name help\n# TYPE name type\n".
void Header(std::string& out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ",
                  name, " ", type, "\n");
}

// Writes one sample; `labels` is already formatted ("" or `a="b",c="d"`).
void Sample(std::string& out, absl::string_view name, absl::string_view labels,
            double value) {
  absl::StrAppend(&out, name);
  if (!labels.empty()) absl::StrAppend(&out, "{", labels, "}");
  absl::StrAppend(&out, " ", FormatSampleValue(value), "\n");
}

std::string Label(absl::string_view name, absl::string_view value) {
  return absl::StrCat(name, "=\"", EscapeLabelValue(value), "\"");
}

std::string Labels(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

std::string Str(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

// A StatsD tag key as a label name: [a-zA-Z0-9_], prefixed "tag_" so that it
// can clash neither with "metric" nor with reserved "__" names.
std::string TagLabelName(absl::string_view key) {
  std::string out = "tag_";
  for (char c : key) {
    out += absl::ascii_isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return out;
}

// Renders a log2-ns histogram as a Prometheus histogram in seconds: bucket i
// holds [2^i, 2^(i+1)) ns, so its upper bound is 2^(i+1) ns.
void HistogramSamples(std::string& out, absl::string_view name,
                      const std::string& labels,
                      const std::vector<uint64_t>& buckets, uint64_t count,
                      uint64_t sum_ns) {
  const std::string bucket = absl::StrCat(name, "_bucket");
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < 31; ++i) {  // element 31 is open-ended: +Inf only
    cumulative += i < buckets.size() ? buckets[i] : 0;
    Sample(out, bucket,
           absl::StrCat(labels, sep, "le=\"",
                        FormatSampleValue(
                            std::ldexp(1.0, static_cast<int>(i) + 1) / 1e9),
                        "\""),
           D(cumulative));
  }
  uint64_t all = 0;
  for (uint64_t b : buckets) all += b;
  if (all == 0) all = count;
  Sample(out, bucket, absl::StrCat(labels, sep, "le=\"+Inf\""), D(all));
  Sample(out, absl::StrCat(name, "_sum"), labels, Seconds(sum_ns));
  Sample(out, absl::StrCat(name, "_count"), labels, D(all));
}

void AddBuckets(const flatbuffers::Vector<uint64_t>* from,
                std::vector<uint64_t>& to) {
  if (from == nullptr) return;
  if (to.size() < from->size()) to.resize(from->size(), 0);
  for (size_t i = 0; i < from->size(); ++i) to[i] += from->Get(i);
}

}  // namespace

std::string ToValidUtf8(absl::string_view value) {
  // flatbuffers::FromUTF8 reads up to 4 bytes: give it a terminated copy.
  const std::string in(value);
  std::string out;
  out.reserve(in.size());
  const char* p = in.c_str();
  const char* end = p + in.size();
  while (p < end) {
    const char* start = p;
    if (flatbuffers::FromUTF8(&p) < 0 || p > end) {
      out += "\xEF\xBF\xBD";  // U+FFFD for the first byte, then resync
      p = start + 1;
      continue;
    }
    out.append(start, static_cast<size_t>(p - start));
  }
  return out;
}

std::string EscapeLabelValue(absl::string_view raw) {
  const std::string value = ToValidUtf8(raw);
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return absl::StrFormat("%.0f", value);
  }
  // Shortest form that round-trips.
  for (int precision = 1; precision <= 17; ++precision) {
    std::string s = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(s.c_str(), nullptr) == value) return s;
  }
  return absl::StrFormat("%.17g", value);
}

void PrometheusExposition::AddThread(const fb::Thread& thread, Totals& totals) {
  totals.on_cpu_ns += thread.on_cpu_ns();
  totals.voluntary_switches += thread.voluntary_switch_count();
  totals.involuntary_switches += thread.involuntary_switch_count();
  totals.minor_faults += thread.minor_fault_count();
  totals.major_faults += thread.major_fault_count();
  totals.read_bytes += thread.read_bytes();
  totals.write_bytes += thread.write_bytes();
  totals.block_read_bytes += thread.block_read_bytes();
  totals.block_write_bytes += thread.block_write_bytes();
}

template <typename K>
PrometheusExposition::Totals* PrometheusExposition::Slot(
    std::map<K, Totals>& map, const K& key, uint64_t& dropped) {
  auto it = map.find(key);
  if (it != map.end()) return &it->second;
  if (map.size() >= options_.max_series) {
    ++dropped;
    return nullptr;
  }
  return &map[key];
}

template <typename K>
void PrometheusExposition::Evict(std::map<K, Totals>& map) {
  for (auto it = map.begin(); it != map.end();) {
    const uint64_t exited = it->second.exited_at_frame;
    if ((exited != 0 && frames_ - exited >= options_.exited_retention_frames) ||
        frames_ - it->second.last_seen_frame >=
            options_.idle_retention_frames) {
      it = map.erase(it);
    } else {
      ++it;
    }
  }
}

const PrometheusExposition::ProcessInfo& PrometheusExposition::Process(
    uint32_t pid, const fb::Thread* row) {
  auto [it, inserted] = pids_.try_emplace(pid);
  ProcessInfo& info = it->second;
  if (inserted) {
    // The name is fixed here, for the process's life in the exporter, so
    // that its series never flip between names.
    std::optional<std::string> name;
    if (row != nullptr && row->tid() == pid) {
      name = Str(row->comm());  // the leader itself
    } else if (row != nullptr && options_.process_name) {
      name = options_.process_name(*row);
    }
    if (!name.has_value() && row != nullptr) name = Str(row->comm());
    info.name = name.value_or("");
  }
  info.last_seen_frame = frames_;
  return info;
}

std::string PrometheusExposition::GroupKey(uint32_t pid,
                                           const std::string& name) const {
  // By name as rendered: two names that differ only in bytes that are not
  // UTF-8 would otherwise give two series with the same labels.
  return options_.per_pid ? absl::StrCat(pid) : ToValidUtf8(name);
}

void PrometheusExposition::Add(const fb::Frame& frame) {
  ++frames_;
  interval_seconds_ = static_cast<double>(frame.interval_ns()) / kNsPerSecond;
  consumer_dropped_frames_ = frame.consumer_dropped_frame_count();
  Evict(threads_);
  Evict(processes_);
  for (auto it = pids_.begin(); it != pids_.end();) {
    const ProcessInfo& p = it->second;
    if ((p.exited_at_frame != 0 &&
         frames_ - p.exited_at_frame >= options_.exited_retention_frames) ||
        frames_ - p.last_seen_frame >= options_.idle_retention_frames) {
      it = pids_.erase(it);
    } else {
      ++it;
    }
  }

  if (frame.threads() != nullptr) {
    for (const fb::Thread* thread : *frame.threads()) {
      const bool leader = thread->tid() == thread->pid();
      const ProcessInfo& info = Process(thread->pid(), thread);
      if (options_.threads) {
        if (Totals* t = Slot(threads_, thread->tid(), dropped_thread_updates_);
            t != nullptr) {
          if (t->last_seen_frame == 0) {
            t->pid = absl::StrCat(thread->pid());
            t->name = info.name;
            t->thread = Str(thread->comm());
          }
          AddThread(*thread, *t);
          t->exited_at_frame = thread->exited() ? frames_ : 0;
          t->last_seen_frame = frames_;
        }
      }
      const std::string key = GroupKey(thread->pid(), info.name);
      if (Totals* p = Slot(processes_, key, dropped_process_updates_);
          p != nullptr) {
        if (p->last_seen_frame == 0) {
          p->name = info.name;
          if (options_.per_pid) p->pid = key;
        }
        AddThread(*thread, *p);
        p->last_seen_frame = frames_;
        if (leader && options_.per_pid) {
          p->exited_at_frame = thread->exited() ? frames_ : 0;
        }
      }
      if (leader && thread->exited()) {
        pids_[thread->pid()].exited_at_frame = frames_;
      }
    }
  }
  AddContention(frame);
  AddAppMetrics(frame);

  for (const fb::PerfCounters* perf :
       {frame.perf_software(), frame.perf_hardware()}) {
    if (perf == nullptr || perf->events() == nullptr) continue;
    const char* kind = perf == frame.perf_software() ? "software" : "hardware";
    for (const fb::PerfEvent* e : *perf->events()) {
      perf_counts_[absl::StrCat(kind, "\t", Str(e->name()))] +=
          e->scaled_count();
    }
  }
  if (const fb::AgentStats* agent = frame.agent(); agent != nullptr) {
    agent_cpu_ns_ += agent->cpu_ns();
    auto& lost = health_["perfwire_agent_lost_events_total"];
    lost[Label("cause", "exit_record")] += agent->lost_exit_record_count();
    lost[Label("cause", "block_io")] += agent->lost_block_io_count();
    lost[Label("cause", "vanished_thread")] += agent->vanished_thread_count();
    if (const fb::AppMetricsStats* a = agent->app_metrics(); a != nullptr) {
      health_["perfwire_app_metrics_datagrams_total"][""] +=
          a->datagram_count();
      health_["perfwire_app_metrics_lines_total"][""] += a->line_count();
      auto& rejected = health_["perfwire_app_metrics_rejected_lines_total"];
      rejected[Label("reason", "malformed")] += a->malformed_line_count();
      rejected[Label("reason", "series_cap")] += a->series_overflow_count();
      rejected[Label("reason", "memory_cap")] += a->memory_overflow_count();
      health_["perfwire_app_metrics_oversize_datagrams_total"][""] +=
          a->oversize_datagram_count();
    }
  }
  if (const fb::ContentionStats* c = frame.contention(); c != nullptr) {
    health_["perfwire_contention_wakeups_total"][""] += c->wakeup_count();
    auto& lost = health_["perfwire_contention_lost_events_total"];
    lost[Label("cause", "state")] += c->lost_state_count();
    lost[Label("cause", "exit_record")] += c->lost_exit_record_count();
    lost[Label("cause", "inflight")] += c->lost_inflight_count();
    lost[Label("cause", "wake_edge")] += c->lost_wake_edge_count();
    lost[Label("cause", "disk")] += c->lost_disk_count();
  }
  RenderHost(frame);
}

void PrometheusExposition::AddContention(const fb::Frame& frame) {
  if (frame.thread_contention() != nullptr) {
    for (const fb::ThreadContention* c : *frame.thread_contention()) {
      const ProcessInfo& info = Process(c->pid(), nullptr);
      auto add = [&](Totals& t) {
        t.contention = true;
        t.run_queue_wait_ns += c->run_queue_wait_ns();
        t.futex_sleep_ns += c->futex_sleep_ns();
        t.lock_sleep_ns += c->lock_sleep_ns();
        t.io_sleep_ns += c->io_sleep_ns();
        t.other_sleep_ns += c->other_sleep_ns();
        t.last_seen_frame = frames_;
      };
      if (options_.threads) {
        if (Totals* t = Slot(threads_, c->tid(), dropped_thread_updates_);
            t != nullptr) {
          if (t->last_seen_frame == 0) {
            t->pid = absl::StrCat(c->pid());
            t->name = info.name;
            t->thread = info.name;  // no comm in contention rows
          }
          add(*t);
        }
      }
      const std::string key = GroupKey(c->pid(), info.name);
      if (Totals* p = Slot(processes_, key, dropped_process_updates_);
          p != nullptr) {
        if (p->last_seen_frame == 0) {
          p->name = info.name;
          if (options_.per_pid) p->pid = key;
        }
        add(*p);
      }
    }
  }
  if (frame.disk_latency() != nullptr) {
    for (const fb::DiskLatency* d : *frame.disk_latency()) {
      Histogram& h = disk_latency_[Str(d->name())];
      AddBuckets(d->latency_log2_ns_count(), h.buckets);
      h.count += d->request_count();
      h.sum_ns += d->latency_total_ns();
    }
  }
  if (frame.cpu_run_queue() != nullptr) {
    for (const fb::CpuRunQueueLatency* q : *frame.cpu_run_queue()) {
      Histogram& h = cpu_run_queue_[q->cpu()];
      AddBuckets(q->wait_log2_ns_count(), h.buckets);
      h.count += q->wait_count();
      h.sum_ns += q->wait_total_ns();
    }
  }
}

void PrometheusExposition::AddAppMetrics(const fb::Frame& frame) {
  for (auto it = app_series_.begin(); it != app_series_.end();) {
    if (frames_ - it->second.last_seen_frame >=
        options_.idle_retention_frames) {
      it = app_series_.erase(it);
    } else {
      ++it;
    }
  }
  if (frame.app_metrics() == nullptr) return;
  for (const fb::AppSeries* s : *frame.app_metrics()) {
    // One series per name, type and tags as rendered: senders (pids) are
    // summed, and names or tags that render alike (after the UTF-8 repair and
    // the label-name mapping) share a series instead of duplicating one.
    std::vector<std::pair<std::string, std::string>> labels;
    if (s->tags() != nullptr) {
      for (const fb::AppTag* tag : *s->tags()) {
        std::string name = TagLabelName(Str(tag->key()));
        bool duplicate = false;
        for (const auto& l : labels) duplicate |= l.first == name;
        if (!duplicate) labels.emplace_back(std::move(name), Str(tag->value()));
      }
    }
    std::string key = absl::StrCat(static_cast<int>(s->type()), "\t",
                                   Label("metric", Str(s->name())));
    for (const auto& [k, v] : labels) absl::StrAppend(&key, ",", Label(k, v));
    auto it = app_series_.find(key);
    if (it == app_series_.end()) {
      if (app_series_.size() >= options_.max_series) {
        ++dropped_app_updates_;
        continue;
      }
      it = app_series_.emplace(key, AppSeries{}).first;
      it->second.name = Str(s->name());
      it->second.labels = std::move(labels);
      it->second.type = s->type();
    }
    AppSeries& a = it->second;
    a.last_seen_frame = frames_;
    switch (s->type()) {
      case fb::AppMetricType::Counter:
        a.value += s->value();
        break;
      case fb::AppMetricType::Gauge:
        a.value = s->value();
        break;
      case fb::AppMetricType::Set:
        a.distinct = s->distinct_count();
        break;
      default:  // timing, histogram, distribution
        a.count += s->count();
        a.sum += s->sum();
        if (s->sample_count() > 0) {
          a.p50 = s->p50();
          a.p90 = s->p90();
          a.p99 = s->p99();
        }
    }
  }
}

void PrometheusExposition::RenderHost(const fb::Frame& frame) {
  std::string& out = host_text_;
  out.clear();
  if (const fb::HostCpu* cpu = frame.cpu(); cpu != nullptr) {
    // Per CPU only: the total is their sum (sum by (mode) in PromQL).
    if (cpu->cores() != nullptr && cpu->read_monotonic_ns() != 0) {
      Header(out, "perfwire_host_cpu_seconds_total", "counter",
             "CPU time per CPU and mode since boot (/proc/stat, USER_HZ "
             "ticks; user includes guest, nice guest_nice, as the kernel "
             "and node_exporter count). idle and iowait are exact under "
             "NO_HZ; busy share = 1 - rate(idle+iowait).");
      for (const fb::HostCpuTimes* c : *cpu->cores()) {
        const std::string l = Label("cpu", absl::StrCat(c->cpu()));
        const std::pair<const char*, uint64_t> modes[] = {
            {"user", c->user_total_ns()},       {"nice", c->nice_total_ns()},
            {"system", c->system_total_ns()},   {"idle", c->idle_total_ns()},
            {"iowait", c->iowait_total_ns()},   {"irq", c->irq_total_ns()},
            {"softirq", c->softirq_total_ns()}, {"steal", c->steal_total_ns()},
        };
        for (const auto& [mode, ns] : modes) {
          Sample(out, "perfwire_host_cpu_seconds_total",
                 Labels({l, Label("mode", mode)}), Seconds(ns));
        }
      }
      Header(out, "perfwire_host_cpu_guest_seconds_total", "counter",
             "Time each CPU ran guests since boot (already inside mode user "
             "and nice of perfwire_host_cpu_seconds_total).");
      for (const fb::HostCpuTimes* c : *cpu->cores()) {
        const std::string l = Label("cpu", absl::StrCat(c->cpu()));
        Sample(out, "perfwire_host_cpu_guest_seconds_total",
               Labels({l, Label("mode", "user")}),
               Seconds(c->guest_total_ns()));
        Sample(out, "perfwire_host_cpu_guest_seconds_total",
               Labels({l, Label("mode", "nice")}),
               Seconds(c->guest_nice_total_ns()));
      }
      const std::pair<const char*, std::pair<const char*, uint64_t>> counts[] =
          {{"perfwire_host_context_switches_total",
            {"Context switches since boot (/proc/stat ctxt).",
             cpu->context_switch_total_count()}},
           {"perfwire_host_interrupts_total",
            {"Interrupts since boot (/proc/stat intr, first number).",
             cpu->interrupt_total_count()}},
           {"perfwire_host_forks_total",
            {"Tasks created since boot (/proc/stat processes).",
             cpu->fork_total_count()}}};
      for (const auto& [name, help_value] : counts) {
        Header(out, name, "counter", help_value.first);
        Sample(out, name, "", D(help_value.second));
      }
    }
    Header(out, "perfwire_host_tasks", "gauge",
           "Tasks by state at the end of the interval (/proc/stat "
           "procs_running, procs_blocked).");
    Sample(out, "perfwire_host_tasks", Label("state", "running"),
           cpu->running_task_count());
    Sample(out, "perfwire_host_tasks", Label("state", "blocked"),
           cpu->blocked_task_count());
    static constexpr const char* kLoad[] = {
        "perfwire_host_load1", "perfwire_host_load5", "perfwire_host_load15"};
    const float load[] = {cpu->load_1m_count(), cpu->load_5m_count(),
                          cpu->load_15m_count()};
    for (int i = 0; i < 3; ++i) {
      Header(out, kLoad[i], "gauge", "Load average (/proc/loadavg).");
      Sample(out, kLoad[i], "", load[i]);
    }
    if (cpu->temperatures() != nullptr && cpu->temperatures()->size() > 0) {
      Header(out, "perfwire_host_temperature_celsius", "gauge",
             "Temperature sensors (thermal zones, hwmon).");
      for (const fb::HostTemperature* t : *cpu->temperatures()) {
        Sample(out, "perfwire_host_temperature_celsius",
               Label("sensor", Str(t->sensor())), t->temperature_celsius());
      }
    }
    bool have_mhz = false;
    if (cpu->cores() != nullptr) {
      for (const fb::HostCpuTimes* c : *cpu->cores()) {
        if (!c->frequency_mhz().has_value()) continue;
        if (!have_mhz) {
          Header(out, "perfwire_host_cpu_frequency_hertz", "gauge",
                 "Current CPU frequency (cpufreq scaling_cur_freq, else "
                 "/proc/cpuinfo).");
          have_mhz = true;
        }
        Sample(out, "perfwire_host_cpu_frequency_hertz",
               Label("cpu", absl::StrCat(c->cpu())),
               static_cast<double>(*c->frequency_mhz()) * 1e6);
      }
    }
  }

  if (const fb::HostMemory* m = frame.memory(); m != nullptr) {
    // One gauge per /proc/meminfo quantity: they overlap (cached is inside
    // available...), so no state label that would invite a sum.
    const std::pair<const char*, std::pair<const char*, uint64_t>> gauges[] = {
        {"perfwire_host_memory_total_bytes", {"MemTotal", m->total_bytes()}},
        {"perfwire_host_memory_available_bytes",
         {"MemAvailable", m->available_bytes()}},
        {"perfwire_host_memory_free_bytes", {"MemFree", m->free_bytes()}},
        {"perfwire_host_memory_cached_bytes", {"Cached", m->cached_bytes()}},
        {"perfwire_host_memory_buffers_bytes", {"Buffers", m->buffers_bytes()}},
        {"perfwire_host_memory_shared_bytes", {"Shmem", m->shared_bytes()}},
        {"perfwire_host_memory_slab_bytes", {"Slab", m->slab_bytes()}},
        {"perfwire_host_memory_slab_reclaimable_bytes",
         {"SReclaimable", m->slab_reclaimable_bytes()}},
        {"perfwire_host_swap_total_bytes",
         {"SwapTotal", m->swap_total_bytes()}},
        {"perfwire_host_swap_free_bytes", {"SwapFree", m->swap_free_bytes()}},
    };
    for (const auto& [name, field] : gauges) {
      Header(out, name, "gauge", absl::StrCat("/proc/meminfo ", field.first));
      Sample(out, name, "", D(field.second));
    }
    if (m->read_monotonic_ns() != 0) {
      const std::pair<const char*, std::pair<const char*, uint64_t>> counts[] =
          {{"perfwire_host_paged_in_bytes_total",
            {"Bytes paged in from block devices since boot (/proc/vmstat "
             "pgpgin x 1024).",
             m->page_in_total_bytes()}},
           {"perfwire_host_paged_out_bytes_total",
            {"Bytes paged out to block devices since boot (/proc/vmstat "
             "pgpgout x 1024).",
             m->page_out_total_bytes()}},
           {"perfwire_host_swapped_in_pages_total",
            {"Pages swapped in since boot (/proc/vmstat pswpin).",
             m->swap_in_total_page_count()}},
           {"perfwire_host_swapped_out_pages_total",
            {"Pages swapped out since boot (/proc/vmstat pswpout).",
             m->swap_out_total_page_count()}},
           {"perfwire_host_page_faults_total",
            {"Page faults, minor and major, since boot (/proc/vmstat "
             "pgfault).",
             m->page_fault_total_count()}},
           {"perfwire_host_major_page_faults_total",
            {"Major page faults since boot (/proc/vmstat pgmajfault).",
             m->major_page_fault_total_count()}}};
      for (const auto& [name, help_value] : counts) {
        Header(out, name, "counter", help_value.first);
        Sample(out, name, "", D(help_value.second));
      }
      const std::pair<const char*, const fb::HostPressure*> psi[] = {
          {"cpu", m->cpu_pressure()},
          {"memory", m->memory_pressure()},
          {"io", m->io_pressure()}};
      bool header = false;
      for (const auto& [resource, p] : psi) {
        if (p == nullptr) continue;
        if (!header) {
          Header(out, "perfwire_host_pressure_waiting_seconds_total", "counter",
                 "Time at least one task stalled on the resource since boot "
                 "(/proc/pressure/<resource> some total=).");
          header = true;
        }
        Sample(out, "perfwire_host_pressure_waiting_seconds_total",
               Label("resource", resource), Seconds(p->some_total_ns()));
      }
      header = false;
      for (const auto& [resource, p] : psi) {
        if (p == nullptr || !p->full_total_ns().has_value()) continue;
        if (!header) {
          Header(out, "perfwire_host_pressure_stalled_seconds_total", "counter",
                 "Time all non-idle tasks stalled on the resource since boot "
                 "(/proc/pressure/<resource> full total=).");
          header = true;
        }
        Sample(out, "perfwire_host_pressure_stalled_seconds_total",
               Label("resource", resource), Seconds(*p->full_total_ns()));
      }
    }
  }

  if (frame.disks() != nullptr && frame.disks()->size() > 0 &&
      frame.cpu() != nullptr && frame.cpu()->read_monotonic_ns() != 0) {
    // Whole devices only: a partition's IO is inside its device's.
    std::vector<const fb::HostDisk*> disks;
    for (const fb::HostDisk* d : *frame.disks()) {
      if (!d->partition()) disks.push_back(d);
    }
    auto family = [&](const char* name, const char* type, const char* help,
                      auto fn) {
      if (disks.empty()) return;
      Header(out, name, type, help);
      for (const fb::HostDisk* d : disks)
        fn(name, Label("device", Str(d->name())), *d);
    };
    family("perfwire_host_disk_bytes_total", "counter",
           "Bytes read and written by each whole block device since it "
           "appeared (/proc/diskstats sectors x 512).",
           [&](const char* n, const std::string& l, const fb::HostDisk& d) {
             Sample(out, n, Labels({l, Label("direction", "read")}),
                    D(d.read_total_bytes()));
             Sample(out, n, Labels({l, Label("direction", "write")}),
                    D(d.write_total_bytes()));
           });
    family("perfwire_host_disk_operations_total", "counter",
           "Reads and writes completed (/proc/diskstats).",
           [&](const char* n, const std::string& l, const fb::HostDisk& d) {
             Sample(out, n, Labels({l, Label("direction", "read")}),
                    D(d.read_op_total_count()));
             Sample(out, n, Labels({l, Label("direction", "write")}),
                    D(d.write_op_total_count()));
           });
    family("perfwire_host_disk_operation_seconds_total", "counter",
           "Time spent on completed reads and writes (/proc/diskstats, ms); "
           "divided by the operations' rate: mean await.",
           [&](const char* n, const std::string& l, const fb::HostDisk& d) {
             Sample(out, n, Labels({l, Label("direction", "read")}),
                    Seconds(d.read_time_total_ns()));
             Sample(out, n, Labels({l, Label("direction", "write")}),
                    Seconds(d.write_time_total_ns()));
           });
    family("perfwire_host_disk_io_time_seconds_total", "counter",
           "Time the device had IO in flight (/proc/diskstats); its rate is "
           "the utilisation ratio.",
           [&](const char* n, const std::string& l, const fb::HostDisk& d) {
             Sample(out, n, l, Seconds(d.io_time_total_ns()));
           });
    family("perfwire_host_disk_io_time_weighted_seconds_total", "counter",
           "Weighted time doing IO (/proc/diskstats); its rate is the mean "
           "queue length.",
           [&](const char* n, const std::string& l, const fb::HostDisk& d) {
             Sample(out, n, l, Seconds(d.io_weighted_time_total_ns()));
           });
    family("perfwire_host_disk_in_flight_requests", "gauge",
           "Requests in flight at the end of the interval.",
           [&](const char* n, const std::string& l, const fb::HostDisk& d) {
             Sample(out, n, l, d.in_flight_count());
           });
  }

  if (const fb::HostNetwork* net = frame.network(); net != nullptr) {
    if (net->interfaces() != nullptr && net->interfaces()->size() > 0 &&
        frame.cpu() != nullptr && frame.cpu()->read_monotonic_ns() != 0) {
      auto family = [&](const char* name, const char* help, auto rx, auto tx) {
        Header(out, name, "counter", help);
        for (const fb::HostInterface* i : *net->interfaces()) {
          const std::string l = Label("interface", Str(i->name()));
          Sample(out, name, Labels({l, Label("direction", "receive")}),
                 D(rx(*i)));
          Sample(out, name, Labels({l, Label("direction", "transmit")}),
                 D(tx(*i)));
        }
      };
      using I = fb::HostInterface;
      family(
          "perfwire_host_network_bytes_total",
          "Bytes received and transmitted since the interface appeared "
          "(/proc/net/dev).",
          [](const I& i) { return i.receive_total_bytes(); },
          [](const I& i) { return i.transmit_total_bytes(); });
      family(
          "perfwire_host_network_packets_total", "Packets (/proc/net/dev).",
          [](const I& i) { return i.receive_packet_total_count(); },
          [](const I& i) { return i.transmit_packet_total_count(); });
      family(
          "perfwire_host_network_errors_total", "Errors (/proc/net/dev errs).",
          [](const I& i) { return i.receive_error_total_count(); },
          [](const I& i) { return i.transmit_error_total_count(); });
      family(
          "perfwire_host_network_dropped_packets_total",
          "Packets dropped (/proc/net/dev drop).",
          [](const I& i) { return i.receive_drop_total_count(); },
          [](const I& i) { return i.transmit_drop_total_count(); });
    }
    const std::pair<const char*, uint32_t> tcp[] = {
        {"established", net->tcp_established_count()},
        {"syn_sent", net->tcp_syn_sent_count()},
        {"syn_recv", net->tcp_syn_recv_count()},
        {"fin_wait1", net->tcp_fin_wait1_count()},
        {"fin_wait2", net->tcp_fin_wait2_count()},
        {"time_wait", net->tcp_time_wait_count()},
        {"close", net->tcp_close_count()},
        {"close_wait", net->tcp_close_wait_count()},
        {"last_ack", net->tcp_last_ack_count()},
        {"listen", net->tcp_listen_count()},
        {"closing", net->tcp_closing_count()}};
    Header(out, "perfwire_host_tcp_sockets", "gauge",
           "TCP sockets by state in perfwired's network namespace "
           "(sock_diag or /proc/net/tcp{,6}; refreshed every "
           "--socket_count_refresh).");
    for (const auto& [state, n] : tcp) {
      Sample(out, "perfwire_host_tcp_sockets", Label("state", state), n);
    }
    Header(out, "perfwire_host_udp_sockets", "gauge",
           "UDP sockets (/proc/net/udp{,6}).");
    Sample(out, "perfwire_host_udp_sockets", "", net->udp_socket_count());
  }

  if (frame.filesystems() != nullptr && frame.filesystems()->size() > 0) {
    auto family = [&](const char* name, const char* help, auto fn) {
      Header(out, name, "gauge", help);
      for (const fb::HostFilesystem* f : *frame.filesystems()) {
        Sample(out, name,
               Labels({Label("mountpoint", Str(f->mount_point())),
                       Label("device", Str(f->device())),
                       Label("fstype", Str(f->fs_type()))}),
               D(fn(*f)));
      }
    };
    using F = fb::HostFilesystem;
    family("perfwire_host_filesystem_size_bytes", "statvfs f_blocks x f_frsize",
           [](const F& f) { return f.total_bytes(); });
    family("perfwire_host_filesystem_free_bytes",
           "statvfs f_bfree x f_frsize (root-reserved blocks included)",
           [](const F& f) { return f.free_bytes(); });
    family("perfwire_host_filesystem_available_bytes",
           "statvfs f_bavail x f_frsize (what df calls Avail)",
           [](const F& f) { return f.available_bytes(); });
    family("perfwire_host_filesystem_files", "statvfs f_files (inodes)",
           [](const F& f) { return f.inode_total_count(); });
    family("perfwire_host_filesystem_files_free", "statvfs f_ffree",
           [](const F& f) { return f.inode_free_count(); });
  }

  if (const fb::HostProcesses* p = frame.processes(); p != nullptr) {
    const std::pair<const char*, std::pair<const char*, uint64_t>> gauges[] = {
        {"perfwire_host_processes",
         {"Processes (numeric /proc entries; refreshed every "
          "--process_scan_refresh).",
          p->process_count()}},
        {"perfwire_host_threads",
         {"Scheduling entities (/proc/loadavg).", p->thread_count()}},
        {"perfwire_host_open_files",
         {"Allocated file handles (/proc/sys/fs/file-nr).",
          p->open_file_count()}},
        {"perfwire_host_open_files_limit",
         {"fs.file-max (/proc/sys/fs/file-nr).", p->file_max_count()}}};
    for (const auto& [name, help_value] : gauges) {
      Header(out, name, "gauge", help_value.first);
      Sample(out, name, "", D(help_value.second));
    }
  }

  if (frame.gpus() != nullptr && frame.gpus()->size() > 0) {
    auto family = [&](const char* name, const char* help, auto fn) {
      bool header = false;
      for (const fb::GpuDevice* g : *frame.gpus()) {
        const std::optional<double> v = fn(*g);
        if (!v.has_value()) continue;
        if (!header) Header(out, name, "gauge", help);
        header = true;
        Sample(out, name,
               Labels({Label("gpu", absl::StrCat(g->index())),
                       Label("name", Str(g->name())),
                       Label("uuid", Str(g->uuid()))}),
               *v);
      }
    };
    using G = fb::GpuDevice;
    auto opt = [](auto o, double scale) -> std::optional<double> {
      if (!o.has_value()) return std::nullopt;
      return static_cast<double>(*o) * scale;
    };
    family("perfwire_gpu_utilization_ratio",
           "Share of time a kernel ran on the GPU (NVML .gpu / 100).",
           [&](const G& g) { return opt(g.utilization_percent(), 0.01); });
    family(
        "perfwire_gpu_memory_utilization_ratio",
        "Share of time the memory controller was busy (NVML .memory / "
        "100).",
        [&](const G& g) { return opt(g.memory_utilization_percent(), 0.01); });
    family("perfwire_gpu_memory_used_bytes", "nvmlDeviceGetMemoryInfo used",
           [&](const G& g) { return opt(g.memory_used_bytes(), 1); });
    family("perfwire_gpu_memory_total_bytes", "nvmlDeviceGetMemoryInfo total",
           [&](const G& g) { return opt(g.memory_total_bytes(), 1); });
    family("perfwire_gpu_temperature_celsius", "NVML_TEMPERATURE_GPU",
           [&](const G& g) { return opt(g.temperature_celsius(), 1); });
    family("perfwire_gpu_power_watts", "nvmlDeviceGetPowerUsage",
           [&](const G& g) { return opt(g.power_watts(), 1); });
    family("perfwire_gpu_sm_clock_hertz", "NVML_CLOCK_SM",
           [&](const G& g) { return opt(g.sm_clock_mhz(), 1e6); });
    family("perfwire_gpu_memory_clock_hertz", "NVML_CLOCK_MEM",
           [&](const G& g) { return opt(g.memory_clock_mhz(), 1e6); });
  }

  if (frame.sources() != nullptr && frame.sources()->size() > 0) {
    Header(out, "perfwire_agent_source_available", "gauge",
           "1 when the source filled its frame section, 0 when it is "
           "unavailable (perfwire dump shows the reason).");
    for (const fb::SourceStatus* src : *frame.sources()) {
      Sample(out, "perfwire_agent_source_available",
             Labels({Label("source", Str(src->name())),
                     Label("hook", Str(src->hook()))}),
             src->available() ? 1 : 0);
    }
  }
  if (const fb::AgentStats* agent = frame.agent(); agent != nullptr) {
    Header(out, "perfwire_agent_resident_memory_bytes", "gauge",
           "Resident set size of perfwired.");
    Sample(out, "perfwire_agent_resident_memory_bytes", "",
           D(agent->rss_bytes()));
    Header(out, "perfwire_agent_tracked_threads", "gauge",
           "Threads perfwired tracks now.");
    Sample(out, "perfwire_agent_tracked_threads", "", D(agent->thread_count()));
  }
}

template <typename K>
void PrometheusExposition::RenderTotals(const std::map<K, Totals>& map,
                                        absl::string_view prefix,
                                        bool thread_labels,
                                        std::string& out) const {
  const absl::string_view what = thread_labels ? "thread" : "process";
  auto labels = [&](const K& key, const Totals& t,
                    absl::string_view extra = {}) {
    std::string l;
    if (thread_labels) {
      l = Labels({Label("tid", absl::StrCat(key)), Label("pid", t.pid),
                  Label("process", t.name), Label("thread", t.thread)});
    } else if (!t.pid.empty()) {
      l = Labels({Label("pid", t.pid), Label("process", t.name)});
    } else {
      l = Label("process", t.name);
    }
    if (!extra.empty()) absl::StrAppend(&l, ",", extra);
    return l;
  };
  std::string name = absl::StrCat(prefix, "_cpu_seconds_total");
  Header(out, name, "counter",
         absl::StrCat("CPU time of the ", what,
                      " since the exporter started (se.sum_exec_runtime)."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t), Seconds(t.on_cpu_ns));
  }
  name = absl::StrCat(prefix, "_context_switches_total");
  Header(out, name, "counter",
         absl::StrCat("Context switches of the ", what,
                      "; kind is voluntary (blocked) or involuntary "
                      "(preempted)."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("kind", "voluntary")),
           D(t.voluntary_switches));
    Sample(out, name, labels(key, t, Label("kind", "involuntary")),
           D(t.involuntary_switches));
  }
  name = absl::StrCat(prefix, "_page_faults_total");
  Header(
      out, name, "counter",
      absl::StrCat("Page faults of the ", what, "; kind is minor or major."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("kind", "minor")),
           D(t.minor_faults));
    Sample(out, name, labels(key, t, Label("kind", "major")),
           D(t.major_faults));
  }
  name = absl::StrCat(prefix, "_io_bytes_total");
  Header(out, name, "counter",
         absl::StrCat("Bytes the ", what,
                      " moved through read/write-family syscalls "
                      "(ioac rchar/wchar); direction is read or write."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("direction", "read")),
           D(t.read_bytes));
    Sample(out, name, labels(key, t, Label("direction", "write")),
           D(t.write_bytes));
  }
  name = absl::StrCat(prefix, "_block_io_bytes_total");
  Header(out, name, "counter",
         absl::StrCat("Bytes of block IO requests the ", what,
                      " submitted; direction is read or write."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("direction", "read")),
           D(t.block_read_bytes));
    Sample(out, name, labels(key, t, Label("direction", "write")),
           D(t.block_write_bytes));
  }
  bool any_contention = false;
  for (const auto& [key, t] : map) any_contention |= t.contention;
  if (!any_contention) return;
  name = absl::StrCat(prefix, "_run_queue_wait_seconds_total");
  Header(out, name, "counter",
         absl::StrCat("Time the ", what,
                      " was runnable but waited for a CPU (contention "
                      "source)."));
  for (const auto& [key, t] : map) {
    if (t.contention)
      Sample(out, name, labels(key, t), Seconds(t.run_queue_wait_ns));
  }
  name = absl::StrCat(prefix, "_sleep_seconds_total");
  Header(out, name, "counter",
         absl::StrCat("Time the ", what,
                      " was blocked, by reason: futex, lock (kernel lock "
                      "contention), io (in_iowait), other (contention "
                      "source)."));
  for (const auto& [key, t] : map) {
    if (!t.contention) continue;
    Sample(out, name, labels(key, t, Label("reason", "futex")),
           Seconds(t.futex_sleep_ns));
    Sample(out, name, labels(key, t, Label("reason", "lock")),
           Seconds(t.lock_sleep_ns));
    Sample(out, name, labels(key, t, Label("reason", "io")),
           Seconds(t.io_sleep_ns));
    Sample(out, name, labels(key, t, Label("reason", "other")),
           Seconds(t.other_sleep_ns));
  }
}

std::string PrometheusExposition::Render() const {
  std::string out;
  Header(out, "perfwire_exporter_agent_connected", "gauge",
         "1 when the exporter is reading frames from perfwired, else 0.");
  Sample(out, "perfwire_exporter_agent_connected", "", connected_ ? 1 : 0);
  Header(out, "perfwire_exporter_frames_total", "counter",
         "Frames the exporter has read since it started.");
  Sample(out, "perfwire_exporter_frames_total", "", D(frames_));
  Header(out, "perfwire_exporter_series", "gauge",
         "Series the exporter keeps per kind (thread, process, app).");
  Sample(out, "perfwire_exporter_series", Label("kind", "thread"),
         D(threads_.size()));
  Sample(out, "perfwire_exporter_series", Label("kind", "process"),
         D(processes_.size()));
  Sample(out, "perfwire_exporter_series", Label("kind", "app"),
         D(app_series_.size()));
  Header(out, "perfwire_exporter_series_overflow", "gauge",
         "1 when the --max_series cap for this kind was reached and updates "
         "were dropped.");
  Sample(out, "perfwire_exporter_series_overflow", Label("kind", "thread"),
         dropped_thread_updates_ > 0 ? 1 : 0);
  Sample(out, "perfwire_exporter_series_overflow", Label("kind", "process"),
         dropped_process_updates_ > 0 ? 1 : 0);
  Sample(out, "perfwire_exporter_series_overflow", Label("kind", "app"),
         dropped_app_updates_ > 0 ? 1 : 0);
  Header(out, "perfwire_exporter_dropped_updates_total", "counter",
         "Per-frame rows not counted because the --max_series cap was "
         "reached.");
  Sample(out, "perfwire_exporter_dropped_updates_total",
         Label("kind", "thread"), D(dropped_thread_updates_));
  Sample(out, "perfwire_exporter_dropped_updates_total",
         Label("kind", "process"), D(dropped_process_updates_));
  Sample(out, "perfwire_exporter_dropped_updates_total", Label("kind", "app"),
         D(dropped_app_updates_));
  if (frames_ > 0) {
    Header(out, "perfwire_frame_interval_seconds", "gauge",
           "Measured length of the latest frame's interval.");
    Sample(out, "perfwire_frame_interval_seconds", "", interval_seconds_);
    Header(out, "perfwire_consumer_dropped_frames_total", "counter",
           "Frames perfwired dropped for this exporter's connection, since "
           "it connected.");
    Sample(out, "perfwire_consumer_dropped_frames_total", "",
           D(consumer_dropped_frames_));
    Header(out, "perfwire_agent_cpu_seconds_total", "counter",
           "CPU time perfwired itself used since the exporter started.");
    Sample(out, "perfwire_agent_cpu_seconds_total", "", Seconds(agent_cpu_ns_));
    static const std::map<std::string, const char*> kHelp = {
        {"perfwire_agent_lost_events_total",
         "Events perfwired lost since the exporter started: thread exits "
         "dropped (full exit ring), bios not attributed (full map), threads "
         "gone without an exit record."},
        {"perfwire_app_metrics_datagrams_total",
         "StatsD datagrams perfwired read (Unix socket and UDP)."},
        {"perfwire_app_metrics_lines_total", "StatsD lines accepted."},
        {"perfwire_app_metrics_rejected_lines_total",
         "StatsD lines rejected: malformed, or a new series beyond "
         "--app_max_series (series_cap) or --app_max_memory_bytes "
         "(memory_cap)."},
        {"perfwire_app_metrics_oversize_datagrams_total",
         "StatsD datagrams dropped whole: longer than "
         "--app_max_datagram_bytes."},
        {"perfwire_contention_wakeups_total",
         "Wakeups of blocked threads the contention source counted."},
        {"perfwire_contention_lost_events_total",
         "Events the contention source lost, by cause (docs/CONTENTION.md)."},
    };
    for (const auto& [family, samples] : health_) {
      auto help = kHelp.find(family);
      Header(out, family, "counter",
             help != kHelp.end() ? help->second : "perfwire health counter");
      for (const auto& [labels, value] : samples) {
        Sample(out, family, labels, D(value));
      }
    }
  }

  RenderTotals(processes_, "perfwire_process", false, out);
  if (options_.threads) RenderTotals(threads_, "perfwire_thread", true, out);
  out += host_text_;

  if (!disk_latency_.empty()) {
    Header(out, "perfwire_disk_request_duration_seconds", "histogram",
           "Block request latency, issue to completion (contention source; "
           "log2 buckets).");
    for (const auto& [disk, h] : disk_latency_) {
      HistogramSamples(out, "perfwire_disk_request_duration_seconds",
                       Label("device", disk), h.buckets, h.count, h.sum_ns);
    }
  }
  if (!cpu_run_queue_.empty()) {
    Header(out, "perfwire_cpu_run_queue_wait_seconds", "histogram",
           "Run-queue wait of every thread switched in, per CPU (contention "
           "source; log2 buckets).");
    for (const auto& [cpu, h] : cpu_run_queue_) {
      HistogramSamples(out, "perfwire_cpu_run_queue_wait_seconds",
                       Label("cpu", absl::StrCat(cpu)), h.buckets, h.count,
                       h.sum_ns);
    }
  }
  if (!perf_counts_.empty()) {
    bool events = false, clocks = false;
    std::string ev, clk;
    for (const auto& [key, count] : perf_counts_) {
      const size_t tab = key.find('\t');
      const std::string kind = key.substr(0, tab);
      const std::string event = key.substr(tab + 1);
      const std::string l =
          Labels({Label("event", event), Label("kind", kind)});
      if (event == "cpu-clock" || event == "task-clock") {
        clocks = true;
        Sample(clk, "perfwire_perf_clock_seconds_total", l, Seconds(count));
      } else {
        events = true;
        Sample(ev, "perfwire_perf_events_total", l, D(count));
      }
    }
    if (events) {
      Header(out, "perfwire_perf_events_total", "counter",
             "perf_event_open counts summed over CPUs, scaled for "
             "multiplexing, since the exporter started.");
      out += ev;
    }
    if (clocks) {
      Header(out, "perfwire_perf_clock_seconds_total", "counter",
             "perf cpu-clock and task-clock summed over CPUs since the "
             "exporter started.");
      out += clk;
    }
  }
  if (!app_series_.empty()) {
    std::string counters, gauges, sets, timing_sum, timing_count, quantiles;
    for (const auto& [key, a] : app_series_) {
      std::string l = Label("metric", a.name);
      for (const auto& [k, v] : a.labels) absl::StrAppend(&l, ",", Label(k, v));
      switch (a.type) {
        case fb::AppMetricType::Counter:
          Sample(counters, "perfwire_app_total", l, a.value);
          break;
        case fb::AppMetricType::Gauge:
          Sample(gauges, "perfwire_app_gauge", l, a.value);
          break;
        case fb::AppMetricType::Set:
          Sample(sets, "perfwire_app_set_distinct", l, D(a.distinct));
          break;
        default:
          Sample(timing_sum, "perfwire_app_timing_sum_total", l, a.sum);
          Sample(timing_count, "perfwire_app_timing_count_total", l, a.count);
          for (const auto& [q, v] :
               {std::pair<const char*, double>{"0.5", a.p50},
                {"0.9", a.p90},
                {"0.99", a.p99}}) {
            Sample(quantiles, "perfwire_app_timing_quantile",
                   absl::StrCat(l, ",", Label("quantile", q)), v);
          }
      }
    }
    auto emit = [&](const char* name, const char* type, const char* help,
                    const std::string& body) {
      if (body.empty()) return;
      Header(out, name, type, help);
      out += body;
    };
    emit("perfwire_app_total", "counter",
         "StatsD counters (c): sum of value/sample_rate since the exporter "
         "started, in the sender's unit; metric is the StatsD name, tag_* "
         "its tags.",
         counters);
    emit("perfwire_app_gauge", "gauge", "StatsD gauges (g): latest value.",
         gauges);
    emit("perfwire_app_set_distinct", "gauge",
         "StatsD sets (s): distinct members in the latest interval.", sets);
    emit("perfwire_app_timing_sum_total", "counter",
         "StatsD timings/histograms/distributions: sum of values (sender's "
         "unit, ms for ms) since the exporter started.",
         timing_sum);
    emit("perfwire_app_timing_count_total", "counter",
         "StatsD timings/histograms/distributions: samples represented.",
         timing_count);
    emit("perfwire_app_timing_quantile", "gauge",
         "Quantiles of the latest interval with samples (DDSketch, 1% "
         "relative error; sender's unit).",
         quantiles);
  }
  return out;
}

}  // namespace perfwire
