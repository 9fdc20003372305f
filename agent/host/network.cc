#include "agent/host/network.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/host/text_util.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "agent/log.h"
#include "base/clock.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "network";

}  // namespace

absl::Status ParseNetDev(absl::string_view text,
                         std::vector<InterfaceStat>& out) {
  if (absl::Status s = CheckNotTruncated("/proc/net/dev", text); !s.ok())
    return s;
  size_t n = 0;
  LineSplitter lines(text);
  absl::string_view line;
  int header = 0;
  while (lines.Next(line)) {
    if (header < 2) {
      if (line.find('|') == absl::string_view::npos) {
        return MalformedFile("/proc/net/dev", lines.line_number(),
                             "missing header");
      }
      ++header;
      continue;
    }
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return MalformedFile("/proc/net/dev", lines.line_number(),
                           absl::StrCat("malformed: ", Excerpt(line)));
    }
    uint64_t v[16];
    int count = 0;
    FieldSplitter f(line.substr(colon + 1));
    absl::string_view field;
    while (count < 16 && f.Next(field)) {
      if (!ParseU64(field, v[count])) break;
      ++count;
    }
    if (count < 16) {
      return MalformedFile("/proc/net/dev", lines.line_number(),
                           absl::StrCat("short line: ", Excerpt(line)));
    }
    if (n == out.size()) out.emplace_back();
    InterfaceStat& s = out[n++];
    const absl::string_view name =
        absl::StripAsciiWhitespace(line.substr(0, colon));
    s.name.assign(name.data(), name.size());
    s.rx_bytes = v[0], s.rx_packets = v[1], s.rx_errors = v[2],
    s.rx_drops = v[3];
    s.tx_bytes = v[8], s.tx_packets = v[9], s.tx_errors = v[10],
    s.tx_drops = v[11];
  }
  out.resize(n);
  if (header < 2) return MalformedFile("/proc/net/dev", 0, "missing header");
  return absl::OkStatus();
}

absl::Status CountTcpStates(absl::string_view text, TcpStateCounts& counts) {
  if (absl::Status s = CheckNotTruncated("/proc/net/tcp", text); !s.ok())
    return s;
  LineSplitter lines(text);
  absl::string_view line;
  if (!lines.Next(line) || !absl::StrContains(line, "local_address")) {
    return MalformedFile("/proc/net/tcp", 1, "missing header");
  }
  while (lines.Next(line)) {
    FieldSplitter f(line);
    absl::string_view sl, local, remote, st;
    if (!f.Next(sl) || !f.Next(local) || !f.Next(remote) || !f.Next(st))
      continue;
    uint64_t state;
    if (ParseHexU64(st, state) && state < counts.size()) ++counts[state];
  }
  return absl::OkStatus();
}

absl::Status CountSocketLines(absl::string_view text, uint32_t& count) {
  if (absl::Status s = CheckNotTruncated("/proc/net/udp", text); !s.ok())
    return s;
  LineSplitter lines(text);
  absl::string_view line;
  if (!lines.Next(line) || !absl::StrContains(line, "local_address")) {
    return MalformedFile("/proc/net/udp", 1, "missing header");
  }
  uint32_t n = 0;
  while (lines.Next(line)) {
    if (!absl::StripAsciiWhitespace(line).empty()) ++n;
  }
  count = n;
  return absl::OkStatus();
}

NetworkSource::NetworkSource(HostOptions options)
    : options_(std::move(options)), fs_(options_.proc_root, options_.sys_root) {
  status_.name = kSourceName;
}

absl::Status NetworkSource::Start() {
  status_.available = false;
  absl::Status s = fs_.ReadProc("/net/dev", buf_);
  if (s.ok()) s = ParseNetDev(buf_, prev_);
  if (!s.ok()) {
    status_.reason = std::string(s.message());
    return s;
  }
  prev_ns_ = MonotonicNs();
  TcpStateCounts counts{};
  netlink_ = options_.proc_root == "/proc" && tcp_counter_.Count(counts).ok();
  sockets_ = netlink_ || (fs_.ReadProc("/net/tcp", buf_).ok() &&
                          CountTcpStates(buf_, counts).ok());
  status_.available = true;
  status_.reason = absl::StrCat(
      "/proc/net/dev", options_.include_loopback ? "" : " (lo skipped)",
      !sockets_ ? "; /proc/net/tcp unreadable: no socket counts"
      : netlink_
          ? "; TCP states from sock_diag netlink, UDP from /proc/net/udp{,6}"
          : "; sockets from /proc/net/{tcp,tcp6,udp,udp6}",
      sockets_ ? absl::StrCat(" every ", absl::FormatDuration(
                                             options_.socket_count_refresh))
               : "");
  return absl::OkStatus();
}

void NetworkSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                            FrameSections& sections) {
  absl::Status s = fs_.ReadProc("/net/dev", buf_);
  if (s.ok()) s = ParseNetDev(buf_, cur_);
  const uint64_t now_ns = MonotonicNs();
  if (!s.ok()) {
    MarkBroken(status_, s);
    return;
  }
  const uint64_t dt = now_ns - prev_ns_;
  std::vector<flatbuffers::Offset<fb::HostInterface>> ifaces;
  for (size_t i = 0; i < cur_.size(); ++i) {
    const InterfaceStat& c = cur_[i];
    if (!options_.include_loopback && c.name == "lo") continue;
    const InterfaceStat* p =
        i < prev_.size() && prev_[i].name == c.name ? &prev_[i] : nullptr;
    if (!p) {
      for (const InterfaceStat& q : prev_) {
        if (q.name == c.name) {
          p = &q;
          break;
        }
      }
    }
    if (!p) continue;  // appeared during the interval
    const auto name = fbb.CreateString(c.name);
    fb::HostInterfaceBuilder b(fbb);
    b.add_name(name);
    b.add_receive_bytes_per_sec(RatePerSec(p->rx_bytes, c.rx_bytes, dt));
    b.add_transmit_bytes_per_sec(RatePerSec(p->tx_bytes, c.tx_bytes, dt));
    b.add_receive_packet_per_sec(RatePerSec(p->rx_packets, c.rx_packets, dt));
    b.add_transmit_packet_per_sec(RatePerSec(p->tx_packets, c.tx_packets, dt));
    b.add_receive_error_per_sec(RatePerSec(p->rx_errors, c.rx_errors, dt));
    b.add_transmit_error_per_sec(RatePerSec(p->tx_errors, c.tx_errors, dt));
    b.add_receive_drop_per_sec(RatePerSec(p->rx_drops, c.rx_drops, dt));
    b.add_transmit_drop_per_sec(RatePerSec(p->tx_drops, c.tx_drops, dt));
    b.add_receive_total_bytes(c.rx_bytes);
    b.add_transmit_total_bytes(c.tx_bytes);
    b.add_receive_packet_total_count(c.rx_packets);
    b.add_transmit_packet_total_count(c.tx_packets);
    b.add_receive_error_total_count(c.rx_errors);
    b.add_transmit_error_total_count(c.tx_errors);
    b.add_receive_drop_total_count(c.rx_drops);
    b.add_transmit_drop_total_count(c.tx_drops);
    ifaces.push_back(b.Finish());
  }
  const auto ifaces_vec = fbb.CreateVector(ifaces);

  // Socket counts move slowly and a sock_diag dump walks the kernel's whole
  // TCP hash table, so they are refreshed at most every
  // options_.socket_count_refresh and reported as of that refresh in between.
  const absl::Time now = absl::Now();
  if (sockets_ && now - sockets_read_at_ >= options_.socket_count_refresh) {
    sockets_read_at_ = now;
    TcpStateCounts& tcp = tcp_cache_;
    uint32_t& udp = udp_cache_;
    tcp = {};
    udp = 0;
    if (netlink_) {
      if (!tcp_counter_.Count(tcp).ok()) tcp = {};  // retried next refresh
    } else {
      for (const char* f : {"/net/tcp", "/net/tcp6"}) {
        if (fs_.ReadProc(f, buf_).ok()) {
          CountTcpStates(buf_, tcp).IgnoreError();
        }
      }
    }
    for (const char* f : {"/net/udp", "/net/udp6"}) {
      uint32_t n = 0;
      if (fs_.ReadProc(f, buf_).ok() && CountSocketLines(buf_, n).ok()) {
        udp += n;
      }
    }
  }
  const TcpStateCounts& tcp = tcp_cache_;
  const uint32_t udp = udp_cache_;
  fb::HostNetworkBuilder b(fbb);
  b.add_interfaces(ifaces_vec);
  if (sockets_) {
    // include/net/tcp_states.h
    b.add_tcp_established_count(tcp[1]);
    b.add_tcp_syn_sent_count(tcp[2]);
    b.add_tcp_syn_recv_count(tcp[3]);
    b.add_tcp_fin_wait1_count(tcp[4]);
    b.add_tcp_fin_wait2_count(tcp[5]);
    b.add_tcp_time_wait_count(tcp[6]);
    b.add_tcp_close_count(tcp[7]);
    b.add_tcp_close_wait_count(tcp[8]);
    b.add_tcp_last_ack_count(tcp[9]);
    b.add_tcp_listen_count(tcp[10]);
    b.add_tcp_closing_count(tcp[11]);
    b.add_udp_socket_count(udp);
  }
  sections.Set(fb::Frame::VT_NETWORK, b.Finish());
  std::swap(prev_, cur_);
  prev_ns_ = now_ns;
}

}  // namespace perfwire
