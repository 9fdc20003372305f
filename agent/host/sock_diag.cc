#include "agent/host/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace perfwire {

TcpStateCounter::~TcpStateCounter() {
  if (fd_ >= 0) close(fd_);
}

absl::Status TcpStateCounter::Count(TcpStateCounts& counts) {
  if (fd_ < 0) {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) return absl::ErrnoToStatus(errno, "socket(NETLINK_SOCK_DIAG)");
    buf_.resize(32 * 1024);
  }
  absl::Status s = Dump(AF_INET, counts);
  if (s.ok()) s = Dump(AF_INET6, counts);
  if (!s.ok()) {  // a half-read dump leaves the socket unusable: start afresh
    close(fd_);
    fd_ = -1;
  }
  return s;
}

absl::Status TcpStateCounter::Dump(uint8_t family, TcpStateCounts& counts) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = ++seq_;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states =
      0xfff;  // TCP_ESTABLISHED .. TCP_CLOSING (+ request socks as SYN_RECV)
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof(kernel)) < 0) {
    return absl::ErrnoToStatus(errno, "sock_diag sendto");
  }
  for (;;) {
    const ssize_t n = recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "sock_diag recv");
    }
    if (n == 0) return absl::DataLossError("sock_diag: netlink socket closed");
    size_t len = static_cast<size_t>(n);
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(buf_.data());
         NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_) continue;
      if (h->nlmsg_type == NLMSG_DONE) return absl::OkStatus();
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        return absl::ErrnoToStatus(
            -e->error, absl::StrCat("sock_diag dump family ", family));
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
          h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        continue;
      }
      const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      if (m->idiag_state < counts.size()) ++counts[m->idiag_state];
    }
  }
}

}  // namespace perfwire
