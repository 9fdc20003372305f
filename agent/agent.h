#ifndef PERFWIRE_AGENT_AGENT_H_
#define PERFWIRE_AGENT_AGENT_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/collector.h"
#include "agent/source_registry.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

struct AgentOptions {
  absl::Duration interval = absl::Seconds(1);
  // Between Stop() of the sources and the final frame: thread exits still in
  // flight (freed one RCU grace period after their last switch) land.
  absl::Duration final_grace = absl::Milliseconds(50);
};

// perfwired's lifecycle without its flags and socket: starts the sources,
// publishes one frame per interval, and a final one at shutdown. Knows no
// source by name. Not thread-safe: one thread calls Start() then Run().
class Agent {
 public:
  using Publish =
      std::function<void(std::shared_ptr<const flatbuffers::DetachedBuffer>)>;
  // Adds the caller's own counters to a frame's AgentStats (e.g. the frame
  // server's consumer counts), after the sources.
  using AddAgentStats = std::function<void(FrameSections&)>;

  Agent(std::vector<RegisteredSource> sources, AgentOptions options);

  // Starts every source. One that fails stays unavailable for the agent's
  // life, its reason in every frame, and the others run; a failing required
  // source makes this return FailedPrecondition "<name> unavailable:
  // <reason>" (the agent should then exit).
  absl::Status Start();

  // Until `stop_fd` becomes readable: sleeps to the end of each interval
  // (calling OnWakeup() of a source whose wakeup_fd() is readable meanwhile),
  // then publishes the interval's frame. An interval that ran late is not
  // made up: the next deadline is one interval from now, so frames never
  // come in a burst. On stop: Stop() on every source, `final_grace`, and a
  // final frame. `publish` and `add_agent_stats` (if set) run on this
  // thread, once per frame.
  void Run(int stop_fd, const Publish& publish,
           const AddAgentStats& add_agent_stats = {});

  const std::vector<std::unique_ptr<Source>>& sources() const {
    return collector_.sources();
  }

 private:
  static std::vector<std::unique_ptr<Source>> TakeSources(
      std::vector<RegisteredSource>& sources, std::vector<bool>& required);

  std::vector<bool> required_;
  Collector collector_;
  AgentOptions options_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_AGENT_H_
