#ifndef PERFWIRE_AGENT_SOURCE_REGISTRY_H_
#define PERFWIRE_AGENT_SOURCE_REGISTRY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "agent/host/host_options.h"
#include "agent/source.h"

namespace perfwire {

// One source perfwired runs. Adding a source is: its schema table, its
// folder (the source, its section, its flags file), and one line in the
// table of source_registry.cc.
struct SourceRegistration {
  const char* name;
  // The agent refuses to run when a required source fails to start.
  bool required;
  // A host-wide source: reads /proc, /sys and perf/NVML under the roots of
  // `HostOptions` and nothing else (tests build these with fixture roots).
  bool host;
  // Builds the source from `host` (proc/sys roots and host options) and
  // perfwired's other command-line flags (each source's folder defines its
  // own). InvalidArgument for a bad flag value (a usage error). A source the
  // user left off is a DisabledSource saying how to turn it on, so every
  // frame still lists it.
  absl::StatusOr<std::unique_ptr<Source>> (*create)(const HostOptions& host);
};

// Every source, in the order their status appears in frames.
absl::Span<const SourceRegistration> SourceRegistry();

// A source ready for the agent, with its registration's `required` bit.
struct RegisteredSource {
  std::unique_ptr<Source> source;
  bool required = false;
};

// Creates every registered source from `host` and the flags; the first
// usage error (InvalidArgument) if a flag is bad.
absl::StatusOr<std::vector<RegisteredSource>> CreateSources(
    const HostOptions& host);

// Only the host-wide sources (see SourceRegistration::host).
std::vector<std::unique_ptr<Source>> CreateHostSources(const HostOptions& host);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_SOURCE_REGISTRY_H_
