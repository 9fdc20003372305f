#ifndef PERFWIRE_AGENT_HOST_GPU_H_
#define PERFWIRE_AGENT_HOST_GPU_H_

#include <memory>
#include <string>

#include "agent/host/host_options.h"
#include "agent/source.h"

namespace perfwire {

// The "gpu" source: NVIDIA GPUs through NVML, loaded with dlopen at run time
// (no build dependency). Without the library it is unavailable with
// "libnvidia-ml.so.1 not found"; a metric a device does not support is absent
// from that device's entry.
class GpuSource : public Source {
 public:
  explicit GpuSource(HostOptions options);
  ~GpuSource() override;
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  struct Nvml;
  HostOptions options_;
  SourceStatus status_;
  std::unique_ptr<Nvml> nvml_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_GPU_H_
