#ifndef PERFWIRE_AGENT_SOURCE_H_
#define PERFWIRE_AGENT_SOURCE_H_

#include <string>

#include "absl/status/status.h"
#include "agent/frame_sections.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

// What a source says about itself in every frame.
struct SourceStatus {
  std::string name;
  bool available = false;
  std::string reason;  // why unavailable, or a note on how it runs
  std::string hook;    // attach mechanism chosen, if any (e.g. "tp_btf")
};

// One producer of frame data (BPF thread counters, /proc metrics, ...).
// Lifecycle, all calls from the collector thread:
//   Start() once: attach/open. A non-OK status makes the source unavailable
//     for the agent's life; the agent keeps running without it.
//   Collect() once per interval, only while available: add this source's
//     section to `fbb` and record its offset (and its counters) in `sections`.
//     A source that breaks at run time flips status().available to false and
//     leaves its section unset; it must never throw or abort.
//   Stop() once before destruction: a last Collect() may follow it so
//     that final data (e.g. thread exits) reaches the last frame.
class Source {
 public:
  virtual ~Source() = default;
  virtual absl::Status Start() = 0;
  virtual void Collect(flatbuffers::FlatBufferBuilder& fbb,
                       FrameSections& sections) = 0;
  virtual void Stop() {}
  virtual SourceStatus status() const = 0;

  // Optional: an fd the collector polls between intervals (e.g. a ring
  // buffer that filled early, a socket with datagrams); OnWakeup() is called
  // on the collector thread when it is readable. -1: nothing to poll.
  virtual int wakeup_fd() const { return -1; }
  virtual void OnWakeup() {}
};

// A source that broke at run time: unavailable from now on, `error` as the
// reason in every frame, and one warning "<name> source stopped: <reason>"
// (none when it was already unavailable).
void MarkBroken(SourceStatus& status, const absl::Status& error);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_SOURCE_H_
