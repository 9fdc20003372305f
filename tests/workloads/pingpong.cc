// pingpong: two threads bounce one byte over two pipes --round-trips times.
// Each side blocks in read() for every byte, so each thread's voluntary
// switch count is about --round-trips (with --pin=1, the default, the two
// threads run on different CPUs when the process may use two). Each thread
// reads and writes exactly
// --round-trips bytes. With --park-ms, each thread stays alive (parked, its
// counters final) that long after its truth was read. Output: see truth.h.

#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "truth.h"

namespace {

using perfwire::workload::Die;

// Moves the calling thread to the `index`-th CPU it may run on, if any.
void PinToNthAllowedCpu(int index) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || seen++ != index) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof(one), &one);
    return;
  }
}

// Writes then reads one byte `n` times (or reads then writes if !first).
// With `pin`, the two sides first move to different CPUs so that a wakeup
// does not preempt the writer: each read then blocks (a voluntary switch).
void Bounce(int read_fd, int write_fd, uint64_t n, bool first, bool pin) {
  if (pin) PinToNthAllowedCpu(first ? 0 : 1);
  char byte = 'x';
  for (uint64_t i = 0; i < n; ++i) {
    if (first && write(write_fd, &byte, 1) != 1) Die("pipe write", true);
    if (read(read_fd, &byte, 1) != 1) Die("pipe read", true);
    if (!first && write(write_fd, &byte, 1) != 1) Die("pipe write", true);
  }
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("pingpong");
  flags.Declare("round-trips", "20000");
  flags.Declare("pin", "1");
  flags.Declare("park-ms", "0");
  flags.Parse(argc, argv);
  const uint64_t n = flags.U64("round-trips");
  const bool pin = flags.U64("pin") != 0;
  perfwire::workload::AnnounceReadyAndDelay(flags);

  int ping[2], pong[2];  // ping: ping -> pong; pong: pong -> ping
  if (pipe(ping) != 0 || pipe(pong) != 0) Die("pipe", true);
  perfwire::workload::TruthWorker pinger(
      "ping", [&] { Bounce(pong[0], ping[1], n, /*first=*/true, pin); });
  perfwire::workload::TruthWorker ponger(
      "pong", [&] { Bounce(ping[0], pong[1], n, /*first=*/false, pin); });
  for (auto* w : {&pinger, &ponger}) {
    w->Expect("read_bytes", n);
    w->Expect("write_bytes", n);
    w->Start();
  }
  const uint64_t park_ms = flags.U64("park-ms");
  std::vector<std::string> lines = {pinger.Finish(park_ms),
                                    ponger.Finish(park_ms)};
  for (int fd : {ping[0], ping[1], pong[0], pong[1]}) close(fd);
  perfwire::workload::PrintLines(lines);
  return 0;
}
