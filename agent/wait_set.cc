#include "agent/wait_set.h"

#include <sys/epoll.h>

#include <cerrno>

#include "base/clock.h"

namespace perfwire {

WaitSet::WaitSet() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {}

void WaitSet::Add(int fd, void* tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

WaitSet::Ready WaitSet::WaitUntil(uint64_t deadline_ns) {
  Ready ready;
  const uint64_t now = MonotonicNs();
  if (now >= deadline_ns) {
    ready.timed_out = true;
    return ready;
  }
  // Round up so we never wake just before the deadline and spin.
  const int timeout_ms =
      static_cast<int>((deadline_ns - now + 999999) / 1000000);
  epoll_event events[8];
  const int n = epoll_wait(epoll_.get(), events, 8, timeout_ms);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) {
      ready.stop = true;
    } else {
      ready.tags.push_back(events[i].data.ptr);
    }
  }
  if (n == 0 || MonotonicNs() >= deadline_ns) ready.timed_out = true;
  return ready;
}

}  // namespace perfwire
