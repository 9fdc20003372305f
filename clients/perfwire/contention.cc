// `perfwire contention`: where threads wait. Reads frames for --duration,
// sums the contention sections (perfwired --contention) with the threads
// section's on-CPU time, and prints threads and processes ranked by time lost
// waiting, each with a verdict and the numbers behind it.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/lib/contention_report.h"
#include "clients/lib/frame_stream.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"

ABSL_DECLARE_FLAG(bool, json);  // dump.cc
ABSL_FLAG(int64_t, pid, 0, "only this process (0: all)");
ABSL_FLAG(std::string, comm, "",
          "only threads with this name, or threads of processes with it");

namespace perfwire {
namespace {

int RunContention(const std::vector<char*>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "perfwire contention: unexpected argument '%s'\n",
                 args[0]);
    return 2;
  }
  ContentionReportOptions options;
  if (const int64_t pid = absl::GetFlag(FLAGS_pid); pid > 0) {
    options.pid = static_cast<uint32_t>(pid);
  } else if (pid < 0) {
    std::fprintf(stderr, "perfwire contention: --pid must be positive\n");
    return 2;
  }
  options.comm = absl::GetFlag(FLAGS_comm);
  absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (duration == absl::ZeroDuration()) duration = absl::Seconds(10);
  if (duration < absl::ZeroDuration()) {
    std::fprintf(stderr, "perfwire contention: --duration must be positive\n");
    return 2;
  }
  absl::StatusOr<FrameStream> stream =
      FrameStream::Connect(absl::GetFlag(FLAGS_socket));
  if (!stream.ok()) {
    std::fprintf(stderr, "perfwire contention: error: %s\n",
                 std::string(stream.status().message()).c_str());
    return 1;
  }
  ContentionAggregator aggregator(options);
  // The first frame covers an interval before we connected: skip it, then
  // sum frames until their intervals cover the duration.
  bool first = true;
  uint64_t covered_ns = 0;
  const uint64_t want_ns = absl::ToInt64Nanoseconds(duration);
  // --duration also bounds the wall time: D from the start while no frame
  // comes (a stopped agent), else D plus one second of slack from the first
  // frame, for the frame that closes the window to arrive.
  absl::Time deadline = absl::Now() + duration;
  while (covered_ns < want_ns) {
    absl::StatusOr<const fb::Frame*> frame = stream->Next(deadline);
    if (absl::IsDeadlineExceeded(frame.status())) {
      std::fprintf(stderr, "perfwire contention: %s within --duration %s\n",
                   first ? "no frame arrived" : "the agent stopped sending",
                   absl::FormatDuration(duration).c_str());
      if (covered_ns == 0) return 1;
      break;  // report what we have
    }
    if (!frame.ok()) {
      std::fprintf(stderr, "perfwire contention: %s\n",
                   absl::IsOutOfRange(frame.status())
                       ? "perfwired closed the stream"
                       : std::string(frame.status().message()).c_str());
      if (covered_ns == 0) return 1;
      break;  // report what we have
    }
    if (first) {
      first = false;
      deadline = absl::Now() + duration + absl::Seconds(1);
      continue;
    }
    aggregator.Add(**frame);
    covered_ns += (*frame)->interval_ns();
  }
  const ContentionReport report = aggregator.Finish();
  const std::string text = absl::GetFlag(FLAGS_json)
                               ? RenderContentionJson(report)
                               : RenderContentionText(report, options);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return report.source_seen ? 0 : 3;
}

}  // namespace

const Command kContentionCommand = {
    .name = "contention",
    .summary = "where threads wait: run queue, locks, IO, sleep, and wakers",
    .usage =
        "Usage: perfwire contention [--socket=PATH] [--pid=P] [--comm=NAME]\n"
        "                           [--duration=10s] [--json]\n"
        "\n"
        "Watches for --duration and ranks threads and processes by time lost\n"
        "waiting (run queue + futex/kernel-lock + IO wait), with each one's\n"
        "wall-time breakdown, run-queue latency p50/p99, a verdict "
        "(cpu-bound,\n"
        "cpu-starved, lock-bound, io-bound, idle, balanced) and the numbers\n"
        "behind it, plus the top waker -> wakee pairs. Needs perfwired\n"
        "--contention (exit 3 when the frames carry no contention data).\n"
        "--duration is also a deadline: with no frame the command ends after\n"
        "D (exit 1); once frames flow, by D + 1s after the first one.\n"
        "Exit status: 0 report printed; 1 no data or stream error; 2 bad\n"
        "usage; 3 frames without contention data.",
    .flags = {"socket", "pid", "comm", "duration", "json"},
    .run = RunContention,
};

}  // namespace perfwire
