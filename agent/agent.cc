#include "agent/agent.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/log.h"
#include "agent/wait_set.h"
#include "base/clock.h"

namespace perfwire {

std::vector<std::unique_ptr<Source>> Agent::TakeSources(
    std::vector<RegisteredSource>& sources, std::vector<bool>& required) {
  std::vector<std::unique_ptr<Source>> out;
  out.reserve(sources.size());
  for (RegisteredSource& s : sources) {
    out.push_back(std::move(s.source));
    required.push_back(s.required);
  }
  return out;
}

// required_ is declared (so constructed) before collector_.
Agent::Agent(std::vector<RegisteredSource> sources, AgentOptions options)
    : collector_(TakeSources(sources, required_)), options_(options) {}

absl::Status Agent::Start() {
  collector_.StartSources();
  const auto& sources = collector_.sources();
  for (size_t i = 0; i < sources.size(); ++i) {
    const SourceStatus st = sources[i]->status();
    if (!st.available && required_[i]) {
      return absl::FailedPreconditionError(
          absl::StrCat(st.name, " unavailable: ", st.reason));
    }
    if (st.available) LogInfo(absl::StrCat(st.name, ": ", st.reason));
  }
  return absl::OkStatus();
}

void Agent::Run(int stop_fd, const Publish& publish,
                const AddAgentStats& add_agent_stats) {
  WaitSet waits;
  waits.Add(stop_fd, nullptr);
  for (const auto& source : collector_.sources()) {
    if (source->wakeup_fd() >= 0) waits.Add(source->wakeup_fd(), source.get());
  }
  const uint64_t interval_ns =
      static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.interval));
  uint64_t deadline = MonotonicNs() + interval_ns;
  for (bool stopping = false; !stopping;) {
    // Sleep until the interval ends, serving sources that need it early.
    for (;;) {
      const WaitSet::Ready ready = waits.WaitUntil(deadline);
      if (ready.stop) {
        stopping = true;
        break;
      }
      for (void* tag : ready.tags) static_cast<Source*>(tag)->OnWakeup();
      if (ready.timed_out) break;
    }
    if (stopping) break;
    publish(collector_.CollectFrame(add_agent_stats));
    deadline += interval_ns;
    const uint64_t now = MonotonicNs();
    if (deadline <= now) deadline = now + interval_ns;  // late: skip, no burst
  }
  collector_.StopSources();
  absl::SleepFor(options_.final_grace);
  publish(collector_.CollectFrame(add_agent_stats));
}

}  // namespace perfwire
