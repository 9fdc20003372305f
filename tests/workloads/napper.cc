// napper: one worker naps --nap-ms, then spins --spin-ms, --rounds times,
// and naps once more:
// most intervals it has not run, so partial task snapshots leave it out, and
// each spin must still show up live in the interval it happened in.
// Output: see truth.h.

#include <cstdint>

#include "truth.h"

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("napper");
  flags.Declare("rounds", "4");
  flags.Declare("nap-ms", "700");
  flags.Declare("spin-ms", "60");
  flags.Parse(argc, argv);
  const uint64_t rounds = flags.U64("rounds");
  const uint64_t nap_ms = flags.U64("nap-ms");
  const uint64_t spin_ns = flags.U64("spin-ms") * 1000000;
  perfwire::workload::AnnounceReadyAndDelay(flags);

  perfwire::workload::TruthWorker napper("napper", [=] {
    for (uint64_t i = 0; i < rounds; ++i) {
      perfwire::workload::SleepMs(nap_ms);
      perfwire::workload::SpinFor(spin_ns);
    }
    perfwire::workload::SleepMs(nap_ms);  // the last spin is reported live too
  });
  napper.Expect("rounds", rounds);
  napper.Start();
  perfwire::workload::PrintLines({napper.Finish()});
  return 0;
}
