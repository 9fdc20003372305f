#ifndef PERFWIRE_AGENT_FRAME_BUILDER_H_
#define PERFWIRE_AGENT_FRAME_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agent/frame_sections.h"
#include "agent/source.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

// What a frame says besides its sources' sections.
struct FrameHeader {
  uint64_t seq = 0;
  uint64_t monotonic_ns = 0;
  uint64_t realtime_ns = 0;
  uint64_t interval_ns = 0;
  std::string hostname;
  std::string kernel_release;
  std::vector<SourceStatus> sources;
  // The agent's own cost (AgentStats).
  uint64_t agent_cpu_ns = 0;
  uint64_t agent_rss_bytes = 0;
  uint64_t collect_ns = 0;
};

// The one way a Frame is assembled: finishes `fbb` (size-prefixed, with the
// PWF1 identifier: the wire format) as a Frame of `header` and every field in
// `sections`, which must have been built in `fbb`. AgentStats is always
// present, lost_event_count the sum of the sections' losses, and
// consumer_dropped_frame_count is forced present (0) so the server can patch
// it per consumer in place.
void FinishFrame(flatbuffers::FlatBufferBuilder& fbb, const FrameHeader& header,
                 const FrameSections& sections);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_FRAME_BUILDER_H_
