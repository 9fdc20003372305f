#include "clients/lib/frame_summary.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/host_counters_frame.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::BuildFrame;
using ::perfwire::testing::HostCountersFrame;
using ::perfwire::testing::HostCountersSpec;
using ::perfwire::testing::TestFrame;
using ::perfwire::testing::TestThread;
using ::perfwire::testing::Thread;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(FrameSummary, HeaderAndTopThreadsByCpu) {
  TestFrame spec;
  spec.seq = 9;
  spec.interval_ns = 2'000'000'000;
  spec.with_sources = true;
  for (uint32_t i = 1; i <= 7; ++i) {
    TestThread t = Thread(i, 1, "t" + std::to_string(i), i * 100'000'000ull);
    t.voluntary_switch_count = 10;
    t.minor_fault_count = 4;
    t.read_bytes = 2048;
    t.exited = i == 2;
    spec.threads.push_back(t);
  }
  auto message = BuildFrame(spec);
  const std::string text =
      FormatFrameSummary(*fb::GetSizePrefixedFrame(message->data()), 5);
  EXPECT_THAT(text,
              HasSubstr("seq 9  interval 2.000s  threads 7 (1 exited)\n"));
  EXPECT_THAT(
      text,
      HasSubstr("\nsources: threads (tp_btf)\n  io unavailable: no BTF\n"));
  // tid 7: 0.7 s of 2 s = 35%, 10 switches / 2 s, 4 faults / 2 s, 1 KiB/s.
  EXPECT_THAT(
      text, ::testing::ContainsRegex("\n +7 +1 t7 +35.0 +5.0 +2.0 +1.0K +0\n"));
  EXPECT_THAT(text, HasSubstr(" t3 "));
  EXPECT_THAT(text, Not(HasSubstr(" t2 ")));
  EXPECT_THAT(text, Not(HasSubstr(" t1 ")));
}

TEST(FrameSummary, ZeroIntervalShowsNoRates) {
  TestFrame spec;
  spec.interval_ns = 0;
  spec.threads.push_back(Thread(3, 0, "x", 5));
  auto message = BuildFrame(spec);
  const std::string text =
      FormatFrameSummary(*fb::GetSizePrefixedFrame(message->data()), 5);
  EXPECT_THAT(text, ::testing::ContainsRegex("\n +3 +0 x +- +- +- +- +-\n"));
}

// A summary line stays short: the sources (long reasons included) are shown
// once, and again only when they change.
TEST(FrameSummary, SummarizerShowsSourcesOnlyWhenTheyChange) {
  auto build = [](bool with_sources) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<fb::SourceStatus>> list;
    if (with_sources) {
      list = {fb::CreateSourceStatusDirect(fbb, "threads", true, "", "tp_btf"),
              fb::CreateSourceStatusDirect(
                  fbb, "io", false,
                  "a reason far longer than anyone wants repeated on every "
                  "single frame of a live summary",
                  "")};
    }
    auto sources = fbb.CreateVector(list);
    std::vector<flatbuffers::Offset<fb::Thread>> threads = {
        fb::CreateThreadDirect(fbb, 1, 1, "a")};
    auto thread_vector = fbb.CreateVector(threads);
    fb::FrameBuilder f(fbb);
    f.add_interval_ns(1'000'000'000);
    f.add_realtime_ns(1'700'000'000'123'456'789ull);
    f.add_sources(sources);
    f.add_threads(thread_vector);
    fbb.FinishSizePrefixed(f.Finish());
    return fbb.Release();
  };
  const auto with = build(true);
  const auto without = build(false);
  const absl::Span<const uint8_t> frame(with.data(), with.size());

  FrameSummarizer summarizer({.top_threads = 5, .wall_clock = true});
  const std::string first = summarizer.Format(frame);
  const std::string second = summarizer.Format(frame);
  const std::string changed = summarizer.Format(
      absl::Span<const uint8_t>(without.data(), without.size()));
  EXPECT_THAT(
      first,
      HasSubstr("\nsources: threads (tp_btf)\n  io unavailable: a reason"));
  EXPECT_THAT(first, Not(HasSubstr("\n\n")));
  EXPECT_THAT(second, Not(HasSubstr("sources")));
  EXPECT_THAT(changed, HasSubstr("\nsources changed: none\n"));
  // The header: seq, the recorded wall-clock time, interval, threads.
  EXPECT_THAT(second, ::testing::StartsWith(
                          "seq 0  2023-11-14T22:13:20.123Z  interval 1.000s  "
                          "threads 1 (0 exited)\n"));
  for (const std::string& text : {first, second, changed}) {
    const std::string header = text.substr(0, text.find('\n'));
    EXPECT_LE(header.size(), 120u) << header;
  }
}

// The host CPU share on the header line comes from the cumulative counters
// of the frame and the one before (host_counters_frame.h: 70% of all CPUs;
// the agent's own idle_percent says 0): absent for the first frame, across
// a restart and for an agent without the counters.
TEST(FrameSummary, SummarizerShowsHostCpuFromTwoFrames) {
  HostCountersSpec spec;
  spec.length_prefix = true;
  auto next = [&](uint64_t seq, uint64_t at_seconds, bool cumulative) {
    spec.seq = seq;
    spec.at_seconds = at_seconds;
    spec.cumulative = cumulative;
    return HostCountersFrame(spec);
  };
  const std::vector<std::vector<uint8_t>> stream = {
      next(1, 100, true), next(2, 102, true), next(3, 106, true),
      next(1, 50, true),  // the agent restarted
      next(2, 52, false)};
  FrameSummarizer summarizer({.top_threads = 0});
  std::vector<std::string> headers;
  for (const std::vector<uint8_t>& message : stream) {
    const std::string text = summarizer.Format(message);
    headers.push_back(text.substr(0, text.find('\n')));
  }
  EXPECT_EQ(headers[0], "seq 1  interval 2.000s  threads absent");
  EXPECT_EQ(headers[1],
            "seq 2  interval 2.000s  host cpu 70.0%  threads absent");
  // Frames 4 s apart (one missed): the average over the span.
  EXPECT_EQ(headers[2],
            "seq 3  interval 2.000s  host cpu 70.0%  threads absent");
  EXPECT_EQ(headers[3], "seq 1  interval 2.000s  threads absent");
  EXPECT_EQ(headers[4], "seq 2  interval 2.000s  threads absent");
}

}  // namespace
}  // namespace perfwire
