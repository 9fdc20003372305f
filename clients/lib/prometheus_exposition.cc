#include "clients/lib/prometheus_exposition.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace perfwire {
namespace {

constexpr double kNsPerSecond = 1e9;

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

std::string CpuLabel(int32_t cpu) {
  return cpu < 0 ? std::string("all") : absl::StrCat(cpu);
}

std::string Str(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
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

PrometheusExposition::Totals* PrometheusExposition::Slot(
    std::map<uint32_t, Totals>& map, uint32_t key, uint64_t& dropped) {
  auto it = map.find(key);
  if (it != map.end()) return &it->second;
  if (map.size() >= options_.max_series) {
    ++dropped;
    return nullptr;
  }
  return &map[key];
}

void PrometheusExposition::Evict(std::map<uint32_t, Totals>& map) {
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

void PrometheusExposition::Add(const fb::Frame& frame) {
  ++frames_;
  last_seq_ = frame.seq();
  interval_seconds_ = static_cast<double>(frame.interval_ns()) / kNsPerSecond;
  consumer_dropped_frames_ = frame.consumer_dropped_frame_count();
  Evict(threads_);
  Evict(processes_);

  if (frame.threads() != nullptr) {
    for (const fb::Thread* thread : *frame.threads()) {
      const bool leader = thread->tid() == thread->pid();
      if (options_.threads) {
        if (Totals* t = Slot(threads_, thread->tid(), dropped_thread_updates_);
            t != nullptr) {
          t->pid = thread->pid();
          t->comm = Str(thread->comm());
          AddThread(*thread, *t);
          t->exited_at_frame = thread->exited() ? frames_ : 0;
          t->last_seen_frame = frames_;
        }
      }
      if (Totals* p = Slot(processes_, thread->pid(), dropped_process_updates_);
          p != nullptr) {
        p->pid = thread->pid();
        if (leader || p->comm.empty()) p->comm = Str(thread->comm());
        AddThread(*thread, *p);
        p->last_seen_frame = frames_;
        if (leader) p->exited_at_frame = thread->exited() ? frames_ : 0;
      }
    }
  }

  if (const fb::HostCpu* cpu = frame.cpu(); cpu != nullptr) {
    have_cpu_ = true;
    cpu_percent_.clear();
    auto add = [this](const fb::HostCpuTimes* t) {
      if (t == nullptr) return;
      auto& modes = cpu_percent_[t->cpu()];
      modes["user"] = t->user_percent();
      modes["nice"] = t->nice_percent();
      modes["system"] = t->system_percent();
      modes["idle"] = t->idle_percent();
      modes["iowait"] = t->iowait_percent();
      modes["irq"] = t->irq_percent();
      modes["softirq"] = t->softirq_percent();
      modes["steal"] = t->steal_percent();
      modes["guest"] = t->guest_percent();
      modes["guest_nice"] = t->guest_nice_percent();
    };
    add(cpu->total());
    if (cpu->cores() != nullptr) {
      for (const fb::HostCpuTimes* core : *cpu->cores()) add(core);
    }
    load_[0] = cpu->load_1m_count();
    load_[1] = cpu->load_5m_count();
    load_[2] = cpu->load_15m_count();
  }

  if (const fb::HostMemory* mem = frame.memory(); mem != nullptr) {
    have_memory_ = true;
    memory_bytes_["total"] = static_cast<double>(mem->total_bytes());
    memory_bytes_["used"] = static_cast<double>(mem->used_bytes());
    memory_bytes_["available"] = static_cast<double>(mem->available_bytes());
    memory_bytes_["free"] = static_cast<double>(mem->free_bytes());
    memory_bytes_["cached"] = static_cast<double>(mem->cached_bytes());
    memory_bytes_["buffers"] = static_cast<double>(mem->buffers_bytes());
    memory_bytes_["swap_used"] = static_cast<double>(mem->swap_used_bytes());
  }

  if (frame.disks() != nullptr) {
    for (const fb::HostDisk* disk : *frame.disks()) {
      if (disk->partition()) continue;  // whole devices only: no double count
      HostRates& d = disks_[Str(disk->name())];
      d.read_bytes += disk->read_bytes_per_sec() * interval_seconds_;
      d.write_bytes += disk->write_bytes_per_sec() * interval_seconds_;
    }
  }
  if (frame.network() != nullptr && frame.network()->interfaces() != nullptr) {
    for (const fb::HostInterface* itf : *frame.network()->interfaces()) {
      HostRates& n = interfaces_[Str(itf->name())];
      n.read_bytes += itf->receive_bytes_per_sec() * interval_seconds_;
      n.write_bytes += itf->transmit_bytes_per_sec() * interval_seconds_;
    }
  }

  if (const fb::AgentStats* agent = frame.agent(); agent != nullptr) {
    have_agent_ = true;
    agent_cpu_ns_ += agent->cpu_ns();
    agent_rss_bytes_ = agent->rss_bytes();
    agent_lost_events_ += agent->lost_event_count();
    agent_thread_count_ = agent->thread_count();
  }
}

void PrometheusExposition::RenderTotals(const std::map<uint32_t, Totals>& map,
                                        absl::string_view prefix,
                                        bool thread_labels,
                                        std::string& out) const {
  const absl::string_view what = thread_labels ? "thread" : "process";
  auto labels = [&](uint32_t key, const Totals& t,
                    absl::string_view extra = {}) {
    std::string l = thread_labels
                        ? absl::StrCat(Label("tid", absl::StrCat(key)), ",",
                                       Label("pid", absl::StrCat(t.pid)))
                        : Label("pid", absl::StrCat(t.pid));
    absl::StrAppend(&l, ",", Label("comm", t.comm));
    if (!extra.empty()) absl::StrAppend(&l, ",", extra);
    return l;
  };
  std::string name = absl::StrCat(prefix, "_cpu_seconds_total");
  Header(out, name, "counter",
         absl::StrCat("CPU time of the ", what,
                      " since the exporter started (se.sum_exec_runtime)."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t),
           static_cast<double>(t.on_cpu_ns) / kNsPerSecond);
  }
  name = absl::StrCat(prefix, "_context_switches_total");
  Header(out, name, "counter",
         absl::StrCat("Context switches of the ", what,
                      "; kind is voluntary (blocked) or involuntary "
                      "(preempted)."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("kind", "voluntary")),
           static_cast<double>(t.voluntary_switches));
    Sample(out, name, labels(key, t, Label("kind", "involuntary")),
           static_cast<double>(t.involuntary_switches));
  }
  name = absl::StrCat(prefix, "_page_faults_total");
  Header(
      out, name, "counter",
      absl::StrCat("Page faults of the ", what, "; kind is minor or major."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("kind", "minor")),
           static_cast<double>(t.minor_faults));
    Sample(out, name, labels(key, t, Label("kind", "major")),
           static_cast<double>(t.major_faults));
  }
  name = absl::StrCat(prefix, "_io_bytes_total");
  Header(out, name, "counter",
         absl::StrCat("Bytes the ", what,
                      " moved through read/write-family syscalls "
                      "(ioac rchar/wchar); direction is read or write."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("direction", "read")),
           static_cast<double>(t.read_bytes));
    Sample(out, name, labels(key, t, Label("direction", "write")),
           static_cast<double>(t.write_bytes));
  }
  name = absl::StrCat(prefix, "_block_io_bytes_total");
  Header(out, name, "counter",
         absl::StrCat("Bytes of block IO requests the ", what,
                      " submitted; direction is read or write."));
  for (const auto& [key, t] : map) {
    Sample(out, name, labels(key, t, Label("direction", "read")),
           static_cast<double>(t.block_read_bytes));
    Sample(out, name, labels(key, t, Label("direction", "write")),
           static_cast<double>(t.block_write_bytes));
  }
}

std::string PrometheusExposition::Render() const {
  std::string out;
  Header(out, "perfwire_exporter_agent_connected", "gauge",
         "1 when the exporter is reading frames from perfwired, else 0.");
  Sample(out, "perfwire_exporter_agent_connected", "", connected_ ? 1 : 0);
  Header(out, "perfwire_exporter_frames_total", "counter",
         "Frames the exporter has read since it started.");
  Sample(out, "perfwire_exporter_frames_total", "",
         static_cast<double>(frames_));
  Header(out, "perfwire_exporter_series", "gauge",
         "Series the exporter keeps per kind (thread, process).");
  Sample(out, "perfwire_exporter_series", Label("kind", "thread"),
         static_cast<double>(threads_.size()));
  Sample(out, "perfwire_exporter_series", Label("kind", "process"),
         static_cast<double>(processes_.size()));
  Header(out, "perfwire_exporter_series_overflow", "gauge",
         "1 when the --max_series cap for this kind was reached and updates "
         "were dropped.");
  Sample(out, "perfwire_exporter_series_overflow", Label("kind", "thread"),
         dropped_thread_updates_ > 0 ? 1 : 0);
  Sample(out, "perfwire_exporter_series_overflow", Label("kind", "process"),
         dropped_process_updates_ > 0 ? 1 : 0);
  Header(out, "perfwire_exporter_dropped_updates_total", "counter",
         "Per-frame rows not counted because the --max_series cap was "
         "reached.");
  Sample(out, "perfwire_exporter_dropped_updates_total",
         Label("kind", "thread"), static_cast<double>(dropped_thread_updates_));
  Sample(out, "perfwire_exporter_dropped_updates_total",
         Label("kind", "process"),
         static_cast<double>(dropped_process_updates_));
  if (frames_ > 0) {
    Header(out, "perfwire_frame_interval_seconds", "gauge",
           "Measured length of the latest frame's interval.");
    Sample(out, "perfwire_frame_interval_seconds", "", interval_seconds_);
    Header(out, "perfwire_consumer_dropped_frames", "gauge",
           "Frames perfwired dropped for this exporter's connection, since "
           "it connected.");
    Sample(out, "perfwire_consumer_dropped_frames", "",
           static_cast<double>(consumer_dropped_frames_));
  }

  RenderTotals(processes_, "perfwire_process", false, out);
  if (options_.threads) RenderTotals(threads_, "perfwire_thread", true, out);

  if (have_cpu_) {
    Header(out, "perfwire_host_cpu_percent", "gauge",
           "Share of the CPU's time in each mode over the latest interval "
           "(cpu=\"all\" for the whole host).");
    for (const auto& [cpu, modes] : cpu_percent_) {
      for (const auto& [mode, value] : modes) {
        Sample(
            out, "perfwire_host_cpu_percent",
            absl::StrCat(Label("cpu", CpuLabel(cpu)), ",", Label("mode", mode)),
            value);
      }
    }
    static constexpr const char* kLoad[] = {
        "perfwire_host_load1", "perfwire_host_load5", "perfwire_host_load15"};
    for (int i = 0; i < 3; ++i) {
      Header(out, kLoad[i], "gauge", "Load average (/proc/loadavg).");
      Sample(out, kLoad[i], "", load_[i]);
    }
  }
  if (have_memory_) {
    Header(out, "perfwire_host_memory_bytes", "gauge",
           "Host memory by state (/proc/meminfo; used = total - available).");
    for (const auto& [state, value] : memory_bytes_) {
      Sample(out, "perfwire_host_memory_bytes", Label("state", state), value);
    }
  }
  if (!disks_.empty()) {
    Header(out, "perfwire_host_disk_bytes_total", "counter",
           "Bytes read or written by each whole block device since the "
           "exporter started (rates integrated over frame intervals).");
    for (const auto& [device, d] : disks_) {
      Sample(out, "perfwire_host_disk_bytes_total",
             absl::StrCat(Label("device", device), ",",
                          Label("direction", "read")),
             d.read_bytes);
      Sample(out, "perfwire_host_disk_bytes_total",
             absl::StrCat(Label("device", device), ",",
                          Label("direction", "write")),
             d.write_bytes);
    }
  }
  if (!interfaces_.empty()) {
    Header(out, "perfwire_host_network_bytes_total", "counter",
           "Bytes received or transmitted by each interface since the "
           "exporter started (rates integrated over frame intervals).");
    for (const auto& [itf, n] : interfaces_) {
      Sample(out, "perfwire_host_network_bytes_total",
             absl::StrCat(Label("interface", itf), ",",
                          Label("direction", "receive")),
             n.read_bytes);
      Sample(out, "perfwire_host_network_bytes_total",
             absl::StrCat(Label("interface", itf), ",",
                          Label("direction", "transmit")),
             n.write_bytes);
    }
  }
  if (have_agent_) {
    Header(out, "perfwire_agent_cpu_seconds_total", "counter",
           "CPU time perfwired itself used since the exporter started.");
    Sample(out, "perfwire_agent_cpu_seconds_total", "",
           static_cast<double>(agent_cpu_ns_) / kNsPerSecond);
    Header(out, "perfwire_agent_resident_memory_bytes", "gauge",
           "Resident set size of perfwired.");
    Sample(out, "perfwire_agent_resident_memory_bytes", "",
           static_cast<double>(agent_rss_bytes_));
    Header(out, "perfwire_agent_lost_events_total", "counter",
           "Events perfwired lost (full maps or ring buffers).");
    Sample(out, "perfwire_agent_lost_events_total", "",
           static_cast<double>(agent_lost_events_));
    Header(out, "perfwire_agent_tracked_threads", "gauge",
           "Threads perfwired tracks now.");
    Sample(out, "perfwire_agent_tracked_threads", "",
           static_cast<double>(agent_thread_count_));
  }
  return out;
}

}  // namespace perfwire
