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
  }

  // --live writes the same shape.
  const std::string live_csv = dir.path() + "/live.csv";
  ASSERT_EQ(Child(PerfwirePath(), {"export", "csv", "--live", "--count", "2",
                                   "--socket", agent.socket(), "-o", live_csv})
                .Finish(&out),
            0);
  EXPECT_EQ(Lines(ReadFile(live_csv)).size(), 3u);
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
    return s.find("agent disconnected, reconnecting") != std::string::npos;
  });
  EXPECT_THAT(screen, ::testing::HasSubstr("agent disconnected, reconnecting"));
}

}  // namespace
}  // namespace perfwire::testing
