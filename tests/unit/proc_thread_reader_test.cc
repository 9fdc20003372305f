#include "agent/threads/proc_thread_reader.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kProc = PERFWIRE_FIXTURES_DIR "/proc";
const std::string kMalformed = PERFWIRE_FIXTURES_DIR "/proc_malformed";
constexpr uint32_t kNamedPid = 16646, kNamedTid = 16647;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

ProcThreadReader Reader(const std::string& proc_root) {
  return ProcThreadReader(KernelFs(proc_root));
}

TEST(ParseTaskStat, CommWithSpaceAndParen) {
  auto stat = ParseTaskStat(Slurp(kProc + "/16646/task/16647/stat"));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->comm, "a) b");
  EXPECT_EQ(stat->min_flt, 2u);
  EXPECT_EQ(stat->maj_flt, 0u);
}

TEST(ParseTaskStat, Pid1) {
  auto stat = ParseTaskStat(Slurp(kProc + "/1/task/1/stat"));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->comm, "process_api");
  EXPECT_EQ(stat->min_flt, 401u);
  EXPECT_EQ(stat->maj_flt, 0u);
}

TEST(ParseTaskStat, RejectsMalformed) {
  // string_views: a std::string temporary's c_str() here dangled, and cut
  // the embedded NUL case short at the NUL.
  for (std::string_view bad :
       {std::string_view(""), std::string_view("1 (x) S 0 0\n"),
        std::string_view("1 (x) S 0 0 0 0 -1 4 2 0 0"),
        std::string_view("(x) S\n"), std::string_view("garbage\n"),
        std::string_view("1 x) S 0 0 0 0 -1 4 2 0 0\n"),
        std::string_view("1 (x) S 0 0 0 0 -1 4 z 0 0\n"),
        std::string_view("1 (x)\n"), std::string_view("1 (\0x)\n", 7)}) {
    auto stat = ParseTaskStat(absl::string_view(bad.data(), bad.size()));
    EXPECT_EQ(stat.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_THAT(Message(stat.status()), HasSubstr("stat: ")) << bad;
  }
}

TEST(ParseTaskStatus, Captured) {
  auto status = ParseTaskStatus(Slurp(kProc + "/1/task/1/status"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_GT(status->nvcsw + status->nivcsw, 0u);
}

TEST(ParseTaskSchedstat, Captured) {
  auto on_cpu =
      ParseTaskSchedstat(Slurp(kProc + "/16646/task/16647/schedstat"));
  ASSERT_TRUE(on_cpu.ok()) << on_cpu.status();
  EXPECT_EQ(*on_cpu, 18375u);
}

TEST(ParseTaskIo, CapturedAndMalformed) {
  auto io = ParseTaskIo("rchar: 12\nwchar: 34\nsyscr: 1\n");
  ASSERT_TRUE(io.ok()) << io.status();
  EXPECT_EQ(io->rchar, 12u);
  EXPECT_EQ(io->wchar, 34u);
  EXPECT_TRUE(ParseTaskIo(Slurp(kProc + "/16646/task/16647/io")).ok());
  // A value cut short must not be taken for a smaller number.
  EXPECT_THAT(Message(ParseTaskIo("rchar: 12\nwchar: 3").status()),
              HasSubstr("io: truncated before wchar"));
  EXPECT_THAT(Message(ParseTaskIo("rchar: -1\nwchar: 3\n").status()),
              HasSubstr("io: line 1: rchar is not a number"));
}

// Every prefix and every single-byte corruption of real captures is either
// parsed or rejected with DataLoss, never a crash.
TEST(ProcParsers, SurvivePrefixesAndCorruption) {
  const std::string dir = kProc + "/16646/task/16647/";
  const std::string stat = Slurp(dir + "stat"), status = Slurp(dir + "status"),
                    sched = Slurp(dir + "schedstat"), io = Slurp(dir + "io");
  auto check = [](const absl::Status& s) {
    EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kDataLoss) << s;
  };
  for (const std::string* text : {&stat, &status, &sched, &io}) {
    for (size_t n = 0; n <= text->size(); ++n) {
      std::string prefix = text->substr(0, n);
      check(ParseTaskStat(prefix).status());
      check(ParseTaskStatus(prefix).status());
      check(ParseTaskSchedstat(prefix).status());
      check(ParseTaskIo(prefix).status());
      std::string corrupt = *text;
      if (n < corrupt.size()) corrupt[n] = static_cast<char>(0xff);
      check(ParseTaskStat(corrupt).status());
      check(ParseTaskStatus(corrupt).status());
      check(ParseTaskSchedstat(corrupt).status());
      check(ParseTaskIo(corrupt).status());
    }
  }
  // Truncation of a single-line file is always detected.
  for (size_t n = 0; n < stat.size(); ++n) {
    EXPECT_FALSE(ParseTaskStat(stat.substr(0, n)).ok()) << n;
  }
  for (size_t n = 0; n < sched.size(); ++n) {
    EXPECT_FALSE(ParseTaskSchedstat(sched.substr(0, n)).ok()) << n;
  }
}

TEST(ListProcThreads, Fixtures) {
  auto tids = Reader(kProc).ListThreads(1);
  ASSERT_TRUE(tids.ok()) << tids.status();
  EXPECT_EQ(tids->size(), 13u);
  EXPECT_EQ(tids->front(), 1u);
  EXPECT_THAT(*Reader(kProc).ListThreads(kNamedPid),
              ElementsAre(kNamedPid, kNamedTid));
  EXPECT_EQ(Reader(kProc).ListThreads(999999).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ReadProcThread, NamedThreadFixture) {
  auto s = Reader(kProc).Read(kNamedPid, kNamedTid);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->pid, kNamedPid);
  EXPECT_EQ(s->tid, kNamedTid);
  EXPECT_EQ(s->comm, "a) b");
  EXPECT_EQ(s->on_cpu_ns, 18375u);
  EXPECT_EQ(s->min_flt, 2u);
  EXPECT_TRUE(s->has_io);
  EXPECT_EQ(s->rchar, 0u);
}

TEST(ReadProcThread, Pid1FixtureThreadsParse) {
  auto tids = Reader(kProc).ListThreads(1);
  ASSERT_TRUE(tids.ok()) << tids.status();
  for (uint32_t tid : *tids) {
    const std::string dir = kProc + "/1/task/" + std::to_string(tid) + "/";
    EXPECT_TRUE(ParseTaskStat(Slurp(dir + "stat")).ok()) << tid;
    EXPECT_TRUE(ParseTaskStatus(Slurp(dir + "status")).ok()) << tid;
    EXPECT_TRUE(ParseTaskSchedstat(Slurp(dir + "schedstat")).ok()) << tid;
  }
}

TEST(ReadProcThread, GoneThreadIsNotFound) {
  EXPECT_EQ(Reader(kProc).Read(kNamedPid, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Reader(kProc).Read(999999, 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ReadProcThread, MalformedFilesNameTheFile) {
  struct Case {
    uint32_t tid;
    const char* file;
    const char* what;
  };
  for (const Case& c :
       {Case{10, "stat", "truncated"}, Case{11, "stat", "empty"},
        Case{12, "stat", "not '<pid> (<comm>)"},
        Case{20, "status", "truncated before voluntary"},
        Case{21, "status", "empty"}, Case{22, "status", "not a number: 'lots'"},
        Case{30, "schedstat", "truncated"}, Case{31, "schedstat", "empty"},
        Case{32, "schedstat", "not a number: 'abc'"},
        Case{40, "io", "truncated before wchar"}, Case{41, "io", "empty"},
        Case{42, "io", "not a number: '12x'"}}) {
    auto s = Reader(kMalformed).Read(4242, c.tid);
    const std::string path = kMalformed + "/4242/task/" +
                             std::to_string(c.tid) + "/" + c.file + ": ";
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << c.tid;
    EXPECT_THAT(Message(s.status()), AllOf(HasSubstr(path), HasSubstr(c.what)))
        << c.tid;
  }
  EXPECT_TRUE(Reader(kMalformed).Read(4242, 50).ok());
}

TEST(ProcThreadSchedstat, ReadsFixtureAgainAndNamesBadContent) {
  auto fd = Reader(kProc).OpenSchedstat(kNamedPid, kNamedTid);
  ASSERT_TRUE(fd.ok()) << fd.status();
  for (int i = 0; i < 2; ++i) {  // pread at 0: a second read is a fresh one
    auto on_cpu = Reader(kProc).ReadOnCpuNs(*fd);
    ASSERT_TRUE(on_cpu.ok()) << on_cpu.status();
    EXPECT_EQ(*on_cpu, 18375u);
  }
  EXPECT_EQ(Reader(kProc).OpenSchedstat(kNamedPid, 1).status().code(),
            absl::StatusCode::kNotFound);
  for (uint32_t tid : {30u, 31u, 32u}) {  // truncated, empty, garbage
    auto bad = Reader(kMalformed).OpenSchedstat(4242, tid);
    ASSERT_TRUE(bad.ok()) << bad.status();
    EXPECT_EQ(Reader(kProc).ReadOnCpuNs(*bad).status().code(),
              absl::StatusCode::kDataLoss)
        << tid;
  }
}

// A live thread's schedstat fd follows its CPU time and reports its exit.
TEST(ProcThreadSchedstat, LiveThreadMovesThenIsGone) {
  std::promise<pid_t> started;
  std::promise<void> spun, done, release;
  std::thread t([&] {
    started.set_value(static_cast<pid_t>(syscall(SYS_gettid)));
    spun.get_future().wait();
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    while (std::chrono::steady_clock::now() < until) {
    }
    done.set_value();
    release.get_future().wait();  // alive until `after` is read
  });
  const uint32_t tid = static_cast<uint32_t>(started.get_future().get());
  auto fd = Reader("/proc").OpenSchedstat(getpid(), tid);
  ASSERT_TRUE(fd.ok()) << fd.status();
  auto before = Reader(kProc).ReadOnCpuNs(*fd);
  ASSERT_TRUE(before.ok()) << before.status();
  spun.set_value();
  done.get_future().wait();
  auto after = Reader(kProc).ReadOnCpuNs(*fd);
  release.set_value();
  t.join();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT(*after, *before);  // it ran in between
  // join returns at CLONE_CHILD_CLEARTID, a moment before the kernel unhashes
  // the task: wait for that (bounded), then the fd must say it is gone.
  bool gone = false;
  for (int i = 0; i < 1000 && !gone; ++i) {
    gone = !Reader(kProc).ReadOnCpuNs(*fd).ok();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(gone);
}

pid_t GetTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

TEST(ReadProcThread, LiveSelf) {
  std::promise<pid_t> named;
  std::promise<void> done;
  std::thread t([&] {
    prctl(PR_SET_NAME, "live) x");
    named.set_value(GetTid());
    done.get_future().wait();
  });
  const uint32_t tid = static_cast<uint32_t>(named.get_future().get());
  const uint32_t pid = static_cast<uint32_t>(getpid());
  auto tids = Reader("/proc").ListThreads(pid);
  ASSERT_TRUE(tids.ok()) << tids.status();
  EXPECT_THAT(*tids, Contains(tid));
  EXPECT_THAT(*tids, Contains(static_cast<uint32_t>(GetTid())));

  auto named_sample = Reader("/proc").Read(pid, tid);
  ASSERT_TRUE(named_sample.ok()) << named_sample.status();
  EXPECT_EQ(named_sample->comm, "live) x");
  done.set_value();
  t.join();

  auto self = Reader("/proc").Read(pid, static_cast<uint32_t>(GetTid()));
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_GT(self->on_cpu_ns, 0u);
  EXPECT_GT(self->min_flt, 0u);
  EXPECT_TRUE(self->has_io);
  EXPECT_GT(self->rchar, 0u);  // this test read /proc files itself
}

// pid 1's io may be unreadable (it is here); that is reported, not an error.
TEST(ReadProcThread, LivePid1) {
  auto tids = Reader("/proc").ListThreads(1);
  ASSERT_TRUE(tids.ok()) << tids.status();
  ASSERT_FALSE(tids->empty());
  auto s = Reader("/proc").Read(1, tids->front());
  ASSERT_TRUE(s.ok()) << s.status();
  if (!s->has_io) {
    EXPECT_EQ(s->rchar + s->wchar, 0u);
  }
}

}  // namespace
}  // namespace perfwire
