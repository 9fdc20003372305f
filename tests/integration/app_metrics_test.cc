// app_metrics against a live perfwired: StatsD datagrams from Python and from
// the shell land in the next frames with exact values, beside the sending
// process's threads; a flood of one million datagrams (many garbage) leaves
// the interval timing and the agent's memory within stated bounds.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/lib/frame_stream.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace perfwire::testing {
namespace {

constexpr int kIntervalMs = 200;

const fb::AppSeries* FindSeries(const fb::Frame* f, std::string_view name,
                                uint32_t pid) {
  if (f->app_metrics() == nullptr) return nullptr;
  for (const fb::AppSeries* s : *f->app_metrics()) {
    if (s->name()->string_view() == name && s->pid() == pid) return s;
  }
  return nullptr;
}

bool HasThreadOf(const fb::Frame* f, uint32_t pid) {
  if (f->threads() == nullptr) return false;
  for (const fb::Thread* t : *f->threads()) {
    if (t->pid() == pid) return true;
  }
  return false;
}

// Reads frames until `done(frame)` or `max_frames` frames; the frame that
// matched stays valid until the stream's next read.
const fb::Frame* ReadUntil(FrameStream& stream, int max_frames,
                           const std::function<bool(const fb::Frame*)>& done) {
  for (int i = 0; i < max_frames; ++i) {
    auto frame = stream.Next();
    if (!frame.ok()) {
      ADD_FAILURE() << frame.status();
      return nullptr;
    }
    if (done(*frame)) return *frame;
  }
  return nullptr;
}

class AppMetricsAgentTest : public ::testing::Test {
 protected:
  void StartAgent(std::vector<std::string> extra = {}) {
    app_socket_ = app_dir_.path() + "/app.sock";
    extra.push_back("--app_socket=" + app_socket_);
    agent_ = std::make_unique<Agent>(absl::StrCat(kIntervalMs, "ms"), extra);
    ASSERT_TRUE(agent_->started()) << agent_->error();
    auto stream = FrameStream::Connect(agent_->socket());
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::make_unique<FrameStream>(std::move(*stream));
  }
  TempDir app_dir_;
  std::string app_socket_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<FrameStream> stream_;
};

TEST_F(AppMetricsAgentTest,
       PythonDatagramsAppearExactlyBesideTheSendersThreads) {
  PERFWIRE_REQUIRE_BPF();
  StartAgent();
  // Python's socket module, as any StatsD client would; it stays alive a
  // little so its thread is in the same frames as its metrics.
  const std::string script = absl::StrCat(
      "import socket, os, time\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.connect('",
      app_socket_,
      "')\n"
      "s.send(b'py.req:3|c|#env:test,route:/a\\npy.req:1|c|@0.5|#route:/"
      "a,env:test\\n"
      "py.queue:7|g\\npy.queue:+3|g\\npy.lat:12|ms\\npy.lat:20|ms\\npy.lat:4|"
      "ms')\n"
      "s.send(b'py.users:alice|s\\npy.users:bob|s\\npy.users:alice|s\\n"
      "py.size:1:2:3|d\\nthis is not statsd\\npy.bad:1|q')\n"
      "print(os.getpid(), flush=True)\n"
      "time.sleep(1.5)\n");
  Child python("/usr/bin/env", {"python3", "-c", script});
  const std::string pid_line = python.ReadLineStartingWith("");
  ASSERT_FALSE(pid_line.empty()) << "python3 failed";
  const uint32_t pid = static_cast<uint32_t>(std::stoul(pid_line));

  const fb::Frame* f = ReadUntil(*stream_, 15, [&](const fb::Frame* f) {
    return FindSeries(f, "py.req", pid);
  });
  ASSERT_NE(f, nullptr) << "py.req never appeared";
  // Everything of one datagram pair lands in the same interval.
  const fb::AppSeries* req = FindSeries(f, "py.req", pid);
  EXPECT_EQ(req->type(), fb::AppMetricType::Counter);
  EXPECT_EQ(req->value(), 5.0);  // 3 + 1 / 0.5
  ASSERT_EQ(req->tags()->size(), 2u);
  EXPECT_EQ(req->tags()->Get(0)->key()->str(), "env");
  EXPECT_EQ(req->tags()->Get(1)->value()->str(), "/a");
  const fb::AppSeries* queue = FindSeries(f, "py.queue", pid);
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->value(), 3.0);  // "+3|g" sets (--app_signed_gauge=set)
  EXPECT_TRUE(queue->gauge_updated());
  const fb::AppSeries* lat = FindSeries(f, "py.lat", pid);
  ASSERT_NE(lat, nullptr);
  EXPECT_EQ(lat->type(), fb::AppMetricType::Timing);
  EXPECT_EQ(lat->count(), 3.0);
  EXPECT_EQ(lat->sum(), 36.0);
  EXPECT_EQ(lat->min(), 4.0);
  EXPECT_EQ(lat->max(), 20.0);
  EXPECT_NEAR(lat->p50(), 12.0, 0.12);  // 1% relative error
  EXPECT_NEAR(lat->p99(), 20.0, 0.20);
  const fb::AppSeries* users = FindSeries(f, "py.users", pid);
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->distinct_count(), 2u);
  const fb::AppSeries* size = FindSeries(f, "py.size", pid);
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->sum(), 6.0);
  const fb::AppMetricsStats* st = f->agent()->app_metrics();
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->datagram_count(), 2u);
  EXPECT_EQ(st->malformed_line_count(), 2u);
  EXPECT_EQ(st->malformed_line_sample()->str(),
            "line 'this is not statsd': missing ':' after name");
  EXPECT_TRUE(HasThreadOf(f, pid))
      << "the sender's threads are not in the same frame";

  // The next frame: the gauge carries over, the counter is gone.
  f = ReadUntil(*stream_, 1, [](const fb::Frame*) { return true; });
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(FindSeries(f, "py.req", pid), nullptr);
  ASSERT_NE(FindSeries(f, "py.queue", pid), nullptr);
  EXPECT_EQ(FindSeries(f, "py.queue", pid)->value(), 3.0);
  EXPECT_FALSE(FindSeries(f, "py.queue", pid)->gauge_updated());
  python.Finish(nullptr);
}

TEST_F(AppMetricsAgentTest, RawShellDatagramsOverUdp) {
  PERFWIRE_REQUIRE_BPF();
  const int port = 30000 + getpid() % 20000;
  StartAgent(
      {"--statsd_udp", absl::StrCat("--statsd_udp_address=127.0.0.1:", port)});
  // bash's /dev/udp: one raw datagram per redirection.
  const std::string cmd = absl::StrCat(
      "bash -c \"printf 'sh.hits:4|c' > /dev/udp/127.0.0.1/", port,
      " && printf 'sh.hits:6|c\\nsh.temp:-1.5|g' > /dev/udp/127.0.0.1/", port,
      "\"");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const fb::Frame* f = ReadUntil(*stream_, 15, [&](const fb::Frame* f) {
    return FindSeries(f, "sh.hits", 0);
  });
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(FindSeries(f, "sh.hits", 0)->value(), 10.0);
  ASSERT_NE(FindSeries(f, "sh.temp", 0), nullptr);
  EXPECT_EQ(FindSeries(f, "sh.temp", 0)->value(), -1.5);
}

// One million datagrams from two blocking senders: a third garbage, the
// rest spread over more names than --app_max_series allows. Stated bounds:
//   * every frame's interval_ns within [interval - 20 ms, interval + 100 ms]
//     (the read budget caps one wakeup at 2 ms / 1024 datagrams);
//   * the agent's RSS grows by less than 32 MiB (its series memory is capped
//     far lower by --app_max_memory_bytes=8 MiB);
//   * nothing is lost: datagram counts summed over frames equal what was sent.
TEST_F(AppMetricsAgentTest, FloodKeepsIntervalTimingAndMemoryBounded) {
  PERFWIRE_REQUIRE_BPF();
  StartAgent({"--app_max_series=1000", "--app_max_memory_bytes=8388608"});
  const fb::Frame* first =
      ReadUntil(*stream_, 1, [](const fb::Frame*) { return true; });
  ASSERT_NE(first, nullptr);
  const uint64_t rss_before = first->agent()->rss_bytes();

  constexpr int kSenders = 2;
  constexpr int kPerSender = 500000;
  std::atomic<int> senders_done{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      app_socket_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ADD_FAILURE() << "connect";
        return;
      }
      char buf[256];
      for (int i = 0; i < kPerSender; ++i) {
        int n;
        switch (i % 3) {
          case 0:  // garbage: binary, overlong, broken fields
            n = snprintf(buf, sizeof(buf), "\x01\xff%d|||@@##:\n:|c\nx:1|c|@7",
                         i);
            break;
          case 1:  // many distinct series: overflows the cap
            n = snprintf(buf, sizeof(buf), "flood.m%d:1|c|#s:%d", i % 5000, s);
            break;
          default:
            n = snprintf(buf, sizeof(buf), "flood.lat:%d|ms\nflood.hits:1|c",
                         i % 1000);
        }
        if (send(fd, buf, static_cast<size_t>(n), 0) != n) {
          ADD_FAILURE() << "send";
          break;
        }
      }
      close(fd);
      senders_done.fetch_add(1);
    });
  }

  uint64_t datagrams = 0, malformed = 0, overflow = 0, max_rss = rss_before,
           frames = 0;
  uint64_t min_interval = UINT64_MAX, max_interval = 0;
  const fb::Frame* f = nullptr;
  // Until the senders are done and one more frame has drained the queue.
  int frames_after_done = 0;
  while (frames_after_done < 3) {
    if (senders_done.load() == kSenders) ++frames_after_done;
    f = ReadUntil(*stream_, 1, [](const fb::Frame*) { return true; });
    ASSERT_NE(f, nullptr);
    ++frames;
    min_interval = std::min<uint64_t>(min_interval, f->interval_ns());
    max_interval = std::max<uint64_t>(max_interval, f->interval_ns());
    max_rss = std::max<uint64_t>(max_rss, f->agent()->rss_bytes());
    const fb::AppMetricsStats* st = f->agent()->app_metrics();
    ASSERT_NE(st, nullptr);
    datagrams += st->datagram_count();
    malformed += st->malformed_line_count();
    // Both senders are this process: its share fills before the global cap.
    overflow += st->series_overflow_count() + st->share_overflow_count();
    EXPECT_LE(st->series_count(), 1000u);
    EXPECT_LE(st->reserved_bytes(), 8388608u);
    ASSERT_LT(frames, 3000u) << "flood never finished";
  }
  for (auto& t : senders) t.join();

  std::printf(
      "flood: %llu frames, interval min %.1f ms max %.1f ms, rss %.1f -> %.1f "
      "MiB, "
      "malformed %llu, series overflow %llu\n",
      static_cast<unsigned long long>(frames), min_interval / 1e6,
      max_interval / 1e6, rss_before / 1048576.0, max_rss / 1048576.0,
      static_cast<unsigned long long>(malformed),
      static_cast<unsigned long long>(overflow));
  EXPECT_EQ(datagrams, uint64_t{kSenders} * kPerSender);
  EXPECT_GE(min_interval, (kIntervalMs - 20) * 1000000ull);
  EXPECT_LE(max_interval, (kIntervalMs + 100) * 1000000ull);
  EXPECT_LT(max_rss - rss_before, 32ull << 20);
  EXPECT_GT(malformed, 0u);
  EXPECT_GT(overflow, 0u);
  // The agent is still healthy and answers.
  EXPECT_TRUE(agent_->started());
}

// Issue 15.2 end to end: "g:1e308|g" then "g:+1e308|g" (under etsy delta
// semantics, where the second line overflows) and a counter summing past
// DBL_MAX used to put inf into every frame. The lines are rejected and
// counted; no frame value is non-finite.
TEST_F(AppMetricsAgentTest, OverflowingValuesNeverReachTheFrames) {
  PERFWIRE_REQUIRE_BPF();
  StartAgent({"--app_signed_gauge=delta"});
  const std::string script = absl::StrCat(
      "import socket\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.connect('",
      app_socket_,
      "')\n"
      "s.send(b'ov.g:1e308|g')\n"
      "s.send(b'ov.g:+1e308|g')\n"
      "s.send(b'ov.c:1e308|c\\nov.c:1e308|c')\n"
      "s.send(b'ov.t:1e308:1e308|ms')\n");
  Child python("/usr/bin/python3", {"-c", script});
  ASSERT_EQ(python.Finish(nullptr), 0);
  uint64_t malformed = 0;
  std::string sample;
  bool saw_gauge = false;
  for (int i = 0; i < 15 && (malformed < 3 || !saw_gauge); ++i) {
    const fb::Frame* f =
        ReadUntil(*stream_, 1, [](const fb::Frame*) { return true; });
    ASSERT_NE(f, nullptr);
    const fb::AppMetricsStats* st = f->agent()->app_metrics();
    ASSERT_NE(st, nullptr);
    malformed += st->malformed_line_count();
    if (st->malformed_line_sample() && sample.empty())
      sample = st->malformed_line_sample()->str();
    if (f->app_metrics() == nullptr) continue;
    for (const fb::AppSeries* s : *f->app_metrics()) {
      EXPECT_TRUE(std::isfinite(s->value()) && std::isfinite(s->sum()) &&
                  std::isfinite(s->count()))
          << s->name()->str();
      if (s->name()->string_view() == "ov.g") {
        saw_gauge = true;
        EXPECT_EQ(s->value(), 1e308);
      }
    }
  }
  EXPECT_TRUE(saw_gauge);
  EXPECT_EQ(malformed, 3u);
  EXPECT_EQ(sample,
            "line 'ov.g:+1e308|g': value overflows (the series would not be "
            "finite)");
}

// Issue 15.3 end to end: one process sends 10,000 gauges once and stays
// alive; another process's series still get in, and the frame names the
// flooding process as the sender over its share.
TEST_F(AppMetricsAgentTest, OneFloodingProcessDoesNotLockOthersOut) {
  PERFWIRE_REQUIRE_BPF();
  StartAgent();  // defaults: 10,000 series, 25% per sender
  const std::string flood = absl::StrCat(
      "import socket, os, sys, time\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.connect('",
      app_socket_,
      "')\n"
      "for d in range(100):\n"
      "    s.send(b'\\n'.join(b'fl.g%d:1|g' % (d * 100 + i) "
      "for i in range(100)))\n"
      "print(os.getpid(), flush=True)\n"
      "time.sleep(60)\n");
  // The flooder stays alive (its gauges with it) until the Child is
  // destroyed, which kills it.
  Child flooder("/usr/bin/python3", {"-c", flood});
  const std::string flood_pid_line = flooder.ReadLineStartingWith("");
  ASSERT_FALSE(flood_pid_line.empty());
  const uint32_t flood_pid = static_cast<uint32_t>(std::stoul(flood_pid_line));
  const std::string other = absl::StrCat(
      "import socket, os\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "s.connect('",
      app_socket_,
      "')\n"
      "s.send(b'other.depth:42|g')\n"
      "print(os.getpid(), flush=True)\n");
  Child sender("/usr/bin/python3", {"-c", other});
  const uint32_t other_pid =
      static_cast<uint32_t>(std::stoul(sender.ReadLineStartingWith("")));
  uint64_t share_overflow = 0;
  std::string top;
  uint32_t top_pid = 0;
  uint64_t flood_series = 0;
  bool other_seen = false;
  for (int i = 0; i < 15 && !(other_seen && share_overflow > 0); ++i) {
    const fb::Frame* f =
        ReadUntil(*stream_, 1, [](const fb::Frame*) { return true; });
    ASSERT_NE(f, nullptr);
    const fb::AppMetricsStats* st = f->agent()->app_metrics();
    ASSERT_NE(st, nullptr);
    share_overflow += st->share_overflow_count();
    if (st->share_overflow_top_sender()) {
      top = st->share_overflow_top_sender()->str();
      top_pid = st->share_overflow_top_pid();
    }
    if (f->app_metrics() == nullptr) continue;
    uint64_t n = 0;
    for (const fb::AppSeries* s : *f->app_metrics()) {
      n += s->pid() == flood_pid;
      if (s->name()->string_view() == "other.depth" && s->pid() == other_pid) {
        other_seen = true;
        EXPECT_EQ(s->value(), 42.0);
      }
    }
    flood_series = std::max(flood_series, n);
  }
  EXPECT_TRUE(other_seen) << "the second process was locked out";
  EXPECT_EQ(flood_series, 2500u);
  EXPECT_EQ(share_overflow, 10000u - 2500u);
  EXPECT_EQ(top, absl::StrCat("pid ", flood_pid));
  EXPECT_EQ(top_pid, flood_pid);
  sender.Finish(nullptr);
}

}  // namespace
}  // namespace perfwire::testing
