#ifndef PERFWIRE_TESTS_WORKLOADS_TRUTH_H_
#define PERFWIRE_TESTS_WORKLOADS_TRUTH_H_

// Shared, header-only support for the ground-truth workloads (each workload is
// one .cc linked with pthreads only, so nothing here may need Abseil or the
// agent). The /proc parsing below is deliberately independent of the agent's
// reader: ground truth must not share code with what it checks.
//
// Protocol for one worker (TruthWorker):
//   1. the worker runs its work and nothing else (no printing, no /proc);
//   2. it calls getrusage(RUSAGE_THREAD) on itself and parks on a condition
//      variable, telling main that it is parked;
//   3. main reads /proc/self/task/<tid>/{schedstat,status,stat,io} for it,
//      keeps it parked for `hold_ms` (0 unless asked: lets a poller of /proc
//      see the final counts of a live thread), then releases it; the worker
//      returns at once and main joins it;
//   4. after all joins main prints one `truth ...` line per worker.
// The /proc figures therefore include the park (typically one more voluntary
// switch than ru_nvcsw) but no exit work.

#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace perfwire::workload {

// Prints `message` (and strerror(errno) if `with_errno`) to stderr, exits 1.
[[noreturn]] inline void Die(const std::string& message,
                             bool with_errno = false) {
  if (with_errno) {
    std::fprintf(stderr, "error: %s: %s\n", message.c_str(),
                 std::strerror(errno));
  } else {
    std::fprintf(stderr, "error: %s\n", message.c_str());
  }
  std::exit(1);
}

inline pid_t GetTid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

inline void SleepMs(uint64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000),
              static_cast<long>((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Burns CPU until `ns` of CLOCK_MONOTONIC time have passed. No syscalls
// (clock_gettime is a vDSO call).
inline void SpinFor(uint64_t ns) {
  const uint64_t end = MonotonicNs() + ns;
  volatile uint64_t sink = 0;
  while (MonotonicNs() < end) {
    for (int i = 0; i < 1000; ++i) sink = sink + i;
  }
}

// `--name=value` flags with unsigned integer or string values. Every flag
// must be declared with a default before Parse(); unknown or malformed flags
// print `usage:` and exit 2. `--start-delay-ms` is always declared.
class Flags {
 public:
  explicit Flags(std::string program) : program_(std::move(program)) {
    Declare("start-delay-ms", "0");
  }

  void Declare(const std::string& name, const std::string& default_value) {
    values_[name] = default_value;
    defaults_[name] = default_value;
  }

  void Parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      const size_t eq = arg.find('=');
      if (arg.rfind("--", 0) != 0 || eq == std::string::npos) Usage(arg);
      const std::string name = arg.substr(2, eq - 2);
      if (values_.count(name) == 0) Usage(arg);
      values_[name] = arg.substr(eq + 1);
    }
  }

  std::string Str(const std::string& name) const { return values_.at(name); }

  uint64_t U64(const std::string& name) const {
    const std::string& text = values_.at(name);
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0) {
      Usage("--" + name + "=" + text);
    }
    return v;
  }

 private:
  [[noreturn]] void Usage(const std::string& bad) const {
    std::fprintf(stderr, "bad flag: %s\nusage: %s", bad.c_str(),
                 program_.c_str());
    for (const auto& [name, value] : defaults_) {
      std::fprintf(stderr, " [--%s=%s]", name.c_str(), value.c_str());
    }
    std::fprintf(stderr, "\n");
    std::exit(2);
  }

  std::string program_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> defaults_;
};

// Prints `ready pid=<pid>` (flushed), then sleeps --start-delay-ms.
inline void AnnounceReadyAndDelay(const Flags& flags) {
  std::printf("ready pid=%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  SleepMs(flags.U64("start-delay-ms"));
}

// The kernel's per-thread counters as /proc shows them.
struct ProcCounters {
  uint64_t on_cpu_ns = 0;
  uint64_t nvcsw = 0;
  uint64_t nivcsw = 0;
  uint64_t min_flt = 0;
  uint64_t maj_flt = 0;
  uint64_t rchar = 0;
  uint64_t wchar = 0;
};

inline std::string SlurpOrDie(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot open " + path, true);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Value of the `key:` line of a status/io style file, or dies.
inline uint64_t KeyValueOrDie(const std::string& text, const std::string& key,
                              const std::string& path) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  Die(path + ": no " + key + " line");
}

// Reads /proc/self/task/<tid>/{schedstat,status,stat,io}; dies on failure.
inline ProcCounters ReadProcCountersOrDie(pid_t tid) {
  const std::string dir = "/proc/self/task/" + std::to_string(tid) + "/";
  ProcCounters c;
  c.on_cpu_ns = std::strtoull(SlurpOrDie(dir + "schedstat").c_str(), nullptr,
                              10);  // field 1
  const std::string status = SlurpOrDie(dir + "status");
  c.nvcsw = KeyValueOrDie(status, "voluntary_ctxt_switches", dir + "status");
  c.nivcsw =
      KeyValueOrDie(status, "nonvoluntary_ctxt_switches", dir + "status");
  // comm (field 2) may hold spaces and ')': fields 3.. follow the last ')'.
  const std::string stat = SlurpOrDie(dir + "stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) Die(dir + "stat: no ')'");
  std::istringstream fields(stat.substr(paren + 1));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string word; fields >> word;) f.push_back(word);
  if (f.size() < 10) Die(dir + "stat: too few fields");
  c.min_flt = std::strtoull(f[10 - 3].c_str(), nullptr, 10);
  c.maj_flt = std::strtoull(f[12 - 3].c_str(), nullptr, 10);
  const std::string io = SlurpOrDie(dir + "io");
  c.rchar = KeyValueOrDie(io, "rchar", dir + "io");
  c.wchar = KeyValueOrDie(io, "wchar", dir + "io");
  return c;
}

// One worker thread under the park protocol. Start() runs `work` on a new
// thread; Finish() (from main, once) waits until the worker parked, reads its
// /proc counters, keeps it parked `hold_ms` more, releases and joins it, and
// returns its `truth` line.
// Expect() adds `expected_<name>=<value>` fields known by construction.
class TruthWorker {
 public:
  TruthWorker(std::string role, std::function<void()> work)
      : role_(std::move(role)), work_(std::move(work)) {}
  TruthWorker(const TruthWorker&) = delete;
  TruthWorker& operator=(const TruthWorker&) = delete;
  ~TruthWorker() {
    if (thread_.joinable()) Finish();
  }

  void Start() {
    thread_ = std::thread([this] {
      work_();
      Park();
    });
  }

  void Expect(const std::string& name, uint64_t value) {
    expected_.emplace_back(name, value);
  }

  std::string Finish(uint64_t hold_ms = 0) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return parked_; });
    }
    const ProcCounters c = ReadProcCountersOrDie(tid_);
    SleepMs(hold_ms);
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    thread_.join();
    char buf[1024];
    std::snprintf(
        buf, sizeof(buf),
        "truth tid=%d pid=%d role=%s on_cpu_ns=%" PRIu64
        " voluntary_switch_count=%" PRIu64 " involuntary_switch_count=%" PRIu64
        " minor_fault_count=%" PRIu64 " major_fault_count=%" PRIu64
        " read_bytes=%" PRIu64 " write_bytes=%" PRIu64
        " ru_nvcsw=%ld ru_nivcsw=%ld ru_minflt=%ld ru_majflt=%ld",
        static_cast<int>(tid_), static_cast<int>(getpid()), role_.c_str(),
        c.on_cpu_ns, c.nvcsw, c.nivcsw, c.min_flt, c.maj_flt, c.rchar, c.wchar,
        ru_.ru_nvcsw, ru_.ru_nivcsw, ru_.ru_minflt, ru_.ru_majflt);
    std::string line = buf;
    for (const auto& [name, value] : expected_) {
      line += " expected_" + name + "=" + std::to_string(value);
    }
    return line;
  }

 private:
  // Runs on the worker: rusage first, then park until released.
  void Park() {
    const pid_t tid = GetTid();
    rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    std::unique_lock<std::mutex> lock(mu_);
    tid_ = tid;
    ru_ = ru;
    parked_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }

  const std::string role_;
  const std::function<void()> work_;
  std::vector<std::pair<std::string, uint64_t>> expected_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool parked_ = false;    // guarded by mu_
  bool released_ = false;  // guarded by mu_
  pid_t tid_ = 0;          // guarded by mu_, written once before parked_
  rusage ru_{};            // guarded by mu_, written once before parked_
};

// Prints the lines on stdout, one per line, and flushes.
inline void PrintLines(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace perfwire::workload

#endif  // PERFWIRE_TESTS_WORKLOADS_TRUTH_H_
