// perfwired: the perfwire agent. Collects one frame per interval from its
// sources and streams it to every consumer on a local Unix socket.

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/bpf/libbpf_util.h"
#include "agent/host/host_flags.h"
#include "agent/log.h"
#include "agent/preflight.h"
#include "agent/server/frame_server.h"
#include "base/command_line.h"
#include "base/unique_fd.h"
#include "perfwire_generated.h"
#include "version/version.h"

ABSL_FLAG(std::string, socket, "/run/perfwire/perfwire.sock",
          "Unix socket path consumers connect to; its directory is created if "
          "missing");
ABSL_FLAG(std::string, socket_group, "",
          "group that may read frames (socket is mode 0660); empty keeps "
          "root's group");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1),
          "collection interval, e.g. 1s, 250ms (minimum 10ms)");
ABSL_FLAG(
    uint32_t, queue_frames, 64,
    "frames buffered per consumer; a slower consumer loses its oldest frames");
ABSL_FLAG(uint32_t, max_consumers, 64,
          "simultaneous consumers; more are refused");
// Defined with the threads source (agent/threads/thread_flags.cc): it also
// makes a failed privilege or BTF check fatal here.
ABSL_DECLARE_FLAG(bool, require_bpf);
ABSL_FLAG(bool, verbose, false,
          "log informational messages, not just warnings");

namespace perfwire {
namespace {

constexpr char kUsage[] =
    "the perfwire agent: low-overhead per-thread and host metrics.\n"
    "Counts every thread's CPU, context switches, page faults and IO from the\n"
    "kernel's own accounting (CO-RE BPF) and streams one FlatBuffers frame "
    "per\n"
    "interval on a Unix socket. Read it with `perfwire dump`.\n"
    "Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF (Linux >= "
    "5.8)\nfor that; without them per-thread data comes from /proc "
    "(--require_bpf refuses).\n\n"
    "usage: perfwired [--socket PATH] [--interval 1s] [flags]";

// perfwired's flags: those defined under agent/ (the binary also links
// Abseil's and libraries' own), sorted by name.
std::vector<absl::string_view> OurFlags() {
  std::vector<absl::string_view> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "agent/")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Blocks SIGINT/SIGTERM (inherited by every thread started later) and
// returns an fd that becomes readable when one arrives.
UniqueFd BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

int Run() {
  AgentOptions agent_options;
  agent_options.interval = absl::GetFlag(FLAGS_interval);
  if (agent_options.interval < absl::Milliseconds(10)) {
    LogError("--interval must be at least 10ms");
    return kExitUsage;
  }
  absl::StatusOr<std::vector<RegisteredSource>> sources =
      CreateSources(HostOptionsFromFlags());
  if (!sources.ok()) {
    LogError(sources.status().message());
    return kExitUsage;
  }
  const bool require_bpf = absl::GetFlag(FLAGS_require_bpf);
  if (absl::Status s = CheckPrivilegesAndKernel(); !s.ok()) {
    if (require_bpf) {
      LogError(s.message());
      return 1;
    }
    LogWarning(absl::StrCat(s.message(), " (per-thread data from /proc)"));
  }
  InstallLibbpfLogger();
  UniqueFd stop_fd = BlockStopSignals();

  Agent agent(*std::move(sources), agent_options);
  if (absl::Status s = agent.Start(); !s.ok()) {
    LogError(s.message());
    return 1;
  }

  ServerOptions server_options;
  server_options.socket_path = absl::GetFlag(FLAGS_socket);
  server_options.group = absl::GetFlag(FLAGS_socket_group);
  server_options.queue_frames = absl::GetFlag(FLAGS_queue_frames);
  server_options.max_consumers = absl::GetFlag(FLAGS_max_consumers);
  auto server = FrameServer::Start(server_options);
  if (!server.ok()) {
    LogError(server.status().message());
    return 1;
  }
  LogInfo(absl::StrCat("serving frames on ", server_options.socket_path,
                       " every ",
                       absl::FormatDuration(agent_options.interval)));

  // The server's own counts go into each frame's AgentStats.
  auto add_server_counts = [&](FrameSections& sections) {
    const FrameServer::Counters served = (*server)->TakeCounters();
    sections.AddAgentCount(fb::AgentStats::VT_WRITING_CONSUMER_COUNT,
                           served.writing_consumer_count);
    sections.AddAgentCount(fb::AgentStats::VT_REFUSED_CONSUMER_COUNT,
                           served.refused_consumer_count);
  };
  agent.Run(
      stop_fd.get(), [&](auto frame) { (*server)->Publish(frame); },
      add_server_counts);
  (*server)->Flush(absl::Seconds(1));
  server->reset();  // flushes what it can, closes consumers, removes the socket
  LogInfo("stopped");
  return 0;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  const std::vector<absl::string_view> flags = OurFlags();
  std::vector<char*> args(argv, argv + argc);
  std::vector<std::string> storage;  // rewritten arguments
  storage.reserve(args.size());      // pointers into it stay valid
  const FlagCheck check = CheckFlags(
      args, 1, flags,
      [&](absl::string_view name) -> std::string {
        const absl::string_view near = NearestName(name, flags);
        if (near.empty()) return "";
        return absl::StrCat(" (did you mean --", near, "?)");
      },
      storage);
  if (check.help) {
    std::printf("perfwired: %s\n\nFlags:\n", kUsage);
    PrintFlags(stdout, flags);
    return 0;
  }
  if (check.version) {
    std::printf("perfwired %s (git %s)\n", ProjectVersion(), GitRevision());
    return 0;
  }
  if (!check.error.empty()) {
    std::fprintf(stderr, "perfwired: %s (see --help)\n", check.error.c_str());
    return kExitUsage;
  }
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (positional.size() > 1) {
    std::fprintf(stderr, "perfwired: unexpected argument '%s' (see --help)\n",
                 positional[1]);
    return kExitUsage;
  }
  SetLogVerbose(absl::GetFlag(FLAGS_verbose));
  return Run();
}

}  // namespace
}  // namespace perfwire

int main(int argc, char** argv) { return perfwire::Main(argc, argv); }
