#include "agent/collector.h"

#include <sys/utsname.h>

#include "absl/strings/str_cat.h"
#include "agent/frame_builder.h"
#include "agent/log.h"

namespace perfwire {

Collector::Collector(std::vector<std::unique_ptr<Source>> sources)
    : sources_(std::move(sources)), last_frame_ns_(MonotonicNs()) {
  utsname u{};
  if (uname(&u) == 0) {
    hostname_ = u.nodename;
    kernel_release_ = u.release;
  }
}

std::vector<absl::Status> Collector::StartSources() {
  std::vector<absl::Status> failures;
  for (auto& source : sources_) {
    absl::Status s = source->Start();
    if (!s.ok()) {
      LogWarning(absl::StrCat("source ", source->status().name,
                              " unavailable: ", s.message()));
      failures.push_back(std::move(s));
    }
  }
  return failures;
}

void Collector::StopSources() {
  for (auto& source : sources_) source->Stop();
}

std::shared_ptr<const flatbuffers::DetachedBuffer> Collector::CollectFrame(
    const std::function<void(FrameSections&)>& add_agent_stats) {
  const uint64_t start_ns = MonotonicNs();
  flatbuffers::FlatBufferBuilder fbb(64 * 1024);
  FrameSections sections;
  for (auto& source : sources_) {
    if (source->status().available) source->Collect(fbb, sections);
  }
  if (add_agent_stats) add_agent_stats(sections);
  FrameHeader header;
  header.sources.reserve(sources_.size());
  for (const auto& source : sources_)
    header.sources.push_back(source->status());
  header.seq = seq_++;
  header.monotonic_ns = MonotonicNs();
  header.realtime_ns = RealtimeNs();
  header.interval_ns = header.monotonic_ns - last_frame_ns_;
  header.hostname = hostname_;
  header.kernel_release = kernel_release_;
  header.agent_cpu_ns = self_stats_.TakeCpuNs();
  header.agent_rss_bytes = SelfStats::RssBytes();
  header.collect_ns = header.monotonic_ns - start_ns;
  FinishFrame(fbb, header, sections);
  last_frame_ns_ = header.monotonic_ns;
  return std::make_shared<const flatbuffers::DetachedBuffer>(fbb.Release());
}

}  // namespace perfwire
