#ifndef PERFWIRE_TESTS_INTEGRATION_HOST_TEST_UTIL_H_
#define PERFWIRE_TESTS_INTEGRATION_HOST_TEST_UTIL_H_

// Runs one host source in-process over a window the test controls, and
// reads its section back like a consumer. A source's rates are over the time
// between its own two reads, which lies between `inner_ns` (after Start()
// returned, before Collect() was called) and `outer_ns` (before Start(),
// after Collect() returned); tests turn rates back into counts with both.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/frame_builder.h"
#include "agent/source.h"
#include "base/clock.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"

namespace perfwire::testing {

struct SourceWindow {
  std::unique_ptr<flatbuffers::FlatBufferBuilder> fbb;
  const fb::Frame* frame = nullptr;
  uint64_t inner_ns = 0;
  uint64_t outer_ns = 0;
  double inner_s() const { return inner_ns / 1e9; }
  double outer_s() const { return outer_ns / 1e9; }
};

// Start(), then `during()`, then Collect(); the section is in `frame`.
inline SourceWindow RunWindow(Source& source,
                              const std::function<void()>& during) {
  SourceWindow w;
  const uint64_t t0 = MonotonicNs();
  absl::Status s = source.Start();
  const uint64_t t1 = MonotonicNs();
  EXPECT_TRUE(s.ok()) << source.status().name << ": " << source.status().reason;
  during();
  w.fbb = std::make_unique<flatbuffers::FlatBufferBuilder>();
  FrameSections sections;
  const uint64_t t2 = MonotonicNs();
  if (source.status().available) source.Collect(*w.fbb, sections);
  const uint64_t t3 = MonotonicNs();
  w.inner_ns = t2 - t1;
  w.outer_ns = t3 - t0;
  FinishFrame(*w.fbb, FrameHeader{}, sections);
  w.frame = fb::GetSizePrefixedFrame(w.fbb->GetBufferPointer());
  return w;
}

// Runs a shell command, returns its stdout+stderr; *status is the wait status.
std::string Shell(const std::string& cmd, int* status = nullptr);

}  // namespace perfwire::testing

#endif  // PERFWIRE_TESTS_INTEGRATION_HOST_TEST_UTIL_H_
