// The Python reader (clients/python/perfwire_reader.py, through its example
// clients/python/examples/frames_to_pandas.py) with Debian's
// /usr/bin/python3: live from a real perfwired, and from a recording written
// by the real `perfwire record`, intact and damaged. The C++ RecordingReader
// reads the same files: Python must find the same whole frames, the same
// rows and the same place of damage.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/lib/recording.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

std::string Example() {
  return std::string(PERFWIRE_SOURCE_DIR) +
         "/clients/python/examples/frames_to_pandas.py";
}

std::string PerfwirePath() {
  return std::string(PERFWIRE_BIN_DIR) + "/perfwire";
}

// The N of the `key=N` word in `out`; -1 when absent.
int64_t Number(const std::string& out, const std::string& key) {
  const size_t at = out.find(key + "=");
  if (at == std::string::npos) return -1;
  const size_t begin = at + key.size() + 1;
  const size_t end = out.find_first_of(" \n", begin);
  int64_t n = -1;
  if (!absl::SimpleAtoi(out.substr(begin, end - begin), &n)) return -1;
  return n;
}

bool IsNonEmptyPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof(magic));
  struct stat st {};
  return in.gcount() == 8 && std::string(magic, 4) == "\x89PNG" &&
         stat(path.c_str(), &st) == 0 && st.st_size > 1000;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs the example with `args`; stdout and stderr together in *out.
int RunExample(const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> sh = {"-c",          "exec \"$0\" \"$@\" 2>&1",
                                 kPython,       Example(),
                                 "--generated", PERFWIRE_PYTHON_GEN_DIR};
  sh.insert(sh.end(), args.begin(), args.end());
  Child child("/bin/sh", sh);
  return child.Finish(out);
}

// What the C++ reader makes of a recording.
struct CppRead {
  int64_t frames = 0;
  int64_t rows = 0;          // threads summed over the whole frames
  std::vector<size_t> ends;  // byte offset after each whole record
  std::string damage;        // DataLoss message; empty when intact
  std::string open_error;    // Open() failed
};

CppRead ReadWithCpp(const std::string& path) {
  CppRead r;
  absl::StatusOr<RecordingReader> reader = RecordingReader::Open(path);
  if (!reader.ok()) {
    r.open_error = std::string(reader.status().message());
    return r;
  }
  size_t offset = 7 + 4 + 2 + reader->hostname().size();
  for (;;) {
    absl::StatusOr<const fb::Frame*> frame = reader->Next();
    if (absl::IsOutOfRange(frame.status())) break;
    if (!frame.ok()) {
      r.damage = std::string(frame.status().message());
      break;
    }
    ++r.frames;
    r.rows += (*frame)->threads() != nullptr ? (*frame)->threads()->size() : 0;
    offset += reader->last_message().size() + 4;
    r.ends.push_back(offset);
  }
  return r;
}

// "at byte X after K complete frames (why)" of a torn-record message.
std::string DamagePlace(const std::string& message) {
  const size_t at = message.find("at byte ");
  const size_t end = message.find(')', at);
  if (at == std::string::npos || end == std::string::npos) return "";
  return message.substr(at, end + 1 - at);
}

bool PythonDepsMissing() {
  return system(
             "/usr/bin/python3 -c 'import flatbuffers, pandas, matplotlib' "
             ">/dev/null 2>&1") != 0;
}

#define PERFWIRE_REQUIRE_PYTHON_DEPS()                                        \
  do {                                                                        \
    if (PythonDepsMissing()) {                                                \
      if (InCi()) FAIL() << "CI=true but python3-{flatbuffers,pandas,...}";   \
      GTEST_SKIP() << "Debian python3-flatbuffers/pandas/matplotlib missing"; \
    }                                                                         \
  } while (0)

class PythonReader : public ::testing::Test {
 protected:
  // One real recording of a live agent, shared by the damage tests.
  static void SetUpTestSuite() {
    if (!BpfUnavailableReason().empty() || PythonDepsMissing()) return;
    dir_ = new TempDir();
    Agent agent;
    if (!agent.started()) return;
    const std::string path = dir_->path() + "/live.pwrec";
    Child record(PerfwirePath(),
                 {"record", "-o", path, "--count", std::to_string(kFrames),
                  "--socket", agent.socket()});
    std::string out;
    if (record.Finish(&out) == 0) recording_ = path;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    PERFWIRE_REQUIRE_BPF();
    PERFWIRE_REQUIRE_PYTHON_DEPS();
    ASSERT_FALSE(recording_.empty()) << "perfwire record failed";
    bytes_ = ReadFile(recording_);
    intact_ = ReadWithCpp(recording_);
    ASSERT_EQ(intact_.frames, kFrames) << intact_.damage << intact_.open_error;
    ASSERT_EQ(intact_.ends.back(), bytes_.size());
  }

  // Writes `bytes` to a file, reads it with C++ and with Python, and checks
  // they agree: same whole frames and rows, same place of damage.
  void ExpectSameAsCpp(const std::string& name, const std::string& bytes,
                       int64_t want_frames) {
    SCOPED_TRACE(name);
    const std::string path = dir_->path() + "/" + name;
    WriteFile(path, bytes);
    const CppRead cpp = ReadWithCpp(path);
    ASSERT_EQ(cpp.frames, want_frames) << cpp.damage;
    ASSERT_FALSE(cpp.damage.empty());
    std::string out;
    ASSERT_EQ(RunExample({"--recording", path, "--png", path + ".png"}, &out),
              0)
        << out;
    EXPECT_EQ(Number(out, "frames"), cpp.frames) << out;
    EXPECT_EQ(Number(out, "rows"), cpp.rows) << out;
    EXPECT_TRUE(absl::StrContains(out, "torn or corrupt record")) << out;
    const std::string place = DamagePlace(cpp.damage);
    ASSERT_FALSE(place.empty()) << cpp.damage;
    EXPECT_TRUE(absl::StrContains(out, place))
        << out << "\nC++: " << cpp.damage;
  }

  // A file Python must refuse outright, with `message` on stderr.
  void ExpectRefused(const std::string& name, const std::string& bytes,
                     const std::string& message) {
    SCOPED_TRACE(name);
    const std::string path = dir_->path() + "/" + name;
    WriteFile(path, bytes);
    EXPECT_FALSE(ReadWithCpp(path).open_error.empty());
    std::string out;
    EXPECT_EQ(RunExample({"--recording", path, "--png", path + ".png"}, &out),
              1)
        << out;
    EXPECT_TRUE(absl::StrContains(out, message)) << out;
    EXPECT_FALSE(absl::StrContains(out, "Traceback")) << out;
  }

  static constexpr int kFrames = 5;
  static TempDir* dir_;
  static std::string recording_;
  std::string bytes_;
  CppRead intact_;
};

TempDir* PythonReader::dir_ = nullptr;
std::string PythonReader::recording_;

TEST_F(PythonReader, LiveSocketMakesDataFrameAndPlot) {
  Agent agent;
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string png = dir.path() + "/live.png";
  std::string out;
  ASSERT_EQ(
      RunExample({"--socket", agent.socket(), "--count", "3", "--png", png},
                 &out),
      0)
      << out;
  EXPECT_EQ(Number(out, "frames"), 3) << out;
  EXPECT_GT(Number(out, "rows"), 0) << out;
  EXPECT_TRUE(IsNonEmptyPng(png)) << png;
}

// perfwired with --max_consumers=1 refuses a second reader with one refusal
// frame; Python, like FrameStream, must raise instead of yielding it.
TEST_F(PythonReader, SecondReaderOverMaxConsumersIsRefusedClearly) {
  Agent agent("200ms", {"--max_consumers=1"});
  ASSERT_TRUE(agent.started()) << agent.error();
  // The first reader reads one frame, says so, and keeps reading.
  const std::string first_script = absl::StrCat(
      "import sys\n"
      "sys.path.insert(0, '",
      PERFWIRE_SOURCE_DIR, "/clients/python')\n",
      "import perfwire_reader as pr\n"
      "pr.add_generated_path('",
      PERFWIRE_PYTHON_GEN_DIR, "')\n", "with pr.FrameReader.connect('",
      agent.socket(), "') as r:\n",
      "    for i, f in enumerate(r.frames()):\n"
      "        if i == 0: print('first', f.Seq(), flush=True)\n");
  Child first(kPython, {"-c", first_script});
  ASSERT_TRUE(absl::StartsWith(first.ReadLineStartingWith("first"), "first"));

  // The second, through the API: RefusedError with the reason, no frame.
  const std::string second_script = absl::StrCat(
      "import sys\n"
      "sys.path.insert(0, '",
      PERFWIRE_SOURCE_DIR, "/clients/python')\n",
      "import perfwire_reader as pr\n"
      "pr.add_generated_path('",
      PERFWIRE_PYTHON_GEN_DIR, "')\n", "r = pr.FrameReader.connect('",
      agent.socket(), "')\n",
      "n = 0\n"
      "try:\n"
      "    for f in r.frames(count=3):\n"
      "        n += 1\n"
      "except pr.RefusedError as e:\n"
      "    print('refused', isinstance(e, ConnectionError), n, '|', e.reason,\n"
      "          '|', e)\n"
      "else:\n"
      "    print('not refused', n)\n");
  Child second(kPython, {"-c", second_script});
  std::string out;
  EXPECT_EQ(second.Finish(&out), 0) << out;
  EXPECT_EQ(out, absl::StrCat("refused True 0 | 1 consumers already connected "
                              "(--max_consumers) | ",
                              agent.socket(),
                              ": perfwired refused: 1 consumers already "
                              "connected (--max_consumers)\n"));

  // The example reports it as an error, exit 1, without a traceback.
  TempDir dir;
  ASSERT_EQ(RunExample({"--socket", agent.socket(), "--count", "3", "--png",
                        dir.path() + "/refused.png"},
                       &out),
            1)
      << out;
  EXPECT_TRUE(absl::StrContains(
      out, "frames_to_pandas: error: " + agent.socket() +
               ": perfwired refused: 1 consumers already connected"))
      << out;
  EXPECT_FALSE(absl::StrContains(out, "Traceback")) << out;
  EXPECT_FALSE(absl::StrContains(out, "frames=")) << out;
  EXPECT_TRUE(first.Running());  // the first reader was never disturbed
}

TEST_F(PythonReader, ReadsPerfwireRecordLikeTheCppReader) {
  const std::string png = dir_->path() + "/rec.png";
  std::string out;
  ASSERT_EQ(RunExample({"--recording", recording_, "--png", png}, &out), 0)
      << out;
  EXPECT_EQ(Number(out, "frames"), kFrames) << out;
  EXPECT_EQ(Number(out, "rows"), intact_.rows) << out;
  EXPECT_GT(intact_.rows, 0);
  EXPECT_FALSE(absl::StrContains(out, "torn")) << out;
  EXPECT_TRUE(IsNonEmptyPng(png)) << png;
}

TEST_F(PythonReader, TruncatedRecordingKeepsEveryWholeFrame) {
  // Cut inside the last record's frame, inside its CRC, and inside the
  // length prefix of one more record.
  const size_t last_start = intact_.ends[kFrames - 2];
  ExpectSameAsCpp("cut_frame.pwrec", bytes_.substr(0, last_start + 40),
                  kFrames - 1);
  ExpectSameAsCpp("cut_crc.pwrec", bytes_.substr(0, bytes_.size() - 2),
                  kFrames - 1);
  ExpectSameAsCpp("cut_prefix.pwrec", bytes_ + std::string("\x10\x00", 2),
                  kFrames);
}

TEST_F(PythonReader, CorruptRecordsStopAtTheDamage) {
  // A flipped byte inside the third frame: CRC mismatch.
  std::string flipped = bytes_;
  flipped[intact_.ends[1] + 30] ^= 0x5a;
  ExpectSameAsCpp("flipped.pwrec", flipped, 2);
  // An absurd length in the fourth record's prefix.
  std::string bad_length = bytes_;
  bad_length.replace(intact_.ends[2], 4, "\xff\xff\xff\xff", 4);
  ExpectSameAsCpp("bad_length.pwrec", bad_length, 3);
  // A zero length in the second.
  std::string zero_length = bytes_;
  zero_length.replace(intact_.ends[0], 4, std::string(4, '\0'));
  ExpectSameAsCpp("zero_length.pwrec", zero_length, 1);
  // Garbage appended after the last whole record.
  ExpectSameAsCpp("garbage_tail.pwrec", bytes_ + std::string(64, '\x7f'),
                  kFrames);
}

TEST_F(PythonReader, NotARecordingOrTruncatedHeaderIsAClearError) {
  ExpectRefused("empty.pwrec", "", "is not a perfwire recording");
  ExpectRefused("garbage.pwrec", std::string(256, '\x42'),
                "is not a perfwire recording");
  // The wire stream without the recording header (the old raw-frame file).
  ExpectRefused("raw.pwf", bytes_.substr(intact_.ends[0], 4096),
                "is not a perfwire recording");
  ExpectRefused("header.pwrec", bytes_.substr(0, 9), "truncated header");
}

}  // namespace
}  // namespace perfwire::testing
