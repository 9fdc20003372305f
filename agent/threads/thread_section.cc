#include "agent/threads/thread_section.h"

#include <cstring>

#include "perfwire_generated.h"

namespace perfwire {

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Thread>>>
BuildThreadsSection(flatbuffers::FlatBufferBuilder& fbb,
                    const std::vector<ThreadDelta>& deltas) {
  std::vector<flatbuffers::Offset<fb::Thread>> threads;
  threads.reserve(deltas.size());
  for (const ThreadDelta& d : deltas) {
    const auto comm =
        fbb.CreateString(d.comm.data(), strnlen(d.comm.data(), d.comm.size()));
    const ThreadCounters& c = d.delta;
    fb::ThreadBuilder t(fbb);
    t.add_tid(d.tid);
    t.add_pid(d.pid);
    t.add_comm(comm);
    t.add_cgroup_id(d.cgroup_id);
    t.add_exited(d.exited);
    t.add_on_cpu_ns(c.on_cpu_ns);
    t.add_voluntary_switch_count(c.voluntary_switch_count);
    t.add_involuntary_switch_count(c.involuntary_switch_count);
    t.add_minor_fault_count(c.minor_fault_count);
    t.add_major_fault_count(c.major_fault_count);
    t.add_read_bytes(c.read_bytes);
    t.add_write_bytes(c.write_bytes);
    t.add_block_read_bytes(c.block_read_bytes);
    t.add_block_write_bytes(c.block_write_bytes);
    t.add_block_read_op_count(c.block_read_op_count);
    t.add_block_write_op_count(c.block_write_op_count);
    threads.push_back(t.Finish());
  }
  return fbb.CreateVector(threads);
}

}  // namespace perfwire
