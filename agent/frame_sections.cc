#include "agent/frame_sections.h"

#include <algorithm>

namespace perfwire {

void FrameSections::SetOffset(Entries& entries, Field field,
                              flatbuffers::uoffset_t offset) {
  if (offset == 0) return;
  auto it = std::find_if(entries.begin(), entries.end(),
                         [field](const auto& e) { return e.first == field; });
  if (it != entries.end()) {
    it->second = offset;
  } else {
    entries.emplace_back(field, offset);
  }
}

bool FrameSections::HasFrameField(Field field) const {
  return std::any_of(frame_fields_.begin(), frame_fields_.end(),
                     [field](const auto& e) { return e.first == field; });
}

void FrameSections::AddAgentCount(Field field, uint64_t count) {
  auto it = std::find_if(agent_counts_.begin(), agent_counts_.end(),
                         [field](const auto& e) { return e.first == field; });
  if (it != agent_counts_.end()) {
    it->second += count;
  } else {
    agent_counts_.emplace_back(field, count);
  }
}

void FrameSections::AddLoss(Field field, uint64_t count) {
  AddAgentCount(field, count);
  loss_total_ += count;
}

void FrameSections::AddFrameFieldsTo(
    flatbuffers::FlatBufferBuilder& fbb) const {
  for (const auto& [field, offset] : frame_fields_) {
    fbb.AddOffset(field, flatbuffers::Offset<void>(offset));
  }
}

void FrameSections::AddAgentFieldsTo(
    flatbuffers::FlatBufferBuilder& fbb) const {
  for (const auto& [field, offset] : agent_offsets_) {
    fbb.AddOffset(field, flatbuffers::Offset<void>(offset));
  }
  for (const auto& [field, count] : agent_counts_) {
    fbb.AddElement<uint64_t>(field, count, 0);
  }
}

}  // namespace perfwire
