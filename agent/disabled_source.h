#ifndef PERFWIRE_AGENT_DISABLED_SOURCE_H_
#define PERFWIRE_AGENT_DISABLED_SOURCE_H_

#include <string>
#include <utility>

#include "agent/source.h"

namespace perfwire {

// Stands in for a source the user has not enabled, so every frame still
// says it exists, is unavailable, and how to turn it on.
class DisabledSource : public Source {
 public:
  DisabledSource(std::string name, std::string reason) {
    status_.name = std::move(name);
    status_.reason = std::move(reason);
  }
  absl::Status Start() override { return absl::OkStatus(); }
  void Collect(flatbuffers::FlatBufferBuilder&, FrameSections&) override {}
  SourceStatus status() const override { return status_; }

 private:
  SourceStatus status_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_DISABLED_SOURCE_H_
