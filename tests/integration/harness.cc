#include "tests/integration/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "base/unique_fd.h"
#include "clients/lib/frame_stream.h"

namespace perfwire::testing {

bool InCi() {
  const char* ci = getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

std::string BpfUnavailableReason() {
  if (geteuid() != 0) return "BPF integration tests need root";
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) return "kernel has no BTF";
  return "";
}

std::string WorkloadPath(const std::string& name) {
  return std::string(PERFWIRE_WORKLOAD_DIR) + "/" + name;
}
std::string AgentPath() { return std::string(PERFWIRE_BIN_DIR) + "/perfwired"; }

TempDir::TempDir() {
  char tmpl[] = "/tmp/perfwire-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Child::Child(const std::string& binary, const std::vector<std::string>& args) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  stdout_fd_ = out[0];
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::string Child::ReadLineStartingWith(const std::string& prefix) {
  for (;;) {
    size_t nl;
    while ((nl = buffered_.find('\n')) != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0) return line;
    }
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

int Child::Finish(std::string* rest) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffered_.append(buf, static_cast<size_t>(n));
  }
  if (rest) *rest = std::move(buffered_);
  buffered_.clear();
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Child::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

bool Child::Running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

Agent::Agent(const std::string& interval, std::vector<std::string> extra) {
  socket_ = dir_.path() + "/perfwire.sock";
  // Private sockets so tests never touch a real agent's; `extra` comes
  // later and wins (Abseil keeps the last value of a repeated flag).
  std::vector<std::string> args = {"--socket=" + socket_,
                                   "--app_socket=" + dir_.path() + "/app.sock",
                                   "--interval=" + interval};
  args.insert(args.end(), extra.begin(), extra.end());
  child_ = std::make_unique<Child>(AgentPath(), args);
  for (int i = 0; i < 200; ++i) {
    if (access(socket_.c_str(), F_OK) == 0) {
      started_ = true;
      return;
    }
    if (!child_->Running()) {
      error_ = "perfwired exited during startup (see its stderr above)";
      return;
    }
    usleep(50 * 1000);
  }
  error_ = "perfwired did not create its socket within 10 s";
}

Agent::~Agent() {
  if (child_ && child_->Running()) Stop();
}

int Agent::Stop() {
  child_->Signal(SIGTERM);
  return child_->Finish(nullptr);
}

FrameTotals::FrameTotals(const std::string& socket) {
  reader_ = std::thread(&FrameTotals::Run, this, socket);
}

FrameTotals::~FrameTotals() {
  stop_ = true;
  if (int fd = fd_.load(); fd >= 0) shutdown(fd, SHUT_RDWR);
  reader_.join();
}

void FrameTotals::Run(std::string socket) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    absl::MutexLock lock(&mu_);
    error_ = std::string("connect: ") + strerror(errno);
    return;
  }
  fd_ = fd.get();
  FrameStream stream = FrameStream::FromFd(std::move(fd));
  while (!stop_) {
    auto frame = stream.Next();
    if (!frame.ok()) {
      absl::MutexLock lock(&mu_);
      if (!stop_ && frame.status().code() != absl::StatusCode::kOutOfRange) {
        error_ = std::string(frame.status().message());
      }
      return;
    }
    absl::MutexLock lock(&mu_);
    ++frames_;
    if ((*frame)->agent()) {
      agent_thread_count_ = (*frame)->agent()->thread_count();
      lost_ += (*frame)->agent()->lost_event_count();
      exit_without_final_ += (*frame)->agent()->exit_without_final_count();
    }
    if (!(*frame)->threads()) continue;
    for (const fb::Thread* t : *(*frame)->threads()) {
      ThreadTotals& tt = totals_[t->tid()];
      tt.pid = t->pid();
      if (t->comm()) tt.comm = t->comm()->str();
      ++tt.rows;
      tt.exited_rows += t->exited();
      ThreadCounters c;
      c.on_cpu_ns = t->on_cpu_ns();
      if (!t->exited()) tt.live_on_cpu_ns.push_back(c.on_cpu_ns);
      c.voluntary_switch_count = t->voluntary_switch_count();
      c.involuntary_switch_count = t->involuntary_switch_count();
      c.minor_fault_count = t->minor_fault_count();
      c.major_fault_count = t->major_fault_count();
      c.read_bytes = t->read_bytes();
      c.write_bytes = t->write_bytes();
      c.block_read_bytes = t->block_read_bytes();
      c.block_write_bytes = t->block_write_bytes();
      c.block_read_op_count = t->block_read_op_count();
      c.block_write_op_count = t->block_write_op_count();
      tt.sum += c;
    }
  }
}

void FrameTotals::WaitFrames(int n) {
  uint64_t target;
  {
    absl::MutexLock lock(&mu_);
    target = frames_ + static_cast<uint64_t>(n);
  }
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return frames_ >= target || !error_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30));
}

std::map<uint32_t, ThreadTotals> FrameTotals::Snapshot() {
  absl::MutexLock lock(&mu_);
  return totals_;
}
uint64_t FrameTotals::last_agent_thread_count() {
  absl::MutexLock lock(&mu_);
  return agent_thread_count_;
}
uint64_t FrameTotals::lost_event_total() {
  absl::MutexLock lock(&mu_);
  return lost_;
}
uint64_t FrameTotals::exit_without_final_total() {
  absl::MutexLock lock(&mu_);
  return exit_without_final_;
}
uint64_t FrameTotals::frames() {
  absl::MutexLock lock(&mu_);
  return frames_;
}
std::string FrameTotals::error() {
  absl::MutexLock lock(&mu_);
  return error_;
}

std::map<std::string, std::string> ParseFields(const std::string& line) {
  std::map<std::string, std::string> out;
  for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(word, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

uint64_t Field(const std::map<std::string, std::string>& fields,
               const std::string& key) {
  auto it = fields.find(key);
  uint64_t v = 0;
  if (it == fields.end() || !absl::SimpleAtoi(it->second, &v))
    return UINT64_MAX;
  return v;
}

}  // namespace perfwire::testing
