#ifndef PERFWIRE_AGENT_COLLECTOR_H_
#define PERFWIRE_AGENT_COLLECTOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/frame_sections.h"
#include "agent/self_stats.h"
#include "agent/source.h"
#include "base/clock.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

// Owns the sources and turns one interval of their data into one Frame.
// Not thread-safe: the agent's collector thread drives it.
class Collector {
 public:
  explicit Collector(std::vector<std::unique_ptr<Source>> sources);

  // Starts every source; one that fails stays unavailable, with its reason
  // in every frame. Returns the failures' statuses by source name order.
  std::vector<absl::Status> StartSources();
  void StopSources();

  // Collects every available source and returns the interval's frame,
  // size-prefixed, ready for the wire. seq increases by one per call.
  // `add_agent_stats`, if set, adds the caller's own AgentStats counters
  // after the sources.
  std::shared_ptr<const flatbuffers::DetachedBuffer> CollectFrame(
      const std::function<void(FrameSections&)>& add_agent_stats = {});

  const std::vector<std::unique_ptr<Source>>& sources() const {
    return sources_;
  }

 private:
  std::vector<std::unique_ptr<Source>> sources_;
  std::string hostname_;
  std::string kernel_release_;
  uint64_t seq_ = 0;
  uint64_t last_frame_ns_;
  SelfStats self_stats_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_COLLECTOR_H_
