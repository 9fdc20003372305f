// perfwired: the perfwire agent. Collects one frame per interval from its
// sources and streams it to every consumer on a local Unix socket.

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/app_metrics/app_metrics_source.h"
#include "agent/bpf/libbpf_util.h"
#include "agent/collector.h"
#include "agent/contention/contention_source.h"
#include "agent/host/host_sources.h"
#include "agent/log.h"
#include "agent/preflight.h"
#include "agent/server/frame_server.h"
#include "agent/threads/thread_source.h"
#include "agent/wait_set.h"
#include "clients/lib/unique_fd.h"

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
ABSL_FLAG(uint32_t, max_threads, 0,
          "capacity of per-thread kernel maps; 0 = /proc/sys/kernel/pid_max");
ABSL_FLAG(uint32_t, exit_buffer_bytes, 0,
          "memory for thread-exit records, all CPUs (per-CPU rings of a power "
          "of two records each, at least 64); 0 = sized from max_threads");
ABSL_FLAG(bool, exit_last_slice, false,
          "also count each exiting thread's last slice, the CPU time and "
          "final switch after sched_process_exit (~20 us on average here, up "
          "to 2 ms for a process's last thread), from sched_process_free: "
          "a second BPF program per thread exit (cost: docs/BENCHMARKS.md)");
ABSL_FLAG(std::string, thread_snapshot, "auto",
          "how the threads source walks the tasks each interval: auto (one "
          "run of an open-coded task iterator on kernels >= 6.7; else "
          "iter/task), walk (that or fail), iter (iter/task, several times "
          "the cost per thread; see docs/BENCHMARKS.md)");
ABSL_FLAG(
    bool, contention, false,
    "opt-in contention source: run-queue wait, off-CPU time by cause, "
    "futex and kernel-lock waits, IO latency, wakers (slows context-switch-"
    "heavy loads; cost: docs/BENCHMARKS.md, docs/CONTENTION.md)");
ABSL_FLAG(bool, contention_futex_syscalls, false,
          "with --contention: also time FUTEX_WAIT* syscalls through "
          "sys_enter/sys_exit hooks (every syscall: costs more)");
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
    "5.8).\n\n"
    "usage: perfwired [--socket PATH] [--interval 1s] [flags]";

bool OnlyOurFlags(absl::string_view file) {
  return absl::StrContains(file, "agent/");
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
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  if (interval < absl::Milliseconds(10)) {
    LogError("--interval must be at least 10ms");
    return 2;
  }
  const absl::StatusOr<ThreadSnapshotMode> snapshot_mode =
      ParseThreadSnapshotMode(absl::GetFlag(FLAGS_thread_snapshot));
  if (!snapshot_mode.ok()) {
    LogError(snapshot_mode.status().message());
    return 2;
  }
  if (absl::Status s = CheckPrivilegesAndKernel(); !s.ok()) {
    LogError(s.message());
    return 1;
  }
  InstallLibbpfLogger();
  UniqueFd stop_fd = BlockStopSignals();

  ThreadSourceOptions thread_options;
  thread_options.snapshot = *snapshot_mode;
  thread_options.max_threads = absl::GetFlag(FLAGS_max_threads);
  thread_options.exit_buffer_bytes = absl::GetFlag(FLAGS_exit_buffer_bytes);
  thread_options.exit_last_slice = absl::GetFlag(FLAGS_exit_last_slice);
  const HostOptions host_options = HostOptionsFromFlags();
  thread_options.proc_root = host_options.proc_root;
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<ThreadSource>(thread_options));
  AddHostSources(host_options, sources);
  if (absl::GetFlag(FLAGS_contention)) {
    ContentionSourceOptions contention_options;
    contention_options.futex_syscalls =
        absl::GetFlag(FLAGS_contention_futex_syscalls);
    sources.push_back(std::make_unique<ContentionSource>(contention_options));
  }
  sources.push_back(
      std::make_unique<AppMetricsSource>(AppMetricsOptionsFromFlags()));
  Collector collector(std::move(sources));
  collector.StartSources();
  // Per-thread counters are the agent's reason to exist: without them it
  // refuses to run rather than serve empty frames.
  const SourceStatus threads = collector.sources().front()->status();
  if (!threads.available) {
    LogError(absl::StrCat("BPF refused: ", threads.reason));
    return 1;
  }
  LogInfo(absl::StrCat("threads source: ", threads.reason));

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
                       " every ", absl::FormatDuration(interval)));

  WaitSet waits;
  waits.Add(stop_fd.get(), nullptr);
  for (const auto& source : collector.sources()) {
    if (source->wakeup_fd() >= 0) waits.Add(source->wakeup_fd(), source.get());
  }

  const uint64_t interval_ns =
      static_cast<uint64_t>(absl::ToInt64Nanoseconds(interval));
  uint64_t deadline = MonotonicNs() + interval_ns;
  bool stopping = false;
  while (!stopping) {
    // Sleep until the interval ends, serving sources that need it early.
    for (;;) {
      auto ready = waits.WaitUntil(deadline);
      if (ready.stop) {
        stopping = true;
        break;
      }
      for (void* tag : ready.tags) static_cast<Source*>(tag)->OnWakeup();
      if (ready.timed_out) break;
    }
    if (stopping) break;
    (*server)->Publish(collector.CollectFrame());
    deadline += interval_ns;
    const uint64_t now = MonotonicNs();
    if (deadline <= now)
      deadline = now + interval_ns;  // fell behind: skip, don't burst
  }

  // Final frame: exits still in flight (freed one RCU grace period after
  // their last switch) get a moment to land, then everything is drained.
  collector.StopSources();
  usleep(50 * 1000);
  (*server)->Publish(collector.CollectFrame());
  (*server)->Flush(absl::Seconds(1));
  server->reset();  // flushes what it can, closes consumers, removes the socket
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace perfwire

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(perfwire::kUsage);
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = perfwire::OnlyOurFlags;
  config.contains_help_flags = perfwire::OnlyOurFlags;
  absl::SetFlagsUsageConfig(config);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "perfwired: unexpected argument '%s' (see --help)\n",
                 positional[1]);
    return 2;
  }
  perfwire::SetLogVerbose(absl::GetFlag(FLAGS_verbose));
  return perfwire::Run();
}
