// agent/kernelfs: the reader, the kept file, listings, the error mapping,
// the splitters and the number parsers, on real files (this process's /proc,
// files written to a temp dir, the captured fixtures).

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kProc = PERFWIRE_FIXTURES_DIR "/proc";

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

TEST(KernelFs, RootsAndPaths) {
  KernelFs fs("/x/proc", "/y/sys");
  EXPECT_EQ(fs.Proc("/stat"), "/x/proc/stat");
  EXPECT_EQ(fs.Sys("/class/hwmon"), "/y/sys/class/hwmon");
  EXPECT_EQ(KernelFs().proc_root(), "/proc");
  EXPECT_EQ(KernelFs().sys_root(), "/sys");
}

TEST(KernelFs, ReadsWholeFilesOfAnySizeReusingTheBuffer) {
  testing::TempDir dir;
  // Larger than one read chunk, and not a multiple of it.
  const std::string big(3 * 4096 + 17, 'x');
  WriteFile(dir.path() + "/big", big);
  WriteFile(dir.path() + "/empty", "");
  KernelFs fs(dir.path());
  std::string out = "stale";
  ASSERT_TRUE(fs.ReadProc("/big", out).ok());
  EXPECT_EQ(out, big);
  ASSERT_TRUE(fs.ReadProc("/empty", out).ok());
  EXPECT_EQ(out, "");
  // procfs files report size 0 but have content.
  ASSERT_TRUE(KernelFs().ReadProc("/self/status", out).ok());
  EXPECT_THAT(out, HasSubstr("voluntary_ctxt_switches:"));
}

TEST(KernelFs, OversizedFileIsOutOfRange) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.path() + "/huge", std::ios::binary);
    out.seekp(KernelFs::kMaxFileBytes);
    out.put('x');  // a sparse file one byte over the cap
  }
  std::string out;
  const absl::Status s = KernelFs().Read(dir.path() + "/huge", out);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.path() + "/huge"));
  EXPECT_TRUE(out.empty());
}

TEST(KernelFs, ErrorsMapToCodesAndNameThePath) {
  std::string out = "stale";
  absl::Status s = KernelFs().Read("/nonexistent/proc/stat", out);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "open /nonexistent/proc/stat: ENOENT: No such file or directory");
  EXPECT_TRUE(out.empty());
  // A directory is not a file: EISDIR from read, from errno.
  s = KernelFs().Read("/proc/self", out);
  EXPECT_EQ(s.code(), absl::ErrnoToStatusCode(EISDIR)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("read /proc/self: EISDIR"));
  EXPECT_EQ(FileError(ESRCH, "read", "/proc/9/stat").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FileError(EACCES, "open", "/proc/1/io").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(FileError(EPERM, "open", "/proc/1/io").code(),
            absl::StatusCode::kPermissionDenied);
  // Other errnos keep Abseil's mapping.
  EXPECT_EQ(FileError(EIO, "read", "/sys/x").code(),
            absl::ErrnoToStatusCode(EIO));
  EXPECT_EQ(KernelFs().ListIds("/nonexistent").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FileErrors, MalformedNamesFileAndLine) {
  absl::Status s = MalformedFile("/proc/stat", 3, "garbage");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "/proc/stat: line 3: garbage");
  EXPECT_EQ(MalformedFile("stat", 0, "empty").message(), "stat: empty");
  EXPECT_TRUE(CheckNotTruncated("f", "").ok());
  EXPECT_TRUE(CheckNotTruncated("f", "a\n").ok());
  EXPECT_EQ(CheckNotTruncated("f", "a\nb").message(),
            "f: truncated (no end of line)");
  EXPECT_EQ(Excerpt("a\tb"), "'a?b'");
  EXPECT_EQ(Excerpt(std::string(40, 'z')), "'" + std::string(32, 'z') + "...'");
  EXPECT_EQ(ErrnoName(ENOENT), "ENOENT: No such file or directory");
  EXPECT_EQ(ErrnoSymbol(EACCES), "EACCES");
  EXPECT_EQ(ErrnoSymbol(4242), "errno 4242");
}

TEST(KeptFile, RereadsFromTheStartAndSeesChanges) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/f";
  WriteFile(path, "one\n");
  auto kept = KernelFs().Keep(path);
  ASSERT_TRUE(kept.ok()) << kept.status();
  std::string out;
  for (int i = 0; i < 2; ++i) {  // pread at 0: the second read is whole too
    ASSERT_TRUE(kept->Reread(out).ok());
    EXPECT_EQ(out, "one\n");
  }
  WriteFile(path, "two lines\nhere\n");  // same inode, rewritten
  ASSERT_TRUE(kept->Reread(out).ok());
  EXPECT_EQ(out, "two lines\nhere\n");
  EXPECT_EQ(kept->path(), path);
  KeptFile moved = std::move(*kept);
  EXPECT_TRUE(moved.is_open());
  moved.Close();
  EXPECT_EQ(moved.Reread(out).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(KernelFs().Keep(dir.path() + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

// A kept /proc file of a thread that exits reports NotFound (ESRCH).
TEST(KeptFile, ExitedThreadIsNotFound) {
  std::promise<pid_t> started;
  std::promise<void> release;
  std::thread t([&] {
    started.set_value(static_cast<pid_t>(syscall(SYS_gettid)));
    release.get_future().wait();
  });
  const pid_t tid = started.get_future().get();
  auto kept =
      KernelFs().Keep("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  ASSERT_TRUE(kept.ok()) << kept.status();
  std::string out;
  EXPECT_TRUE(kept->Reread(out).ok());
  release.set_value();
  t.join();
  absl::Status s;
  for (int i = 0; i < 1000 && s.ok(); ++i) {
    s = kept->Reread(out);
    if (s.ok()) usleep(1000);  // the task is unhashed a moment after join
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

TEST(KernelFs, ListsDirectories) {
  KernelFs fs(kProc);
  auto ids = fs.ListIds(kProc);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre(1u, 16646u));  // README.md is not an id
  auto names = fs.ListDir(kProc + "/16646/task/16647");
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_THAT(*names, ElementsAre("io", "schedstat", "stat", "status"));
  int n = 0;
  ASSERT_TRUE(fs.ForEachEntry(kProc + "/1/task", [&n](absl::string_view) {
                  ++n;
                }).ok());
  EXPECT_EQ(n, 13);
  EXPECT_TRUE(fs.Exists(kProc + "/README.md"));
  EXPECT_FALSE(fs.Exists(kProc + "/nope"));
  EXPECT_TRUE(fs.CanRead(kProc + "/README.md"));
}

TEST(Numbers, ParseWholeStringsStrictly) {
  uint64_t v = 7;
  EXPECT_TRUE(ParseU64("0", v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(ParseU64("18446744073709551615", v));
  EXPECT_EQ(v, UINT64_MAX);
  v = 7;
  for (const char* bad :
       {"", "18446744073709551616", "12a", " 1", "1 ", "+1", "-1", "0x1"}) {
    EXPECT_FALSE(ParseU64(bad, v)) << bad;
    EXPECT_EQ(v, 7u) << "left unchanged on '" << bad << "'";
  }
  EXPECT_TRUE(ParseHexU64("0A", v));
  EXPECT_EQ(v, 10u);
  EXPECT_TRUE(ParseHexU64("ffffffffffffffff", v));
  EXPECT_FALSE(ParseHexU64("1ffffffffffffffff", v));
  EXPECT_FALSE(ParseHexU64("0x1", v));
  EXPECT_FALSE(ParseHexU64("g", v));
  double d = 0;
  EXPECT_TRUE(ParseDouble("2445.428", d));
  EXPECT_DOUBLE_EQ(d, 2445.428);
  EXPECT_TRUE(ParseDouble("0.00", d));
  EXPECT_FALSE(ParseDouble("", d));
  EXPECT_FALSE(ParseDouble("1.5x", d));
  EXPECT_FALSE(ParseDouble(" 1.5", d));
}

TEST(Splitters, LinesWithNumbersAndCompleteness) {
  LineSplitter lines("a\n\nc");
  absl::string_view line;
  ASSERT_TRUE(lines.Next(line));
  EXPECT_EQ(line, "a");
  EXPECT_EQ(lines.line_number(), 1u);
  EXPECT_TRUE(lines.complete());
  ASSERT_TRUE(lines.Next(line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(lines.Next(line));
  EXPECT_EQ(line, "c");
  EXPECT_EQ(lines.line_number(), 3u);
  EXPECT_FALSE(lines.complete());  // no '\n': cut short
  EXPECT_FALSE(lines.Next(line));
  LineSplitter none("");
  EXPECT_FALSE(none.Next(line));
  EXPECT_EQ(none.line_number(), 0u);
}

TEST(Splitters, FieldsOnRunsOfBlanks) {
  FieldSplitter f("  cpu0 \t12  34\t");
  absl::string_view field;
  std::vector<std::string> got;
  while (f.Next(field)) got.emplace_back(field);
  EXPECT_THAT(got, ElementsAre("cpu0", "12", "34"));
  FieldSplitter rest("key: 5 kB");
  ASSERT_TRUE(rest.Next(field));
  EXPECT_EQ(rest.rest(), " 5 kB");
  FieldSplitter blank(" \t ");
  EXPECT_FALSE(blank.Next(field));
}

}  // namespace
}  // namespace perfwire
