// record/replay, export csv and top against a real perfwired.

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

std::string PerfwirePath() {
  return std::string(PERFWIRE_BIN_DIR) + "/perfwire";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// seq -> JSON line.
std::map<uint64_t, std::string> BySeq(const std::string& json_lines) {
  static const std::regex kSeq("\"seq\": *([0-9]+)");
  std::map<uint64_t, std::string> out;
  for (const std::string& line : Lines(json_lines)) {
    std::smatch m;
    if (std::regex_search(line, m, kSeq)) out[std::stoull(m[1])] = line;
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Records `frames` frames of a live agent into dir/rec/live.pwrec.
std::string RecordLive(const Agent& agent, const TempDir& dir, int frames) {
  const std::string path = dir.path() + "/rec/live.pwrec";
  Child record(PerfwirePath(),
               {"record", "-o", path, "--count", std::to_string(frames),
                "--socket", agent.socket()});
  std::string out;
  EXPECT_EQ(record.Finish(&out), 0);
  return path;
}

// Runs `perfwire args...` under coreutils' timeout (exit 124 = it hung), with
// stderr folded into `out`.
int RunPerfwire(const std::vector<std::string>& args, std::string* out,
                int timeout_s = 15) {
  std::string command =
      "exec timeout " + std::to_string(timeout_s) + " '" + PerfwirePath() + "'";
  for (const std::string& a : args) command += " '" + a + "'";
  command += " 2>&1";
  return Child("/bin/sh", {"-c", command}).Finish(out);
}

// A Unix socket that accepts connections (in the kernel's backlog) and never
// sends a byte: what a stopped or wedged agent looks like to a client.
class SilentServer {
 public:
  explicit SilentServer(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ok_ = fd_ >= 0 &&
          ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          ::listen(fd_, 16) == 0;
  }
  ~SilentServer() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool ok() const { return ok_; }
  int fd() const { return fd_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
};

TEST(CliTest, VersionNamesProjectVersionAndGitRevision) {
  std::string out;
  ASSERT_EQ(RunPerfwire({"--version"}, &out), 0) << out;
  EXPECT_THAT(
      out, ::testing::MatchesRegex("perfwire [0-9]+\\.[0-9]+\\.[0-9]+ \\(git "
                                   "([0-9a-f]{7,}(-dirty)?|unknown)\\)\n"));
  std::string after_command;
  ASSERT_EQ(RunPerfwire({"dump", "--version"}, &after_command), 0);
  EXPECT_EQ(after_command, out);
  // Abseil's help flags show the command's help and exit 0 (Abseil: 1).
  ASSERT_EQ(RunPerfwire({"dump", "--helpfull"}, &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("--json (bool)"));
}

// Every usage error exits 2, including values Abseil would reject itself
// (its parser exits 1), and an unknown flag or command suggests the nearest.
TEST(CliTest, UsageErrorsExit2AndSuggest) {
  std::string out;
  EXPECT_EQ(RunPerfwire({"dump", "--count=abc"}, &out), 2) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("bad value for --count: \"abc\""));
  EXPECT_EQ(RunPerfwire({"dump", "--json=maybe"}, &out), 2) << out;
  EXPECT_EQ(RunPerfwire({"record", "-o", "x", "--duration", "3 parsecs"}, &out),
            2)
      << out;
  EXPECT_EQ(RunPerfwire({"dump", "--count"}, &out), 2) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("--count needs a value"));
  EXPECT_EQ(RunPerfwire({"record", "--duraton", "3s"}, &out), 2) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("did you mean --duration?"));
  EXPECT_EQ(RunPerfwire({"dump", "--listen=:1"}, &out), 2) << out;
  EXPECT_THAT(out,
              ::testing::HasSubstr("--listen is read by `perfwire export`"));
  EXPECT_EQ(RunPerfwire({"dupm"}, &out), 2) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("did you mean `perfwire dump`?"));
  EXPECT_EQ(RunPerfwire({"replay"}, &out), 2) << out;
}

TEST(ConsumersTest, DurationIsADeadlineAgainstASilentAgent) {
  TempDir dir;
  const std::string socket = dir.path() + "/silent.sock";
  SilentServer server(socket);
  ASSERT_TRUE(server.ok());
  const std::string rec = dir.path() + "/out.pwrec";
  std::string out;
  EXPECT_EQ(
      RunPerfwire({"record", "-o", rec, "--duration", "1s", "--socket", socket},
                  &out),
      1)
      << out;
  EXPECT_THAT(out, ::testing::HasSubstr("no frame arrived"));
  EXPECT_FALSE(std::filesystem::exists(rec));

  const std::string csv = dir.path() + "/live.csv";
  EXPECT_EQ(RunPerfwire({"export", "csv", "--live", "--duration", "1s",
                         "--socket", socket, "-o", csv},
                        &out),
            1)
      << out;
  EXPECT_THAT(out, ::testing::HasSubstr("no frame arrived"));
  EXPECT_EQ(Lines(ReadFile(csv)).size(), 1u);  // the header

  EXPECT_EQ(
      RunPerfwire({"contention", "--duration", "1s", "--socket", socket}, &out),
      1)
      << out;
  EXPECT_THAT(out, ::testing::HasSubstr("no frame arrived"));
}

TEST(ConsumersTest, RecordFromAServerThatClosesWritesNoFile) {
  TempDir dir;
  const std::string socket = dir.path() + "/closing.sock";
  SilentServer server(socket);
  ASSERT_TRUE(server.ok());
  std::thread closer([&] {
    const int client = ::accept4(server.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (client >= 0) ::close(client);
  });
  const std::string rec = dir.path() + "/out.pwrec";
  std::string out;
  EXPECT_EQ(RunPerfwire({"record", "-o", rec, "--socket", socket}, &out), 1)
      << out;
  closer.join();
  EXPECT_THAT(out, ::testing::HasSubstr("was not written"));
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("is complete")));
  EXPECT_FALSE(std::filesystem::exists(rec));
}

TEST(ConsumersTest, RecordReplayJsonIsByteForByteTheLiveFrames) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string path = dir.path() + "/nested/dir/live.pwrec";
  // Both read the same agent at the same time, for ~1 s.
  Child dump(PerfwirePath(),
             {"dump", "--json", "--count", "10", "--socket", agent.socket()});
  Child record(PerfwirePath(), {"record", "-o", path, "--duration", "1s",
                                "--socket", agent.socket()});
  std::string dump_out, record_out, replay_out;
  ASSERT_EQ(dump.Finish(&dump_out), 0);
  ASSERT_EQ(record.Finish(&record_out), 0);
  Child replay(PerfwirePath(), {"replay", path, "--json"});
  ASSERT_EQ(replay.Finish(&replay_out), 0);

  const auto live = BySeq(dump_out);
  const auto replayed = BySeq(replay_out);
  ASSERT_GE(live.size(), 5u);
  ASSERT_GE(replayed.size(), 5u);
  int common = 0;
  for (const auto& [seq, line] : replayed) {
    auto it = live.find(seq);
    if (it == live.end()) continue;
    EXPECT_EQ(line, it->second) << "seq " << seq;
    ++common;
  }
  EXPECT_GE(common, 3);
}

TEST(ConsumersTest, ReplayServeFeedsDumpAndTornTailIsReported) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string path = RecordLive(agent, dir, 4);
  // Tear the tail: drop the last 7 bytes.
  const std::string bytes = ReadFile(path);
  std::filesystem::resize_file(path, bytes.size() - 7);
  std::string replay_out;
  Child replay(PerfwirePath(), {"replay", path, "--json"});
  // 3: the recording is damaged, after every whole frame was played.
  ASSERT_EQ(replay.Finish(&replay_out), 3);
  EXPECT_EQ(BySeq(replay_out).size(), 3u);
  std::string out;
  const std::string csv = dir.path() + "/torn.csv";
  EXPECT_EQ(RunPerfwire({"export", "csv", path, "-o", csv}, &out), 3) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("torn or corrupt record"));
  EXPECT_EQ(Lines(ReadFile(csv)).size(), 4u);  // header + 3 whole frames
  // -o - writes the same rows to stdout (stderr folded in after them).
  std::string stdout_csv;
  EXPECT_EQ(RunPerfwire({"export", "csv", path, "-o", "-"}, &stdout_csv), 3);
  EXPECT_THAT(stdout_csv, ::testing::StartsWith(ReadFile(csv)));

  const std::string socket = dir.path() + "/replay.sock";
  Child serve(PerfwirePath(), {"replay", path, "--serve", socket});
  for (int i = 0; i < 100 && !std::filesystem::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Child dump(PerfwirePath(),
             {"dump", "--json", "--count", "3", "--socket", socket});
  std::string dump_out;
  ASSERT_EQ(dump.Finish(&dump_out), 0);
  EXPECT_EQ(BySeq(dump_out), BySeq(replay_out));
}

// replay --serve holds at most 16 clients; the 17th is closed at once.
TEST(ConsumersTest, ReplayServeBoundsItsClients) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string path = RecordLive(agent, dir, 3);
  const std::string socket = dir.path() + "/replay.sock";
  // Paced 100x slower than recorded: each client is held for ~20 s.
  Child serve(PerfwirePath(),
              {"replay", path, "--serve", socket, "--speed", "0.01"});
  for (int i = 0; i < 100 && !std::filesystem::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto connect_to = [&]() {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
              0);
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
  };
  std::vector<int> held;
  for (int i = 0; i < 16; ++i) {
    held.push_back(connect_to());
    char byte;
    // Each of the 16 gets its first frame at once.
    EXPECT_EQ(::read(held.back(), &byte, 1), 1) << "client " << i;
  }
  const int extra = connect_to();
  char buf[4096];
  EXPECT_EQ(::read(extra, buf, sizeof(buf)), 0);  // closed, no frame
  ::close(extra);
  for (int fd : held) ::close(fd);
}

// Any local user can name a thread anything (prctl PR_SET_NAME): JSON Lines
// from dump and CSV from export still parse, strictly, in Python.
TEST(ConsumersTest, HostileThreadNameThroughARealAgent) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  // 15 bytes: not UTF-8, a formula, a quote and a line break.
  const std::string namer = R"(
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, b'\xff\xfe=1+2"\n|A0', 0, 0, 0)
print('ready', flush=True)
end = time.time() + 20
while time.time() < end:
    pass
)";
  Child hostile("/usr/bin/python3", {"-c", namer});
  ASSERT_NE(hostile.ReadLineStartingWith("ready"), "");
  TempDir dir;

  std::string out;
  const std::string json = dir.path() + "/frames.jsonl";
  ASSERT_EQ(Child("/bin/sh", {"-c", "'" + PerfwirePath() +
                                        "' dump --json --count 5 --socket '" +
                                        agent.socket() + "' > '" + json + "'"})
                .Finish(&out),
            0);
  const std::string check_json = R"(
import json, sys
def reject(token):
    raise ValueError('not JSON: ' + token)
seen = 0
with open(sys.argv[1], 'rb') as f:
    for line in f.read().decode('utf-8').splitlines():
        frame = json.loads(line, parse_constant=reject)
        seen += sum(t['comm'] == '\ufffd\ufffd=1+2"\n|A0'
                    for t in frame.get('threads', []))
print('json ok' if seen > 0 else 'name not seen')
)";
  ASSERT_EQ(Child("/usr/bin/python3", {"-c", check_json, json}).Finish(&out), 0)
      << out;
  EXPECT_EQ(out, "json ok\n");

  const std::string path = RecordLive(agent, dir, 5);
  const std::string csv = dir.path() + "/threads.csv";
  ASSERT_EQ(RunPerfwire({"export", "csv", path, "--threads", "-o", csv}, &out),
            0)
      << out;
  const std::string check_csv = R"(
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8', errors='strict') as f:
    rows = list(csv.reader(f))
assert all(len(r) == len(rows[0]) for r in rows)
comm = rows[0].index('comm')
names = [r[comm] for r in rows[1:]]
print('csv ok' if "'\ufffd\ufffd=1+2\"\n|A0" in names else names)
)";
  ASSERT_EQ(Child("/usr/bin/python3", {"-c", check_csv, csv}).Finish(&out), 0)
      << out;
  EXPECT_EQ(out, "csv ok\n");
}

TEST(ConsumersTest, ExportCsvParses) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string path = RecordLive(agent, dir, 5);
  const std::string csv = dir.path() + "/out/sub/host.csv";
  const std::string threads_csv = dir.path() + "/out/threads.csv";
  std::string out;
  ASSERT_EQ(
      Child(PerfwirePath(), {"export", "csv", path, "-o", csv}).Finish(&out),
      0);
  ASSERT_EQ(Child(PerfwirePath(),
                  {"export", "csv", path, "--threads", "-o", threads_csv})
                .Finish(&out),
            0);
  const std::vector<std::string> rows = Lines(ReadFile(csv));
  ASSERT_EQ(rows.size(), 6u);  // header + 5 intervals
  EXPECT_THAT(rows[0], ::testing::StartsWith("timestamp,seq,interval_s,"));
  EXPECT_THAT(rows[1], ::testing::MatchesRegex(
                           "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z,[0-9]+,.*"));
  const std::vector<std::string> thread_rows = Lines(ReadFile(threads_csv));
  ASSERT_GT(thread_rows.size(), 5u);
  EXPECT_THAT(thread_rows[0],
              ::testing::StartsWith("timestamp,seq,hostname,tid,pid,comm,"));

  // Python's csv module agrees on the shape: every row as wide as the header.
  if (std::filesystem::exists("/usr/bin/python3")) {
    const std::string script =
        "import csv,sys\n"
        "for p in sys.argv[1:]:\n"
        "  rows=list(csv.reader(open(p,newline='')))\n"
        "  assert len(rows)>1, p\n"
        "  assert all(len(r)==len(rows[0]) for r in rows), p\n"
        "print('ok')\n";
    Child py("/usr/bin/python3", {"-c", script, csv, threads_csv});
    std::string py_out;
    EXPECT_EQ(py.Finish(&py_out), 0);
    EXPECT_EQ(py_out, "ok\n");

    // Host shares come from two frames: none in the first row, then the ten
    // CPU modes of the real /proc/stat counters sum to 100% of all CPUs.
    const std::string rates =
        "import csv,sys\n"
        "rows=list(csv.DictReader(open(sys.argv[1],newline='')))\n"
        "modes=[k for k in rows[0] if k.startswith('cpu_') and "
        "k.endswith('_percent')]\n"
        "assert len(modes)==10, modes\n"
        "assert all(rows[0][k]=='' for k in modes), rows[0]\n"
        "for r in rows[1:]:\n"
        "  total=sum(float(r[k]) for k in modes)\n"
        "  assert abs(total-100)<0.1, (total, r)\n"
        "  assert float(r['context_switch_per_sec'])>0, r\n"
        "  assert r['network_receive_bytes_per_sec']!='', r\n"
        "print('rates ok')\n";
    Child rates_py("/usr/bin/python3", {"-c", rates, csv});
    EXPECT_EQ(rates_py.Finish(&py_out), 0) << py_out;
    EXPECT_EQ(py_out, "rates ok\n");
  }

  // --live writes the same shape.
  const std::string live_csv = dir.path() + "/live.csv";
  ASSERT_EQ(Child(PerfwirePath(), {"export", "csv", "--live", "--count", "2",
                                   "--socket", agent.socket(), "-o", live_csv})
                .Finish(&out),
            0);
  EXPECT_EQ(Lines(ReadFile(live_csv)).size(), 3u);
}

// Piped, top prints dump's summaries: the sources once (not per frame), and
// from the second frame the host CPU share derived from two frames.
TEST(ConsumersTest, TopPipedPrintsSummariesLikeDump) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("100ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  // head ends the pipe: top sees EPIPE and exits 0.
  Child top("/bin/sh", {"-c", PerfwirePath() + " top --socket " +
                                  agent.socket() + " | head -n 80"});
  std::string out;
  ASSERT_EQ(top.Finish(&out), 0) << out;
  int headers = 0, sources = 0, with_cpu = 0;
  std::string first_header;
  for (const std::string& line : Lines(out)) {
    if (line.rfind("seq ", 0) == 0) {
      if (headers++ == 0) first_header = line;
      static const std::regex kCpu("  host cpu [0-9]+\\.[0-9]%  ");
      if (std::regex_search(line, kCpu)) ++with_cpu;
    }
    if (line.rfind("sources: ", 0) == 0) ++sources;
  }
  ASSERT_GE(headers, 3) << out;
  EXPECT_EQ(sources, 1) << out;
  EXPECT_THAT(first_header, ::testing::Not(::testing::HasSubstr("host cpu")));
  EXPECT_EQ(with_cpu, headers - 1) << out;  // every header but the first
}

// Display columns of a UTF-8 line: its code points (top writes no wide ones
// in these tests).
size_t DisplayColumnsOf(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80;
  return n;
}

// tmux drives `perfwire top` as a person would.
class Tmux {
 public:
  explicit Tmux(const std::string& command)
      : session_("pwtop" + std::to_string(getpid())) {
    Run({"new-session", "-d", "-s", session_, "-x", "120", "-y", "40",
         command});
  }
  ~Tmux() { Run({"kill-session", "-t", session_}); }
  // Every command goes to a private tmux server (-L), not the user's.
  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"-L", session_});
    std::string out;
    return Child("/usr/bin/tmux", args).Finish(&out);
  }
  void Keys(const std::string& keys, bool literal = false) {
    if (literal) {
      Run({"send-keys", "-t", session_, "-l", keys});
    } else {
      Run({"send-keys", "-t", session_, keys});
    }
  }
  std::string Capture() {
    std::string out;
    Child("/usr/bin/tmux",
          {"-L", session_, "capture-pane", "-p", "-t", session_})
        .Finish(&out);
    return out;
  }
  // Polls the screen until `pred` holds (up to 15 s); returns the last one.
  std::string WaitFor(const std::function<bool(const std::string&)>& pred) {
    std::string screen;
    for (int i = 0; i < 150; ++i) {
      screen = Capture();
      if (pred(screen)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return screen;
  }
  bool Alive() { return Run({"has-session", "-t", session_}) == 0; }
  const std::string& session() const { return session_; }

 private:
  std::string session_;
};

// The CPU% of the busiest row whose comm is `comm`, or -1.
double CpuOf(const std::string& screen, const std::string& comm) {
  double best = -1;
  for (const std::string& line : Lines(screen)) {
    std::istringstream in(line);
    std::string tid, pid, name, cpu;
    if (!(in >> tid >> pid >> name >> cpu) || name != comm) continue;
    try {
      best = std::max(best, std::stod(cpu));
    } catch (...) {
    }
  }
  return best;
}

TEST(ConsumersTest, TopShowsTheSpinnerAndHelp) {
  PERFWIRE_REQUIRE_BPF();
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  Agent agent("500ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  Child spinner(WorkloadPath("spinner"), {"--threads=1", "--ms=20000"});
  ASSERT_NE(spinner.ReadLineStartingWith("ready"), "");
  Tmux tmux(PerfwirePath() + " top --socket " + agent.socket());
  std::string screen = tmux.WaitFor(
      [](const std::string& s) { return CpuOf(s, "spinner") > 50; });
  EXPECT_GT(CpuOf(screen, "spinner"), 50) << screen;
  EXPECT_THAT(screen, ::testing::HasSubstr("TID"));

  tmux.Keys("c");
  tmux.Keys("/");
  tmux.Keys("spinner", /*literal=*/true);
  tmux.Keys("Enter");
  screen = tmux.WaitFor([](const std::string& s) {
    return s.find("filter: spinner") != std::string::npos &&
           CpuOf(s, "spinner") > 50;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("filter: spinner"));
  EXPECT_GT(CpuOf(screen, "spinner"), 50) << screen;
  // Only spinner rows remain.
  EXPECT_LT(CpuOf(screen, "perfwired"), 0) << screen;

  tmux.Keys("h");
  screen = tmux.WaitFor([](const std::string& s) {
    return s.find("perfwire top help") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("perfwire top help"));
  tmux.Keys("h");
  // A smaller terminal: the table is redrawn to fit (KEY_RESIZE).
  tmux.Run({"resize-window", "-t", tmux.session(), "-x", "80", "-y", "20"});
  screen = tmux.WaitFor([](const std::string& s) {
    return s.find("perfwire top help") == std::string::npos &&
           Lines(s).size() <= 20 && CpuOf(s, "spinner") > 50;
  });
  EXPECT_GT(CpuOf(screen, "spinner"), 50) << screen;
  EXPECT_LE(Lines(screen).size(), 20u) << screen;
  tmux.Keys("q");
  for (int i = 0; i < 50 && tmux.Alive(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(tmux.Alive()) << "q did not quit";
}

TEST(ConsumersTest, TopReportsDisconnect) {
  PERFWIRE_REQUIRE_BPF();
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  auto agent = std::make_unique<Agent>("200ms");
  ASSERT_TRUE(agent->started()) << agent->error();
  Tmux tmux(PerfwirePath() + " top --socket " + agent->socket());
  std::string screen = tmux.WaitFor(
      [](const std::string& s) { return s.find("seq ") != std::string::npos; });
  ASSERT_THAT(screen, ::testing::HasSubstr("seq "));
  agent.reset();  // stops perfwired
  screen = tmux.WaitFor([](const std::string& s) {
    return s.find("agent gone: ") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("agent gone: "));
  EXPECT_THAT(screen, ::testing::HasSubstr("reconnecting in"));
}

// "rows A-B of N" from top's title line, or {0, 0, 0}.
struct RowRange {
  int first = 0, last = 0, total = 0;
};
RowRange RowsShown(const std::string& screen) {
  static const std::regex kRows("rows ([0-9]+)-([0-9]+) of ([0-9]+)");
  std::smatch m;
  RowRange r;
  if (std::regex_search(screen, m, kRows)) {
    r.first = std::stoi(m[1]);
    r.last = std::stoi(m[2]);
    r.total = std::stoi(m[3]);
  }
  return r;
}

// Issue 15.12 and 15.14: scrolling keys, every header section with an app
// series and its rate, and UTF-8 (the ellipsis, not ~@) in a UTF-8 locale.
TEST(ConsumersTest, TopScrollsAndShowsTheHostHeaderInUtf8) {
  PERFWIRE_REQUIRE_BPF();
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  Agent agent("500ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  // A spinner whose comm (15 bytes) is longer than a narrow COMM column.
  TempDir dir;
  const std::string spinner_copy = dir.path() + "/spinner_with_long_name";
  std::filesystem::copy_file(WorkloadPath("spinner"), spinner_copy);
  std::filesystem::permissions(spinner_copy, std::filesystem::perms::owner_all);
  Child spinner(spinner_copy, {"--threads=12", "--ms=30000"});
  ASSERT_NE(spinner.ReadLineStartingWith("ready"), "");
  // An application sending StatsD gauges and counters over the app socket.
  const std::string app_socket =
      std::filesystem::path(agent.socket()).parent_path().string() +
      "/app.sock";
  Child sender("/usr/bin/python3",
               {"-c",
                "import socket, sys, time\n"
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                "s.connect(sys.argv[1])\n"
                "print('ready', flush=True)\n"
                "for i in range(600):\n"
                "    s.send(b'llm.tokens_per_sec:%d|g|#model:m1\\n"
                "http.requests:1|c\\nhttp.requests:1|c' % (800 + i % 7))\n"
                "    time.sleep(0.05)\n",
                app_socket});
  ASSERT_NE(sender.ReadLineStartingWith("ready"), "");

  Tmux tmux("env LANG=C.UTF-8 LC_ALL=C.UTF-8 " + PerfwirePath() +
            " top --socket " + agent.socket());
  tmux.Run({"resize-window", "-t", tmux.session(), "-x", "120", "-y", "22"});
  std::string screen = tmux.WaitFor([](const std::string& s) {
    return s.find("llm.tokens_per_sec{model:m1}") != std::string::npos &&
           RowsShown(s).total > 15;
  });
  for (const char* section :
       {"CPU ", "load ", "TASKS ", "processes", "CORE ", "MEM ", "SWAP ",
        "PSI some cpu", "DISK read", "NET rx", "APP ",
        "llm.tokens_per_sec{model:m1} g 80", "http.requests c "}) {
    EXPECT_THAT(screen, ::testing::HasSubstr(section)) << screen;
  }
  EXPECT_THAT(screen, ::testing::ContainsRegex("http.requests c [0-9.]+/s"));
  // Block-element sparklines, not the ASCII ramp.
  EXPECT_THAT(screen, ::testing::ContainsRegex("[\u2581-\u2588]"));

  // Scrolling: Home shows row 1; End the last page; PgDn a page on; Up one
  // row back. (Thread counts change between frames: compare what is shown.)
  RowRange r = RowsShown(screen);
  ASSERT_GT(r.total, r.last) << "the table must be longer than a page\n"
                             << screen;
  tmux.Keys("End");
  screen = tmux.WaitFor([](const std::string& s) {
    const RowRange r = RowsShown(s);
    return r.first > 1 && r.last == r.total;
  });
  r = RowsShown(screen);
  EXPECT_GT(r.first, 1) << screen;
  EXPECT_EQ(r.last, r.total) << screen;
  tmux.Keys("Home");
  screen = tmux.WaitFor(
      [](const std::string& s) { return RowsShown(s).first == 1; });
  EXPECT_EQ(RowsShown(screen).first, 1) << screen;
  const int page = RowsShown(screen).last;  // rows 1-page
  tmux.Keys("NPage");
  screen =
      tmux.WaitFor([](const std::string& s) { return RowsShown(s).first > 1; });
  r = RowsShown(screen);
  // One page on, unless the last page starts earlier.
  EXPECT_EQ(r.first, std::min(page + 1, r.total - page + 1)) << screen;
  const int after_page = r.first;
  tmux.Keys("Up");
  screen = tmux.WaitFor([after_page](const std::string& s) {
    return RowsShown(s).first == after_page - 1;
  });
  EXPECT_EQ(RowsShown(screen).first, after_page - 1) << screen;
  tmux.Keys("PPage");
  screen = tmux.WaitFor(
      [](const std::string& s) { return RowsShown(s).first == 1; });
  EXPECT_EQ(RowsShown(screen).first, 1) << screen;

  // Narrow: columns re-lay out (rates go, COMM stays) and the long comm is
  // cut with a real ellipsis.
  tmux.Keys("/");
  tmux.Keys("spinner_w", /*literal=*/true);
  tmux.Keys("Enter");
  tmux.Run({"resize-window", "-t", tmux.session(), "-x", "36", "-y", "22"});
  screen = tmux.WaitFor([](const std::string& s) {
    return s.find("spinner_wi\u2026") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("spinner_wi\u2026"));
  EXPECT_THAT(screen, ::testing::Not(::testing::HasSubstr("~@")));
  EXPECT_THAT(screen, ::testing::Not(::testing::HasSubstr("SWITCH/s")));
  EXPECT_THAT(screen, ::testing::HasSubstr("CPU%"));
  for (const std::string& line : Lines(screen)) {
    EXPECT_LE(DisplayColumnsOf(line), 36u) << line;
  }
  // Wide again: the columns come back.
  tmux.Run({"resize-window", "-t", tmux.session(), "-x", "120", "-y", "22"});
  screen = tmux.WaitFor([](const std::string& s) {
    return s.find("SWITCH/s") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("SWITCH/s"));
  EXPECT_THAT(screen, ::testing::HasSubstr("spinner_with_lo"));
}

// Issue 15.13: the process view counts every live thread (three busy
// workers and the main thread, which sleeps in join and so is in no frame
// after its start) under the leader's name, not a busy worker's.
TEST(ConsumersTest, TopProcessViewCountsEveryThreadUnderTheLeadersName) {
  PERFWIRE_REQUIRE_BPF();
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  Agent agent("500ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  Tmux tmux(PerfwirePath() + " top --socket " + agent.socket());
  ASSERT_THAT(tmux.WaitFor([](const std::string& s) {
    return s.find("seq ") != std::string::npos;
  }),
              ::testing::HasSubstr("seq "));
  Child workload(
      "/usr/bin/python3",
      {"-c",
       "import ctypes, os, threading, time\n"
       "libc = ctypes.CDLL(None)\n"
       "def name(n): libc.prctl(15, n.encode(), 0, 0, 0)\n"
       "name('leaderproc')\n"
       "def work(i):\n"
       "    name('worker-%d' % i)\n"
       "    end = time.time() + 20\n"
       "    while time.time() < end: pass\n"
       "ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]\n"
       "for t in ts: t.start()\n"
       "print(os.getpid(), flush=True)\n"
       "for t in ts: t.join()\n"});
  const std::string pid = workload.ReadLineStartingWith("");
  ASSERT_FALSE(pid.empty());
  const std::string want_pid =
      pid.substr(0, pid.find_first_not_of("0123456789"));
  tmux.Keys("p");
  tmux.Keys("/");
  tmux.Keys(want_pid, /*literal=*/true);
  tmux.Keys("Enter");
  // Judge frames from well after the start, when the main thread has long
  // been in join and is in no frame (the old view then showed 3 threads,
  // named after worker-0).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  static const std::regex kSeq("seq ([0-9]+)");
  auto seq_of = [](const std::string& s) {
    std::smatch m;
    return std::regex_search(s, m, kSeq) ? std::stoll(m[1]) : -1;
  };
  const long long later = seq_of(tmux.Capture()) + 2;
  // THREADS PID COMM
  const std::regex row("\\n +([0-9]+) +" + want_pid + " +(\\S+) ");
  std::smatch m;
  const std::string screen = tmux.WaitFor([&](const std::string& s) {
    return seq_of(s) >= later && std::regex_search(s, m, row);
  });
  ASSERT_GE(seq_of(screen), later) << screen;
  ASSERT_TRUE(std::regex_search(screen, m, row)) << screen;
  EXPECT_EQ(m[1], "4") << screen;
  EXPECT_EQ(m[2], "leaderproc") << screen;
}

// Issue 15.15: a replayed stream is marked with its recorded time and its
// end is shown, not looped.
TEST(ConsumersTest, TopMarksAReplayAndShowsItsEnd) {
  PERFWIRE_REQUIRE_BPF();
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  TempDir dir;
  std::string path;
  {
    Agent agent("200ms");
    ASSERT_TRUE(agent.started()) << agent.error();
    path = RecordLive(agent, dir, 35);  // 7 s: older than kReplayDistance
  }
  const std::string socket = dir.path() + "/replay.sock";
  Child replay(PerfwirePath(), {"replay", path, "--serve", socket});
  for (int i = 0; i < 100 && !std::filesystem::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Tmux tmux(PerfwirePath() + " top --socket " + socket);
  const std::string screen = tmux.WaitFor([](const std::string& s) {
    return s.find("end of recording") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::ContainsRegex(
                          "REPLAY recorded [0-9]{4}-[0-9]{2}-[0-9]{2} "));
  EXPECT_THAT(screen, ::testing::HasSubstr("end of recording: 35 frames"));
  EXPECT_THAT(screen, ::testing::Not(::testing::HasSubstr("reconnecting")));
  // It stays ended (no second pass into the same sparkline) ...
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_THAT(tmux.Capture(),
              ::testing::HasSubstr("end of recording: 35 frames"));
  // ... until asked to play it again.
  tmux.Keys("r");
  const std::string again = tmux.WaitFor([](const std::string& s) {
    return s.find("end of recording: 35 frames") != std::string::npos;
  });
  EXPECT_THAT(again, ::testing::HasSubstr("end of recording: 35 frames"));
}

// Issue 15.15: a stream that turns to garbage is a corrupt frame, not a
// disconnect. A proxy (Python) forwards one real frame, then garbage.
TEST(ConsumersTest, TopSaysACorruptFrameEndedTheStream) {
  PERFWIRE_REQUIRE_BPF();
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  Agent agent("200ms");
  ASSERT_TRUE(agent.started()) << agent.error();
  TempDir dir;
  const std::string proxy_socket = dir.path() + "/proxy.sock";
  Child proxy(
      "/usr/bin/python3",
      {"-c",
       "import socket, struct, sys\n"
       "srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
       "srv.bind(sys.argv[2]); srv.listen(4)\n"
       "print('ready', flush=True)\n"
       "while True:\n"
       "    c, _ = srv.accept()\n"
       "    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
       "    up.connect(sys.argv[1])\n"
       "    f = up.makefile('rb')\n"
       "    head = f.read(4)\n"
       "    body = f.read(struct.unpack('<I', head)[0])\n"
       "    c.sendall(head + body + struct.pack('<I', 64) + b'\\xab' * 64)\n"
       "    up.close(); c.close()\n",
       agent.socket(), proxy_socket});
  ASSERT_NE(proxy.ReadLineStartingWith("ready"), "");
  Tmux tmux(PerfwirePath() + " top --socket " + proxy_socket);
  const std::string screen = tmux.WaitFor([](const std::string& s) {
    return s.find("corrupt frame: ") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("corrupt frame: "));
  EXPECT_THAT(screen, ::testing::HasSubstr("reconnecting in"));
  EXPECT_THAT(screen, ::testing::HasSubstr("seq "));  // the good frame shown
}

// Issue 15.15: a server that is not perfwire (or speaks another schema) and
// one that closes before the first frame are told apart from a gone agent.
// No agent needed: a Python server plays each part.
TEST(ConsumersTest, TopTellsIncompatibleAndRefusedStreamsApart) {
  if (!std::filesystem::exists("/usr/bin/tmux")) GTEST_SKIP() << "no tmux";
  TempDir dir;
  struct Case {
    const char* send;  // Python bytes literal the server sends, then closes
    const char* shown;
  };
  for (const Case& c :
       {Case{"b'\\x10\\x00\\x00\\x00' + b'HTTP/1.1 200 OK\\r\\n'",
             "incompatible schema: not a perfwire frame"},
        Case{"b''",
             "refused: perfwired closed the connection before its first "
             "frame"}}) {
    const std::string socket = dir.path() + "/fake.sock";
    std::filesystem::remove(socket);
    Child server("/usr/bin/python3",
                 {"-c",
                  std::string("import socket, sys\n"
                              "srv = socket.socket(socket.AF_UNIX, "
                              "socket.SOCK_STREAM)\n"
                              "srv.bind(sys.argv[1]); srv.listen(4)\n"
                              "print('ready', flush=True)\n"
                              "while True:\n"
                              "    c, _ = srv.accept()\n"
                              "    c.sendall(") +
                      c.send + ")\n    c.close()\n",
                  socket});
    ASSERT_NE(server.ReadLineStartingWith("ready"), "");
    Tmux tmux(PerfwirePath() + " top --socket " + socket);
    const std::string screen = tmux.WaitFor([&c](const std::string& s) {
      return s.find(c.shown) != std::string::npos;
    });
    EXPECT_THAT(screen, ::testing::HasSubstr(c.shown));
    EXPECT_THAT(screen, ::testing::HasSubstr("reconnecting in"));
  }
}

}  // namespace
}  // namespace perfwire::testing
