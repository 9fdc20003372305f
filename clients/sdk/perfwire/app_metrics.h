#ifndef PERFWIRE_APP_METRICS_H_
#define PERFWIRE_APP_METRICS_H_

// perfwire application metrics SDK: header-only, C++17 or later, Linux.
//
//   #include "perfwire/app_metrics.h"
//
// clang-format off
//   perfwire::app::Counter requests("myapp.requests", {{"route", "/api"}});
//   perfwire::app::Gauge queue_depth("myapp.queue_depth");
//   perfwire::app::Gauge in_flight("myapp.in_flight");
//   perfwire::app::Histogram batch("myapp.batch_size");
//   perfwire::app::Timer latency("myapp.handle_ms");
//
//   void Handle() {
//     PERFWIRE_TIME_BLOCK("myapp.handle_block_ms");  // times the enclosing block
//     perfwire::app::ScopedTimer t(latency);         // same, with a named Timer
//     requests.Add();
//     queue_depth.Set(q.size());
//     in_flight.Add(1);   // sends the new value ("in_flight:N|g"), not "+1|g"
//     batch.Record(n);
//     in_flight.Add(-1);
//   }
// clang-format on
//
// Each call sends one StatsD line as one datagram to perfwired's app socket
// (default /run/perfwire/app.sock; the PERFWIRE_APP_SOCKET environment
// variable overrides it, read once at first use). The agent aggregates per
// interval and puts the series, tagged with this process's pid, in the same
// frame as this process's threads.
//
// Guarantees:
//   * never blocks: send(MSG_DONTWAIT) on a connected SOCK_DGRAM socket; a
//     full agent queue drops the sample (counted in Sink::dropped_count());
//   * no allocation on the hot path: lines are formatted into a stack buffer
//     from a prefix/suffix pre-formatted at construction (also
//     allocation-free);
//   * a silent no-op when the agent is not running: one clock read per call,
//     and a reconnect attempt at most once per second (across all threads);
//   * thread-safe: metric objects and sinks may be used from any thread.
// Names longer than kMaxNameAndTagsBytes (with tags) make the metric a no-op.

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string_view>

namespace perfwire::app {

inline constexpr const char* kDefaultSocket = "/run/perfwire/app.sock";
inline constexpr size_t kMaxNameAndTagsBytes = 400;

// One connection to the agent. Usually the process-wide Sink::Default().
class Sink {
 public:
  explicit Sink(const char* path) noexcept {
    addr_.sun_family = AF_UNIX;
    const size_t n = std::strlen(path);
    if (n == 0 || n >= sizeof(addr_.sun_path))
      return;  // unusable: stays a no-op
    std::memcpy(addr_.sun_path, path, n);
    addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + 1);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  ~Sink() {
    if (fd_ >= 0) ::close(fd_);
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // $PERFWIRE_APP_SOCKET or kDefaultSocket; created at first use, never
  // destroyed (so metrics used during static destruction stay safe).
  static Sink& Default() {
    static Sink* const sink = [] {
      const char* env = std::getenv("PERFWIRE_APP_SOCKET");
      return new Sink(env != nullptr && *env != '\0' ? env : kDefaultSocket);
    }();
    return *sink;
  }

  // True when connected to the agent (trying to connect at most once a
  // second otherwise). Metrics check it before formatting anything.
  bool Ready() noexcept {
    return fd_ >= 0 &&
           (connected_.load(std::memory_order_acquire) || TryConnect());
  }

  // Sends one datagram (one or more '\n'-separated lines). Never blocks.
  void Send(const char* data, size_t len) noexcept {
    if (!Ready()) return;
    if (::send(fd_, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return;
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // ECONNREFUSED (agent restarted or gone), ENOTCONN, ...: reconnect later.
      connected_.store(false, std::memory_order_release);
    }
  }

  // Samples lost because the agent's queue was full.
  uint64_t dropped_count() const {
    return dropped_.load(std::memory_order_relaxed);
  }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }

 private:
  static int64_t CoarseNowNs() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  }

  bool TryConnect() noexcept {
    const int64_t now = CoarseNowNs();
    int64_t next = next_attempt_ns_.load(std::memory_order_relaxed);
    if (now < next) return false;
    // One thread per second gets to try.
    if (!next_attempt_ns_.compare_exchange_strong(next, now + 1000000000,
                                                  std::memory_order_relaxed)) {
      return false;
    }
    // connect() on a datagram socket only sets the peer, so re-connecting the
    // same fd is safe while other threads send on it.
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) !=
        0)
      return false;
    connected_.store(true, std::memory_order_release);
    return true;
  }

  int fd_ = -1;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> next_attempt_ns_{0};
  std::atomic<uint64_t> dropped_{0};
};

struct Tag {
  std::string_view key;
  std::string_view value;  // empty: a bare tag
};

namespace internal {

// "name:" and "|type|#k:v,k2" formatted once; a line is head + value + tail.
class Line {
 public:
  Line(std::string_view name, std::string_view type,
       std::initializer_list<Tag> tags) noexcept {
    if (!Append(head_, head_len_, name) || !Append(head_, head_len_, ":"))
      return;
    if (!Append(tail_, tail_len_, "|") || !Append(tail_, tail_len_, type))
      return;
    bool first = true;
    for (const Tag& t : tags) {
      if (!Append(tail_, tail_len_, first ? "|#" : ",") ||
          !Append(tail_, tail_len_, t.key))
        return;
      if (!t.value.empty() && (!Append(tail_, tail_len_, ":") ||
                               !Append(tail_, tail_len_, t.value))) {
        return;
      }
      first = false;
    }
    valid_ = !name.empty();
  }

  // Formats head + value + tail into `buf` (kBufBytes); returns the length.
  static constexpr size_t kBufBytes = 2 * kMaxNameAndTagsBytes + 128;
  template <typename T>
  size_t Format(char* buf, T value) const noexcept {
    size_t n = head_len_;
    std::memcpy(buf, head_, n);
    const auto r = std::to_chars(buf + n, buf + n + 64, value);
    n = static_cast<size_t>(r.ptr - buf);
    std::memcpy(buf + n, tail_, tail_len_);
    return n + tail_len_;
  }
  bool valid() const { return valid_; }

 private:
  static bool Append(char* dst, size_t& len, std::string_view s) noexcept {
    if (len + s.size() > kMaxNameAndTagsBytes) return false;
    std::memcpy(dst + len, s.data(), s.size());
    len += s.size();
    return true;
  }
  char head_[kMaxNameAndTagsBytes];
  char tail_[kMaxNameAndTagsBytes];
  size_t head_len_ = 0;
  size_t tail_len_ = 0;
  bool valid_ = false;
};

}  // namespace internal

// StatsD counter ("c"): the agent sums increments per interval.
class Counter {
 public:
  explicit Counter(std::string_view name, std::initializer_list<Tag> tags = {},
                   Sink& sink = Sink::Default()) noexcept
      : line_(name, "c", tags), sink_(sink) {}
  void Add(int64_t n = 1) const noexcept {
    if (!line_.valid() || !sink_.Ready()) return;
    char buf[internal::Line::kBufBytes];
    sink_.Send(buf, line_.Format(buf, n));
  }

 private:
  internal::Line line_;
  Sink& sink_;
};

// StatsD gauge ("g"): the agent keeps the last value (across intervals).
//
// The gauge's value lives in this object (an atomic); Set and Add change it
// and send the resulting absolute value, never a "+N"/"-N" delta, so the
// agent shows the same value under --app_signed_gauge=set (the default) and
// --app_signed_gauge=delta. The value is kept while the agent is away, so a
// started or restarted agent gets the full value with the next call.
//
// One object is one series: the agent keys series by (name, type, tags, pid),
// so each process has its own series, and two Gauge objects with the same
// name and tags in one process overwrite each other (the agent shows the
// value of whichever sent last; share one object instead). Threads calling
// Add at once each send the sum they made; datagrams of racing threads may
// reach the agent in either order, so until the next call the agent may show
// a value the gauge held an instant earlier.
class Gauge {
 public:
  explicit Gauge(std::string_view name, std::initializer_list<Tag> tags = {},
                 Sink& sink = Sink::Default()) noexcept
      : line_(name, "g", tags), sink_(sink) {}
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) const noexcept {
    value_.store(value, std::memory_order_relaxed);
    Send(value);
  }
  // Moves the value by `delta` and sends the new value.
  void Add(double delta) const noexcept {
    double v = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(v, v + delta,
                                         std::memory_order_relaxed)) {
    }
    Send(v + delta);
  }
  // This process's current value (0 until the first Set or Add).
  double value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  void Send(double value) const noexcept {
    if (!line_.valid() || !sink_.Ready()) return;
    char buf[2 * internal::Line::kBufBytes];
    size_t n = 0;
    if (std::signbit(value)) {
      // "-5|g" is a delta under --app_signed_gauge=delta: reset to 0, then
      // move down, in one datagram (under "set" the second line wins).
      n = line_.Format(buf, 0);
      buf[n++] = '\n';
    }
    n += line_.Format(buf + n, value);
    sink_.Send(buf, n);
  }

  internal::Line line_;
  Sink& sink_;
  mutable std::atomic<double> value_{0};
};

// StatsD histogram ("h", or "d" for a DogStatsD distribution): the agent
// reports count, sum, min, max, p50, p90, p99 per interval.
class Histogram {
 public:
  explicit Histogram(std::string_view name,
                     std::initializer_list<Tag> tags = {},
                     Sink& sink = Sink::Default(),
                     std::string_view type = "h") noexcept
      : line_(name, type, tags), sink_(sink) {}
  void Record(double value) const noexcept {
    if (!line_.valid() || !sink_.Ready()) return;
    char buf[internal::Line::kBufBytes];
    sink_.Send(buf, line_.Format(buf, value));
  }

 private:
  internal::Line line_;
  Sink& sink_;
};

// StatsD timing ("ms"): durations in milliseconds (microsecond resolution).
class Timer {
 public:
  explicit Timer(std::string_view name, std::initializer_list<Tag> tags = {},
                 Sink& sink = Sink::Default()) noexcept
      : line_(name, "ms", tags), sink_(sink) {}
  void Record(std::chrono::nanoseconds d) const noexcept {
    if (!line_.valid() || !sink_.Ready()) return;
    char buf[internal::Line::kBufBytes];
    // Whole microseconds as milliseconds: "1.234" (to_chars of a double
    // prints the shortest exact form, so round first).
    const double ms = static_cast<double>(d.count() / 1000) / 1000.0;
    sink_.Send(buf, line_.Format(buf, ms));
  }
  bool ready() const noexcept { return line_.valid() && sink_.Ready(); }

 private:
  internal::Line line_;
  Sink& sink_;
};

// Records the time from construction to destruction into `timer`.
class ScopedTimer {
 public:
  // Reads no clock when the agent is not there.
  explicit ScopedTimer(const Timer& timer) noexcept
      : timer_(timer), active_(timer.ready()) {
    if (active_) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedTimer() {
    if (active_) timer_.Record(std::chrono::steady_clock::now() - start_);
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  const Timer& timer_;
  bool active_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace perfwire::app

#define PERFWIRE_APP_CONCAT_INNER(a, b) a##b
#define PERFWIRE_APP_CONCAT(a, b) PERFWIRE_APP_CONCAT_INNER(a, b)

// Times the rest of the enclosing block as StatsD timing `name` (a string
// literal or anything that outlives the first call; the Timer is a function
// static, built once).
#define PERFWIRE_TIME_BLOCK(name)                                          \
  static const ::perfwire::app::Timer PERFWIRE_APP_CONCAT(perfwire_timer_, \
                                                          __LINE__){name}; \
  const ::perfwire::app::ScopedTimer PERFWIRE_APP_CONCAT(                  \
      perfwire_scoped_timer_, __LINE__) {                                  \
    PERFWIRE_APP_CONCAT(perfwire_timer_, __LINE__)                         \
  }

#endif  // PERFWIRE_APP_METRICS_H_
