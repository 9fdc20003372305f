// exiter: the process lives --live-ms (counted from the end of the start
// delay) while one worker spins --ms and exits part-way through. The worker's
// truth line is printed as soon as it has been joined, then main sleeps out
// the rest and prints `done`. Output: see truth.h.

#include <cstdint>

#include "truth.h"

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("exiter");
  flags.Declare("live-ms", "2500");
  flags.Declare("ms", "300");
  flags.Parse(argc, argv);
  const uint64_t live_ns = flags.U64("live-ms") * 1000000;
  const uint64_t spin_ns = flags.U64("ms") * 1000000;
  perfwire::workload::AnnounceReadyAndDelay(flags);

  const uint64_t start = perfwire::workload::MonotonicNs();
  perfwire::workload::TruthWorker spinner(
      "exiter", [spin_ns] { perfwire::workload::SpinFor(spin_ns); });
  spinner.Start();
  perfwire::workload::PrintLines({spinner.Finish()});
  const uint64_t elapsed = perfwire::workload::MonotonicNs() - start;
  if (elapsed < live_ns) {
    perfwire::workload::SleepMs((live_ns - elapsed) / 1000000);
  }
  perfwire::workload::PrintLines({"done"});
  return 0;
}
