#include "agent/collector.h"

#include <sys/utsname.h>

#include "absl/strings/str_cat.h"
#include "agent/log.h"
#include "perfwire_generated.h"
#include "schema_text.h"

namespace perfwire {

Collector::Collector(std::vector<std::unique_ptr<Source>> sources)
    : sources_(std::move(sources)), last_frame_ns_(MonotonicNs()) {
  utsname u{};
  if (uname(&u) == 0) {
    hostname_ = u.nodename;
    kernel_release_ = u.release;
  }
}

std::vector<absl::Status> Collector::StartSources() {
  std::vector<absl::Status> failures;
  for (auto& source : sources_) {
    absl::Status s = source->Start();
    if (!s.ok()) {
      LogWarning(absl::StrCat("source ", source->status().name,
                              " unavailable: ", s.message()));
      failures.push_back(std::move(s));
    }
  }
  return failures;
}

void Collector::StopSources() {
  for (auto& source : sources_) source->Stop();
}

std::shared_ptr<const flatbuffers::DetachedBuffer> Collector::CollectFrame(
    const ServerCounters& server) {
  const uint64_t start_ns = MonotonicNs();
  flatbuffers::FlatBufferBuilder fbb(64 * 1024);
  FrameSections sections;
  for (auto& source : sources_) {
    if (source->status().available) source->Collect(fbb, sections);
  }

  std::vector<flatbuffers::Offset<fb::SourceStatus>> statuses;
  for (const auto& source : sources_) {
    const SourceStatus st = source->status();
    statuses.push_back(
        fb::CreateSourceStatusDirect(fbb, st.name.c_str(), st.available,
                                     st.reason.c_str(), st.hook.c_str()));
  }
  const auto statuses_vec = fbb.CreateVector(statuses);
  const auto hostname = fbb.CreateString(hostname_);
  const auto kernel = fbb.CreateString(kernel_release_);

  const uint64_t end_ns = MonotonicNs();
  const SourceLossCounters& l = sections.losses;
  fb::AgentStatsBuilder agent(fbb);
  agent.add_cpu_ns(self_stats_.TakeCpuNs());
  agent.add_rss_bytes(SelfStats::RssBytes());
  agent.add_lost_event_count(l.lost_exit_record_count + l.lost_block_io_count +
                             l.vanished_thread_count);
  agent.add_thread_count(l.tracked_thread_count);
  agent.add_lost_exit_record_count(l.lost_exit_record_count);
  agent.add_lost_block_io_count(l.lost_block_io_count);
  agent.add_vanished_thread_count(l.vanished_thread_count);
  agent.add_collect_ns(end_ns - start_ns);
  agent.add_exit_without_final_count(l.exit_without_final_count);
  agent.add_writing_consumer_count(server.writing_consumer_count);
  agent.add_refused_consumer_count(server.refused_consumer_count);
  if (!sections.app_metrics_stats.IsNull())
    agent.add_app_metrics(sections.app_metrics_stats);
  const auto agent_stats = agent.Finish();

  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_seq(seq_++);
  frame.add_monotonic_ns(end_ns);
  frame.add_realtime_ns(RealtimeNs());
  frame.add_interval_ns(end_ns - last_frame_ns_);
  frame.add_hostname(hostname);
  frame.add_kernel_release(kernel);
  frame.add_sources(statuses_vec);
  if (!sections.threads.IsNull()) frame.add_threads(sections.threads);
  if (!sections.cpu.IsNull()) frame.add_cpu(sections.cpu);
  if (!sections.memory.IsNull()) frame.add_memory(sections.memory);
  if (!sections.disks.IsNull()) frame.add_disks(sections.disks);
  if (!sections.filesystems.IsNull())
    frame.add_filesystems(sections.filesystems);
  if (!sections.network.IsNull()) frame.add_network(sections.network);
  if (!sections.processes.IsNull()) frame.add_processes(sections.processes);
  if (!sections.perf_software.IsNull())
    frame.add_perf_software(sections.perf_software);
  if (!sections.perf_hardware.IsNull())
    frame.add_perf_hardware(sections.perf_hardware);
  if (!sections.gpus.IsNull()) frame.add_gpus(sections.gpus);
  if (!sections.app_metrics.IsNull())
    frame.add_app_metrics(sections.app_metrics);
  frame.add_agent(agent_stats);
  if (!sections.thread_contention.IsNull())
    frame.add_thread_contention(sections.thread_contention);
  if (!sections.disk_latency.IsNull())
    frame.add_disk_latency(sections.disk_latency);
  if (!sections.wake_edges.IsNull()) frame.add_wake_edges(sections.wake_edges);
  if (!sections.cpu_run_queue.IsNull())
    frame.add_cpu_run_queue(sections.cpu_run_queue);
  if (!sections.contention.IsNull()) frame.add_contention(sections.contention);
  // Always present so the server can patch it per consumer in place.
  fbb.ForceDefaults(true);
  frame.add_consumer_dropped_frame_count(0);
  fbb.ForceDefaults(false);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  last_frame_ns_ = end_ns;
  return std::make_shared<const flatbuffers::DetachedBuffer>(fbb.Release());
}

}  // namespace perfwire
