#ifndef PERFWIRE_TESTS_UNIT_HOST_COUNTERS_FRAME_H_
#define PERFWIRE_TESTS_UNIT_HOST_COUNTERS_FRAME_H_

// A frame whose host sections carry the kernel's cumulative counters as
// they stand `at_seconds` after boot, every counter growing at a fixed rate.
// Two of them (say at 100 s and 102 s) give known rates over 2 s:
//   CPU (2 CPUs): cpu0 idle 50%, cpu1 idle 10%, iowait 0: busy 50% and 90%,
//     all CPUs 70%: user 60%, system 10%, idle 30% of all CPUs (user
//     0.4 + 0.8, system 0.1 + 0.1, idle 0.5 + 0.1 s per second).
//   ctxt 1000/s, forks 5/s, interrupts 700/s.
//   vmstat: pgpgin 4096 B/s, pgpgout 8192 B/s, pgfault 300/s, pgmajfault
//     2/s, pswpin 3/s, pswpout 4/s.
//   PSI some: cpu 10%, io 1% (io full 0.5%); no memory pressure file.
//   disks: vda 1000 B/s read, 10 B/s written, 4 reads/s, 1 write/s; its
//     partition vda1 the same; vdb 24 and 6 B/s, 2 reads/s, 1 write/s.
//   net: lo 1e9 B/s both ways; eth0 rx 300 B/s, tx 100 B/s, 3 and 2 pkt/s.
// The agent's own rate fields (`*_percent`, `*_per_sec`, `*_stall_ns`) hold
// other values (idle 0%, 7e6 B/s, ...), so a consumer that shows them
// instead of deriving from the counters fails its test.

#include <cstdint>
#include <string>
#include <vector>

#include "perfwire_generated.h"
#include "schema_text.h"

namespace perfwire {
namespace testing {

struct HostCountersSpec {
  uint64_t seq = 1;
  uint64_t at_seconds = 100;
  std::string hostname = "testhost";
  bool cumulative = true;  // false: a frame of an agent without the fields
  // true: a wire message (4-byte length prefix, fb::GetSizePrefixedFrame);
  // false: the frame alone (fb::GetFrame).
  bool length_prefix = false;
};

inline std::vector<uint8_t> HostCountersFrame(const HostCountersSpec& spec) {
  constexpr uint64_t kNs = 1'000'000'000;
  const uint64_t t = spec.at_seconds;
  const uint64_t c = spec.cumulative ? 1 : 0;  // scales every counter
  flatbuffers::FlatBufferBuilder fbb;
  // Per second of each CPU: user, system, idle in ms.
  auto times = [&](int cpu, uint64_t user_ms, uint64_t system_ms,
                   uint64_t idle_ms) {
    fb::HostCpuTimesBuilder b(fbb);
    b.add_cpu(cpu);
    b.add_idle_percent(0);  // the agent's derived field: ignored
    b.add_user_percent(99);
    b.add_user_total_ns(c * user_ms * t * kNs / 1000);
    b.add_system_total_ns(c * system_ms * t * kNs / 1000);
    b.add_idle_total_ns(c * idle_ms * t * kNs / 1000);
    return b.Finish();
  };
  auto total = times(-1, 1200, 200, 600);
  std::vector<flatbuffers::Offset<fb::HostCpuTimes>> cores = {
      times(0, 400, 100, 500), times(1, 800, 100, 100)};
  auto core_vector = fbb.CreateVector(cores);
  fb::HostCpuBuilder cpu(fbb);
  cpu.add_total(total);
  cpu.add_cores(core_vector);
  cpu.add_load_1m_count(1.5f);
  cpu.add_context_switch_per_sec(1);
  cpu.add_fork_per_sec(1);
  cpu.add_interrupt_per_sec(1);
  cpu.add_context_switch_total_count(c * 1000 * t);
  cpu.add_fork_total_count(c * 5 * t);
  cpu.add_interrupt_total_count(c * 700 * t);
  cpu.add_running_task_count(3);
  if (spec.cumulative) cpu.add_read_monotonic_ns(t * kNs);
  auto cpu_table = cpu.Finish();

  auto pressure = [&](uint64_t some_ms, bool full, uint64_t full_ms) {
    fb::HostPressureBuilder p(fbb);
    p.add_some_stall_ns(1);
    p.add_some_total_ns(c * some_ms * t * kNs / 1000);
    if (full) p.add_full_total_ns(c * full_ms * t * kNs / 1000);
    return p.Finish();
  };
  auto cpu_psi = pressure(100, false, 0);
  auto io_psi = pressure(10, true, 5);
  fb::HostMemoryBuilder m(fbb);
  m.add_total_bytes(8ull << 30);
  m.add_used_bytes(2ull << 30);
  m.add_page_fault_per_sec(1);
  m.add_major_page_fault_per_sec(1);
  m.add_page_in_bytes_per_sec(1);
  m.add_cpu_pressure(cpu_psi);
  m.add_io_pressure(io_psi);
  m.add_page_in_total_bytes(c * 4096 * t);
  m.add_page_out_total_bytes(c * 8192 * t);
  m.add_swap_in_total_page_count(c * 3 * t);
  m.add_swap_out_total_page_count(c * 4 * t);
  m.add_page_fault_total_count(c * 300 * t);
  m.add_major_page_fault_total_count(c * 2 * t);
  if (spec.cumulative) m.add_read_monotonic_ns(t * kNs);
  auto memory = m.Finish();

  auto disk = [&](const char* name, bool partition, uint64_t rd, uint64_t wr,
                  uint64_t reads, uint64_t writes) {
    auto n = fbb.CreateString(name);
    fb::HostDiskBuilder d(fbb);
    d.add_name(n);
    d.add_partition(partition);
    d.add_read_bytes_per_sec(7e6);
    d.add_write_bytes_per_sec(7e6);
    d.add_read_total_bytes(c * rd * t);
    d.add_write_total_bytes(c * wr * t);
    d.add_read_op_total_count(c * reads * t);
    d.add_write_op_total_count(c * writes * t);
    return d.Finish();
  };
  std::vector<flatbuffers::Offset<fb::HostDisk>> disk_list = {
      disk("vda", false, 1000, 10, 4, 1), disk("vda1", true, 1000, 10, 4, 1),
      disk("vdb", false, 24, 6, 2, 1)};
  auto disks = fbb.CreateVector(disk_list);

  auto iface = [&](const char* name, uint64_t rx, uint64_t tx, uint64_t rxp,
                   uint64_t txp) {
    auto n = fbb.CreateString(name);
    fb::HostInterfaceBuilder i(fbb);
    i.add_name(n);
    i.add_receive_bytes_per_sec(7e6);
    i.add_transmit_bytes_per_sec(7e6);
    i.add_receive_total_bytes(c * rx * t);
    i.add_transmit_total_bytes(c * tx * t);
    i.add_receive_packet_total_count(c * rxp * t);
    i.add_transmit_packet_total_count(c * txp * t);
    return i.Finish();
  };
  std::vector<flatbuffers::Offset<fb::HostInterface>> iface_list = {
      iface("lo", 1'000'000'000, 1'000'000'000, 1000, 1000),
      iface("eth0", 300, 100, 3, 2)};
  auto ifaces = fbb.CreateVector(iface_list);
  fb::HostNetworkBuilder nb(fbb);
  nb.add_interfaces(ifaces);
  auto network = nb.Finish();

  auto hostname = fbb.CreateString(spec.hostname);
  fb::FrameBuilder f(fbb);
  f.add_schema_version(kSchemaVersion);
  f.add_seq(spec.seq);
  f.add_interval_ns(2 * kNs);
  f.add_monotonic_ns(t * kNs + 1000);  // the frame ends after the reads
  f.add_realtime_ns(1'700'000'000 * kNs + t * kNs);
  f.add_hostname(hostname);
  f.add_cpu(cpu_table);
  f.add_memory(memory);
  f.add_disks(disks);
  f.add_network(network);
  if (spec.length_prefix) {
    fbb.FinishSizePrefixed(f.Finish(), fb::FrameIdentifier());
  } else {
    fbb.Finish(f.Finish(), fb::FrameIdentifier());
  }
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

}  // namespace testing
}  // namespace perfwire

#endif  // PERFWIRE_TESTS_UNIT_HOST_COUNTERS_FRAME_H_
