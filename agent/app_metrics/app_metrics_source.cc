#include "agent/app_metrics/app_metrics_source.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
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
#include "base/clock.h"
#include "base/errno_status.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "app_metrics";
// Check the clock only every this many datagrams.
constexpr uint32_t kClockCheckEvery = 64;

// Best effort: FORCE needs CAP_NET_ADMIN, the plain one is capped by
// net.core.rmem_max.
void SetReceiveBuffer(int fd, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  }
}

absl::Status AddToEpoll(int epoll_fd, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    return ErrnoStatus(errno, "epoll_ctl");
  return absl::OkStatus();
}

}  // namespace

AppMetricsSource::AppMetricsSource(AppMetricsSourceOptions options)
    : options_(std::move(options)), aggregator_(options_.limits) {
  status_.name = kSourceName;
  buffer_.resize(options_.max_datagram_bytes);
}

AppMetricsSource::~AppMetricsSource() { Stop(); }

absl::Status AppMetricsSource::Start() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  absl::Status s =
      epoll_ ? absl::OkStatus() : ErrnoStatus(errno, "epoll_create1");
  if (s.ok() && !options_.unix_path.empty()) s = OpenUnixSocket();
  if (s.ok() && !options_.udp_address.empty()) s = OpenUdpSocket();
  if (s.ok() && !unix_socket_.valid() && !udp_fd_) {
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
  if (unix_socket_.valid()) {
    where = absl::StrFormat("unix:%s (mode 0%o, SO_PASSCRED)",
                            options_.unix_path, options_.unix_mode);
  }
  if (udp_fd_)
    absl::StrAppend(&where, where.empty() ? "" : " + ",
                    "udp:", options_.udp_address);
  status_.reason = absl::StrCat(
      "statsd/dogstatsd on ", where, "; max ", options_.limits.max_series,
      " series, ", options_.limits.max_memory_bytes >> 20, " MiB, ",
      std::min<uint32_t>(options_.limits.sender_share_percent, 100),
      "% per sender; signed gauges ",
      options_.limits.signed_gauge == SignedGauge::kSet ? "set" : "delta");
  if (unix_socket_.valid()) {
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
  UnixSocketOptions socket_options;
  socket_options.type = SOCK_DGRAM;
  socket_options.nonblocking = true;
  socket_options.mode = options_.unix_mode;
  socket_options.before_bind = [this](int fd) {
    const int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
      return ErrnoStatus(errno, "setsockopt(SO_PASSCRED)");
    }
    SetReceiveBuffer(fd, options_.receive_buffer_bytes);
    return absl::OkStatus();
  };
  absl::StatusOr<BoundUnixSocket> sock =
      BindUnixSocket(options_.unix_path, socket_options);
  if (!sock.ok()) return sock.status();
  unix_socket_ = *std::move(sock);
  return AddToEpoll(epoll_.get(), unix_socket_.fd());
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
  if (!udp_fd_) return ErrnoStatus(errno, "socket(AF_INET)");
  SetReceiveBuffer(udp_fd_.get(), options_.receive_buffer_bytes);
  if (bind(udp_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return ErrnoStatus(errno, "bind udp", address);
  }
  return AddToEpoll(epoll_.get(), udp_fd_.get());
}

void AppMetricsSource::Stop() {
  unix_socket_.Close();  // removes the socket file only if still ours
  kernel_drops_seen_[0] = kernel_drops_seen_[1] = 0;  // new sockets start at 0
  udp_fd_.reset();
  epoll_.reset();
}

void AppMetricsSource::IngestDatagram(std::string_view datagram, uint32_t pid,
                                      uint64_t sender) {
  ++datagram_count_;
  const uint64_t now_ns = MonotonicNs();
  ForEachStatsdLine(datagram, [&](std::string_view line) {
    const char* why = ParseStatsdLine(line, &line_);
    if (why == nullptr && aggregator_.Add(line_, pid, now_ns, sender) ==
                              AppAggregator::AddResult::kNotFinite) {
      why = "value overflows (the series would not be finite)";
    }
    if (why != nullptr) {
      if (malformed_line_count_++ == 0)
        malformed_line_sample_ = DescribeMalformedLine(line, why);
      return;
    }
    ++line_count_;
  });
}

uint64_t AppMetricsSource::TakeKernelDrops() {
  uint64_t total = 0;
  const int fds[2] = {unix_socket_.fd(), udp_fd_.get()};
  for (int i = 0; i < 2; ++i) {
    if (fds[i] < 0) continue;
    uint32_t meminfo[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof(meminfo);
    if (getsockopt(fds[i], SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
      continue;  // kernels before 4.12: not reported
    }
    const uint32_t drops = meminfo[SK_MEMINFO_DROPS];
    // The kernel's counter is 32 bits; unsigned subtraction survives a wrap.
    total += drops - kernel_drops_seen_[i];
    kernel_drops_seen_[i] = drops;
  }
  return total;
}

void AppMetricsSource::Drain() {
  const uint64_t start_ns = MonotonicNs();
  uint32_t done = 0;
  int fds[2] = {unix_socket_.fd(), udp_fd_.get()};
  bool open[2] = {unix_socket_.valid(), udp_fd_.valid()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  sockaddr_in from{};
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
      if (i == 1) {
        msg.msg_name = &from;
        msg.msg_namelen = sizeof(from);
      }
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
      // A UDP sender is its source address (one per client socket); a Unix
      // one its pid.
      const uint64_t sender =
          i == 1 ? AppSenderKeyForUdp(ntohl(from.sin_addr.s_addr),
                                      ntohs(from.sin_port))
                 : pid;
      IngestDatagram(std::string_view(buffer_.data(), static_cast<size_t>(n)),
                     pid, sender);
    }
  }
}

void AppMetricsSource::OnWakeup() {
  if (status_.available) Drain();
}

void AppMetricsSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                               FrameSections& sections) {
  if (unix_socket_.valid() || udp_fd_) Drain();
  aggregator_.ForgetExitedSenders([](uint32_t pid) {
    return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
  });
  sections.Set(fb::Frame::VT_APP_METRICS,
               BuildAppMetricsSection(fbb, aggregator_, MonotonicNs()));
  const auto sample = malformed_line_sample_.empty()
                          ? 0
                          : fbb.CreateString(malformed_line_sample_);
  const AppAggregator::ShareOverflow share = aggregator_.TakeShareOverflow();
  const auto top_sender =
      share.sender_count == 0
          ? 0
          : fbb.CreateString(AppSenderDescription(share.top_sender));
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
  b.add_share_overflow_count(share.line_count);
  b.add_share_overflow_sender_count(share.sender_count);
  if (!top_sender.IsNull()) b.add_share_overflow_top_sender(top_sender);
  b.add_share_overflow_top_pid(AppSenderPid(share.top_sender));
  b.add_share_overflow_top_count(share.top_line_count);
  b.add_kernel_dropped_datagram_count(TakeKernelDrops());
  sections.SetAgent(fb::AgentStats::VT_APP_METRICS, b.Finish());
  datagram_count_ = line_count_ = malformed_line_count_ = 0;
  oversize_datagram_count_ = budget_exhausted_count_ = 0;
  malformed_line_sample_.clear();
}

}  // namespace perfwire
