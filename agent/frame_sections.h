#ifndef PERFWIRE_AGENT_FRAME_SECTIONS_H_
#define PERFWIRE_AGENT_FRAME_SECTIONS_H_

#include <cstdint>

#include "flatbuffers/flatbuffers.h"
#include "perfwire_generated.h"

namespace perfwire {

// Counters sources report about their own losses, summed into AgentStats.
struct SourceLossCounters {
  uint64_t lost_exit_record_count = 0;
  uint64_t lost_block_io_count = 0;
  uint64_t vanished_thread_count = 0;
  uint64_t exit_without_final_count = 0;
  uint64_t tracked_thread_count = 0;
};

// What the frame server reports about its consumers over the interval
// (FrameServer::Counters), into AgentStats.
struct ServerCounters {
  uint64_t writing_consumer_count = 0;
  uint64_t refused_consumer_count = 0;
};

// The parts of one Frame that sources build before the Frame table itself is
// started (FlatBuffers needs children first). A zero offset means "absent".
struct FrameSections {
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Thread>>>
      threads;
  SourceLossCounters losses;
  // Host-wide sections (agent/host, agent/perf).
  flatbuffers::Offset<fb::HostCpu> cpu;
  flatbuffers::Offset<fb::HostMemory> memory;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::HostDisk>>>
      disks;
  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<fb::HostFilesystem>>>
      filesystems;
  flatbuffers::Offset<fb::HostNetwork> network;
  flatbuffers::Offset<fb::HostProcesses> processes;
  flatbuffers::Offset<fb::PerfCounters> perf_software;
  flatbuffers::Offset<fb::PerfCounters> perf_hardware;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::GpuDevice>>>
      gpus;
  // Contention source (Frame ids 20-24).
  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<fb::ThreadContention>>>
      thread_contention;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::DiskLatency>>>
      disk_latency;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::WakeEdge>>>
      wake_edges;
  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<fb::CpuRunQueueLatency>>>
      cpu_run_queue;
  flatbuffers::Offset<fb::ContentionStats> contention;
  // app_metrics source: Frame.app_metrics and AgentStats.app_metrics.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::AppSeries>>>
      app_metrics;
  flatbuffers::Offset<fb::AppMetricsStats> app_metrics_stats;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_FRAME_SECTIONS_H_
