#ifndef PERFWIRE_AGENT_FRAME_SECTIONS_H_
#define PERFWIRE_AGENT_FRAME_SECTIONS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "flatbuffers/flatbuffers.h"

namespace perfwire {

// What the sources contribute to one Frame, collected before the Frame table
// itself is started (FlatBuffers builds children first). Each source sets its
// own fields, named by the generated vtable offsets (fb::Frame::VT_CPU,
// fb::AgentStats::VT_LOST_BLOCK_IO_COUNT, ...), so the collector adds them
// without knowing any source. A field never set is absent from the frame.
// Thread-compatible: one collector thread fills and reads it.
class FrameSections {
 public:
  using Field = flatbuffers::voffset_t;

  // Frame field `field` := `value` (a table, vector or string built in the
  // frame's builder). A null offset is ignored; setting a field again
  // replaces the earlier value.
  template <typename T>
  void Set(Field field, flatbuffers::Offset<T> value) {
    SetOffset(frame_fields_, field, value.o);
  }
  // The same for a table or vector field of the frame's AgentStats (e.g. the
  // app_metrics source's own health table).
  template <typename T>
  void SetAgent(Field field, flatbuffers::Offset<T> value) {
    SetOffset(agent_offsets_, field, value.o);
  }
  // Adds `count` to the uint64 AgentStats field `field` (e.g. thread_count).
  void AddAgentCount(Field field, uint64_t count);
  // The same for a loss counter: it is also summed into
  // AgentStats.lost_event_count.
  void AddLoss(Field field, uint64_t count);

  // Writes every frame field into the Frame table `fbb` is building now
  // (between StartTable and EndTable, e.g. while an fb::FrameBuilder lives).
  void AddFrameFieldsTo(flatbuffers::FlatBufferBuilder& fbb) const;
  // Writes every AgentStats field (offsets and counts, lost_event_count
  // excluded) into the AgentStats table `fbb` is building now.
  void AddAgentFieldsTo(flatbuffers::FlatBufferBuilder& fbb) const;
  // Whether a source set Frame field `field` (for tests and checks).
  bool HasFrameField(Field field) const;
  // Sum of the AddLoss() counts.
  uint64_t loss_total() const { return loss_total_; }

 private:
  using Entries = std::vector<std::pair<Field, flatbuffers::uoffset_t>>;
  static void SetOffset(Entries& entries, Field field,
                        flatbuffers::uoffset_t offset);

  Entries frame_fields_;
  Entries agent_offsets_;
  std::vector<std::pair<Field, uint64_t>> agent_counts_;
  uint64_t loss_total_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_FRAME_SECTIONS_H_
