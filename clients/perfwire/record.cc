// `perfwire record`: writes perfwired's frames to a checksummed file that
// `perfwire replay` and `perfwire export csv` read (clients/lib/recording.h).

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/lib/frame_stream.h"
#include "clients/lib/recording.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"

namespace perfwire {
namespace {

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire record: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

int RunRecord(const std::vector<char*>& args) {
  if (!args.empty()) {
    PrintError(absl::StrCat("unexpected argument '", args[0],
                            "' (see perfwire record --help)"));
    return 2;
  }
  const std::string path = absl::GetFlag(FLAGS_o);
  if (path.empty()) {
    PrintError("-o FILE is required");
    return 2;
  }
  const int64_t count = absl::GetFlag(FLAGS_count);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (count < 0 || duration < absl::ZeroDuration()) {
    PrintError("--count and --duration must not be negative");
    return 2;
  }
  absl::StatusOr<FrameStream> stream =
      FrameStream::Connect(absl::GetFlag(FLAGS_socket));
  if (!stream.ok()) {
    PrintError(absl::StrCat("error: ", stream.status().message()));
    return 1;
  }
  // --duration is a deadline: it holds whether or not frames arrive.
  const absl::Time deadline = duration > absl::ZeroDuration()
                                  ? absl::Now() + duration
                                  : absl::InfiniteFuture();
  std::optional<RecordingWriter> writer;
  int64_t frames = 0;
  while (count == 0 || frames < count) {
    absl::StatusOr<const fb::Frame*> frame = stream->Next(deadline);
    if (absl::IsDeadlineExceeded(frame.status())) break;
    if (absl::IsOutOfRange(frame.status())) {
      if (frames == 0) {
        PrintError(
            absl::StrCat("perfwired closed the stream before sending a frame; ",
                         path, " was not written"));
        return 1;
      }
      PrintError(absl::StrCat("perfwired closed the stream after ", frames,
                              " frames; ", path, " is complete"));
      return 0;
    }
    if (!frame.ok()) {
      PrintError(absl::StrCat("error: ", frame.status().message()));
      return 1;
    }
    if (!writer.has_value()) {
      // The header carries the agent's schema version and host.
      const fb::Frame& f = **frame;
      absl::StatusOr<RecordingWriter> created = RecordingWriter::Create(
          path, f.schema_version(),
          f.hostname() != nullptr ? f.hostname()->str() : "");
      if (!created.ok()) {
        PrintError(absl::StrCat("error: ", created.status().message()));
        return 1;
      }
      writer = *std::move(created);
    }
    if (absl::Status s = writer->Append(stream->last_message()); !s.ok()) {
      PrintError(absl::StrCat("error: ", s.message()));
      return 1;
    }
    ++frames;
  }
  if (frames == 0) {
    PrintError(absl::StrCat("no frame arrived within --duration ",
                            absl::FormatDuration(duration), "; ", path,
                            " was not written"));
    return 1;
  }
  std::fprintf(stderr, "perfwire record: wrote %lld frames to %s\n",
               static_cast<long long>(frames), path.c_str());
  return 0;
}

}  // namespace

const Command kRecordCommand = {
    .name = "record",
    .summary = "write perfwired's frames to a file for replay and export",
    .usage =
        "Usage: perfwire record -o FILE [--duration=D] [--count=N] "
        "[--socket=PATH]\n"
        "\n"
        "Connects to perfwired and appends every frame it sends to FILE\n"
        "(parent directories are created): a header (magic PWREC1, schema\n"
        "version, host name), then per frame its 4-byte length, the frame and\n"
        "a CRC32. Each frame is written as soon as it arrives, so a crash or\n"
        "a full disk loses at most the last frame; readers report and skip a\n"
        "torn tail. Stops after --count frames, when --duration has passed\n"
        "(a deadline: it holds even if no frame arrives), when perfwired\n"
        "stops, or when killed (Ctrl-C): the file is valid up to the last\n"
        "frame. No frame at all: FILE is not created. Frames above 64 MiB\n"
        "are refused as corrupt.\n"
        "Read it with `perfwire replay FILE` or `perfwire export csv FILE`.\n"
        "Exit status: 0 when done; 1 on errors or when no frame arrived; 2\n"
        "for bad usage.",
    .flags = {"o", "duration", "count", "socket"},
    .run = RunRecord,
};

}  // namespace perfwire
