// The /proc thread backend on copies of captured /proc trees
// (tests/fixtures/proc, tests/fixtures/proc_malformed), changed between
// snapshots the way the kernel would change them.

#include "agent/threads/procfs_thread_backend.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::testing::ElementsAre;

const std::string kProc = PERFWIRE_FIXTURES_DIR "/proc";
const std::string kMalformed = PERFWIRE_FIXTURES_DIR "/proc_malformed";
constexpr uint32_t kNamedPid = 16646, kNamedTid = 16647;

// A writable copy of a fixture tree.
class ProcCopy {
 public:
  explicit ProcCopy(const std::string& from) {
    std::filesystem::copy(from, dir_.path(),
                          std::filesystem::copy_options::recursive);
  }
  const std::string& root() const { return dir_.path(); }
  std::string Task(uint32_t pid, uint32_t tid) const {
    return root() + "/" + std::to_string(pid) + "/task/" + std::to_string(tid);
  }
  // Rewrites a file in place (same inode, as procfs regenerates it).
  void Write(const std::string& path, const std::string& content) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }

 private:
  testing::TempDir dir_;
};

std::map<uint32_t, ThreadSample> Snapshot(ProcfsThreadBackend& backend) {
  std::map<uint32_t, ThreadSample> out;
  absl::Status s = backend.ForEachLiveThread([&](const ThreadSample& t) {
    EXPECT_EQ(out.count(t.tid), 0u) << "tid " << t.tid << " twice";
    out[t.tid] = t;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::vector<ThreadSample> Exits(ProcfsThreadBackend& backend) {
  std::vector<ThreadSample> out;
  EXPECT_TRUE(
      backend
          .DrainExits([&](const ThreadSample& t) { out.push_back(t); },
                      [](const ThreadFinal&) { ADD_FAILURE() << "a final"; })
          .ok());
  return out;
}

ProcfsThreadBackendOptions On(const std::string& proc_root) {
  ProcfsThreadBackendOptions o;
  o.proc_root = proc_root;
  return o;
}

uint64_t NsPerTick() { return 1000000000ull / sysconf(_SC_CLK_TCK); }

TEST(ProcfsThreadBackend, FixtureTreeEveryThreadWithItsCounters) {
  ProcfsThreadBackend backend(On(kProc));
  EXPECT_EQ(backend.hook(), "procfs");
  EXPECT_TRUE(backend.last_snapshot_full());
  const auto threads = Snapshot(backend);
  ASSERT_EQ(threads.size(), 15u);  // pid 1's 13 threads + 16646's 2
  const ThreadSample& named = threads.at(kNamedTid);
  EXPECT_EQ(named.pid, kNamedPid);
  EXPECT_STREQ(named.comm.data(), "a) b");
  EXPECT_EQ(named.start_time_ns, 67715 * NsPerTick());  // stat field 22
  EXPECT_EQ(named.counters.on_cpu_ns, 18375u);          // schedstat field 1
  EXPECT_EQ(named.counters.minor_fault_count, 2u);      // stat field 10
  EXPECT_EQ(named.cgroup_id, 0u);                       // unknown from /proc
  const ThreadSample& init = threads.at(1);
  EXPECT_EQ(init.pid, 1u);
  EXPECT_STREQ(init.comm.data(), "process_api");
  EXPECT_EQ(init.counters.minor_fault_count, 401u);
  // The capture has no io for pid 1 (it was denied): bytes unknown, 0.
  EXPECT_EQ(init.counters.read_bytes, 0u);
  EXPECT_EQ(backend.last_full_reads(), 15u);
  EXPECT_TRUE(Exits(backend).empty());
  EXPECT_EQ(backend.tracked_count(), 15u);
}

TEST(ProcfsThreadBackend, UnchangedThreadsCostOneSchedstatRead) {
  ProcCopy proc(kProc);
  ProcfsThreadBackend backend(On(proc.root()));
  const auto first = Snapshot(backend);
  const auto second = Snapshot(backend);
  EXPECT_EQ(backend.last_full_reads(), 0u);
  EXPECT_EQ(backend.last_unchanged(), 15u);
  ASSERT_EQ(second.size(), first.size());
  EXPECT_EQ(second.at(kNamedTid).counters, first.at(kNamedTid).counters);

  // The named thread ran: its schedstat and status moved.
  const std::string dir = proc.Task(kNamedPid, kNamedTid);
  proc.Write(dir + "/schedstat", "5018375 100 3\n");
  proc.Write(dir + "/status",
             "Name:\ta) b\nvoluntary_ctxt_switches:\t9\n"
             "nonvoluntary_ctxt_switches:\t4\n");
  const auto third = Snapshot(backend);
  EXPECT_EQ(backend.last_full_reads(), 1u);
  EXPECT_EQ(backend.last_unchanged(), 14u);
  EXPECT_EQ(third.at(kNamedTid).counters.on_cpu_ns, 5018375u);
  EXPECT_EQ(third.at(kNamedTid).counters.voluntary_switch_count, 9u);
  EXPECT_EQ(third.at(kNamedTid).counters.involuntary_switch_count, 4u);
}

TEST(ProcfsThreadBackend, GoneThreadsAreExitsWithTheirLastCounts) {
  ProcCopy proc(kProc);
  ProcfsThreadBackend backend(On(proc.root()));
  const auto before = Snapshot(backend);
  std::filesystem::remove_all(proc.Task(kNamedPid, kNamedTid));
  const auto after = Snapshot(backend);
  EXPECT_EQ(after.size(), 14u);
  EXPECT_EQ(after.count(kNamedTid), 0u);
  const auto exits = Exits(backend);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].tid, kNamedTid);
  EXPECT_EQ(exits[0].counters, before.at(kNamedTid).counters);
  EXPECT_TRUE(Exits(backend).empty());  // handed over once
  // The whole process goes.
  std::filesystem::remove_all(proc.root() + "/16646");
  EXPECT_EQ(Snapshot(backend).size(), 13u);
  EXPECT_THAT(Exits(backend), ::testing::SizeIs(1));
}

TEST(ProcfsThreadBackend, ReusedTidIsANewThreadAndTheOldOneExits) {
  ProcCopy proc(kProc);
  ProcfsThreadBackend backend(On(proc.root()));
  const auto before = Snapshot(backend);
  // Same tid, later start time (field 22), fresh counters.
  proc.Write(proc.Task(kNamedPid, kNamedTid) + "/stat",
             "16647 (new) S 16595 16595 2896 0 -1 4194368 1 0 0 0 0 0 0 0 20 "
             "0 2 0 99999 14209024 786 18446744073709551615 0\n");
  proc.Write(proc.Task(kNamedPid, kNamedTid) + "/schedstat", "7 0 1\n");
  const auto after = Snapshot(backend);
  EXPECT_EQ(after.at(kNamedTid).start_time_ns, 99999 * NsPerTick());
  EXPECT_STREQ(after.at(kNamedTid).comm.data(), "new");
  const auto exits = Exits(backend);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].start_time_ns, before.at(kNamedTid).start_time_ns);
}

TEST(ProcfsThreadBackend, SkipAndOnlyPid) {
  ProcfsThreadBackendOptions skip;
  skip.proc_root = kProc;
  skip.skip_pid = kNamedPid;  // the agent itself
  ProcfsThreadBackend without_agent(skip);
  for (const auto& [tid, t] : Snapshot(without_agent)) EXPECT_EQ(t.pid, 1u);

  ProcfsThreadBackendOptions only;
  only.proc_root = kProc;
  only.only_pid = kNamedPid;  // as the pid-1 gap does for pid 1
  ProcfsThreadBackend one(only);
  std::vector<uint32_t> tids;
  for (const auto& [tid, t] : Snapshot(one)) tids.push_back(tid);
  EXPECT_THAT(tids, ElementsAre(kNamedPid, kNamedTid));
}

TEST(ProcfsThreadBackend, KeptFilesAreCapped) {
  ProcCopy proc(kProc);
  ProcfsThreadBackendOptions o = On(proc.root());
  o.max_kept_files = 4;
  ProcfsThreadBackend backend(o);
  Snapshot(backend);
  const auto again = Snapshot(backend);
  EXPECT_EQ(again.size(), 15u);  // all still reported
  EXPECT_EQ(backend.last_unchanged(), 4u);
  EXPECT_EQ(backend.last_full_reads(), 11u);
}

// Broken files (truncated, empty, garbage: see the fixture's README) leave
// their thread out; the intact one is reported.
TEST(ProcfsThreadBackend, MalformedThreadsAreLeftOut) {
  ProcfsThreadBackend backend(On(kMalformed));
  std::vector<uint32_t> tids;
  for (const auto& [tid, t] : Snapshot(backend)) tids.push_back(tid);
  EXPECT_THAT(tids, ElementsAre(50u));
}

TEST(ProcfsThreadBackend, MissingRootIsAnError) {
  ProcfsThreadBackend backend(On("/nonexistent/proc"));
  const absl::Status s = backend.ForEachLiveThread([](const ThreadSample&) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/proc"), absl::string_view::npos);
}

// This process, live: a thread started here is seen with its kernel figures.
TEST(ProcfsThreadBackend, LiveSelf) {
  ProcfsThreadBackendOptions o;
  o.only_pid = static_cast<uint32_t>(getpid());
  ProcfsThreadBackend backend(o);
  const auto threads = Snapshot(backend);
  ASSERT_TRUE(threads.count(static_cast<uint32_t>(getpid())));
  const ThreadSample& main = threads.at(static_cast<uint32_t>(getpid()));
  EXPECT_GT(main.counters.on_cpu_ns, 0u);
  EXPECT_GT(main.counters.read_bytes, 0u);  // our own io is readable
}

}  // namespace
}  // namespace perfwire
