#include "agent/app_metrics/app_metrics_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "agent/app_metrics/app_metrics_section.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/kernelfs/numbers.h"
#include "agent/log.h"
#include "agent/self_stats.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "app_metrics";
// Check the clock only every this many datagrams.
constexpr uint32_t kClockCheckEvery = 64;

absl::Status Errno(int err, const std::string& what) {
  return absl::ErrnoToStatus(err, what);
}

absl::Status AddToEpoll(int epoll_fd, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    return Errno(errno, "epoll_ctl");
  return absl::OkStatus();
}

}  // namespace

AppMetricsSource::AppMetricsSource(AppMetricsSourceOptions options)
    : options_(std::move(options)), aggregator_(options_.limits) {
  status_.name = kSourceName;
  buffer_.resize(options_.max_datagram_bytes);
}

absl::Status AppMetricsSource::Start() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  absl::Status s = epoll_ ? absl::OkStatus() : Errno(errno, "epoll_create1");
  if (s.ok() && !options_.unix_path.empty()) s = OpenUnixSocket();
  if (s.ok() && !options_.udp_address.empty()) s = OpenUdpSocket();
  if (s.ok() && !unix_fd_ && !udp_fd_) {
    s = absl::InvalidArgumentError(
        "neither --app_socket nor --statsd_udp is set");
  }
  if (!s.ok()) {
    Stop();
    status_.available = false;
    status_.reason = std::string(s.message());
    return s;
  }
  status_.available = true;
  std::string where;
  if (unix_fd_) {
    where = absl::StrFormat("unix:%s (mode 0%o, SO_PASSCRED)",
                            options_.unix_path, options_.unix_mode);
  }
  if (udp_fd_)
    absl::StrAppend(&where, where.empty() ? "" : " + ",
                    "udp:", options_.udp_address);
  status_.reason = absl::StrCat("statsd/dogstatsd on ", where, "; max ",
                                options_.limits.max_series, " series, ",
                                options_.limits.max_memory_bytes >> 20, " MiB");
  if (unix_fd_) {
    // The kernel queues at most this many datagrams per Unix socket; senders
    // using MSG_DONTWAIT drop beyond it while the collector is busy.
    std::string qlen;
    uint64_t n = 0;
    if (KernelFs(options_.proc_root)
            .ReadProc("/sys/net/unix/max_dgram_qlen", qlen)
            .ok() &&
        ParseU64(absl::StripTrailingAsciiWhitespace(qlen), n))
      absl::StrAppend(&status_.reason, "; net.unix.max_dgram_qlen=", n);
  }
  return absl::OkStatus();
}

absl::Status AppMetricsSource::OpenUnixSocket() {
  const std::string& path = options_.unix_path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());

  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno(errno, absl::StrCat("mkdir ", dir));
    }
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " exists and is not a socket"));
    }
    // A live agent answers a connect(); a stale file refuses it.
    UniqueFd probe(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (probe && connect(probe.get(), reinterpret_cast<sockaddr*>(&addr),
                         sizeof(addr)) == 0) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " is in use by another process"));
    }
    if (unlink(path.c_str()) != 0)
      return Errno(errno, absl::StrCat("unlink ", path));
  }

  unix_fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!unix_fd_) return Errno(errno, "socket(AF_UNIX)");
  const int one = 1;
  if (setsockopt(unix_fd_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) !=
      0) {
    return Errno(errno, "setsockopt(SO_PASSCRED)");
  }
  // Best effort: FORCE needs CAP_NET_ADMIN, the plain one is capped by
  // rmem_max.
  const int rcvbuf = options_.receive_buffer_bytes;
  if (setsockopt(unix_fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
                 sizeof(rcvbuf)) != 0) {
    setsockopt(unix_fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  if (bind(unix_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return Errno(errno, absl::StrCat("bind ", path));
  }
  if (chmod(path.c_str(), options_.unix_mode) != 0) {
    return Errno(errno, absl::StrCat("chmod ", path));
  }
  if (lstat(path.c_str(), &st) == 0) unix_inode_ = st.st_ino;
  return AddToEpoll(epoll_.get(), unix_fd_.get());
}

absl::Status AppMetricsSource::OpenUdpSocket() {
  const std::string& address = options_.udp_address;
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port == 0 ||
      port > 65535 ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) !=
          1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad UDP address '", address, "': want ipv4:port"));
  }
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    return absl::InvalidArgumentError(absl::StrCat(
        "UDP address ", address,
        " is not loopback: the privileged agent listens locally only"));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  udp_fd_.reset(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!udp_fd_) return Errno(errno, "socket(AF_INET)");
  const int rcvbuf = options_.receive_buffer_bytes;
  if (setsockopt(udp_fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
                 sizeof(rcvbuf)) != 0) {
    setsockopt(udp_fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  if (bind(udp_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return Errno(errno, absl::StrCat("bind udp ", address));
  }
  return AddToEpoll(epoll_.get(), udp_fd_.get());
}

void AppMetricsSource::Stop() {
  if (unix_fd_ && unix_inode_ != 0) {
    // Unlink only the socket file we created, not a successor's.
    struct stat st {};
    if (lstat(options_.unix_path.c_str(), &st) == 0 &&
        st.st_ino == unix_inode_) {
      unlink(options_.unix_path.c_str());
    }
  }
  unix_inode_ = 0;
  unix_fd_.reset();
  udp_fd_.reset();
  epoll_.reset();
}

void AppMetricsSource::IngestDatagram(std::string_view datagram, uint32_t pid) {
  ++datagram_count_;
  const uint64_t now_ns = MonotonicNs();
  ForEachStatsdLine(datagram, [&](std::string_view line) {
    if (const char* why = ParseStatsdLine(line, &line_)) {
      if (malformed_line_count_++ == 0)
        malformed_line_sample_ = DescribeMalformedLine(line, why);
      return;
    }
    ++line_count_;
    aggregator_.Add(line_, pid, now_ns);
  });
}

void AppMetricsSource::Drain() {
  const uint64_t start_ns = MonotonicNs();
  uint32_t done = 0;
  int fds[2] = {unix_fd_.get(), udp_fd_.get()};
  bool open[2] = {unix_fd_.valid(), udp_fd_.valid()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  while (open[0] || open[1]) {
    for (int i = 0; i < 2; ++i) {
      if (!open[i]) continue;
      if (done >= options_.budget_datagrams ||
          (done % kClockCheckEvery == 0 && done > 0 &&
           MonotonicNs() - start_ns >= options_.budget_ns)) {
        ++budget_exhausted_count_;
        return;
      }
      iovec iov{buffer_.data(), buffer_.size()};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      const ssize_t n =
          recvmsg(fds[i], &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
      if (n < 0) {
        // EAGAIN: drained. Anything else (rare): try again at the next wakeup.
        open[i] = false;
        continue;
      }
      ++done;
      if (static_cast<size_t>(n) > buffer_.size() ||
          (msg.msg_flags & MSG_TRUNC)) {
        ++oversize_datagram_count_;
        continue;
      }
      uint32_t pid = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
           c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
          ucred cred;
          std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
          pid = static_cast<uint32_t>(cred.pid);
        }
      }
      IngestDatagram(std::string_view(buffer_.data(), static_cast<size_t>(n)),
                     pid);
    }
  }
}

void AppMetricsSource::OnWakeup() {
  if (status_.available) Drain();
}

void AppMetricsSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                               FrameSections& sections) {
  if (unix_fd_ || udp_fd_) Drain();
  aggregator_.ForgetExitedSenders([](uint32_t pid) {
    return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
  });
  sections.app_metrics =
      BuildAppMetricsSection(fbb, aggregator_, MonotonicNs());
  const auto sample = malformed_line_sample_.empty()
                          ? 0
                          : fbb.CreateString(malformed_line_sample_);
  fb::AppMetricsStatsBuilder b(fbb);
  b.add_datagram_count(datagram_count_);
  b.add_line_count(line_count_);
  b.add_malformed_line_count(malformed_line_count_);
  if (!sample.IsNull()) b.add_malformed_line_sample(sample);
  b.add_oversize_datagram_count(oversize_datagram_count_);
  b.add_series_overflow_count(aggregator_.TakeSeriesOverflowCount());
  b.add_memory_overflow_count(aggregator_.TakeMemoryOverflowCount());
  b.add_series_count(aggregator_.series_count());
  b.add_reserved_bytes(aggregator_.reserved_bytes());
  b.add_budget_exhausted_count(budget_exhausted_count_);
  sections.app_metrics_stats = b.Finish();
  datagram_count_ = line_count_ = malformed_line_count_ = 0;
  oversize_datagram_count_ = budget_exhausted_count_ = 0;
  malformed_line_sample_.clear();
}

}  // namespace perfwire
