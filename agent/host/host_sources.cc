#include "agent/host/host_sources.h"

#include "agent/disabled_source.h"
#include "agent/host/cpu.h"
#include "agent/host/disks.h"
#include "agent/host/filesystems.h"
#include "agent/host/gpu.h"
#include "agent/host/memory.h"
#include "agent/host/network.h"
#include "agent/host/processes.h"
#include "agent/perf/perf_counters.h"

namespace perfwire {

void AddHostSources(const HostOptions& options,
                    std::vector<std::unique_ptr<Source>>& sources) {
  sources.push_back(std::make_unique<CpuSource>(options));
  sources.push_back(std::make_unique<MemorySource>(options));
  sources.push_back(std::make_unique<DiskSource>(options));
  sources.push_back(std::make_unique<FilesystemSource>(options));
  sources.push_back(std::make_unique<NetworkSource>(options));
  sources.push_back(std::make_unique<ProcessSource>(options));
  if (options.software_perf_counters) {
    sources.push_back(
        std::make_unique<PerfCounterSource>(PerfEventKind::kSoftware, options));
  } else {
    sources.push_back(std::make_unique<DisabledSource>(
        "perf.software",
        "off by default (costs like perf stat -a on every switch and fault); "
        "enable with --perf_counters"));
  }
  sources.push_back(
      std::make_unique<PerfCounterSource>(PerfEventKind::kHardware, options));
  sources.push_back(std::make_unique<GpuSource>(options));
}

}  // namespace perfwire
