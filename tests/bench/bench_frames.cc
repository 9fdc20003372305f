// Frame consumer for the benchmarks. Connects to perfwired's socket and reads
// size-prefixed Frames (see clients/lib/wire.h).
//
//   --mode=stats --frames=N   one JSON object per frame on stdout: its size and
//                             the agent's own-cost fields.
//   --mode=e2e --samples=K    end-to-end latency: the main thread writes a
//                             known number of bytes to /dev/null at a recorded
//                             CLOCK_MONOTONIC time T (at a random phase of the
//                             interval); a reader thread timestamps each frame
//                             as it arrives and looks for that thread's
//                             write_bytes. Prints one JSON object per sample:
//                             latency_ns = arrival - T, and its parts.
// --socket=PATH, --timeout_s=S (give up when no frame arrives for S seconds).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "clients/lib/wire.h"
#include "perfwire_generated.h"
#include "schema_text.h"
#include "tests/bench/bench_common.h"

namespace {

using perfwire::bench::MonotonicNs;

int Connect(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads exactly n bytes; false on EOF, error or timeout.
bool ReadFull(int fd, uint8_t* buf, size_t n, int timeout_ms) {
  size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, timeout_ms);
    if (r <= 0) return false;
    const ssize_t k = read(fd, buf + got, n - got);
    if (k <= 0) {
      if (k < 0 && errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(k);
  }
  return true;
}

// Reads one frame into `buf` as it came off the wire, prefix included: the
// body is at buf.data() + kWirePrefixBytes. Keeping the prefix in the same
// buffer keeps the body's 8-byte fields aligned as the builder laid them out
// (FinishSizePrefixed aligns relative to the prefix). `arrival_ns` is when
// the frame's first byte was readable.
bool ReadFrame(int fd, std::vector<uint8_t>& buf, uint64_t& arrival_ns,
               int timeout_ms) {
  constexpr size_t kP = perfwire::kWirePrefixBytes;
  buf.resize(kP);
  if (!ReadFull(fd, buf.data(), 1, timeout_ms)) return false;
  arrival_ns = MonotonicNs();
  if (!ReadFull(fd, buf.data() + 1, kP - 1, timeout_ms)) return false;
  const uint32_t len =
      static_cast<uint32_t>(buf[0]) | static_cast<uint32_t>(buf[1]) << 8 |
      static_cast<uint32_t>(buf[2]) << 16 | static_cast<uint32_t>(buf[3]) << 24;
  if (len == 0 || len > perfwire::kMaxFrameBytes) return false;
  buf.resize(kP + len);
  return ReadFull(fd, buf.data() + kP, len, timeout_ms);
}

// Checks one frame body. Like perfwire::VerifyFrame, but without
// FlatBuffers' alignment check, which is relative to the verified pointer
// while a size-prefixed frame is aligned at its prefix (bounds stay checked).
absl::Status VerifyBody(const uint8_t* data, size_t size) {
  if (size < 8 || !flatbuffers::BufferHasIdentifier(
                      data, perfwire::fb::FrameIdentifier())) {
    return absl::FailedPreconditionError("not a perfwire frame");
  }
  flatbuffers::Verifier::Options options;
  options.check_alignment = false;
  flatbuffers::Verifier verifier(data, size, options);
  if (!perfwire::fb::VerifyFrameBuffer(verifier)) {
    return absl::DataLossError("corrupt frame");
  }
  if (perfwire::fb::GetFrame(data)->schema_version() !=
      perfwire::kSchemaVersion) {
    return absl::FailedPreconditionError("other schema version");
  }
  return absl::OkStatus();
}

const uint8_t* Body(const std::vector<uint8_t>& buf) {
  return buf.data() + perfwire::kWirePrefixBytes;
}
size_t BodySize(const std::vector<uint8_t>& buf) {
  return buf.size() - perfwire::kWirePrefixBytes;
}

int Stats(int fd, int64_t frames, int timeout_ms) {
  std::vector<uint8_t> body;
  for (int64_t i = 0; i < frames; ++i) {
    uint64_t arrival = 0;
    if (!ReadFrame(fd, body, arrival, timeout_ms)) {
      std::fprintf(stderr, "bench_frames: no frame (read %lld)\n",
                   static_cast<long long>(i));
      return 1;
    }
    const auto st = VerifyBody(Body(body), BodySize(body));
    if (!st.ok()) {
      std::fprintf(stderr, "bench_frames: %s\n",
                   std::string(st.message()).c_str());
      return 1;
    }
    const auto* f = perfwire::fb::GetFrame(Body(body));
    const auto* a = f->agent();
    std::printf(
        "{\"seq\":%llu,\"bytes\":%zu,\"threads\":%u,\"interval_ns\":%llu,"
        "\"monotonic_ns\":%llu,"
        "\"arrival_ns\":%llu,\"agent_cpu_ns\":%llu,\"agent_rss_bytes\":%llu,"
        "\"agent_collect_ns\":%llu,\"agent_thread_count\":%llu,\"lost\":%llu}"
        "\n",
        static_cast<unsigned long long>(f->seq()), body.size(),
        f->threads() ? f->threads()->size() : 0u,
        static_cast<unsigned long long>(f->interval_ns()),
        static_cast<unsigned long long>(f->monotonic_ns()),
        static_cast<unsigned long long>(arrival),
        static_cast<unsigned long long>(a ? a->cpu_ns() : 0),
        static_cast<unsigned long long>(a ? a->rss_bytes() : 0),
        static_cast<unsigned long long>(a ? a->collect_ns() : 0),
        static_cast<unsigned long long>(a ? a->thread_count() : 0),
        static_cast<unsigned long long>(a ? a->lost_event_count() : 0));
    std::fflush(stdout);
  }
  return 0;
}

struct Seen {
  uint64_t arrival_ns;
  uint64_t frame_monotonic_ns;
  uint64_t interval_ns;
  uint64_t write_bytes;
};

int EndToEnd(int fd, int64_t samples, int timeout_ms) {
  const uint32_t me = static_cast<uint32_t>(syscall(SYS_gettid));
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Seen> seen;
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> interval_ns{0};
  std::thread reader([&] {
    std::vector<uint8_t> body;
    while (true) {
      uint64_t arrival = 0;
      if (!ReadFrame(fd, body, arrival, timeout_ms) ||
          !VerifyBody(Body(body), BodySize(body)).ok()) {
        failed.store(true);
        cv.notify_all();
        return;
      }
      const auto* f = perfwire::fb::GetFrame(Body(body));
      interval_ns.store(f->interval_ns());
      uint64_t wb = 0;
      if (f->threads()) {
        for (const auto* t : *f->threads()) {
          if (t->tid() == me) wb += t->write_bytes();
        }
      }
      std::lock_guard<std::mutex> l(mu);
      seen.push_back({arrival, f->monotonic_ns(), f->interval_ns(), wb});
      cv.notify_all();
    }
  });

  // Wait for two frames so the interval is known and the agent is steady.
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return failed.load() || seen.size() >= 2; });
    seen.clear();
  }
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  std::vector<char> buf(1 << 20, 'x');
  std::mt19937_64 rng(MonotonicNs());
  std::vector<std::string> lines;
  int rc = 0;
  for (int64_t i = 0; i < samples && !failed.load(); ++i) {
    const uint64_t iv = interval_ns.load();
    std::uniform_int_distribution<uint64_t> phase(0, iv ? iv : 1000000000ull);
    const uint64_t wait = phase(rng);
    timespec ts{static_cast<time_t>(wait / 1000000000ull),
                static_cast<long>(wait % 1000000000ull)};
    nanosleep(&ts, nullptr);
    const size_t n = 100000 + static_cast<size_t>(i);
    {
      std::lock_guard<std::mutex> l(mu);
      seen.clear();
    }
    if (write(devnull, buf.data(), n) != static_cast<ssize_t>(n)) return 1;
    const uint64_t stamp = MonotonicNs();
    std::unique_lock<std::mutex> l(mu);
    uint64_t total = 0;
    const uint64_t deadline = stamp + 10 * (iv ? iv : 1000000000ull);
    bool found = false;
    while (!found) {
      cv.wait_for(l, std::chrono::milliseconds(100));
      while (!seen.empty()) {
        Seen s = seen.front();
        seen.pop_front();
        total += s.write_bytes;
        if (total >= n) {
          char line[256];
          std::snprintf(
              line, sizeof(line),
              "{\"latency_ns\":%lld,\"to_interval_end_ns\":%lld,"
              "\"delivery_ns\":%lld,\"interval_ns\":%llu}",
              static_cast<long long>(s.arrival_ns - stamp),
              static_cast<long long>(s.frame_monotonic_ns - stamp),
              static_cast<long long>(s.arrival_ns - s.frame_monotonic_ns),
              static_cast<unsigned long long>(s.interval_ns));
          lines.emplace_back(line);
          found = true;
          break;
        }
      }
      if (failed.load() || MonotonicNs() > deadline) break;
    }
    if (!found) {
      rc = 1;
      break;
    }
  }
  shutdown(fd, SHUT_RDWR);
  reader.join();
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
  if (rc != 0 || lines.size() < static_cast<size_t>(samples)) {
    std::fprintf(stderr, "bench_frames: e2e got %zu of %lld samples\n",
                 lines.size(), static_cast<long long>(samples));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::bench::Flags flags(argc, argv);
  flags.CheckKnown({"socket", "mode", "frames", "samples", "timeout_s",
                    "connect_timeout_s"});
  const std::string socket_path =
      flags.Str("socket", "/run/perfwire/perfwire.sock");
  const std::string mode = flags.Str("mode", "stats");
  const int timeout_ms = static_cast<int>(flags.Double("timeout_s", 5) * 1000);
  const uint64_t give_up =
      MonotonicNs() +
      static_cast<uint64_t>(flags.Double("connect_timeout_s", 10) * 1e9);
  int fd = -1;
  while ((fd = Connect(socket_path)) < 0) {
    if (MonotonicNs() > give_up) {
      std::fprintf(stderr, "bench_frames: cannot connect to %s: %s\n",
                   socket_path.c_str(), std::strerror(errno));
      return 2;
    }
    usleep(50000);
  }
  if (mode == "stats") return Stats(fd, flags.Int("frames", 5), timeout_ms);
  if (mode == "e2e") return EndToEnd(fd, flags.Int("samples", 5), timeout_ms);
  std::fprintf(stderr, "bench_frames: unknown --mode=%s\n", mode.c_str());
  return 2;
}
