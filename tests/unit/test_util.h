#ifndef PERFWIRE_TESTS_UNIT_TEST_UTIL_H_
#define PERFWIRE_TESTS_UNIT_TEST_UTIL_H_

// Helpers shared by unit tests: a scratch directory, frames built the way the
// agent builds them, and a Unix socket client with a read timeout (a safety
// net so a broken server fails the test instead of hanging it).

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "flatbuffers/flatbuffers.h"
#include "perfwire_generated.h"
#include "schema_text.h"

namespace perfwire::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base ? base : "/tmp") +
        "/pwtest.XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct TestThread {
  uint32_t tid = 0;
  uint32_t pid = 0;
  std::string comm;
  uint64_t on_cpu_ns = 0;
  uint64_t voluntary_switch_count = 0;
  uint64_t minor_fault_count = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  bool exited = false;
};

struct TestFrame {
  uint64_t seq = 0;
  uint32_t schema_version = kSchemaVersion;
  uint64_t interval_ns = 1'000'000'000;
  std::string hostname = "testhost";  // make it long to make the frame big
  std::vector<TestThread> threads;
  bool with_sources = false;
};

inline TestThread Thread(uint32_t tid, uint32_t pid, std::string comm,
                         uint64_t on_cpu_ns) {
  TestThread t;
  t.tid = tid;
  t.pid = pid;
  t.comm = std::move(comm);
  t.on_cpu_ns = on_cpu_ns;
  return t;
}

// The Thread rows of `threads`, built in `fbb`.
inline flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Thread>>>
BuildThreads(flatbuffers::FlatBufferBuilder& fbb,
             const std::vector<TestThread>& threads) {
  std::vector<flatbuffers::Offset<fb::Thread>> rows;
  for (const TestThread& t : threads) {
    auto comm = fbb.CreateString(t.comm);
    fb::ThreadBuilder b(fbb);
    b.add_tid(t.tid);
    b.add_pid(t.pid);
    b.add_comm(comm);
    b.add_exited(t.exited);
    b.add_on_cpu_ns(t.on_cpu_ns);
    b.add_voluntary_switch_count(t.voluntary_switch_count);
    b.add_minor_fault_count(t.minor_fault_count);
    b.add_read_bytes(t.read_bytes);
    b.add_write_bytes(t.write_bytes);
    rows.push_back(b.Finish());
  }
  return fbb.CreateVector(rows);
}

// Builds a size-prefixed frame as the agent does: consumer_dropped_frame_count
// forced into the buffer.
inline std::shared_ptr<const flatbuffers::DetachedBuffer> BuildFrame(
    const TestFrame& spec) {
  flatbuffers::FlatBufferBuilder fbb;
  auto thread_vector = BuildThreads(fbb, spec.threads);
  flatbuffers::Offset<
      flatbuffers::Vector<flatbuffers::Offset<fb::SourceStatus>>>
      sources;
  if (spec.with_sources) {
    std::vector<flatbuffers::Offset<fb::SourceStatus>> list = {
        fb::CreateSourceStatusDirect(fbb, "threads", true, "", "tp_btf"),
        fb::CreateSourceStatusDirect(fbb, "io", false, "no BTF", "")};
    sources = fbb.CreateVector(list);
  }
  auto hostname = fbb.CreateString(spec.hostname);
  fb::FrameBuilder frame(fbb);
  frame.add_schema_version(spec.schema_version);
  frame.add_seq(spec.seq);
  frame.add_interval_ns(spec.interval_ns);
  frame.add_hostname(hostname);
  frame.add_threads(thread_vector);
  if (spec.with_sources) frame.add_sources(sources);
  fbb.ForceDefaults(true);
  frame.add_consumer_dropped_frame_count(0);
  fbb.ForceDefaults(false);
  fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
  return std::make_shared<const flatbuffers::DetachedBuffer>(fbb.Release());
}

// A frame with sequence number `seq` and nothing else of note.
inline std::shared_ptr<const flatbuffers::DetachedBuffer> FrameWithSeq(
    uint64_t seq) {
  TestFrame spec;
  spec.seq = seq;
  return BuildFrame(spec);
}

inline std::string Bytes(const flatbuffers::DetachedBuffer& buffer) {
  return std::string(reinterpret_cast<const char*>(buffer.data()),
                     buffer.size());
}

// Connects to a Unix stream socket; reads time out after 60 s so that a
// broken server fails the test rather than hanging it. Invalid fd on error.
inline UniqueFd ConnectUnix(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  timeval timeout{60, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr),
              sizeof(addr)) != 0) {
    fd.reset();
  }
  return fd;
}

// Polls `condition` until it holds; false if it never does within a minute.
// (A bound against hangs, not a timing assertion.)
inline bool Eventually(const std::function<bool()>& condition) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace perfwire::testing

#endif  // PERFWIRE_TESTS_UNIT_TEST_UTIL_H_
