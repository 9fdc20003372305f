#include "agent/server/frame_server.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/log.h"
#include "agent/self_stats.h"
#include "agent/server/frame_queue.h"
#include "base/clock.h"
#include "base/errno_status.h"
#include "base/send_all.h"
#include "perfwire_generated.h"
#include "schema_text.h"

namespace perfwire {
namespace {}  // namespace

// One connected consumer: its socket, its queue and the thread that drains the
// queue into the socket.
class FrameServer::Consumer {
 public:
  // Starts the writer thread; `on_finish` runs on it when it stops by itself
  // (peer gone or write error).
  Consumer(UniqueFd fd, size_t queue_frames, std::function<void()> on_finish)
      : fd_(std::move(fd)),
        queue_(queue_frames),
        on_finish_(std::move(on_finish)),
        writer_([this] { WriteFrames(); }) {}

  // Unblocks a writer stuck in send() and joins it. Call once, from the
  // thread that owns the Consumer, before destroying it.
  void Stop() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    queue_.Close();
    writer_.join();
  }

  int fd() const { return fd_.get(); }
  FrameQueue& queue() { return queue_; }
  bool finished() const { return finished_.load(); }
  // Nothing queued and nothing being written (or the writer is gone).
  bool idle() const {
    return finished_.load() || (!sending_.load() && queue_.size() == 0);
  }
  // The peer shut down its sending side; it may still read.
  bool peer_write_closed = false;  // used by the accept thread only

 private:
  void WriteFrames() {
    std::vector<uint8_t> patched;
    bool warned = false;
    while (std::optional<FrameQueue::Popped> popped = queue_.Pop()) {
      sending_.store(true);
      const uint8_t* data = popped->frame->data();
      const size_t size = popped->frame->size();
      if (popped->dropped_count != 0) {
        patched.assign(data, data + size);
        fb::Frame* frame = fb::GetMutableSizePrefixedFrame(patched.data());
        if (frame->mutate_consumer_dropped_frame_count(popped->dropped_count)) {
          data = patched.data();
        } else if (!warned) {
          warned = true;
          LogWarning(
              "frame lacks consumer_dropped_frame_count (build it with "
              "ForceDefaults); a slow consumer is not told what it lost");
        }
      }
      if (absl::Status s = SendAll(fd_.get(), absl::MakeConstSpan(data, size));
          !s.ok()) {
        // A consumer that left (EPIPE, ECONNRESET) is routine.
        if (!absl::IsFailedPrecondition(s) && !absl::IsUnavailable(s) &&
            !absl::IsAborted(s)) {
          LogWarning(absl::StrCat("dropping consumer: ", s.ToString()));
        }
        break;
      }
      sending_.store(false);
    }
    finished_.store(true);
    on_finish_();
  }

  const UniqueFd fd_;
  FrameQueue queue_;
  const std::function<void()> on_finish_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> sending_{false};
  std::jthread writer_;  // last: starts after the fields it uses exist
};

absl::StatusOr<std::unique_ptr<FrameServer>> FrameServer::Start(
    const ServerOptions& options) {
  UnixSocketOptions socket_options;
  socket_options.mode = options.mode;
  socket_options.group = options.group;
  absl::StatusOr<BoundUnixSocket> socket =
      BindUnixSocket(options.socket_path, socket_options);
  if (absl::IsAlreadyExists(socket.status())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "another perfwired is already serving ", options.socket_path));
  }
  if (!socket.ok()) return socket.status();
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd) return ErrnoStatus(errno, "eventfd");
  return std::make_unique<FrameServer>(ConstructorKey{}, options,
                                       *std::move(socket), std::move(wake_fd));
}

FrameServer::FrameServer(ConstructorKey, const ServerOptions& options,
                         BoundUnixSocket socket, UniqueFd wake_fd)
    : options_(options),
      socket_(std::move(socket)),
      wake_fd_(std::move(wake_fd)),
      accept_thread_([this] { ServeConnections(); }) {}

FrameServer::~FrameServer() {
  stopping_.store(true);
  Wake();
  accept_thread_.join();
  std::list<std::unique_ptr<Consumer>> consumers;
  {
    absl::MutexLock lock(&mu_);
    consumers.swap(consumers_);
  }
  for (const std::unique_ptr<Consumer>& consumer : consumers) consumer->Stop();
  consumers.clear();
  socket_.Close();
}

void FrameServer::Publish(
    std::shared_ptr<const flatbuffers::DetachedBuffer> frame) {
  if (frame == nullptr) return;
  absl::ReaderMutexLock lock(&mu_);
  for (const std::unique_ptr<Consumer>& consumer : consumers_) {
    consumer->queue().Push(frame);
  }
}

bool FrameServer::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    bool idle = true;
    {
      absl::ReaderMutexLock lock(&mu_);
      for (const std::unique_ptr<Consumer>& c : consumers_) idle &= c->idle();
    }
    if (idle) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

size_t FrameServer::consumer_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return consumers_.size();
}

void FrameServer::Wake() {
  const uint64_t one = 1;
  // Cannot fail short of a counter overflow, which would itself wake poll().
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
}

void FrameServer::ServeConnections() {
  std::vector<Consumer*> watched;
  std::vector<Consumer*> finished;
  std::vector<pollfd> fds;
  while (!stopping_.load()) {
    watched.clear();
    finished.clear();
    {
      absl::ReaderMutexLock lock(&mu_);
      for (const std::unique_ptr<Consumer>& consumer : consumers_) {
        (consumer->finished() ? finished : watched).push_back(consumer.get());
      }
    }
    for (Consumer* consumer : finished) Remove(consumer);

    fds.clear();
    fds.push_back({socket_.fd(), POLLIN, 0});
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    for (Consumer* consumer : watched) {
      // POLLHUP and POLLERR are always reported: the peer is gone.
      const short events = consumer->peer_write_closed ? 0 : POLLIN;
      fds.push_back({consumer->fd(), events, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      LogError(absl::StrCat("frame server stops accepting: ",
                            ErrnoStatus(errno, "poll").ToString()));
      return;
    }
    if (fds[1].revents != 0) {
      uint64_t count;
      [[maybe_unused]] ssize_t n =
          ::read(wake_fd_.get(), &count, sizeof(count));
    }
    if (stopping_.load()) return;
    if (fds[0].revents != 0) Accept();
    for (size_t i = 0; i < watched.size(); ++i) {
      const short revents = fds[i + 2].revents;
      Consumer* consumer = watched[i];
      if (revents & POLLIN) {
        // Consumers have nothing to say: one that sends a byte is gone.
        char byte;
        const ssize_t n = ::recv(consumer->fd(), &byte, 1, MSG_DONTWAIT);
        if (n > 0) {
          writing_consumer_count_.fetch_add(1);
          LogWarning(
              "disconnecting a consumer that wrote to the frame socket (the "
              "protocol is read-only for clients)");
          Remove(consumer);
          continue;
        }
        if (n == 0) consumer->peer_write_closed = true;
      }
      if (revents & (POLLHUP | POLLERR | POLLNVAL)) Remove(consumer);
    }
  }
}

void FrameServer::Accept() {
  UniqueFd fd(::accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) {
    if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
      LogWarning(ErrnoStatus(errno, "accept on", socket_.path()).ToString());
    }
    return;
  }
  absl::MutexLock lock(&mu_);
  if (consumers_.size() >= options_.max_consumers) {
    Refuse(std::move(fd), consumers_.size());
    return;
  }
  consumers_.push_back(std::make_unique<Consumer>(
      std::move(fd), options_.queue_frames, [this] { Wake(); }));
  LogInfo(absl::StrCat("consumer connected (", consumers_.size(), " now)"));
}

void FrameServer::Refuse(UniqueFd fd, size_t connected) {
  refused_consumer_count_.fetch_add(1);
  const std::string reason =
      absl::StrCat(connected, " consumers already connected (--max_consumers)");
  LogWarning(absl::StrCat("refusing a consumer: ", reason));
  flatbuffers::FlatBufferBuilder fbb(256);
  const auto status =
      fb::CreateSourceStatusDirect(fbb, "perfwired", false, reason.c_str());
  const auto sources = fbb.CreateVector(&status, 1);
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(kSchemaVersion);
  frame.add_monotonic_ns(MonotonicNs());
  frame.add_realtime_ns(RealtimeNs());
  frame.add_sources(sources);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  // A fresh connection's send buffer is empty: this never blocks. On failure
  // the peer just sees the close.
  [[maybe_unused]] const ssize_t n =
      ::send(fd.get(), fbb.GetBufferPointer(), fbb.GetSize(),
             MSG_DONTWAIT | MSG_NOSIGNAL);
}  // closes fd

FrameServer::Counters FrameServer::TakeCounters() {
  Counters counters;
  counters.writing_consumer_count = writing_consumer_count_.exchange(0);
  counters.refused_consumer_count = refused_consumer_count_.exchange(0);
  return counters;
}

void FrameServer::Remove(Consumer* consumer) {
  std::unique_ptr<Consumer> removed;
  size_t remaining = 0;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = consumers_.begin(); it != consumers_.end(); ++it) {
      if (it->get() == consumer) {
        removed = std::move(*it);
        consumers_.erase(it);
        break;
      }
    }
    remaining = consumers_.size();
  }
  if (removed == nullptr) return;
  removed->Stop();
  LogInfo(absl::StrCat("consumer disconnected (", remaining, " now)"));
}

}  // namespace perfwire
