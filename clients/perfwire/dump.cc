// `perfwire dump`: prints every frame perfwired sends, as a short summary or
// as JSON Lines.

#include <errno.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "clients/lib/frame_json.h"
#include "clients/lib/frame_stream.h"
#include "clients/lib/frame_summary.h"
#include "clients/lib/wire.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"

ABSL_FLAG(bool, json, false,
          "print each frame as one JSON object per line (JSON Lines), with "
          "the schema's field names, instead of a summary");

namespace perfwire {
namespace {

constexpr int kTopThreads = 5;

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire dump: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

// Writes and flushes; returns 0 or the errno of the failed write.
int WriteOut(absl::string_view text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    return errno != 0 ? errno : EIO;
  }
  return 0;
}

int RunDump(const std::vector<char*>& args) {
  if (!args.empty()) {
    PrintError(absl::StrCat("unexpected argument '", args[0],
                            "' (see perfwire dump --help)"));
    return 2;
  }
  const int64_t count = absl::GetFlag(FLAGS_count);
  if (count < 0) {
    PrintError("--count must be 0 (no limit) or more");
    return 2;
  }
  std::optional<FrameJson> json;
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<FrameJson> created = FrameJson::Create();
    if (!created.ok()) {
      PrintError(absl::StrCat("error: ", created.status().message()));
      return 1;
    }
    json = *std::move(created);
  }
  absl::StatusOr<FrameStream> stream =
      FrameStream::Connect(absl::GetFlag(FLAGS_socket));
  if (!stream.ok()) {
    PrintError(absl::StrCat("error: ", stream.status().message()));
    return 1;
  }

  FrameSummarizer summarizer({.top_threads = kTopThreads});
  uint64_t dropped_reported = 0;
  for (int64_t frames = 0; count == 0 || frames < count; ++frames) {
    absl::StatusOr<const fb::Frame*> frame = stream->Next();
    if (absl::IsOutOfRange(frame.status())) {
      PrintError(absl::StrCat("perfwired closed the stream after ", frames,
                              " frames"));
      return 1;
    }
    if (!frame.ok()) {
      PrintError(absl::StrCat("error: ", frame.status().message()));
      return 1;
    }
    const uint64_t dropped = (*frame)->consumer_dropped_frame_count();
    if (dropped > dropped_reported) {
      PrintError(absl::StrCat(dropped - dropped_reported,
                              " frames dropped: reading too slowly"));
      dropped_reported = dropped;
    }
    std::string text;
    if (json.has_value()) {
      absl::StatusOr<std::string> line =
          json->ToJson(stream->last_message().data() + kWirePrefixBytes);
      if (!line.ok()) {
        PrintError(absl::StrCat("error: ", line.status().message()));
        return 1;
      }
      text = *std::move(line) + "\n";
    } else {
      text = summarizer.Format(stream->last_message());
    }
    if (const int err = WriteOut(text); err != 0) {
      if (err == EPIPE) return 0;  // the reader went away: done
      PrintError(absl::StrCat(
          "error: ", absl::ErrnoToStatus(err, "write to stdout").message()));
      return 1;
    }
  }
  return 0;
}

}  // namespace

const Command kDumpCommand = {
    .name = "dump",
    .summary = "print each frame perfwired sends: a summary, or JSON Lines",
    .usage =
        "Usage: perfwire dump [--socket=PATH] [--count=N] [--json]\n"
        "\n"
        "Connects to perfwired and prints every frame it sends. By default\n"
        "one short header line per frame (seq, interval, threads, the\n"
        "agent's own cost), a sources line for the first frame and whenever\n"
        "the sources change, and the 5 threads with the most CPU time: CPU% "
        "of\n"
        "one core, context switches/s, page faults/s, read and write bytes/s.\n"
        "With --json, each frame is one JSON object per line.\n"
        "Frames lost because this reader was too slow are reported on stderr.\n"
        "Exit status: 0 after --count frames or when stdout is closed; 1 if\n"
        "the stream ends, breaks or cannot be opened; 2 for bad usage.",
    .flags = {"socket", "count", "json"},
    .run = RunDump,
};

}  // namespace perfwire
