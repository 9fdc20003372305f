// perfwired with --proc_root and --sys_root pointed at a path that does not
// exist: frames keep coming, the /proc-based host sections are absent with a
// reason, and the sources that need neither root keep reporting. Needs
// agent/main.cc to pass HostOptionsFromFlags() to the source registry.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "perfwire_generated.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

bool ReadFull(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Reads one size-prefixed frame into `out` (prefix included, so the body
// keeps the alignment the builder gave it).
bool ReadFrame(int fd, std::vector<uint8_t>& out) {
  uint32_t len = 0;
  if (!ReadFull(fd, &len, sizeof(len)) || len > (64u << 20)) return false;
  out.resize(sizeof(len) + len);
  std::memcpy(out.data(), &len, sizeof(len));
  return ReadFull(fd, out.data() + sizeof(len), len);
}

TEST(HostAgentFlags, MissingProcRootLeavesOtherSections) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent("200ms", {"--proc_root=/nonexistent/proc",
                        "--sys_root=/nonexistent/sys", "--perf_counters"});
  ASSERT_TRUE(agent.started()) << agent.error();
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, agent.socket().c_str(),
               sizeof(addr.sun_path) - 1);
  ASSERT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  std::vector<uint8_t> buf;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(ReadFrame(fd.get(), buf)) << "frame " << i;
  flatbuffers::Verifier verifier(buf.data(), buf.size());
  ASSERT_TRUE(fb::VerifySizePrefixedFrameBuffer(verifier));
  const fb::Frame* f = fb::GetSizePrefixedFrame(buf.data());
  EXPECT_EQ(f->cpu(), nullptr);
  EXPECT_EQ(f->memory(), nullptr);
  EXPECT_EQ(f->disks(), nullptr);
  EXPECT_EQ(f->network(), nullptr);
  EXPECT_EQ(f->processes(), nullptr);
  EXPECT_NE(f->perf_software(), nullptr);
  std::map<std::string, const fb::SourceStatus*> by_name;
  for (const auto* st : *f->sources()) by_name[st->name()->str()] = st;
  for (const char* name :
       {"cpu", "memory", "disks", "filesystems", "network", "processes"}) {
    ASSERT_TRUE(by_name.count(name))
        << name << " missing from sources: host sources not wired";
    EXPECT_FALSE(by_name[name]->available()) << name;
    EXPECT_NE(by_name[name]->reason()->str().find("/nonexistent/proc/"),
              std::string::npos)
        << by_name[name]->reason()->str();
  }
  ASSERT_TRUE(by_name.count("perf.software"));
  EXPECT_TRUE(by_name["perf.software"]->available());
  ASSERT_TRUE(by_name.count("perf.hardware"));
  EXPECT_EQ(agent.Stop(), 0);
}

}  // namespace
}  // namespace perfwire::testing
