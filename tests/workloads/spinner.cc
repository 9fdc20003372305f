// spinner: --threads workers each burn CPU for --ms of wall time (checked with
// CLOCK_MONOTONIC in the loop). Output: see truth.h.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "truth.h"

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("spinner");
  flags.Declare("threads", "1");
  flags.Declare("ms", "500");
  flags.Parse(argc, argv);
  const uint64_t threads = flags.U64("threads");
  const uint64_t ns = flags.U64("ms") * 1000000;
  perfwire::workload::AnnounceReadyAndDelay(flags);

  std::vector<std::unique_ptr<perfwire::workload::TruthWorker>> workers;
  for (uint64_t i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<perfwire::workload::TruthWorker>(
        "spinner", [ns] { perfwire::workload::SpinFor(ns); }));
    workers.back()->Start();
  }
  std::vector<std::string> lines;
  for (auto& w : workers) lines.push_back(w->Finish());
  perfwire::workload::PrintLines(lines);
  return 0;
}
