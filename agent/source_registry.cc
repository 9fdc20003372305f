#include "agent/source_registry.h"

#include "agent/app_metrics/app_metrics_source.h"
#include "agent/contention/contention_source.h"
#include "agent/disabled_source.h"
#include "agent/host/cpu.h"
#include "agent/host/disks.h"
#include "agent/host/filesystems.h"
#include "agent/host/gpu.h"
#include "agent/host/host_flags.h"
#include "agent/host/memory.h"
#include "agent/host/network.h"
#include "agent/host/processes.h"
#include "agent/perf/perf_counters.h"
#include "agent/threads/thread_source.h"

namespace perfwire {
namespace {

using SourceOr = absl::StatusOr<std::unique_ptr<Source>>;

template <typename S>
SourceOr Host(const HostOptions& host) {
  return std::make_unique<S>(host);
}

SourceOr Threads(const HostOptions& host) {
  absl::StatusOr<ThreadSourceOptions> options =
      ThreadSourceOptionsFromFlags(host.proc_root);
  if (!options.ok()) return options.status();
  return std::make_unique<ThreadSource>(*options);
}

SourceOr SoftwarePerf(const HostOptions& host) {
  if (!host.software_perf_counters) {
    return std::make_unique<DisabledSource>(
        "perf.software",
        "off by default (costs like perf stat -a on every switch and fault); "
        "enable with --perf_counters");
  }
  return std::make_unique<PerfCounterSource>(PerfEventKind::kSoftware, host);
}

SourceOr HardwarePerf(const HostOptions& host) {
  return std::make_unique<PerfCounterSource>(PerfEventKind::kHardware, host);
}

SourceOr Contention(const HostOptions& host) {
  return ContentionSourceFromFlags(host.proc_root);
}

SourceOr AppMetrics(const HostOptions& host) {
  AppMetricsSourceOptions options = AppMetricsOptionsFromFlags();
  options.proc_root = host.proc_root;
  return std::make_unique<AppMetricsSource>(options);
}

// name, required, host, create
const SourceRegistration kRegistry[] = {
    // Per-thread counters are the agent's reason to exist: without them it
    // refuses to run rather than serve empty frames.
    {"threads", true, false, &Threads},
    {"cpu", false, true, &Host<CpuSource>},
    {"memory", false, true, &Host<MemorySource>},
    {"disks", false, true, &Host<DiskSource>},
    {"filesystems", false, true, &Host<FilesystemSource>},
    {"network", false, true, &Host<NetworkSource>},
    {"processes", false, true, &Host<ProcessSource>},
    {"perf.software", false, true, &SoftwarePerf},
    {"perf.hardware", false, true, &HardwarePerf},
    {"gpu", false, true, &Host<GpuSource>},
    {"contention", false, false, &Contention},
    {"app_metrics", false, false, &AppMetrics},
};

}  // namespace

absl::Span<const SourceRegistration> SourceRegistry() { return kRegistry; }

absl::StatusOr<std::vector<RegisteredSource>> CreateSources(
    const HostOptions& host) {
  std::vector<RegisteredSource> sources;
  for (const SourceRegistration& registration : SourceRegistry()) {
    SourceOr source = registration.create(host);
    if (!source.ok()) return source.status();
    sources.push_back({*std::move(source), registration.required});
  }
  return sources;
}

std::vector<std::unique_ptr<Source>> CreateHostSources(
    const HostOptions& host) {
  std::vector<std::unique_ptr<Source>> sources;
  for (const SourceRegistration& registration : SourceRegistry()) {
    if (!registration.host) continue;
    SourceOr source = registration.create(host);
    // Host factories read no flags, so they cannot fail.
    if (source.ok()) sources.push_back(*std::move(source));
  }
  return sources;
}

}  // namespace perfwire
