#ifndef PERFWIRE_AGENT_WAIT_SET_H_
#define PERFWIRE_AGENT_WAIT_SET_H_

#include <cstdint>
#include <vector>

#include "base/unique_fd.h"

namespace perfwire {

// The collector's sleep: waits for a deadline while watching a few fds.
// An fd added with a null tag is the stop fd (e.g. a signalfd).
// Not thread-safe.
class WaitSet {
 public:
  WaitSet();
  void Add(int fd, void* tag);

  struct Ready {
    bool stop = false;        // the stop fd became readable
    bool timed_out = false;   // the deadline passed
    std::vector<void*> tags;  // tags of readable fds
  };
  // Returns when the CLOCK_MONOTONIC `deadline_ns` passes or an fd is readable.
  Ready WaitUntil(uint64_t deadline_ns);

 private:
  UniqueFd epoll_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_WAIT_SET_H_
