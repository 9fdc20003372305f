// `perfwire export csv`: frames from perfwired or a recording as CSV.
// Reached through the format table in export.cc.

#include <errno.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "clients/lib/csv_writer.h"
#include "clients/lib/frame_stream.h"
#include "clients/lib/recording.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"
#include "clients/perfwire/export.h"

ABSL_FLAG(bool, live, false,
          "read frames from perfwired (--socket) instead of a recording");

namespace perfwire {
namespace {

// Exit status after a torn or corrupt recording (every whole frame before
// the damage is written).
constexpr int kExitDamaged = 3;

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire export: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

// Owns the output FILE*.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

int RunExportCsv(const std::vector<char*>& args) {
  const bool live = absl::GetFlag(FLAGS_live);
  if (live == (args.size() == 1)) {
    PrintError("give either --live or one recording FILE (see --help)");
    return 2;
  }
  if (args.size() > 1) {
    PrintError(absl::StrCat("unexpected argument '", args[1], "'"));
    return 2;
  }
  const std::string out_path = absl::GetFlag(FLAGS_o);
  if (out_path.empty()) {
    PrintError("-o OUT.csv (or -o - for stdout) is required");
    return 2;
  }
  const int64_t count = absl::GetFlag(FLAGS_count);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (count < 0 || duration < absl::ZeroDuration()) {
    PrintError("--count and --duration must not be negative");
    return 2;
  }
  const bool threads = absl::GetFlag(FLAGS_threads);

  std::optional<FrameStream> stream;
  std::optional<RecordingReader> reader;
  if (live) {
    absl::StatusOr<FrameStream> s =
        FrameStream::Connect(absl::GetFlag(FLAGS_socket));
    if (!s.ok()) {
      PrintError(absl::StrCat("error: ", s.status().message()));
      return 1;
    }
    stream = *std::move(s);
  } else {
    absl::StatusOr<RecordingReader> r = RecordingReader::Open(args[0]);
    if (!r.ok()) {
      PrintError(absl::StrCat("error: ", r.status().message()));
      return 1;
    }
    reader = *std::move(r);
  }

  // "-o -" writes stdout; anything else is a file (parents created).
  const bool to_stdout = out_path == "-";
  const std::string out_name = to_stdout ? "stdout" : out_path;
  std::unique_ptr<std::FILE, FileCloser> out;
  if (to_stdout) {
    out.reset(stdout);
  } else {
    const std::filesystem::path parent =
        std::filesystem::path(out_path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        PrintError(absl::StrCat("error: create directory ", parent.string(),
                                ": ", ec.message()));
        return 1;
      }
    }
    out.reset(std::fopen(out_path.c_str(), "w"));
    if (out == nullptr) {
      PrintError(
          absl::StrCat("error: open ", out_path, ": ", std::strerror(errno)));
      return 1;
    }
  }
  auto write = [&](const std::string& text) {
    return std::fwrite(text.data(), 1, text.size(), out.get()) == text.size();
  };
  if (!write(CsvRow(threads ? ThreadCsvHeader() : HostCsvHeader()))) {
    PrintError(absl::StrCat("error: write ", out_name));
    return 1;
  }

  // --duration is a deadline for --live: it holds whether or not frames
  // arrive. A recording is read to its end (or --count).
  const absl::Time deadline = duration > absl::ZeroDuration()
                                  ? absl::Now() + duration
                                  : absl::InfiniteFuture();
  int64_t frames = 0;
  int status = 0;
  // The frame before, as it came (rates are derived from two frames).
  std::vector<uint8_t> previous;
  while (count == 0 || frames < count) {
    if (!live && absl::Now() >= deadline) break;
    absl::StatusOr<const fb::Frame*> frame =
        live ? stream->Next(deadline) : reader->Next();
    if (live && absl::IsDeadlineExceeded(frame.status())) {
      if (frames == 0) {
        PrintError(absl::StrCat("no frame arrived within --duration ",
                                absl::FormatDuration(duration)));
        status = 1;
      }
      break;
    }
    if (absl::IsOutOfRange(frame.status())) {
      if (live) PrintError("perfwired closed the stream");
      break;
    }
    if (absl::IsDataLoss(frame.status()) && !live) {
      // Torn tail: every whole frame before it is written; say so.
      PrintError(frame.status().message());
      status = kExitDamaged;
      break;
    }
    if (!frame.ok()) {
      PrintError(absl::StrCat("error: ", frame.status().message()));
      status = 1;
      break;
    }
    std::string text;
    if (threads) {
      for (const auto& row : ThreadCsvRows(**frame)) text += CsvRow(row);
    } else {
      text = CsvRow(HostCsvRow(previous.empty()
                                   ? nullptr
                                   : fb::GetSizePrefixedFrame(previous.data()),
                               **frame));
      const absl::Span<const uint8_t> message =
          live ? stream->last_message() : reader->last_message();
      previous.assign(message.begin(), message.end());
    }
    if (!write(text) || std::fflush(out.get()) != 0) {
      PrintError(
          absl::StrCat("error: write ", out_name, ": ", std::strerror(errno)));
      return 1;
    }
    ++frames;
  }
  if (std::fclose(out.release()) != 0) {
    PrintError(absl::StrCat("error: close ", out_name));
    return 1;
  }
  std::fprintf(stderr, "perfwire export: wrote %lld intervals to %s\n",
               static_cast<long long>(frames), out_name.c_str());
  return status;
}

}  // namespace perfwire
