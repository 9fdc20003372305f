// Interface bytes after known UDP traffic over a veth pair between two
// network namespaces the test creates (10.211.0.0/30, never routed outside).
// The source reads the namespace through /proc/<pid>/net of a process in it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/host/network.h"
#include "agent/host/sock_diag.h"
#include "agent/kernelfs/kernel_fs.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/host_test_util.h"

namespace perfwire::testing {
namespace {

constexpr int kDatagrams = 2000;
constexpr int kPayload = 1000;
// UDP 8 + IPv4 20 + Ethernet 14 bytes per datagram on a veth.
constexpr uint64_t kWireBytes = uint64_t{kDatagrams} * (kPayload + 42);

class NetnsPair {
 public:
  NetnsPair() {
    a_ = absl::StrCat("pwh4a", getpid());
    b_ = absl::StrCat("pwh4b", getpid());
    const std::string cmds[] = {
        "ip netns add " + a_,
        "ip netns add " + b_,
        "ip netns exec " + a_ +
            " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
            "net.ipv6.conf.default.disable_ipv6=1",
        "ip netns exec " + b_ +
            " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
            "net.ipv6.conf.default.disable_ipv6=1",
        "ip -n " + a_ + " link add pwva type veth peer name pwvb netns " + b_,
        "ip -n " + a_ + " addr add 10.211.0.1/30 dev pwva",
        "ip -n " + b_ + " addr add 10.211.0.2/30 dev pwvb",
        "ip -n " + a_ + " link set pwva up",
        "ip -n " + b_ + " link set pwvb up",
    };
    for (const std::string& c : cmds) {
      int st = 0;
      const std::string out = Shell(c, &st);
      if (st != 0) {
        error_ = c + ": " + out;
        return;
      }
    }
  }
  ~NetnsPair() {
    Shell("ip netns del " + a_);
    Shell("ip netns del " + b_);
  }
  const std::string& error() const { return error_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string a_, b_, error_;
};

// Forks a child that enters network namespace `ns` and runs `fn`.
template <typename Fn>
pid_t ForkInNetns(const std::string& ns, Fn fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(90);
    _exit(fn());
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

sockaddr_in Addr(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

int SendDatagrams(int n) {
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in to = Addr("10.211.0.2", 9999);
  char buf[kPayload] = {0};
  for (int i = 0; i < n; ++i) {
    if (sendto(s, buf, sizeof(buf), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof(to)) != kPayload) {
      return 1;
    }
    if (i % 64 == 63) usleep(1000);  // stay under the veth/socket queues
  }
  return 0;
}

uint64_t TxBytes(pid_t holder, const std::string& iface) {
  std::string buf;
  std::vector<InterfaceStat> s;
  EXPECT_TRUE(
      KernelFs().Read(absl::StrCat("/proc/", holder, "/net/dev"), buf).ok());
  EXPECT_TRUE(ParseNetDev(buf, s).ok());
  for (const auto& i : s) {
    if (i.name == iface) return i.tx_bytes;
  }
  return 0;
}

TEST(HostNetwork, VethBytesMatchKnownUdpTraffic) {
  PERFWIRE_REQUIRE_BPF();  // root: ip netns
  NetnsPair ns;
  ASSERT_TRUE(ns.error().empty()) << ns.error();
  // Receiver in B; holder in A (a listening TCP socket, then sleeps).
  const pid_t receiver = ForkInNetns(ns.b(), [] {
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in me = Addr("10.211.0.2", 9999);
    if (bind(s, reinterpret_cast<const sockaddr*>(&me), sizeof(me)) != 0)
      return 2;
    timeval tv{5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[2048];
    for (int got = 0; got < kDatagrams + 1;) {
      if (recv(s, buf, sizeof(buf), 0) <= 0) return 3;
      ++got;
    }
    return 0;
  });
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t holder = ForkInNetns(ns.a(), [&] {
    const int l = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in me = Addr("10.211.0.1", 7000);
    if (bind(l, reinterpret_cast<const sockaddr*>(&me), sizeof(me)) != 0 ||
        listen(l, 1) != 0) {
      return 2;
    }
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) return 3;
    pause();
    return 0;
  });
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  close(ready[1]);
  // Warm-up datagram: resolves ARP before the window.
  usleep(200 * 1000);  // receiver bound
  ASSERT_EQ(WaitExit(ForkInNetns(ns.a(), [] { return SendDatagrams(1); })), 0);
  usleep(100 * 1000);

  HostOptions o;
  o.proc_root = absl::StrCat("/proc/", holder);
  NetworkSource source(o);
  uint64_t before = 0, after = 0;
  SourceWindow w = RunWindow(source, [&] {
    before = TxBytes(holder, "pwva");
    ASSERT_EQ(
        WaitExit(ForkInNetns(ns.a(), [] { return SendDatagrams(kDatagrams); })),
        0);
    usleep(100 * 1000);
    after = TxBytes(holder, "pwva");
  });
  EXPECT_EQ(WaitExit(receiver), 0) << "receiver did not get every datagram";
  kill(holder, SIGKILL);
  WaitExit(holder);

  // The kernel counted exactly our datagrams (ARP at most adds one 42-byte
  // frame).
  EXPECT_GE(after - before, kWireBytes);
  EXPECT_LE(after - before, kWireBytes + 42);
  ASSERT_NE(w.frame->network(), nullptr) << source.status().reason;
  const fb::HostInterface* va = nullptr;
  for (const auto* i : *w.frame->network()->interfaces()) {
    EXPECT_NE(i->name()->str(), "lo");
    if (i->name()->str() == "pwva") va = i;
  }
  ASSERT_NE(va, nullptr);
  const double rate = va->transmit_bytes_per_sec();
  std::printf(
      "pwva: sent %lu wire bytes; /proc/net/dev %lu; source %.0f..%.0f\n",
      kWireBytes, after - before, rate * w.inner_s(), rate * w.outer_s());
  EXPECT_GE(rate * w.outer_s(), (after - before) * 0.999);
  EXPECT_LE(rate * w.inner_s(), (after - before) * 1.001 + 84);
  const double packets = va->transmit_packet_per_sec();
  EXPECT_GE(packets * w.outer_s(), kDatagrams * 0.999);
  EXPECT_LE(packets * w.inner_s(), kDatagrams * 1.001 + 2);
  EXPECT_EQ(va->transmit_error_per_sec(), 0.0);
  EXPECT_EQ(w.frame->network()->tcp_listen_count(), 1u);
  EXPECT_EQ(w.frame->network()->tcp_established_count(), 0u);
}

}  // namespace
}  // namespace perfwire::testing

namespace perfwire::testing {
namespace {

// sock_diag netlink (the default path) and /proc/net/tcp{,6} agree on a
// listener and an established connection the test opens on loopback.
TEST(HostNetwork, NetlinkTcpStatesMatchProcNetTcp) {
  PERFWIRE_REQUIRE_BPF();
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in me = Addr("127.0.0.1", 0);
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&me), sizeof(me)), 0);
  ASSERT_EQ(listen(l, 4), 0);
  socklen_t len = sizeof(me);
  getsockname(l, reinterpret_cast<sockaddr*>(&me), &len);
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&me), sizeof(me)), 0);
  const int a = accept(l, nullptr, nullptr);
  ASSERT_GE(a, 0);

  TcpStateCounts netlink{};
  TcpStateCounter counter;
  ASSERT_TRUE(counter.Count(netlink).ok());
  TcpStateCounts text{};
  std::string buf;
  for (const char* f : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    ASSERT_TRUE(KernelFs().Read(f, buf).ok());
    ASSERT_TRUE(CountTcpStates(buf, text).ok());
  }
  for (int fd : {a, c, l}) close(fd);
  EXPECT_GE(netlink[1], 2u);  // both ends of our connection
  EXPECT_GE(netlink[10], 1u);
  // Other processes may open or close sockets between the two reads.
  for (int st = 1; st <= 11; ++st) {
    EXPECT_NEAR(netlink[st], text[st], 2) << "state " << st;
  }
}

}  // namespace
}  // namespace perfwire::testing
