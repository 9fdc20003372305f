// `perfwire replay`: plays a recording to stdout, or serves it on a Unix
// socket in perfwired's wire format so every consumer can read it.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/send_all.h"
#include "base/unique_fd.h"
#include "base/unix_socket.h"
#include "clients/lib/frame_json.h"
#include "clients/lib/frame_summary.h"
#include "clients/lib/recording.h"
#include "clients/lib/wire.h"
#include "clients/perfwire/command.h"
#include "clients/perfwire/common_flags.h"

ABSL_DECLARE_FLAG(bool, json);  // dump.cc
ABSL_FLAG(double, speed, 0,
          "replay speed: frames are paced by their monotonic_ns divided by "
          "this; 0 replays as fast as possible");
ABSL_FLAG(std::string, serve, "",
          "serve the recording on this Unix socket, in perfwired's wire "
          "format, to each client that connects (until Ctrl-C)");

namespace perfwire {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire replay: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

// Exit status after a torn or corrupt recording (every whole frame before
// the damage was played).
constexpr int kExitDamaged = 3;

// At most this many clients are served at once; more are refused (closed).
constexpr int kMaxServeClients = 16;

// Sends each frame of `path` to `sink` (which returns false to stop),
// paced by `speed`. Returns 0, 1 on an error, or kExitDamaged after a torn
// or corrupt record (each printed).
int Play(
    const std::string& path, double speed,
    const std::function<bool(const RecordingReader&, const fb::Frame&)>& sink) {
  absl::StatusOr<RecordingReader> reader = RecordingReader::Open(path);
  if (!reader.ok()) {
    PrintError(absl::StrCat("error: ", reader.status().message()));
    return 1;
  }
  std::optional<uint64_t> first_ns;
  const absl::Time start = absl::Now();
  while (!g_stop) {
    absl::StatusOr<const fb::Frame*> frame = reader->Next();
    if (absl::IsOutOfRange(frame.status())) break;
    if (absl::IsDataLoss(frame.status())) {
      PrintError(frame.status().message());  // torn tail: keep what we had
      return kExitDamaged;
    }
    if (!frame.ok()) {
      PrintError(absl::StrCat("error: ", frame.status().message()));
      return 1;
    }
    if (speed > 0) {
      const uint64_t ns = (*frame)->monotonic_ns();
      if (!first_ns.has_value()) first_ns = ns;
      const double offset_ns =
          ns > *first_ns ? static_cast<double>(ns - *first_ns) / speed : 0;
      const absl::Time due = start + absl::Nanoseconds(offset_ns);
      const absl::Duration wait = due - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    }
    if (!sink(*reader, **frame)) break;
  }
  return 0;
}

int Serve(const std::string& path, const std::string& socket_path,
          double speed) {
  // Check the file before listening.
  if (absl::StatusOr<RecordingReader> r = RecordingReader::Open(path);
      !r.ok()) {
    PrintError(absl::StrCat("error: ", r.status().message()));
    return 1;
  }
  // The same rules as perfwired's socket: a stale socket is replaced, a live
  // one (a running perfwired, another replay) is refused, never taken over.
  UnixSocketOptions socket_options;
  socket_options.mode = 0660;
  absl::StatusOr<BoundUnixSocket> listener =
      BindUnixSocket(socket_path, socket_options);
  if (!listener.ok()) {
    PrintError(absl::StrCat("error: --serve: ", listener.status().message()));
    return absl::IsInvalidArgument(listener.status()) ? 2 : 1;
  }
  std::fprintf(stderr, "perfwire replay: serving %s on %s (Ctrl-C stops)\n",
               path.c_str(), socket_path.c_str());
  int status = 0;
  // Clients being served. The detached client threads may outlive this
  // function, so they share ownership of the counter.
  auto active = std::make_shared<std::atomic<int>>(0);
  while (!g_stop) {
    UniqueFd client(::accept4(listener->fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) {
      if (errno == EINTR) continue;
      PrintError(absl::ErrnoToStatus(errno, "accept").message());
      status = 1;
      break;
    }
    if (active->load() >= kMaxServeClients) {
      PrintError(absl::StrCat("refused a client: ", kMaxServeClients,
                              " are already being served"));
      continue;  // closes it
    }
    active->fetch_add(1);
    // Each client gets the whole recording from the start, in its own
    // thread, so `top` and `dump` can read the same replay at once. The
    // thread blocks SIGINT/SIGTERM (inherited mask) so they interrupt
    // accept() here.
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    std::thread(
        [path, speed, active](UniqueFd fd) {
          Play(path, speed,
               [&fd](const RecordingReader& reader, const fb::Frame&) {
                 return SendAll(fd.get(), reader.last_message()).ok();
               });
          fd.reset();
          active->fetch_sub(1);
        },
        std::move(client))
        .detach();
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  }
  ::unlink(socket_path.c_str());
  return status;
}

int RunReplay(const std::vector<char*>& args) {
  if (args.size() != 1) {
    PrintError("expected exactly one FILE (see perfwire replay --help)");
    return 2;
  }
  const std::string path = args[0];
  const double speed = absl::GetFlag(FLAGS_speed);
  if (!(speed >= 0)) {
    PrintError("--speed must be 0 (as fast as possible) or more");
    return 2;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;  // no SA_RESTART: accept/sleep return EINTR
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  if (const std::string serve = absl::GetFlag(FLAGS_serve); !serve.empty()) {
    return Serve(path, serve, speed);
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
  FrameSummarizer summarizer({.top_threads = 5, .wall_clock = true});
  int status = 0;
  const int played = Play(
      path, speed,
      [&](const RecordingReader& reader, const fb::Frame& /*frame*/) {
        std::string text;
        if (json.has_value()) {
          absl::StatusOr<std::string> line =
              json->ToJson(reader.last_message().data() + kWirePrefixBytes);
          if (!line.ok()) {
            PrintError(absl::StrCat("error: ", line.status().message()));
            status = 1;
            return false;
          }
          text = *std::move(line) + "\n";
        } else {
          text = summarizer.Format(reader.last_message());
        }
        if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
            std::fflush(stdout) != 0) {
          if (errno != EPIPE) status = 1;
          return false;
        }
        return true;
      });
  return played != 0 ? played : status;
}

}  // namespace

const Command kReplayCommand = {
    .name = "replay",
    .summary = "play a recording to stdout, or serve it on a socket",
    .usage =
        "Usage: perfwire replay FILE [--json] [--speed=X] [--serve=SOCKET]\n"
        "\n"
        "Reads a file written by `perfwire record` and prints each frame as\n"
        "`perfwire dump` does (a summary, or JSON Lines with --json); each\n"
        "summary shows the frame's recorded wall-clock time (RFC 3339 UTC).\n"
        "--speed paces frames by their recorded monotonic time divided by X\n"
        "(1 = real time); the default 0 plays as fast as possible.\n"
        "With --serve, listens on SOCKET instead and sends the recording, in\n"
        "perfwired's wire format, to each client that connects, so\n"
        "`perfwire dump|top|export --socket SOCKET` read recorded data.\n"
        "At most 16 clients are served at once; more are refused (closed).\n"
        "A torn or corrupt tail (crash, full disk) is reported on stderr and\n"
        "skipped; every complete frame before it is played.\n"
        "Exit status: 0 when done; 1 on errors; 2 for bad usage; 3 when the\n"
        "recording is torn or corrupt (after playing every whole frame).",
    .flags = {"json", "speed", "serve"},
    .run = RunReplay,
};

}  // namespace perfwire
