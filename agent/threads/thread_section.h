#ifndef PERFWIRE_AGENT_THREADS_THREAD_SECTION_H_
#define PERFWIRE_AGENT_THREADS_THREAD_SECTION_H_

#include <vector>

#include "agent/threads/thread_table.h"
#include "flatbuffers/flatbuffers.h"
#include "perfwire_generated.h"

namespace perfwire {

// Serializes one interval's thread deltas as the Frame's `threads` vector.
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Thread>>>
BuildThreadsSection(flatbuffers::FlatBufferBuilder& fbb,
                    const std::vector<ThreadDelta>& deltas);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_THREADS_THREAD_SECTION_H_
