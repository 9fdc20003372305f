#ifndef PERFWIRE_AGENT_SERVER_FRAME_SERVER_H_
#define PERFWIRE_AGENT_SERVER_FRAME_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"
#include "base/unix_socket.h"
#include "flatbuffers/flatbuffers.h"

namespace perfwire {

struct ServerOptions {
  std::string socket_path;  // e.g. /run/perfwire/perfwire.sock
  std::string group;        // empty: keep the creator's group; else chown to it
  mode_t mode = 0660;       // of the socket file
  size_t queue_frames = 64;   // per-consumer bound, see Publish
  size_t max_consumers = 64;  // further connections are closed at once
};

// Streams frames to every process connected to a Unix stream socket, in the
// wire format of clients/lib/wire.h. The collector never waits for a
// consumer: each consumer has its own bounded queue and writer thread; when
// its queue is full the oldest frame is dropped, and every later frame it
// receives carries its cumulative drop count in consumer_dropped_frame_count.
// A consumer that disconnects or fails a write is removed.
//
// The protocol is read-only for consumers: one that sends any byte is
// disconnected at once and counted (a client writing in a loop must not cost
// the agent a core); shutting down its sending side is fine. A connection
// beyond max_consumers gets one refusal frame and is closed: a valid Frame
// (schema_version set, no `agent` table) whose only `sources` entry is
// {name: "perfwired", available: false, reason: "N consumers already
// connected (--max_consumers)"}. FrameStream (clients/lib/frame_stream.h)
// turns it into ResourceExhausted; older clients see one empty frame whose
// source status says why.
//
// Threads: one that accepts connections and watches for hang-ups, one writer
// per consumer. Publish() and consumer_count() are thread-safe.
class FrameServer {
 public:
  // Opens the socket as BindUnixSocket (base/unix_socket.h) describes: the
  // parent directory is created, a stale socket replaced, a live one or a
  // non-socket refused, mode and group applied. On success the server accepts
  // connections until destroyed.
  static absl::StatusOr<std::unique_ptr<FrameServer>> Start(
      const ServerOptions& options);

  FrameServer(const FrameServer&) = delete;
  FrameServer& operator=(const FrameServer&) = delete;

  // Stops accepting, disconnects every consumer (frames still queued are not
  // sent), joins all threads and removes the socket file if it is still the
  // one Start() created.
  ~FrameServer();

  // Queues `frame` for every consumer connected now (accepted, counted in
  // consumer_count()); consumers that connect later get only later frames.
  // `frame` is a size-prefixed Frame (FinishSizePrefixed) in which
  // consumer_dropped_frame_count is present (built with ForceDefaults), so
  // that a consumer's copy can be patched; the buffer itself is never
  // modified. Never blocks on a consumer and does no socket IO. A null frame
  // is ignored.
  void Publish(std::shared_ptr<const flatbuffers::DetachedBuffer> frame);

  // Waits until every consumer has been sent everything queued for it (or
  // has gone), at most `timeout`; true if all are done. For shutdown, so the
  // last frame (with the final thread exits) reaches consumers.
  bool Flush(absl::Duration timeout);

  // Consumers connected now.
  size_t consumer_count() const;

  // Since the last call (for the interval's AgentStats); thread-safe.
  struct Counters {
    uint64_t writing_consumer_count = 0;  // disconnected: they sent bytes
    uint64_t refused_consumer_count = 0;  // refused at max_consumers
  };
  Counters TakeCounters();

 private:
  class Consumer;
  struct ConstructorKey {};

 public:
  // Use Start().
  FrameServer(ConstructorKey, const ServerOptions& options,
              BoundUnixSocket socket, UniqueFd wake_fd);

 private:
  void ServeConnections();  // the accept thread's loop
  void Accept();
  void Refuse(UniqueFd fd, size_t connected);
  void Remove(Consumer* consumer);
  void Wake();

  const ServerOptions options_;
  BoundUnixSocket socket_;
  const UniqueFd wake_fd_;  // eventfd: stop request or a writer finished
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> writing_consumer_count_{0};
  std::atomic<uint64_t> refused_consumer_count_{0};

  mutable absl::Mutex mu_;
  // Added and removed only by the accept thread (and the destructor after it
  // has been joined), so that thread may use the pointers without mu_.
  std::list<std::unique_ptr<Consumer>> consumers_ ABSL_GUARDED_BY(mu_);

  std::jthread accept_thread_;  // started last, joined by the destructor
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_SERVER_FRAME_SERVER_H_
